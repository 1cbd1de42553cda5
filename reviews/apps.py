"""Review and approval of IOM Development Fund, multi-regional and global proposals."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReviewsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "reviews"
    verbose_name = _("Review and approval")

    def ready(self) -> None:
        from auditlog.registry import auditlog

        from programmes.history import register_history_part

        from .models import BudgetLine

        auditlog.register(BudgetLine)
        # The budget lines belong to the proposal under review: IOM staff only.
        register_history_part(BudgetLine, identity=["category", "description"], iom_only=True)
