"""`{% programme_table programmes %}`: the table of programmes of the region and sector pages, built in Python.

The same HTML as the template it replaced (tests/test_page_tables.py renders both): code with its link,
title, status, budget and its US dollar equivalent at today's rates, then the rates used. Written as a
template it cost a variable lookup, a translated status label and a reverse() per cell and row, most of
these pages' time.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from urllib.parse import quote

from django import template
from django.template.defaultfilters import floatformat
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import get_format
from django.utils.html import conditional_escape
from django.utils.http import RFC3986_SUBDELIMS
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from programmes.models import Status
from programmes.money import USD, RateTable, to_usd

from .money import rates_text

register = template.Library()

CODE_SLOT = "CODE"
# What `{% programme_table %}` reads of each programme: the pages load nothing else for it.
PROGRAMME_TABLE_FIELDS = ("code", "title_fr", "title_en", "status", "budget", "currency")


def detail_url_of():
    """A function giving the programme page's address from a code, as reverse() would (one reverse() in all)."""
    before, after = reverse("programmes:detail", args=[CODE_SLOT]).rsplit(CODE_SLOT, 1)
    return lambda code: f"{before}{quote(code, safe=RFC3986_SUBDELIMS + '/~:@')}{after}"


def status_labels() -> dict[str, str]:
    return {value: str(label) for value, label in Status.choices}


_ONE = Decimal("1")


def whole_amount(value: Decimal | None, separator: str, grouping) -> str:
    """`value|floatformat:"0g"` (rounded half up to a whole number, grouped by thousands) with the active language's
    separator and grouping read once per page instead of once per number."""
    if not isinstance(value, Decimal) or grouping != 3:
        return floatformat(value, "0g")
    whole = int(value.quantize(_ONE, rounding=ROUND_HALF_UP))
    return ("-" if whole < 0 else "") + f"{abs(whole):,}".replace(",", separator)


@register.simple_tag
def programme_table(programmes) -> SafeString:
    esc = conditional_escape
    code_label, title_label, status_label, budget_label, usd_label = (
        esc(_(text)) for text in ("Code", "Title", "Status", "Budget", "USD equivalent")
    )
    url_of, statuses = detail_url_of(), status_labels()
    separator, grouping = get_format("THOUSAND_SEPARATOR"), get_format("NUMBER_GROUPING")
    table, on, used, missing = RateTable.load(), timezone.localdate(), {}, set()
    rows = []
    for p in programmes:
        usd = None
        if p.budget is not None:
            usd, rate = to_usd(p.budget, p.currency, on, table)
            if rate is None:
                missing.add(p.currency)
            elif p.currency != USD:
                used[p.currency] = rate
        usd_cell = f"{esc(whole_amount(usd, separator, grouping))} USD" if usd is not None else "—"
        rows.append(
            f'<tr><td class="text-nowrap" data-label="{code_label}"><a href="{esc(url_of(p.code))}">{esc(p.code)}</a>'
            f'</td><td data-label="{title_label}">{esc(p.title)}</td><td data-label="{status_label}">'
            f"{esc(statuses.get(p.status, p.status))}</td>"
            f'<td class="text-end amount" data-label="{budget_label}">{esc(whole_amount(p.budget, separator, grouping))} '
            f'{esc(p.currency)}</td><td class="text-end amount" data-label="{usd_label}">{usd_cell}</td></tr>\n  '
        )
    if not rows:
        rows.append(f'<tr><td colspan="5">{esc(_("No programme."))}</td></tr>')
    text = rates_text(on, used, missing)
    rates = f'<p class="small text-body-secondary">{esc(text)}</p>' if text else ""
    return mark_safe(  # noqa: S308 — every value above is escaped
        f'\n<table class="table table-sm table-hover table-reflow">\n'
        f'  <thead><tr><th scope="col">{code_label}</th><th scope="col">{title_label}</th><th scope="col">'
        f'{status_label}</th><th scope="col" class="text-end">{budget_label}</th><th scope="col" class="text-end">'
        f"{usd_label}</th></tr></thead>\n  <tbody>\n  {''.join(rows)}\n  </tbody>\n</table>\n{rates}"
    )


@register.simple_tag
def programme_items(participations) -> SafeString:
    """The <li> of each participation's programme on an organisation's page: link, code, title and status."""
    esc = conditional_escape
    url_of, statuses = detail_url_of(), status_labels()
    items = []
    for participation in participations:
        p = participation.programme
        items.append(
            f'<li><a href="{esc(url_of(p.code))}">{esc(p.code)}</a> {esc(p.title)} '
            f'<small class="text-body-secondary">{esc(statuses.get(p.status, p.status))}</small></li>'
        )
    return mark_safe("".join(items))  # noqa: S308 — every value is escaped
