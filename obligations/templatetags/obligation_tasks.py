"""`{% my_obligations %}`: the obligations due soon or overdue that the signed-in user answers for (My tasks)."""

from __future__ import annotations

from datetime import timedelta

from django import template
from django.conf import settings
from django.utils import timezone

from ..models import Obligation

register = template.Library()


@register.inclusion_tag("obligations/_my_obligations.html", takes_context=True)
def my_obligations(context) -> dict:
    user = context["request"].user
    today = timezone.localdate()
    obligations = list(
        Obligation.objects.for_user(user)
        .open()
        .filter(due_date__lte=today + timedelta(days=settings.OBLIGATION_DUE_SOON_DAYS))
        .for_list()
    )
    for obligation in obligations:
        obligation.current_state = obligation.state_on(today)
    return {"obligations": obligations, "user": user}
