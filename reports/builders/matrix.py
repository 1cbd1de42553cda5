"""The 3W / 4W matrix with HXL hashtags, as CSV or as a workbook."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import IO

from django.db.models import QuerySet
from django.utils.translation import gettext as _
from openpyxl import Workbook

from programmes.exports import safe_row
from programmes.models import Role
from programmes.privacy import small_label

from .portfolio import _fixed_properties
from .records import Lookups, ProgrammeRecord, Progress, _d, _no_progress, iter_programmes

# --- 3. 3W / 4W matrix with HXL hashtags --------------------------------------------------------


def matrix_columns() -> list[tuple[str, str]]:
    """(label, HXL hashtag) of each column of the 3W/4W matrix, in OCHA's who/what/where/when order."""
    return [
        (_("Implementing organisation"), "#org+impl+name"),
        (_("Implementing organisation (acronym)"), "#org+impl+acronym"),
        (_("Funding organisations"), "#org+funder+name"),
        (_("Sector"), "#sector+name"),
        (_("Sector code"), "#sector+code"),
        (_("Programme code"), "#activity+code"),
        (_("Programme"), "#activity+name"),
        (_("Country"), "#country+name"),
        (_("Country code"), "#country+code"),
        (_("Region"), "#adm1+name"),
        (_("Region P-code"), "#adm1+code"),
        (_("Department"), "#adm2+name"),
        (_("Department P-code"), "#adm2+code"),
        (_("Commune"), "#adm3+name"),
        (_("Commune P-code"), "#adm3+code"),
        (_("Status"), "#status"),
        (_("Start"), "#date+start"),
        (_("End"), "#date+end"),
        (_("Budget"), "#value+budget"),
        (_("Currency"), "#currency"),
        (_("People reached"), "#reached"),
    ]


def people_reached(record: ProgrammeRecord, suppress_below: int = 0) -> Decimal | str | None:
    """`#reached`: the largest total of the programme's indicators that count people (approved values, each
    added up by the one aggregation rule; the largest, not their sum, so that nobody counts twice).
    For partners (`suppress_below`) a small count is shown as "< N"."""
    totals = [t for t in (i.total_achieved() for i in record.indicators if i.counts_people) if t is not None]
    if not totals:
        return None
    reached = max(totals)
    if suppress_below and 0 < reached < suppress_below:
        return small_label(suppress_below)
    return reached


def matrix_rows(
    queryset: QuerySet,
    lookups: Lookups | None = None,
    *,
    progress: Progress = _no_progress,
    suppress_below: int = 0,
) -> Iterator[list]:
    """One row per programme × location × implementing partner (IOM itself when none is recorded)."""
    lookups = lookups or Lookups.load()
    iom = (_("IOM"), "IOM")
    country = "Niger"
    for record in iter_programmes(queryset, lookups, results=True, progress=progress):
        implementers = [
            (lookups.orgs[o].name, lookups.orgs[o].acronym) for o in record.partners_in(Role.IMPLEMENTING_PARTNER)
        ]
        funders = "; ".join(lookups.orgs[o].label for o in record.partners_in(Role.FUNDING))
        sector = lookups.sectors[record.primary_sector_id]
        common = [funders, sector.name, sector.code, record.code, lookups.pick(record.title_fr, record.title_en)]
        common += [country, "NER"]
        tail = [
            lookups.labels["status"][record.status],
            _d(record.actual_start or record.planned_start),
            _d(record.actual_end or record.planned_end),
            record.budget,
            record.currency,
            people_reached(record, suppress_below),
        ]
        places = []
        for unit_id in record.unit_ids or [None]:
            cells = ["", "", "", "", "", ""]
            if unit_id is not None:
                for unit in lookups.chain(unit_id):
                    cells[2 * (unit.level - 1)] = unit.name
                    cells[2 * (unit.level - 1) + 1] = unit.pcode
            places.append(cells)
        for name, acronym in implementers or [iom]:
            for cells in places:
                yield [name, acronym, *common, *cells, *tail]


def write_matrix_csv(
    queryset: QuerySet, out: IO[str], *, progress: Progress = _no_progress, suppress_below: int = 0
) -> int:
    """The 3W matrix as CSV (UTF-8 with BOM for spreadsheets): labels, then HXL hashtags, then rows."""
    columns = matrix_columns()
    writer = csv.writer(out, lineterminator="\n")
    out.write("\ufeff")
    writer.writerow([label for label, _tag in columns])
    writer.writerow([tag for _label, tag in columns])
    count = 0
    for row in matrix_rows(queryset, progress=progress, suppress_below=suppress_below):
        writer.writerow(safe_row(row))
        count += 1
    return count


def write_matrix_xlsx(
    queryset: QuerySet,
    out: IO[bytes] | str | Path,
    *,
    created: datetime | None = None,
    progress: Progress = _no_progress,
    suppress_below: int = 0,
) -> int:
    columns = matrix_columns()
    workbook = Workbook(write_only=True)
    _fixed_properties(workbook, created)
    sheet = workbook.create_sheet(_("3W matrix"))
    sheet.append([label for label, _tag in columns])
    sheet.append([tag for _label, tag in columns])
    count = 0
    for row in matrix_rows(queryset, progress=progress, suppress_below=suppress_below):
        sheet.append(safe_row(row))
        count += 1
    workbook.save(out)
    return count
