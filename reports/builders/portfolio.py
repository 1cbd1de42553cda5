"""The portfolio workbook (programmes, indicators) and the key figures summary."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook

from programmes import stats
from programmes.exports import safe_row
from programmes.models import KeyFigure, Measure, Role
from programmes.privacy import hidden_cells

from .records import (
    Lookups,
    ProgrammeRecord,
    Progress,
    _hidden,
    _no_progress,
    _role_names,
    iter_programmes,
    recipients_label,
)

PORTFOLIO_ROLES = (
    Role.GOVERNMENT_COUNTERPART,
    Role.ENDORSING_AUTHORITY,
    Role.IMPLEMENTING_PARTNER,
    Role.FUNDING,
    Role.BENEFICIARY_INSTITUTION,
)


def portfolio_headers() -> list[str]:
    return [
        _("Code"),
        _("Title"),
        _("Primary sector"),
        _("Secondary sectors"),
        _("Scope"),
        _("Status"),
        _("Planned start"),
        _("Planned end"),
        _("Actual start"),
        _("Actual end"),
        _("Budget"),
        _("Currency"),
        *[str(role.label) for role in PORTFOLIO_ROLES],
        _("Locations"),
        _("P-codes"),
        _("Recipient countries"),
        _("Recipient regions"),
    ]


def portfolio_row(record: ProgrammeRecord, lookups: Lookups) -> list:
    units = [lookups.units[u] for u in record.unit_ids]
    return [
        record.code,
        lookups.pick(record.title_fr, record.title_en),
        lookups.sectors[record.primary_sector_id].name,
        "; ".join(lookups.sectors[s].name for s in record.secondary_sector_ids),
        lookups.labels["scope"][record.scope],
        lookups.labels["status"][record.status],
        record.planned_start,
        record.planned_end,
        record.actual_start,
        record.actual_end,
        record.budget,
        record.currency,
        *[_role_names(record, lookups, role) for role in PORTFOLIO_ROLES],
        "; ".join(u.name for u in units),
        "; ".join(u.pcode for u in units),
        recipients_label(record.countries, lookups),
        recipients_label(record.regions, lookups),
    ]


def indicator_headers() -> list[str]:
    return [
        _("Programme"),
        _("Indicator"),
        _("Name"),
        _("Unit"),
        _("Measure"),
        _("Baseline"),
        _("Baseline year"),
        _("Overall target"),
        _("Period start"),
        _("Period end"),
        _("Sex"),
        _("Age group"),
        _("Period target"),
        _("Achieved"),
    ]


def indicator_rows(record: ProgrammeRecord, lookups: Lookups, *, suppress_below: int = 0) -> Iterator[list]:
    """One row per indicator value; for partners, small counts and the cells that would reveal them hide."""
    sexes, ages = lookups.labels["sex"], lookups.labels["age"]
    for ind in record.indicators:
        base = [record.code, ind.code, lookups.pick(ind.name_fr, ind.name_en), ind.unit]
        base += [lookups.labels["measure"][ind.measure]]
        base += [ind.baseline, ind.baseline_year, ind.target]
        if not ind.values:
            yield [*base, None, None, None, None, None, None]
        hidden = set()
        if suppress_below and ind.measure == Measure.UNIT:
            cells = ((i, (v[0], v[1]), v[2], v[3], v[5]) for i, v in enumerate(ind.values))
            hidden = hidden_cells(cells, suppress_below)
        for i, (start, end, sex, age, target, achieved) in enumerate(ind.values):
            yield [*base, start, end, sexes[sex], ages[age], target, _hidden(achieved, i in hidden, suppress_below)]


def key_figure_rows(queryset: QuerySet, *, suppress_small: bool = False) -> Iterator[list]:
    """Published headline figures, then the figures computed live from the scoped programmes."""
    yield [_("Published key figures")]
    yield [_("Figure"), _("Value"), _("Unit"), _("As of"), _("Source"), _("Scope")]
    for figure in KeyFigure.objects.filter(is_published=True):
        yield [
            figure.label,
            figure.display_value or figure.value,
            figure.unit,
            figure.as_of,
            figure.source,
            str(figure.get_scope_display()),
        ]
    live = stats.live_figures(queryset, suppress_small=suppress_small)
    yield []
    yield [_("Live figures from the programmes in this report")]
    yield [_("Programmes"), live["total_programmes"]]
    yield [_("Active programmes"), live["active_programmes"]]
    for row in live["budget_by_currency"]:
        yield [_("Budget of active programmes (%(currency)s)") % {"currency": row["currency"]}, row["total"]]
    yield []
    yield [_("Key indicator"), _("Year"), _("Achieved")]
    for row in live["key_indicators"]:
        yield [str(row["label"]), row["year"], row["suppressed"] or row["total"]]


# --- 1. Portfolio workbook ----------------------------------------------------------------------


def _fixed_properties(workbook: Workbook, when: datetime | None) -> None:
    """Fixed document dates, so that the same job builds the same workbook."""
    if when is not None:
        naive = timezone.make_naive(when, UTC) if timezone.is_aware(when) else when
        workbook.properties.created = naive
        workbook.properties.modified = naive
    workbook.properties.creator = "IOM Niger programme portal"


def write_portfolio_workbook(
    queryset: QuerySet,
    out: IO[bytes] | str | Path,
    *,
    suppress_below: int = 0,
    created: datetime | None = None,
    progress: Progress = _no_progress,
) -> int:
    """Programmes, indicators & values, key figures: three sheets written in openpyxl write-only mode."""
    lookups = Lookups.load()
    workbook = Workbook(write_only=True)
    _fixed_properties(workbook, created)
    programmes = workbook.create_sheet(_("Programmes"))
    indicators = workbook.create_sheet(_("Indicators and values"))
    programmes.append(portfolio_headers())
    indicators.append(indicator_headers())
    count = 0
    for record in iter_programmes(queryset, lookups, results=True, all_cells=True, progress=progress):
        programmes.append(safe_row(portfolio_row(record, lookups)))
        for row in indicator_rows(record, lookups, suppress_below=suppress_below):
            indicators.append(safe_row(row))
        count += 1
    figures = workbook.create_sheet(_("Key figures"))
    for row in key_figure_rows(queryset, suppress_small=bool(suppress_below)):
        figures.append(safe_row(row))
    workbook.save(out)
    return count


# --- 5. Key figures summary ---------------------------------------------------------------------


def write_key_figures(
    queryset: QuerySet, out: IO[bytes] | str | Path, *, created: datetime | None = None, suppress_small: bool = False
) -> int:
    workbook = Workbook(write_only=True)
    _fixed_properties(workbook, created)
    sheet = workbook.create_sheet(_("Key figures"))
    count = 0
    for row in key_figure_rows(queryset, suppress_small=suppress_small):
        sheet.append(safe_row(row))
        count += 1
    workbook.save(out)
    return count
