"""Celery tasks of the review workflow: thin wrappers taking ids."""

from smtplib import SMTPException

from celery import shared_task
from django.conf import settings

from partners.models import User

from . import notifications


@shared_task(name="reviews.send_event_notifications")
def send_event_notifications(event_id: int) -> int:
    """Fan out one e-mail task per recipient, so that a failed delivery is retried for that person only."""
    event = notifications.load_event(event_id)
    recipients = notifications.recipients_of(event)
    for user in recipients:
        send_event_mail.delay(event_id, user.pk)
    return len(recipients)


@shared_task(
    name="reviews.send_event_mail",
    autoretry_for=(SMTPException, OSError),
    retry_backoff=60,
    max_retries=5,
)
def send_event_mail(event_id: int, user_id: int) -> None:
    notifications.send_event_mail(notifications.load_event(event_id), User.objects.get(pk=user_id))


@shared_task(name="reviews.send_overdue_review_reminders")
def send_overdue_review_reminders() -> int:
    return notifications.send_overdue_reminders(days=settings.REVIEW_REMINDER_DAYS)
