"""App config for sectors, programmes and their results."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ProgrammesConfig(AppConfig):
    name = "programmes"
    verbose_name = _("Programmes")

    def ready(self) -> None:
        from auditlog.registry import auditlog

        from . import models

        auditlog.register(
            models.Programme, exclude_fields=["search_text", "version", "updated_at"], m2m_fields={"secondary_sectors"}
        )
        auditlog.register(models.Participation)
        auditlog.register(models.ProgrammeLocation)
        auditlog.register(models.Document, exclude_fields=["file"])
        auditlog.register(models.Outcome)
        auditlog.register(models.Output)
        auditlog.register(models.Indicator)
        auditlog.register(models.IndicatorValue)
