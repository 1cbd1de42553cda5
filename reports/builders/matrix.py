"""The 3W / 4W matrix (who does what where, and for whom) with HXL hashtags, as CSV or as a workbook.

It follows OCHA's 3W/4W template, and every column that can be summed sums to the truth:

- One row per programme × place × implementing organisation (IOM itself when none is recorded).
- Budget: the programme budget is split equally across the programme's rows, in cents, the last row
  taking the rounding remainder, so that the column adds up to the programmes' budgets exactly
  (in each programme's own currency: add up per currency).
- People targeted and reached: on the programme's first row only (the same people are not counted
  again per place or partner); taken from the programme's people-count indicator with the largest
  figure (indicators are not added together: the same people may be counted by several).
- Proposals (pipeline, submitted, under review, revision requested), rejected and cancelled
  programmes are left out unless the request filters on status explicitly.
- Niger only: a programme whose recipient countries leave Niger out has no row (the notes say so).
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_DOWN, Decimal
from pathlib import Path
from typing import IO

from django.conf import settings
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from openpyxl import Workbook

from partners.models import IatiOrganisationType
from programmes.exports import safe_row
from programmes.models import AgeGroup, Measure, Role, Sex, Status, total_over_periods
from programmes.privacy import hidden_cells
from regions.models import NIGER

from .records import IndicatorRecord, Lookups, ProgrammeRecord, Progress, _d, _no_progress, iter_programmes
from .workbook import Column, Sheet, fixed_properties, notes_sheet

# Left out of the matrix unless the request names them in its status filter.
LEFT_OUT_STATUSES = (
    Status.PIPELINE,
    Status.SUBMITTED,
    Status.UNDER_REVIEW,
    Status.REVISION_REQUESTED,
    Status.REJECTED,
    Status.CANCELLED,
)

# IASC clusters (global cluster codes as used in HXL 3W files) and the portal's sectors they cover.
# Sectors with no humanitarian cluster (labour migration, border management, ...) have none.
IASC_CLUSTERS = {
    "PRO": gettext_lazy("Protection"),
    "HEA": gettext_lazy("Health"),
    "ERY": gettext_lazy("Early recovery"),
}
SECTOR_CLUSTER = {
    "CT": "PRO",  # counter-trafficking: the anti-trafficking task team of the Protection cluster
    "VM": "PRO",  # assistance to vulnerable migrants
    "AVRR": "PRO",  # return assistance to stranded migrants
    "MH": "HEA",
    "CS": "ERY",  # community stabilisation
    "MD": "ERY",  # migration and development (local development)
}

CENT = Decimal("0.01")
# People columns: (hashtag, sex, age group); the figures come from the chosen indicator.
TARGETED = (("#targeted", Sex.ALL, AgeGroup.ALL), ("#targeted+f", Sex.FEMALE, AgeGroup.ALL))
TARGETED += (("#targeted+m", Sex.MALE, AgeGroup.ALL),)
REACHED = (
    ("#reached", Sex.ALL, AgeGroup.ALL),
    ("#reached+f", Sex.FEMALE, AgeGroup.ALL),
    ("#reached+m", Sex.MALE, AgeGroup.ALL),
    ("#reached+children", Sex.ALL, AgeGroup.CHILDREN),
    ("#reached+adults", Sex.ALL, AgeGroup.ADULTS),
    ("#reached+elderly", Sex.ALL, AgeGroup.OLDER),
)


def matrix_columns() -> list[Column]:
    """Each column of the 3W/4W matrix, in OCHA's who/what/where/when/for-whom order."""
    return [
        Column(_("Reporting organisation"), "text", "#org+reporting+name"),
        Column(_("Implementing organisation"), "long", "#org+impl+name"),
        Column(_("Implementing organisation (acronym)"), "code", "#org+impl+acronym"),
        Column(_("Implementing organisation type"), "text", "#org+impl+type"),
        Column(_("Funding organisations"), "long", "#org+funder+name"),
        Column(_("Funding organisations (acronyms)"), "code", "#org+funder+acronym"),
        Column(_("IASC cluster"), "text", "#sector+cluster+name"),
        Column(_("IASC cluster code"), "code", "#sector+cluster+code"),
        Column(_("Sector"), "text", "#sector+name"),
        Column(_("Sector code"), "code", "#sector+code"),
        Column(_("Modality"), "text", "#modality+name"),
        Column(_("Modality code"), "code", "#modality+code"),
        Column(_("Programme code"), "code", "#activity+code"),
        Column(_("Programme"), "long", "#activity+name"),
        Column(_("Country"), "code", "#country+name"),
        Column(_("Country code"), "code", "#country+code"),
        Column(_("Region"), "text", "#adm1+name"),
        Column(_("Region P-code"), "code", "#adm1+code"),
        Column(_("Department"), "text", "#adm2+name"),
        Column(_("Department P-code"), "code", "#adm2+code"),
        Column(_("Commune"), "text", "#adm3+name"),
        Column(_("Commune P-code"), "code", "#adm3+code"),
        Column(_("Status"), "text", "#status"),
        Column(_("Start"), "date", "#date+start"),
        Column(_("End"), "date", "#date+end"),
        # +split: the importer adds the rows up (imports/sheets.py); HXL tools still match #value+budget.
        Column(_("Budget (programme budget split equally across its rows)"), "money", "#value+budget+split"),
        Column(_("Currency"), "code", "#currency"),
        Column(_("People targeted (programme's first row only)"), "integer", "#targeted"),
        Column(_("Women and girls targeted"), "integer", "#targeted+f"),
        Column(_("Men and boys targeted"), "integer", "#targeted+m"),
        Column(_("People reached (programme's first row only)"), "integer", "#reached"),
        Column(_("Women and girls reached"), "integer", "#reached+f"),
        Column(_("Men and boys reached"), "integer", "#reached+m"),
        Column(_("Children reached (0–17)"), "integer", "#reached+children"),
        Column(_("Adults reached (18–59)"), "integer", "#reached+adults"),
        Column(_("Older people reached (60+)"), "integer", "#reached+elderly"),
        Column(_("Suppressed"), "text", "#meta+suppressed"),
        Column(_("Contact (role address)"), "text", "#contact+email"),
    ]


def matrix_notes(*, suppress_below: int) -> list[str]:
    notes = [
        _(
            "This 3W matrix covers Niger only: places are Niger's OCHA P-codes, and programmes whose recipient "
            "countries do not include Niger are left out (see the portfolio workbook and the IATI file for them)."
        ),
        _(
            "Budget: each programme's budget is split equally across its rows (places × implementing "
            "organisations), in cents, the last row taking the rounding remainder: the column adds up to the "
            "programmes' budgets. Amounts are in each programme's currency; add them up per currency."
        ),
        _(
            "People targeted and reached are on each programme's first row only. They come from the "
            "programme's indicator counting people with the largest figure; indicators are not added together, "
            "since the same people may be counted by several. A cumulative indicator gives its latest period, "
            "an incremental one the sum of its periods."
        ),
        _(
            "Left out unless the request filters on status: proposals (pipeline, submitted, under review, "
            "revision requested), rejected and cancelled programmes."
        ),
        _("IASC cluster: mapped from the portal's sectors; sectors outside the humanitarian clusters have none."),
        _(
            "Modality: how the programme mainly delivers its aid, as recorded on the programme (in-kind, cash, "
            "vouchers, direct services, capacity building, infrastructure); empty when not stated."
        ),
        _("Contact: the role address of the reporting office, never a person's own address."),
    ]
    if suppress_below:
        notes.append(
            _(
                "People reached, in a partner's file: counts of 1 to %(last)s people, and the cells that would let "
                "them be worked out, are left out of the figures (never shown); the column “Suppressed” marks "
                "the programmes concerned."
            )
            % {"last": suppress_below - 1}
        )
    return notes


def matrix_queryset(queryset: QuerySet, *, statuses_chosen: bool = False) -> QuerySet:
    """The programmes of the matrix: proposals, rejected and cancelled ones only when asked for by status."""
    return queryset if statuses_chosen else queryset.exclude(status__in=LEFT_OUT_STATUSES)


def split_budget(budget: Decimal | None, parts: int) -> list[Decimal | None]:
    """`parts` amounts adding up to `budget` exactly (equal shares in cents; the last takes the remainder)."""
    if budget is None:
        return [None] * parts
    share = (budget / parts).quantize(CENT, rounding=ROUND_DOWN)
    return [share] * (parts - 1) + [budget - share * (parts - 1)]


def _cell_figure(values: list[tuple], indicator: IndicatorRecord, sex: str, age: str, column: int) -> Decimal | None:
    """The programme-wide figure of one cell, by the one aggregation rule (programmes.models.total_over_periods):
    its latest period when cumulative, else the sum of its periods."""
    figures = [v[column] for v in values if v[2] == sex and v[3] == age]
    return total_over_periods(indicator.measure, indicator.cumulative, figures)


def _shown_values(indicator: IndicatorRecord, suppress_below: int) -> tuple[list[tuple], bool]:
    """The indicator's values whose achieved figure the reader may see (partners: the cells the portfolio
    shows them, see programmes/privacy.py), and whether any was left out."""
    if not suppress_below or indicator.measure != Measure.UNIT:
        return indicator.values, False
    hidden = hidden_cells(((i, (v[0], v[1]), v[2], v[3], v[5]) for i, v in enumerate(indicator.values)), suppress_below)
    return [v for i, v in enumerate(indicator.values) if i not in hidden], bool(hidden)


@dataclass
class PeopleFigures:
    cells: list[int | None]
    suppressed: str = ""


def people_figures(record: ProgrammeRecord, *, suppress_below: int = 0) -> PeopleFigures:
    """Targeted and reached by sex and age, from the programme's people-count indicator with the largest
    figure. For partners, "reached" adds up only the cells they may see (a small count and the cells that
    would reveal it are left out, never shown), so every figure is made of figures they already see."""
    best: tuple | None = None
    for indicator in record.indicators:
        if not indicator.counts_people:
            continue
        shown, partial = _shown_values(indicator, suppress_below)
        reached = [_cell_figure(shown, indicator, sex, age, 5) for _tag, sex, age in REACHED]
        targeted = [_cell_figure(indicator.values, indicator, sex, age, 4) for _tag, sex, age in TARGETED]
        if indicator.target is not None:
            targeted[0] = indicator.target
        size = (max(reached[0] or 0, targeted[0] or 0), indicator.code)
        if best is None or size > best[0]:
            best = (size, targeted + reached, partial)
    if best is None:
        return PeopleFigures([None] * (len(TARGETED) + len(REACHED)))
    _size, cells, partial = best
    marker = _("Small counts left out (fewer than %(n)s people)") % {"n": suppress_below} if partial else ""
    return PeopleFigures([int(v) if v is not None else None for v in cells], marker)


def matrix_rows(
    queryset: QuerySet,
    lookups: Lookups | None = None,
    *,
    suppress_below: int = 0,
    progress: Progress = _no_progress,
) -> Iterator[list]:
    """One row per programme × location × implementing partner (IOM itself when none is recorded)."""
    lookups = lookups or Lookups.load()
    iom = (_("International Organization for Migration"), _("IOM"), str(IatiOrganisationType.MULTILATERAL.label))
    reporting = _("IOM Niger")
    contact = settings.REPORTS_CONTACT_EMAIL
    country = "Niger"
    for record in iter_programmes(queryset, lookups, results=True, all_cells=True, progress=progress):
        if record.countries and all(code != NIGER for code, *_rest in record.countries):
            continue  # Niger only (matrix_notes)
        implementers = [
            (lookups.orgs[o].name, lookups.orgs[o].acronym_local, lookups.orgs[o].type_label)
            for o in record.partners_in(Role.IMPLEMENTING_PARTNER)
        ]
        funders = [lookups.orgs[o] for o in record.partners_in(Role.FUNDING)]
        sector = lookups.sectors[record.primary_sector_id]
        cluster = SECTOR_CLUSTER.get(sector.code, "")
        what = [
            "; ".join(f.name for f in funders),
            "; ".join(f.acronym_local for f in funders if f.acronym_local),
            str(IASC_CLUSTERS[cluster]) if cluster else "",
            cluster,
            sector.name,
            sector.code,
            lookups.labels["modality"].get(record.modality, ""),
            record.modality,
            record.code,
            lookups.pick(record.title_fr, record.title_en),
            country,
            "NER",
        ]
        when = [
            lookups.labels["status"][record.status],
            record.actual_start or record.planned_start,
            record.actual_end or record.planned_end,
        ]
        places = []
        for unit_id in record.unit_ids or [None]:
            cells = ["", "", "", "", "", ""]
            if unit_id is not None:
                for unit in lookups.chain(unit_id):
                    cells[2 * (unit.level - 1)] = unit.name
                    cells[2 * (unit.level - 1) + 1] = unit.pcode
            places.append(cells)
        rows = [(who, where) for who in implementers or [iom] for where in places]
        budgets = split_budget(record.budget, len(rows))
        people = people_figures(record, suppress_below=suppress_below)
        for index, ((name, acronym, kind), where) in enumerate(rows):
            figures = people.cells if index == 0 else [None] * len(people.cells)
            marker = people.suppressed if index == 0 else ""
            yield [
                reporting,
                name,
                acronym,
                kind,
                *what,
                *where,
                *when,
                budgets[index],
                record.currency,
                *figures,
                marker,
                contact,
            ]


def _csv_value(value):
    return _d(value) if hasattr(value, "isoformat") else value


def write_matrix_csv(
    queryset: QuerySet,
    out: IO[str],
    *,
    statuses_chosen: bool = False,
    suppress_below: int = 0,
    progress: Progress = _no_progress,
) -> int:
    """The 3W matrix as CSV in UTF-8 (no byte-order mark: the first header is read as written):
    labels, then HXL hashtags, then rows."""
    columns = matrix_columns()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([c.label for c in columns])
    writer.writerow([c.tag for c in columns])
    count = 0
    programmes = matrix_queryset(queryset, statuses_chosen=statuses_chosen)
    for row in matrix_rows(programmes, suppress_below=suppress_below, progress=progress):
        writer.writerow(safe_row(_csv_value(v) for v in row))
        count += 1
    return count


def write_matrix_xlsx(
    queryset: QuerySet,
    out: IO[bytes] | str | Path,
    *,
    statuses_chosen: bool = False,
    suppress_below: int = 0,
    created: datetime | None = None,
    progress: Progress = _no_progress,
) -> int:
    workbook = Workbook(write_only=True)
    fixed_properties(workbook, created)
    sheet = Sheet(workbook, _("3W matrix"), matrix_columns(), hashtags=True)
    programmes = matrix_queryset(queryset, statuses_chosen=statuses_chosen)
    for row in matrix_rows(programmes, suppress_below=suppress_below, progress=progress):
        sheet.append(row)
    sheet.close()
    notes_sheet(workbook, matrix_notes(suppress_below=suppress_below))
    workbook.save(out)
    return sheet.rows
