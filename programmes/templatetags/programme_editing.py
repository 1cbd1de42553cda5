"""Template helpers of the programme editing pages."""

from django import template

from programmes.forms import REASON_REQUIRED
from programmes.models import Programme, Status

register = template.Library()


@register.simple_tag
def status_actions(programme: Programme) -> list[dict]:
    """One entry per status the programme may move to next, saying whether a reason is required."""
    return [
        {"value": status, "label": Status(status).label, "needs_reason": status in REASON_REQUIRED}
        for status in programme.manual_transitions()
    ]
