"""`{% same_page_in 'en' %}`: the current page's address in another language, for the language switch."""

from django import template
from django.urls import translate_url

register = template.Library()


@register.simple_tag(takes_context=True)
def same_page_in(context, language: str) -> str:
    """Resolved while the page's own language is active, so a /fr/ page becomes its /en/ twin even when the
    language cookie says otherwise (set_language alone would resolve it in the cookie's language and fail)."""
    request = context["request"]
    return translate_url(request.get_full_path(), language)
