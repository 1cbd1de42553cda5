"""`manage.py refresh_summaries`: compute the pages' aggregates now (programmes/summary.py)."""

from django.core.management.base import BaseCommand

from programmes import summary


class Command(BaseCommand):
    help = (
        "Compute the staff pages' aggregates never computed yet and refresh every stale one (all scopes), "
        "e.g. after seed_demo or an import, so that no page view computes them."
    )

    def handle(self, *args, **options) -> None:
        missing = summary.compute_missing()
        refreshed = summary.refresh_stale()
        self.stdout.write(self.style.SUCCESS(f"{missing} summaries computed, {refreshed} refreshed."))
