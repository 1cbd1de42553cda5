"""Delivering the outbox: keyword-only services used by the e-mail backend, the tasks, the admin and the command."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMessage, EmailMultiAlternatives, get_connection
from django.db import transaction
from django.utils import timezone

from .models import EmailStatus, OutgoingEmail

logger = logging.getLogger(__name__)

# After a failed attempt, wait 1, 2, 4... minutes, never more than an hour: a message is never given up.
FIRST_RETRY = timedelta(minutes=1)
LONGEST_WAIT = timedelta(hours=1)


def retry_delay(attempts: int) -> timedelta:
    return min(FIRST_RETRY * 2 ** min(max(attempts - 1, 0), 10), LONGEST_WAIT)


def email_store(*, message: EmailMessage) -> OutgoingEmail:
    """Keep one message in the outbox and deliver it once the surrounding transaction commits.

    Attachments are not kept: the portal's e-mails carry links, never files."""
    email = OutgoingEmail.objects.create(
        from_email=message.from_email or settings.DEFAULT_FROM_EMAIL,
        recipients=list(message.recipients()),
        subject=str(message.subject),
        body=str(message.body),
        parts={
            "to": list(message.to),
            "cc": list(message.cc),
            "bcc": list(message.bcc),
            "reply_to": list(message.reply_to),
            "headers": dict(message.extra_headers),
            "alternatives": [[str(content), mimetype] for content, mimetype in getattr(message, "alternatives", [])],
        },
    )
    transaction.on_commit(lambda: _enqueue_delivery(email.pk))
    return email


def _enqueue_delivery(email_id: int) -> None:
    from .tasks import deliver_email  # the task module imports these services

    try:
        deliver_email.delay(email_id)
    except Exception:  # the broker is down: the message stays queued for `deliver_due`
        logger.warning("outbox: could not enqueue delivery of e-mail %s; it stays queued", email_id, exc_info=True)


def _message_of(email: OutgoingEmail, connection) -> EmailMessage:
    parts = email.parts or {}
    message = EmailMultiAlternatives(
        subject=email.subject,
        body=email.body,
        from_email=email.from_email,
        to=parts.get("to", email.recipients),
        cc=parts.get("cc", []),
        bcc=parts.get("bcc", []),
        reply_to=parts.get("reply_to", []),
        headers=parts.get("headers", {}),
        connection=connection,
    )
    for content, mimetype in parts.get("alternatives", []):
        message.attach_alternative(content, mimetype)
    return message


def email_deliver(*, email_id: int, now=None) -> bool:
    """One delivery attempt of one undelivered message; True when it is sent.

    A failure of any kind (refused connection, SMTP error, bad address) is recorded on the row with
    the time of the next attempt; nothing is raised, nothing is lost."""
    with transaction.atomic():
        email = (
            OutgoingEmail.objects.select_for_update(skip_locked=True)
            .filter(pk=email_id)
            .exclude(status=EmailStatus.SENT)
            .first()
        )
        if email is None:  # already sent, or another worker is sending it right now
            return False
        now = now or timezone.now()
        email.attempts += 1
        try:
            connection = get_connection(settings.EMAIL_DELIVERY_BACKEND)
            _message_of(email, connection).send()
        except Exception as exc:  # noqa: BLE001 — whatever failed, the message is kept for a retry
            email.status = EmailStatus.RETRYING
            email.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            email.next_attempt_at = now + retry_delay(email.attempts)
            logger.warning(
                "outbox: e-mail %s not delivered (attempt %s, next at %s): %s",
                email.pk,
                email.attempts,
                email.next_attempt_at.isoformat(),
                email.last_error,
            )
        else:
            email.status = EmailStatus.SENT
            email.sent_at = now
            email.last_error = ""
        email.save(update_fields=["status", "attempts", "last_error", "next_attempt_at", "sent_at"])
        return email.status == EmailStatus.SENT


def deliver_due(*, now=None, limit: int = 200) -> int:
    """Attempt every message whose next attempt is due (oldest first); returns how many were sent.

    Sent messages older than OUTBOX_KEEP_SENT_DAYS are deleted (they may hold password links)."""
    now = now or timezone.now()
    OutgoingEmail.objects.filter(
        status=EmailStatus.SENT, sent_at__lt=now - timedelta(days=settings.OUTBOX_KEEP_SENT_DAYS)
    ).delete()
    ids = list(OutgoingEmail.objects.due(now).order_by("next_attempt_at", "pk").values_list("pk", flat=True)[:limit])
    return sum(email_deliver(email_id=pk, now=now) for pk in ids)


def email_resend(*, email: OutgoingEmail) -> bool:
    """Send a message again now: an undelivered one is attempted at once, a sent one is queued as a copy."""
    if email.status == EmailStatus.SENT:
        email = OutgoingEmail.objects.create(
            from_email=email.from_email,
            recipients=email.recipients,
            subject=email.subject,
            body=email.body,
            parts=email.parts,
        )
    return email_deliver(email_id=email.pk)
