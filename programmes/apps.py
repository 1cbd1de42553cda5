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
            models.Programme,
            exclude_fields=["search_text", "place_codes", "version", "updated_at"],
            m2m_fields={"secondary_sectors"},
        )
        from .summary_signals import connect_signals

        connect_signals()
        from django.db.models.signals import post_delete, post_save

        # Sectors are reference data: lists built from them (the list page's sector options) are cached until
        # the reference version changes, as for places (regions/apps.py).
        for signal in (post_save, post_delete):
            signal.connect(_sectors_changed, sender=models.Sector, dispatch_uid=f"programmes-sectors-{signal}")
        from .history import register_history_part

        auditlog.register(models.Participation)
        auditlog.register(models.ProgrammeLocation)
        auditlog.register(models.RecipientCountry)
        auditlog.register(models.RecipientRegion)
        auditlog.register(models.Document, exclude_fields=["file"])
        auditlog.register(models.Outcome)
        auditlog.register(models.Output)
        auditlog.register(models.Indicator)
        auditlog.register(models.IndicatorValue)
        auditlog.register(models.Transaction, exclude_fields=["created_at", "updated_at"])
        # What the programme page's history shows, and what partners may see of it.
        register_history_part(models.Programme)
        register_history_part(models.Participation, identity=["organisation", "role"], label=_("partner"))
        register_history_part(models.ProgrammeLocation, identity=["admin_unit"], label=_("place"))
        register_history_part(models.RecipientCountry, identity=["country"], label=_("recipient country"))
        register_history_part(models.RecipientRegion, identity=["region"], label=_("recipient region"))
        register_history_part(
            models.Document, identity=["title"], partners_see=lambda row: row.get("visibility") == "partners"
        )
        register_history_part(models.Outcome, identity=["code", "statement"])
        register_history_part(models.Output, identity=["code", "statement"])
        register_history_part(models.Indicator, identity=["code", "name"])
        # IOM's accounting: in the history IOM staff read, never in the partners'.
        register_history_part(models.Transaction, identity=["kind", "date"], iom_only=True, label=_("transaction"))
        register_history_part(
            models.IndicatorValue,
            identity=["indicator", "period_start", "period_end", "sex", "age_group"],
            # Disaggregated cells are IOM-only on the page too; totals are shown with small counts masked.
            partners_see=lambda row: row.get("sex") == "all" and row.get("age_group") == "all",
            counts=["target", "achieved"],
        )


def _sectors_changed(**kwargs) -> None:
    from regions.models import bump_reference_version

    bump_reference_version()
