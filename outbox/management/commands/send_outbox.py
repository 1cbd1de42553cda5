"""Deliver the e-mails of the outbox that are due (what beat does every minute, for setups without Celery)."""

import time

from django.core.management.base import BaseCommand

from outbox.models import OutgoingEmail
from outbox.services import deliver_due


class Command(BaseCommand):
    help = "Deliver the outbox's due e-mails once, or every N seconds with --every N."

    def add_arguments(self, parser):
        parser.add_argument("--every", type=int, default=0, help="repeat every this many seconds (0: once)")

    def handle(self, *args, every: int, **options):
        while True:
            sent = deliver_due()
            waiting = OutgoingEmail.objects.undelivered().count()
            if sent or waiting or not every:
                self.stdout.write(f"outbox: {sent} sent, {waiting} waiting")
            if not every:
                return
            time.sleep(every)
