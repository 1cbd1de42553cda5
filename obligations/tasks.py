"""Celery tasks of the obligation calendar: thin wrappers."""

from celery import shared_task

from . import services


@shared_task(name="obligations.send_reminders")
def send_reminders() -> dict:
    return services.send_reminders()
