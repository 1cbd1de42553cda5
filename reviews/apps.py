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

        from . import models

        auditlog.register(models.BudgetLine)  # written by services.budget_lines_update, in the history
        demo_seeded.connect(_seed_review_demo, dispatch_uid="reviews.seed_review_demo")


def _seed_review_demo(sender, **kwargs) -> None:
    """At the end of `seed_demo`: review roles (admin approves, expert and expert2 review), two demo proposals."""
    from .demo import seed_review_demo

    seed_review_demo()
