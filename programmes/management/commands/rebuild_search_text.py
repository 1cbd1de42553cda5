"""`manage.py rebuild_search_text`: rebuild every programme's search words and place codes (programmes/search.py)."""

from django.core.management.base import BaseCommand
from django.db import transaction

from programmes.search import rebuild
from programmes.summary import programmes_changed


class Command(BaseCommand):
    help = (
        "Rebuild the search words (sectors, places, partners, indicators) and the place codes of every programme, "
        "e.g. after renaming an organisation, a place or a sector. Safe to run at any time."
    )

    def handle(self, *args, **options) -> None:
        done = 0
        for done in rebuild():
            if options["verbosity"] > 1:
                self.stdout.write(f"{done} programmes")
        with transaction.atomic():
            programmes_changed()  # the pages' aggregates are recomputed on their next read
        self.stdout.write(self.style.SUCCESS(f"Search text and place codes rebuilt for {done} programmes."))
