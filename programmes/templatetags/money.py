"""US dollar equivalents in templates: one rate table read per rendered template, the rates used said after."""

from __future__ import annotations

from decimal import Decimal

from django import template
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from programmes.money import RateTable, RateUsed, to_usd

register = template.Library()


def _state(context) -> dict:
    state = context.render_context.get("usd_equivalents")
    if state is None:
        state = {"table": RateTable.load(), "on": timezone.localdate(), "used": {}, "missing": set()}
        context.render_context["usd_equivalents"] = state
    return state


@register.simple_tag(takes_context=True)
def usd_equivalent(context, amount: Decimal | None, currency: str) -> Decimal | None:
    """The amount in US dollars at the rate in force today (None without a rate); remembers the rate."""
    if amount is None:
        return None
    state = _state(context)
    usd, used = to_usd(amount, currency, state["on"], state["table"])
    if used is None:
        state["missing"].add(currency)
    elif currency != "USD":
        state["used"][currency] = used
    return usd


@register.simple_tag(takes_context=True)
def rates_used(context) -> str:
    """Which rates gave the equivalents shown so far in this template ("" when all were in USD)."""
    state = _state(context)
    return rates_text(state["on"], state["used"], state["missing"])


def rates_text(on, used: dict[str, RateUsed], missing: set[str]) -> str:
    """The sentence after a table of US dollar equivalents: the rates used, the currencies without one."""
    if not used and not missing:
        return ""
    text = _("US dollar equivalents at the rates in force on %(date)s: %(rates)s.") % {
        "date": date_format(on, "SHORT_DATE_FORMAT"),
        "rates": "; ".join(u.describe() for _c, u in sorted(used.items())) or "—",
    }
    if missing:
        text += " " + _("No exchange rate in force for %(currencies)s.") % {"currencies": ", ".join(sorted(missing))}
    return text
