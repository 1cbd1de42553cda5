"""The obligation calendar: what each programme owes its funders, by when, and the reminders."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ObligationsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "obligations"
    verbose_name = _("Obligation calendar")

    def ready(self) -> None:
        from auditlog.registry import auditlog

        from programmes.demo import demo_seeded
        from programmes.history import register_history_part
        from programmes.reference import reference_data_loaded
        from programmes.signals import programme_changed, programmes_created
        from reporting.signals import results_report_approved, results_report_returned, results_report_submitted

        from .models import Obligation
        from .reference import load_obligation_rules

        auditlog.register(Obligation, exclude_fields=["reminded_at", "overdue_reminded_at", "escalated_at", "key"])
        # Partners see their calendar's changes (fulfilled, waived) but not who at IOM waived or why.
        register_history_part(Obligation, identity=["kind", "due_date"], label=_("obligation"))
        programme_changed.connect(_refresh, dispatch_uid="obligations.refresh")
        programmes_created.connect(_refresh_created, dispatch_uid="obligations.refresh_created")
        # A submitted results report fulfils its period's obligation; returned, it no longer does.
        for signal, name in (
            (results_report_submitted, "submitted"),
            (results_report_approved, "approved"),
            (results_report_returned, "returned"),
        ):
            signal.connect(_report_changed, dispatch_uid=f"obligations.report_{name}")
        reference_data_loaded.connect(load_obligation_rules, dispatch_uid="obligations.load_rules")
        demo_seeded.connect(_seed_demo, dispatch_uid="obligations.seed_demo")


def _refresh(sender, programme_id: int, **kwargs) -> None:
    from .services import obligations_refresh

    obligations_refresh(programme_id=programme_id)


def _refresh_created(sender, programme_ids: list[int], **kwargs) -> None:
    from .services import obligations_refresh_many

    obligations_refresh_many(programme_ids=programme_ids)


def _report_changed(sender, report, **kwargs) -> None:
    """Sent inside the report service's transaction: the calendar follows once it commits."""
    from django.db import transaction

    from .services import obligations_refresh

    programme_id = report.programme_id
    transaction.on_commit(lambda: obligations_refresh(programme_id=programme_id))


def _seed_demo(sender, **kwargs) -> None:
    from .demo import seed_obligation_demo

    seed_obligation_demo()
