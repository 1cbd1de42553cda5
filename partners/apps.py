"""App config for partner organisations and users."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PartnersConfig(AppConfig):
    name = "partners"
    verbose_name = _("Partners and users")

    def ready(self) -> None:
        from auditlog.registry import auditlog

        from . import models

        auditlog.register(models.Organisation)
        # Membership history: who moved a user into or out of an organisation, or (de)activated it.
        auditlog.register(
            models.User, include_fields=["organisation", "is_active", "is_staff", "is_superuser", "groups"]
        )
