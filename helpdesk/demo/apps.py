from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DemoConfig(AppConfig):
    """Demo data for trying Relay (`manage.py load_demo`). No models."""

    name = "helpdesk.demo"
    label = "demo"
    verbose_name = _("Demo data")
