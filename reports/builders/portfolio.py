"""The portfolio workbook (programmes, indicators) and the key figures summary."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import IO

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook

from programmes import money, stats
from programmes.models import SPENDING_KINDS, KeyFigure, Measure, Role
from programmes.privacy import hidden_cells, small_label

from .records import (
    Lookups,
    ProgrammeRecord,
    Progress,
    _no_progress,
    _role_names,
    iter_programmes,
    recipients_label,
)
from .workbook import Column, Sheet, fixed_properties, notes_sheet, suppressed_note

PORTFOLIO_ROLES = (
    Role.GOVERNMENT_COUNTERPART,
    Role.ENDORSING_AUTHORITY,
    Role.IMPLEMENTING_PARTNER,
    Role.FUNDING,
    Role.BENEFICIARY_INSTITUTION,
)


def portfolio_columns() -> list[Column]:
    return [
        Column(_("Code"), "code"),
        Column(_("Title"), "long"),
        Column(_("Primary sector")),
        Column(_("Secondary sectors")),
        Column(_("Scope"), "code"),
        Column(_("Modality"), "code"),
        Column(_("Status"), "code"),
        Column(_("Planned start"), "date"),
        Column(_("Planned end"), "date"),
        Column(_("Actual start"), "date"),
        Column(_("Actual end"), "date"),
        Column(_("Budget"), "money"),
        Column(_("Currency"), "code"),
        Column(_("Budget (USD equivalent)"), "money"),
        Column(_("Spent"), "money"),
        Column(_("Spent (% of budget)"), "decimal"),
        *[Column(str(role.label), "long") for role in PORTFOLIO_ROLES],
        Column(_("Locations"), "long"),
        Column(_("P-codes")),
        Column(_("Recipient countries"), "long"),
        Column(_("Recipient regions"), "long"),
    ]


def portfolio_headers() -> list[str]:
    return [column.label for column in portfolio_columns()]


def portfolio_row(record: ProgrammeRecord, lookups: Lookups, money_view: MoneyView | None = None) -> list:
    units = [lookups.units[u] for u in record.unit_ids]
    budget_usd, spent, share = money_view.figures(record) if money_view else (None, None, None)
    return [
        record.code,
        lookups.pick(record.title_fr, record.title_en),
        lookups.sectors[record.primary_sector_id].name,
        "; ".join(lookups.sectors[s].name for s in record.secondary_sector_ids),
        lookups.labels["scope"][record.scope],
        lookups.labels["modality"].get(record.modality, ""),
        lookups.labels["status"][record.status],
        record.planned_start,
        record.planned_end,
        record.actual_start,
        record.actual_end,
        record.budget,
        record.currency,
        budget_usd,
        spent,
        share,
        *[_role_names(record, lookups, role) for role in PORTFOLIO_ROLES],
        "; ".join(u.name for u in units),
        "; ".join(u.pcode for u in units),
        recipients_label(record.countries, lookups),
        recipients_label(record.regions, lookups),
    ]


class MoneyView:
    """USD equivalents (rates in force on `on`, said in the key figures sheet) and spent against budget;
    what was spent is IOM's accounting: left empty in a partner's file."""

    def __init__(self, *, with_spending: bool, on=None) -> None:
        self.table = money.RateTable.load()
        self.on = on or timezone.localdate()
        self.with_spending = with_spending

    def figures(self, record: ProgrammeRecord) -> tuple:
        budget_usd, _used = money.to_usd(record.budget, record.currency, self.on, self.table)
        if not self.with_spending:
            return budget_usd, None, None
        spending = money.Spending(record.budget, record.currency)
        for t in record.transactions:
            if t.kind in SPENDING_KINDS:
                spending.add(t.value, t.currency, t.date, self.table)
        return budget_usd, spending.spent, spending.share


def indicator_columns() -> list[Column]:
    return [
        Column(_("Programme"), "code"),
        Column(_("Indicator"), "code"),
        Column(_("Name"), "long"),
        Column(_("Unit"), "code"),
        Column(_("Measure"), "code"),
        Column(_("Baseline"), "decimal"),
        Column(_("Baseline year"), "year"),
        Column(_("Overall target"), "decimal"),
        Column(_("Period start"), "date"),
        Column(_("Period end"), "date"),
        Column(_("Sex"), "code"),
        Column(_("Age group"), "code"),
        Column(_("Period target"), "decimal"),
        Column(_("Achieved"), "decimal"),
        Column(_("Suppressed"), "text"),
    ]


def indicator_headers() -> list[str]:
    return [column.label for column in indicator_columns()]


def _suppressed(value: Decimal | None, threshold: int) -> str:
    """Why an achieved figure is left empty for a partner: "< 5", or hidden to protect a small one."""
    if value is not None and 0 < value < threshold:
        return small_label(threshold)
    return _("hidden: it would reveal a small count")


def indicator_rows(record: ProgrammeRecord, lookups: Lookups, *, suppress_below: int = 0) -> Iterator[list]:
    """One row per indicator value; for partners, small counts and the cells that would reveal them are
    empty, with the reason in the last column."""
    sexes, ages = lookups.labels["sex"], lookups.labels["age"]
    for ind in record.indicators:
        base = [record.code, ind.code, lookups.pick(ind.name_fr, ind.name_en), ind.unit_label]
        base += [lookups.labels["measure"][ind.measure]]
        base += [ind.baseline, ind.baseline_year, ind.target]
        if not ind.values:
            yield [*base, None, None, None, None, None, None, None]
        hidden = set()
        if suppress_below and ind.measure == Measure.UNIT:
            cells = ((i, (v[0], v[1]), v[2], v[3], v[5]) for i, v in enumerate(ind.values))
            hidden = hidden_cells(cells, suppress_below)
        for i, (start, end, sex, age, target, achieved) in enumerate(ind.values):
            row = [*base, start, end, sexes[sex], ages[age], target]
            if i in hidden:
                yield [*row, None, _suppressed(achieved, suppress_below)]
            else:
                yield [*row, achieved, None]


def key_figure_columns() -> list[Column]:
    return [
        Column(_("Figure"), "long"),
        Column(_("Value"), "decimal"),
        Column(_("Unit")),
        Column(_("As of"), "date"),
        Column(_("Source"), "long"),
        Column(_("Scope")),
        Column(_("Suppressed")),
    ]


def key_figure_rows(queryset: QuerySet, *, suppress_small: bool = False) -> Iterator[list]:
    """Published headline figures, then the figures computed live from the scoped programmes (one table)."""
    for figure in KeyFigure.objects.filter(is_published=True):
        scope = str(figure.get_scope_display())
        yield [figure.label, figure.value, figure.unit, figure.as_of, figure.source_label, scope, None]
    live = stats.live_figures(queryset, suppress_small=suppress_small)
    today = timezone.localdate()
    source = _("This portal (live, from the programmes in this report)")
    scope = _("Programmes in this report")
    yield [_("Programmes"), live["total_programmes"], _("programmes"), today, source, scope, None]
    yield [_("Active programmes"), live["active_programmes"], _("programmes"), today, source, scope, None]
    for row in live["budget_by_currency"]:
        label = _("Budget of active programmes (%(currency)s)") % {"currency": row["currency"]}
        yield [label, row["total"], row["currency"], today, source, scope, None]
    usd = stats.budget_usd(live)
    rates = _("At the rates in force on %(date)s: %(rates)s.") % {"date": usd.on.isoformat(), "rates": usd.rates_text()}
    label = _("Budget of active programmes (USD equivalent)")
    yield [label, usd.usd, "USD", today, f"{source} — {rates}", scope, None]
    for row in live["key_indicators"]:
        label = _("%(indicator)s (%(year)s)") % {"indicator": row["label"], "year": row["year"]}
        yield [label, row["total"], _("people"), date(row["year"], 12, 31), source, scope, row["suppressed"] or None]


# --- 1. Portfolio workbook ----------------------------------------------------------------------


def write_portfolio_workbook(
    queryset: QuerySet,
    out: IO[bytes] | str | Path,
    *,
    suppress_below: int = 0,
    created: datetime | None = None,
    progress: Progress = _no_progress,
) -> int:
    """Programmes, indicators & values, key figures, notes: sheets written in openpyxl write-only mode."""
    lookups = Lookups.load()
    workbook = Workbook(write_only=True)
    fixed_properties(workbook, created)
    programmes = Sheet(workbook, _("Programmes"), portfolio_columns())
    indicators = Sheet(workbook, _("Indicators and values"), indicator_columns())
    count = 0
    money_view = MoneyView(with_spending=not suppress_below)
    for record in iter_programmes(queryset, lookups, results=True, all_cells=True, money=True, progress=progress):
        programmes.append(portfolio_row(record, lookups, money_view))
        for row in indicator_rows(record, lookups, suppress_below=suppress_below):
            indicators.append(row)
        count += 1
    programmes.close()
    indicators.close()
    _key_figures_sheet(workbook, queryset, suppress_small=bool(suppress_below))
    if suppress_below:
        notes_sheet(workbook, [suppressed_note(suppress_below)])
    workbook.save(out)
    return count


def _key_figures_sheet(workbook: Workbook, queryset: QuerySet, *, suppress_small: bool) -> int:
    sheet = Sheet(workbook, _("Key figures"), key_figure_columns())
    for row in key_figure_rows(queryset, suppress_small=suppress_small):
        sheet.append(row)
    sheet.close()
    return sheet.rows


# --- 5. Key figures summary ---------------------------------------------------------------------


def write_key_figures(
    queryset: QuerySet, out: IO[bytes] | str | Path, *, created: datetime | None = None, suppress_small: bool = False
) -> int:
    workbook = Workbook(write_only=True)
    fixed_properties(workbook, created)
    count = _key_figures_sheet(workbook, queryset, suppress_small=suppress_small)
    if suppress_small:
        notes_sheet(workbook, [suppressed_note(settings.SMALL_CELL_THRESHOLD)])
    workbook.save(out)
    return count
