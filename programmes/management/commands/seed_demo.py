"""`manage.py seed_demo`: demo programmes and the demo accounts (development and benchmarks only)."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from programmes.demo import Phases, demo_seeded, seed_demo


class Command(BaseCommand):
    help = (
        "Create deterministic demo programmes and the demo accounts. Refuses to run when DEBUG is off unless --force."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--programmes", type=int, default=40, help="number of demo programmes (default 40)")
        parser.add_argument("--seed", type=int, default=2026, help="random seed: the same seed gives the same data")
        parser.add_argument("--force", action="store_true", help="run even though DEBUG is off")

    def handle(self, *args, programmes: int, seed: int, force: bool, **options) -> None:
        if not settings.DEBUG and not force:
            raise CommandError(
                "seed_demo creates demo accounts with a published password: it runs only with DEBUG on, or with --force."
            )
        if programmes < 0:
            raise CommandError("--programmes must be zero or more.")
        # -v 2: the wall and CPU time of each phase.
        phases = Phases(self.stdout.write if options.get("verbosity", 1) >= 2 else None)
        summary = seed_demo(programmes=programmes, seed=seed, phases=phases)
        demo_seeded.send(sender=self.__class__)  # reviews adds its roles and two demo proposals (reviews/apps.py)
        phases.done("review, reporting and obligation demos")
        phases.total()
        self.stdout.write(
            f"{summary.programmes} programmes, {summary.participations} participations, {summary.locations} locations, "
            f"{summary.indicators} indicators, {summary.values} indicator values, {summary.transactions} transactions, "
            f"{summary.users} demo accounts"
        )
        self.stdout.write(self.style.SUCCESS("Demo data ready. Log in as staff / demo-pass-2026."))
