"""Results reports: partners and IOM M&E officers report indicator values per period, validators approve."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportingConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "reporting"
    verbose_name = _("Results reporting")

    def ready(self) -> None:
        from auditlog.registry import auditlog

        from programmes.demo import demo_seeded
        from programmes.history import register_history_part
        from programmes.models import PeriodLock
        from programmes.rules import register_reassign_indicator_check, register_stop_reporting_check

        from .models import ResultsReport
        from .services import indicator_values_in_progress_problem, reports_in_progress_problem

        auditlog.register(ResultsReport, exclude_fields=["version", "updated_at"])
        auditlog.register(PeriodLock)
        # Partners see reports once approved (another organisation's draft is none of their business).
        register_history_part(
            ResultsReport,
            identity=["organisation", "period_start", "period_end"],
            partners_see=lambda row: row.get("state") == "approved",
            label=_("results report"),
        )
        register_history_part(PeriodLock, identity=["period_start", "period_end"], label=_("period lock"))
        # An organisation with reports in progress keeps reporting until they are approved (every door).
        register_stop_reporting_check(reports_in_progress_problem)
        # ...and an indicator keeps its reporter while values of it wait in that reporter's report.
        register_reassign_indicator_check(indicator_values_in_progress_problem)
        demo_seeded.connect(_seed_reporting_demo, dispatch_uid="reporting.seed_demo")


def _seed_reporting_demo(sender, **kwargs) -> None:
    from .demo import seed_reporting_demo

    seed_reporting_demo()
