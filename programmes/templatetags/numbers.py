"""Numbers as each language writes them: "100 %" in French (narrow no-break space), "100%" in English."""

from __future__ import annotations

from django import template
from django.utils.formats import number_format
from django.utils.translation import pgettext

register = template.Library()


@register.filter
def percent(value) -> str:
    """A percentage in the active language, grouped like other numbers; empty for no value."""
    if value is None or value == "":
        return ""
    # Translators: a percentage; French puts a narrow no-break space (U+202F) before the sign.
    return pgettext("percentage", "%(number)s%%") % {"number": number_format(value, use_l10n=True, force_grouping=True)}
