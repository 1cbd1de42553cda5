"""Absolute links for e-mails: `{% site_url 'name' arg %}` builds SITE_URL + the reversed path."""

from django import template
from django.conf import settings
from django.urls import reverse

register = template.Library()


@register.simple_tag
def site_url(view_name: str = "", *args, **kwargs) -> str:
    base = settings.SITE_URL.rstrip("/")
    return base + reverse(view_name, args=args, kwargs=kwargs) if view_name else base + "/"
