"""Celery tasks of the obligation calendar: thin wrappers."""

from celery import shared_task

from . import services


@shared_task(name="obligations.send_reminders")
def send_reminders() -> dict:
    return services.send_reminders()


@shared_task(name="obligations.refresh_rule_set")
def refresh_rule_set(rule_set_id: int) -> int:
    """After a rule set is edited in the admin: every programme it applies to gets its calendar again."""
    from .models import ObligationRuleSet

    rule_set = ObligationRuleSet.objects.filter(pk=rule_set_id).first()
    if rule_set is None:
        return 0
    programme_ids = services.programmes_of_rule_set(rule_set)
    for programme_id in programme_ids:
        services.obligations_refresh(programme_id=programme_id)
    return len(programme_ids)
