"""Review and approval of IOM Development Fund, multi-regional and global proposals."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReviewsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "reviews"
    verbose_name = _("Review and approval")

    def ready(self) -> None:
        from auditlog.registry import auditlog

        from programmes.demo import demo_seeded
        from programmes.history import register_history_part

        from .models import BudgetLine

        auditlog.register(BudgetLine)  # written by services.budget_lines_update
        # The budget lines belong to the proposal under review: in the history for IOM staff only.
        register_history_part(BudgetLine, identity=["category", "description"], iom_only=True)
        demo_seeded.connect(_seed_review_demo, dispatch_uid="reviews.seed_review_demo")


def _seed_review_demo(sender, **kwargs) -> None:
    """At the end of `seed_demo`: review roles (admin approves, expert and expert2 review), two demo proposals."""
    from .demo import seed_review_demo

    seed_review_demo()
