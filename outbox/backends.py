"""The portal's e-mail backend: messages go to the outbox table; the real backend delivers them from there."""

from __future__ import annotations

from django.core.mail.backends.base import BaseEmailBackend

from .services import email_store


class OutboxBackend(BaseEmailBackend):
    """`send_mail()` anywhere in the portal stores the message (in the caller's transaction) and
    returns at once; delivery through `EMAIL_DELIVERY_BACKEND` happens after commit and is retried."""

    def send_messages(self, email_messages) -> int:
        stored = 0
        for message in email_messages:
            if message.recipients():
                email_store(message=message)
                stored += 1
        return stored
