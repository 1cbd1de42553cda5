"""App config of the portal's wiring: connects the security log receivers once the apps are loaded."""

from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "iom_portal"
    verbose_name = "IOM Niger portal"

    def ready(self) -> None:
        from . import security  # noqa: F401 — connects the login/lockout log receivers
