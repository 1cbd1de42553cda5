"""Template helpers of the programme editing pages."""

from django import template

from programmes.models import Programme, StatusStep

register = template.Library()


@register.simple_tag
def status_actions(programme: Programme) -> list[StatusStep]:
    """The next statuses of the programme: the ones a status action takes now, and the others with why not."""
    return programme.status_steps()
