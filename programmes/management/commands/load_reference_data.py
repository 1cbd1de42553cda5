"""`manage.py load_reference_data`: admin units, sectors, government partners, offices, key figures."""

from django.core.management.base import BaseCommand

from programmes.reference import load_reference_data


class Command(BaseCommand):
    help = "Load Niger's admin units (OCHA P-codes, boundaries), sectors, government partners, IOM offices and key figures. Idempotent."

    def handle(self, *args, **options) -> None:
        for name, result in load_reference_data().items():
            self.stdout.write(f"{name:>14}: {result}")
        self.stdout.write(self.style.SUCCESS("Reference data is up to date."))
