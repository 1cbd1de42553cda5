"""`manage.py seed_reviews`: the review roles and demo proposals, on top of `seed_demo` (development only)."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from reviews.demo import seed_review_demo


class Command(BaseCommand):
    help = (
        "Set up review roles (admin approves, expert and expert2 review) and two demo proposals. Run after seed_demo."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--force", action="store_true", help="run even though DEBUG is off")

    def handle(self, *args, force: bool, **options) -> None:
        if not settings.DEBUG and not force:
            raise CommandError("seed_reviews creates a demo account with a published password: DEBUG only, or --force.")
        proposals = seed_review_demo()
        if not proposals:
            raise CommandError("No demo programmes found: run seed_demo first.")
        self.stdout.write(
            self.style.SUCCESS("Review demo ready: staff submits, admin assigns and decides, expert reviews.")
        )
