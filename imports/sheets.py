"""Reading spreadsheets (XLSX, CSV) by HXL hashtag: the portal's own 3W export or a partner's 3W/4W matrix.

Columns are found by their hashtags, whatever the header text or column order; rows of one programme
(`#activity+code`) become one programme draft. Row-level problems name the row and the column, in the
user's language.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import IO

from django.utils import translation
from django.utils.translation import gettext as _

from programmes.models import Modality, Programme, Role, Status, fold_text

from .drafts import ProgrammeDraft
from .iati import IatiFileError
from .mapping import Reference, normalise_name

MAX_ROWS = 20_000
# How far down the header and hashtag rows may be (title rows above them are common).
HEADER_SEARCH_ROWS = 10


@dataclass(frozen=True)
class Column:
    index: int
    header: str
    tag: str  # "#adm1" …
    attributes: frozenset[str]

    def is_(self, tag: str, *attributes: str) -> bool:
        return self.tag == tag and set(attributes) <= self.attributes


@dataclass
class SheetRow:
    number: int  # as the user sees it in the spreadsheet (1-based)
    cells: dict[int, str]


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return " ".join(str(value).split())


class Table(list):
    """A sheet's rows as text cells, and its formula cells: (row number, column index) → (formula, saved result).

    The saved result is what the spreadsheet program computed when the file was last saved (openpyxl reads
    it with `data_only=True`); a file written by a program that computes nothing has none.
    """

    def __init__(self, rows=(), formulas: dict[tuple[int, int], tuple[str, str | None]] | None = None) -> None:
        super().__init__(rows)
        self.formulas = formulas or {}


def _formula(value) -> str | None:
    """The formula a cell holds (openpyxl gives "=…" text, or an ArrayFormula with its text), or None."""
    if isinstance(value, str) and value.startswith("=") and len(value) > 1:
        return value
    text = getattr(value, "text", None)  # openpyxl.worksheet.formula.ArrayFormula / DataTableFormula
    return text if isinstance(text, str) else None


def read_table(stream: IO[bytes], name: str = "") -> Table:
    """The first sheet of an XLSX, or a CSV (comma, semicolon or tab; UTF-8 or Windows-1252), as text cells."""
    data = stream.read()
    if not data.strip():
        raise IatiFileError(_("The file is empty."))
    if data.startswith(b"PK\x03\x04"):
        return _read_xlsx(data)
    return Table(_read_csv(data))


def _read_xlsx(data: bytes) -> Table:
    from openpyxl import load_workbook

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            if not any(n.startswith("xl/") for n in archive.namelist()):
                raise IatiFileError(_("This archive is not an Excel workbook (XLSX)."))
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError):
        raise IatiFileError(_("The workbook cannot be opened: save it again as XLSX and retry.")) from None
    sheet = workbook.worksheets[0]
    rows, formulas = [], {}
    for number, row in enumerate(sheet.iter_rows(values_only=True), start=1):
        if number > MAX_ROWS + HEADER_SEARCH_ROWS:
            workbook.close()
            raise IatiFileError(
                _("The sheet has more than %(max)s rows: split it into several files.") % {"max": f"{MAX_ROWS:,}"}
            )
        cells = []
        for index, value in enumerate(row):
            formula = _formula(value)
            if formula is not None:
                formulas[(number, index)] = (formula, None)
                value = None
            cells.append(_cell_text(value))
        rows.append(cells)
    workbook.close()
    if formulas:  # a second, cheaper pass for the results the spreadsheet program saved, only when needed
        computed = load_workbook(io.BytesIO(data), read_only=True, data_only=True).worksheets[0]
        last = max(number for number, _index in formulas)
        for number, row in enumerate(computed.iter_rows(max_row=last, values_only=True), start=1):
            for index, value in enumerate(row):
                if (number, index) in formulas and value is not None:
                    saved = _cell_text(value)
                    formulas[(number, index)] = (formulas[(number, index)][0], saved)
                    rows[number - 1][index] = saved
        computed.parent.close()
    return Table(rows, formulas)


def _read_csv(data: bytes) -> list[list[str]]:
    text = None
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    if text is None or "\x00" in text or text.lstrip()[:5].lower() in ("<html", "<!doc"):
        raise IatiFileError(_("This file is not a spreadsheet (XLSX or CSV)."))
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    rows = []
    for number, row in enumerate(csv.reader(io.StringIO(text), dialect), start=1):
        if number > MAX_ROWS + HEADER_SEARCH_ROWS:
            raise IatiFileError(
                _("The sheet has more than %(max)s rows: split it into several files.") % {"max": f"{MAX_ROWS:,}"}
            )
        rows.append([" ".join(cell.split()) for cell in row])
    return rows


_TAG = re.compile(r"^\s*(#[a-z][a-z0-9_]*)((?:\s*\+\s*[a-z][a-z0-9_]*)*)\s*$", re.IGNORECASE)


def hxl_columns(row: list[str], headers: list[str]) -> list[Column] | None:
    """The columns of a hashtag row, or None when the row is not one (most filled cells must be hashtags)."""
    filled = [cell for cell in row if cell]
    if not filled:
        return None
    columns = []
    for index, cell in enumerate(row):
        match = _TAG.match(cell) if cell else None
        if match:
            attributes = frozenset(a.strip().lower() for a in match[2].split("+") if a.strip())
            header = headers[index] if index < len(headers) else ""
            columns.append(Column(index, header or cell, match[1].lower(), attributes))
    return columns if len(columns) * 2 >= len(filled) else None


def find_columns(rows: list[list[str]]) -> tuple[int, list[Column]]:
    """The index of the hashtag row and its columns; the row above it (if any) gives the header texts."""
    for index, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        headers = rows[index - 1] if index else []
        columns = hxl_columns(row, headers)
        if columns:
            return index, columns
    raise IatiFileError(
        _(
            "No HXL hashtag row found in the first %(n)s rows: add a row of hashtags (#org, #sector, "
            "#adm1+code, #activity+code…) under the headers, or start from the portal's template."
        )
        % {"n": HEADER_SEARCH_ROWS}
    )


def parse_number(text: str) -> Decimal | None:
    """French or English number formats: '1 234,50', '1,234.50', '1234.5', '1.234,50'."""
    text = text.replace("\u00a0", " ").replace("\u202f", " ").strip().replace(" ", "")
    if not text:
        return None
    if "," in text and "." in text:
        text = text.replace(".", "").replace(",", ".") if text.rfind(",") > text.rfind(".") else text.replace(",", "")
    elif "," in text:
        head, _sep, tail = text.rpartition(",")
        text = text.replace(",", "") if len(tail) == 3 and head.replace(",", "").isdigit() else text.replace(",", ".")
    try:
        number = Decimal(text)
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


_DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%Y/%m/%d", "%d/%m/%y")


def parse_day(text: str) -> date | None:
    text = text.strip()
    for pattern in _DATE_FORMATS:
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    return None


def _status(text: str) -> str | None:
    wanted = normalise_name(text)
    for value, label in Status.choices:
        if wanted in (normalise_name(value), normalise_name(str(label))):
            return value
    return None


@dataclass
class _Group:
    code: str
    first_row: int
    rows: list[SheetRow]


def iter_sheet_drafts(
    stream: IO[bytes], reference: Reference, language: str, *, name: str = ""
) -> Iterator[ProgrammeDraft]:
    """One draft per programme code of the sheet, its rows merged (partners, places, dates, budget)."""
    rows = read_table(stream, name)
    hashtag_index, columns = find_columns(rows)
    code_column = next((c for c in columns if c.is_("#activity", "code")), None)
    if code_column is None:
        raise IatiFileError(_("The sheet has no #activity+code column: each row must name its programme code."))
    groups: dict[str, _Group] = {}
    for offset, row in enumerate(rows[hashtag_index + 1 :], start=hashtag_index + 2):
        cells = {c.index: row[c.index] if c.index < len(row) else "" for c in columns}
        if not any(cells.values()):
            continue
        code = cells[code_column.index].strip().upper()
        group = groups.setdefault(code, _Group(code, offset, []))
        group.rows.append(SheetRow(offset, cells))
    existing = {p.code: p for p in Programme.objects.filter(code__in=[c for c in groups if c])}
    for group in groups.values():
        draft = _sheet_draft(group, columns, reference, language, existing.get(group.code))
        _report_formulas(draft, group, columns, rows.formulas)
        yield draft


def _report_formulas(draft: ProgrammeDraft, group: _Group, columns: list[Column], formulas: dict) -> None:
    """Each formula cell the import reads, by row and column: its saved result is used (a warning), or, with
    none saved, the programme cannot be imported (an error)."""
    for row in group.rows:
        for column in columns:
            found = formulas.get((row.number, column.index))
            if found is None:
                continue
            formula, saved = found
            if saved is not None:
                draft.warnings.append(
                    _(
                        "%(where)s: the cell holds a formula (%(formula)s); the result saved with the file, "
                        "%(value)s, was used."
                    )
                    % {"where": _where(row, column), "formula": formula, "value": saved}
                )
            else:
                draft.errors.append(
                    _(
                        "%(where)s: the cell holds a formula (%(formula)s) and the file has no saved result for it: "
                        "type the value, or open the file in Excel or LibreOffice and save it again."
                    )
                    % {"where": _where(row, column), "formula": formula}
                )


def _where(row: SheetRow, column: Column) -> str:
    return _("row %(row)s, column %(column)s") % {"row": row.number, "column": column.header}


def _sheet_draft(
    group: _Group, columns: list[Column], reference: Reference, language: str, programme
) -> ProgrammeDraft:
    draft = ProgrammeDraft(
        identifier=group.code,
        code=group.code,
        status=programme.status if programme else Status.PIPELINE,
        merge_lists=True,
    )
    if not group.code:
        draft.errors.append(
            _("Rows %(rows)s have no programme code (#activity+code).")
            % {"rows": ", ".join(str(r.number) for r in group.rows[:10])}
        )
        return draft
    fields: dict = {"code": group.code}
    units, participations, seen_orgs = [], [], set()
    for row in group.rows:
        for column in columns:
            value = row.cells.get(column.index, "")
            if not value:
                continue
            problem = _read_cell(column, value, fields, draft, reference, language, units, participations, seen_orgs)
            if problem:
                draft.errors.append(f"{_where(row, column)}: {problem}")
    if programme is None:
        for name in ("title_fr", "primary_sector", "planned_start"):
            if name not in fields:
                label = Programme._meta.get_field(name).verbose_name
                draft.errors.append(
                    _("Programme %(code)s is new: the sheet must give its %(field)s.")
                    % {"code": group.code, "field": label}
                )
    if programme is not None:
        # A programme's titles are edited on its page: a sheet's wording of them is not a change.
        for name in ("title_fr", "title_en"):
            fields.pop(name, None)
    draft.fields = fields
    draft.locations = units
    draft.participations = participations
    return draft


def _read_cell(column, value, fields, draft, reference, language, units, participations, seen_orgs) -> str | None:
    from programmes.rules import ParticipationRow

    if column.is_("#activity", "name") or (column.tag == "#activity" and not column.attributes):
        fields.setdefault("title_fr" if language == "fr" else "title_en", value)
        fields.setdefault("title_fr", value)
        return None
    if column.tag == "#sector" and "cluster" in column.attributes:
        return None  # the IASC cluster is derived from the sector, never read
    if column.tag == "#sector":
        sector = next(
            (
                s
                for s in reference.sectors.all_sectors
                if normalise_name(value)
                in (normalise_name(s.code), normalise_name(s.name_fr), normalise_name(s.name_en))
            ),
            None,
        )
        if sector is None:
            return _("“%(value)s” is not a sector of the portal.") % {"value": value}
        fields.setdefault("primary_sector", sector)
        return None
    if column.tag in ("#adm1", "#adm2", "#adm3"):
        if "code" in column.attributes or value.upper().startswith("NE"):
            match = reference.places.resolve([value], [])
        else:
            match = reference.places.resolve([], [value])
        if match.unit is None:
            suggestion = reference.places.suggest(value, level=int(column.tag[-1]))
            if suggestion:
                return _("“%(value)s” is not a %(level)s; did you mean %(name)s (%(pcode)s)?") % {
                    "value": value,
                    "level": _level_name(column.tag),
                    "name": suggestion.name_fr,
                    "pcode": suggestion.pcode,
                }
            return match.problem
        # The deepest level given on a row is where the programme works.
        units[:] = [u for u in units if not match.unit.pcode.startswith(u.pcode)]
        if not any(u.pcode.startswith(match.unit.pcode) for u in units):
            units.append(match.unit)
        return None
    if column.tag == "#org" and column.attributes & {"reporting", "type"}:
        return None  # the reporting organisation and organisation types are not partners
    if column.tag == "#org":
        role = Role.FUNDING if "funder" in column.attributes else Role.IMPLEMENTING_PARTNER
        from .iati import OrgRef

        for name in (part.strip() for part in value.split(";")):  # "UE; USAID": one organisation each
            if not name:
                continue
            match = reference.organisations.match(OrgRef(names={"x": name}), language)
            if match.organisation is None:
                return _("“%(value)s” is not an organisation of the portal (check the name or acronym).") % {
                    "value": name
                }
            if match.organisation.pk not in seen_orgs:
                seen_orgs.add(match.organisation.pk)
                participations.append(ParticipationRow(organisation=match.organisation, role=role))
        return None
    if column.tag == "#date":
        day = parse_day(value)
        if day is None:
            return _("“%(value)s” is not a date (e.g. 31/12/2026 or 2026-12-31).") % {"value": value}
        if "start" in column.attributes:
            fields["planned_start"] = min(day, fields.get("planned_start", day))
        elif "end" in column.attributes:
            fields["planned_end"] = max(day, fields.get("planned_end", day))
        return None
    if column.tag == "#value" and "budget" in column.attributes:
        number = parse_number(value)
        if number is None:
            return _("“%(value)s” is not a number.") % {"value": value}
        if "split" in column.attributes:
            # The portal's own 3W export splits each budget across the programme's rows: add them up.
            fields["budget"] = fields.get("budget", 0) + number
        else:
            fields["budget"] = number  # the same budget repeated on each row of a programme
        return None
    if column.tag == "#currency":
        fields["currency"] = value.upper()
        return None
    if column.tag == "#modality":
        modality = _modality(value)
        if modality is None:
            return _("“%(value)s” is not a modality of the portal (%(choices)s).") % {
                "value": value,
                "choices": ", ".join(str(label) for label in Modality.labels),
            }
        fields.setdefault("modality", modality)
        return None
    if column.tag == "#status":
        status = _status(value)
        if status is None:
            return _("“%(value)s” is not a programme status.") % {"value": value}
        if status != draft.status:
            warning = _(
                "The sheet says “%(status)s”: a status changes on the programme page (with its reason), not by import."
            ) % {"status": Status(status).label}
            if warning not in draft.warnings:
                draft.warnings.append(warning)
        return None
    if column.tag in ("#targeted", "#reached", "#inneed", "#affected"):
        if parse_number(value) is None:
            return _("“%(value)s” is not a number.") % {"value": value}
        warning = _("%(tag)s figures are recorded through indicator values, not by this import.") % {"tag": column.tag}
        if warning not in draft.warnings:
            draft.warnings.append(warning)
        return None
    return None


def _modality(value: str) -> str | None:
    """A Modality from its code or its label in French or English (None: not one of them)."""
    wanted = normalise_name(value)
    for choice in Modality:
        names = {normalise_name(choice.value)}
        for language in ("fr", "en"):
            with translation.override(language):
                names.add(normalise_name(str(choice.label)))
        if wanted in names:
            return choice.value
    return None


def _level_name(tag: str) -> str:
    return {"#adm1": _("region"), "#adm2": _("department"), "#adm3": _("commune")}[tag]


def fold(text: str) -> str:
    return fold_text(text)
