"""Celery tasks of the review workflow: thin wrappers taking ids."""

from celery import shared_task
from django.conf import settings

from . import notifications


@shared_task(name="reviews.send_event_notifications")
def send_event_notifications(event_id: int) -> int:
    return notifications.send_event_notifications(event_id)


@shared_task(name="reviews.send_overdue_review_reminders")
def send_overdue_review_reminders() -> int:
    return notifications.send_overdue_reminders(days=settings.REVIEW_REMINDER_DAYS)
