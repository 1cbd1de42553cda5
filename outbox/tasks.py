"""Celery tasks of the outbox: thin wrappers taking ids."""

from celery import shared_task

from . import services


@shared_task(name="outbox.deliver_email")
def deliver_email(email_id: int) -> bool:
    return services.email_deliver(email_id=email_id)


@shared_task(name="outbox.deliver_due")
def deliver_due() -> int:
    return services.deliver_due()
