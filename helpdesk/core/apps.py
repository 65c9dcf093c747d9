from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "helpdesk.core"
    label = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        from django.db.backends.signals import connection_created

        from helpdesk.core.sqlite import install_casefold

        connection_created.connect(install_casefold, dispatch_uid="relay.sqlite.casefold")
