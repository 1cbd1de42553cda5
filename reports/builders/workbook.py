"""What every workbook of the portal looks like: a bold header row frozen in place, an auto-filter,
column widths, and real numbers and dates with their formats (never numbers written as text).

A value hidden from a partner (a small count) is an empty cell; the column "Suppressed" of the row
says which cells were hidden and why (see `suppressed_note`), so a number column holds only numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from programmes.exports import safe_cell

FORMATS = {
    "integer": "#,##0",
    "decimal": "#,##0.##",
    "money": "#,##0.00",
    "date": "yyyy-mm-dd",
    "year": "0",
}
WIDTHS = {"text": 24, "long": 48, "code": 14, "integer": 12, "decimal": 14, "money": 16, "date": 12, "year": 8}
BOLD = Font(bold=True)
WRAP = Alignment(wrap_text=True, vertical="top")


@dataclass(frozen=True, slots=True)
class Column:
    label: str
    kind: str = "text"  # text, long, code, integer, decimal, money, date, year
    tag: str = ""  # HXL hashtag, for the sheets that carry a hashtag row


def fixed_properties(workbook: Workbook, when: datetime | None) -> None:
    """Fixed document dates, so that the same job builds the same workbook."""
    if when is not None:
        naive = timezone.make_naive(when, UTC) if timezone.is_aware(when) else when
        workbook.properties.created = naive
        workbook.properties.modified = naive
    workbook.properties.creator = "IOM Niger programme portal"


class Sheet:
    """A write-only sheet with a styled header; `append` rows, then `close` (sets the auto-filter)."""

    def __init__(self, workbook: Workbook, title: str, columns: list[Column], *, hashtags: bool = False):
        self.sheet = workbook.create_sheet(title)
        self.columns = columns
        self.header_rows = 2 if hashtags else 1
        self.rows = 0
        for index, column in enumerate(columns, 1):
            self.sheet.column_dimensions[get_column_letter(index)].width = WIDTHS.get(column.kind, 20)
        self.sheet.freeze_panes = f"A{self.header_rows + 1}"
        self.sheet.append([self._bold(c.label) for c in columns])
        if hashtags:
            self.sheet.append([self._bold(c.tag) for c in columns])

    def _bold(self, value: str) -> WriteOnlyCell:
        cell = WriteOnlyCell(self.sheet, value)
        cell.font = BOLD
        return cell

    def _cell(self, value: Any, column: Column) -> Any:
        if value is None or value == "":
            return None
        if isinstance(value, bool):
            return value
        number_format = FORMATS.get(column.kind)
        if isinstance(value, datetime):
            value = timezone.make_naive(value, UTC) if timezone.is_aware(value) else value
        if isinstance(value, int | float | Decimal | date) and number_format:
            cell = WriteOnlyCell(self.sheet, value)
            cell.number_format = number_format
            return cell
        if isinstance(value, date):
            cell = WriteOnlyCell(self.sheet, value)
            cell.number_format = FORMATS["date"]
            return cell
        return safe_cell(value)

    def append(self, row: list) -> None:
        self.sheet.append([self._cell(v, c) for v, c in zip(row, self.columns, strict=False)])
        self.rows += 1

    def close(self) -> None:
        last = get_column_letter(max(len(self.columns), 1))
        self.sheet.auto_filter.ref = f"A{self.header_rows}:{last}{self.header_rows + self.rows}"


def notes_sheet(workbook: Workbook, notes: list[str]) -> None:
    """A last sheet "Notes": how the figures were built (split rules, what was left out, suppression)."""
    sheet = workbook.create_sheet(_("Notes"))
    sheet.column_dimensions["A"].width = 110
    cell = WriteOnlyCell(sheet, _("Notes"))
    cell.font = BOLD
    sheet.append([cell])
    for note in notes:
        cell = WriteOnlyCell(sheet, safe_cell(note))
        cell.alignment = WRAP
        sheet.append([cell])


def suppressed_note(threshold: int) -> str:
    return _(
        "Cells left empty with a mark in the column “Suppressed”: counts of people between 1 and %(last)s are "
        "hidden from partners, and so are the cells that would let them be worked out by subtraction."
    ) % {"last": threshold - 1}
