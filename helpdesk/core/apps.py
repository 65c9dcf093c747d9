from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "helpdesk.core"
    label = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        from django.contrib import admin
        from django.db.backends.signals import connection_created

        from helpdesk.core.signin_throttle import ThrottledAdminAuthenticationForm
        from helpdesk.core.sqlite import install_casefold

        admin.site.login_form = ThrottledAdminAuthenticationForm

        connection_created.connect(install_casefold, dispatch_uid="relay.sqlite.casefold")
