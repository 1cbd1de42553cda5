"""`{% organisation_link organisation user %}`: a link to the organisation's page when the reader may open it, its name otherwise."""

from django import template
from django.urls import reverse
from django.utils.html import format_html

register = template.Library()


@register.simple_tag
def organisation_link(organisation, user, label=None):
    """IOM staff open every organisation page; a partner user only its own (the others would be 404s)."""
    text = label if label is not None else str(organisation)
    if getattr(user, "is_iom_staff", False) or organisation.pk == getattr(user, "organisation_id", None):
        return format_html('<a href="{}">{}</a>', reverse("partners:detail", args=[organisation.code]), text)
    return format_html("{}", text)
