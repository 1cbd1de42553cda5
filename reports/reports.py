"""Report builders: pure functions from a (scoped) programme queryset and parameters to a file.

Rows are streamed: programmes come from a server-side cursor in chunks, and each chunk's partners,
locations and results are fetched with one query per relation, so memory stays flat as data grows.
Names and labels follow the active language (the caller wraps a builder in translation.override).
"""

from __future__ import annotations

import csv
import functools
import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from itertools import islice
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.db.models import QuerySet
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from lxml import etree
from openpyxl import Workbook

from partners.models import Organisation
from programmes import stats
from programmes.exports import safe_row
from programmes.models import (
    IATI_ACTIVITY_STATUS,
    IATI_ORGANISATION_ROLE,
    AgeGroup,
    Indicator,
    IndicatorValue,
    KeyFigure,
    Measure,
    Outcome,
    Output,
    Participation,
    Programme,
    ProgrammeLocation,
    Role,
    Scope,
    Sector,
    Sex,
    Status,
)
from programmes.privacy import HIDDEN_MARK, hidden_cells, small_label
from regions.models import AdminUnit

Progress = Callable[[int], None]
IATI_DIR = Path(__file__).resolve().parent / "data" / "iati"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
IOM_NAME = {
    "fr": "Organisation internationale pour les migrations (OIM)",
    "en": "International Organization for Migration (IOM)",
}
# IATI ActivityScope for each programme scope (4 national, 6 one region, 5 several regions, 1 global).
IATI_ACTIVITY_SCOPE = {Scope.NATIONAL: "4", Scope.REGIONAL: "6", Scope.MULTI_REGIONAL: "5", Scope.GLOBAL: "1"}
# GeoNames feature codes of first-, second- and third-order administrative divisions.
FEATURE_DESIGNATION = {1: "ADM1", 2: "ADM2", 3: "ADM3"}


def _no_progress(done: int) -> None:
    """Default progress callback: nobody is listening."""


def _batched(iterable: Iterable, size: int) -> Iterator[list]:
    iterator = iter(iterable)
    while chunk := list(islice(iterator, size)):
        yield chunk


def _lang() -> str:
    return "en" if get_language() == "en" else "fr"


def _pick(fr: str, en: str) -> str:
    return en if _lang() == "en" and en else fr


# --- Reference lookups (small tables, loaded once per report) -----------------------------------


@dataclass(frozen=True, slots=True)
class Unit:
    pcode: str
    name_fr: str
    name_en: str
    level: int
    parent_id: int | None
    lat: float | None
    lon: float | None
    name: str  # in the report's language


@dataclass(frozen=True, slots=True)
class Org:
    code: str
    acronym: str
    name_fr: str
    name_en: str
    iati_type: str
    iati_identifier: str
    name: str  # in the report's language
    label: str  # "ACRONYM — name"


@dataclass(frozen=True, slots=True)
class SectorInfo:
    code: str
    name_fr: str
    name_en: str
    dac_code: str
    name: str  # in the report's language


def _choice_labels(*enums) -> dict[str, str]:
    return {value: str(label) for enum in enums for value, label in enum.choices}


@dataclass
class Lookups:
    """Reference tables and choice labels in the active language, resolved once per report (not per row)."""

    lang: str
    units: dict[int, Unit]
    orgs: dict[int, Org]
    sectors: dict[int, SectorInfo]
    labels: dict[str, dict[str, str]]

    @classmethod
    def load(cls) -> Lookups:
        lang = _lang()

        def pick(fr: str, en: str) -> str:
            return en if lang == "en" and en else fr

        units = {
            pk: Unit(pcode, fr, en, level, parent, lat, lon, pick(fr, en))
            for pk, pcode, fr, en, level, parent, lat, lon in AdminUnit.objects.values_list(
                "pk", "pcode", "name_fr", "name_en", "level", "parent_id", "centroid_lat", "centroid_lon"
            )
        }
        orgs = {}
        for pk, code, acronym, fr, en, iati_type, iati_identifier in Organisation.objects.values_list(
            "pk", "code", "acronym", "name_fr", "name_en", "iati_type", "iati_identifier"
        ):
            name = pick(fr, en)
            label = f"{acronym} — {name}" if acronym else name
            orgs[pk] = Org(code, acronym, fr, en, iati_type, iati_identifier, name, label)
        sectors = {
            pk: SectorInfo(code, fr, en, dac, pick(fr, en))
            for pk, code, fr, en, dac in Sector.objects.values_list("pk", "code", "name_fr", "name_en", "dac_code")
        }
        labels = {
            "sex": _choice_labels(Sex),
            "age": _choice_labels(AgeGroup),
            "measure": _choice_labels(Measure),
            "status": _choice_labels(Status),
            "scope": _choice_labels(Scope),
            "role": _choice_labels(Role),
        }
        return cls(lang, units, orgs, sectors, labels)

    def pick(self, fr: str, en: str) -> str:
        return en if self.lang == "en" and en else fr

    def chain(self, unit_id: int) -> list[Unit]:
        """Region, department, commune (as deep as the unit goes)."""
        chain: list[Unit] = []
        current: int | None = unit_id
        while current is not None:
            unit = self.units[current]
            chain.insert(0, unit)
            current = unit.parent_id
        return chain


# --- Streaming programmes with their relations --------------------------------------------------

PROGRAMME_FIELDS = (
    "pk",
    "code",
    "title_fr",
    "title_en",
    "summary_fr",
    "summary_en",
    "primary_sector_id",
    "scope",
    "status",
    "planned_start",
    "planned_end",
    "actual_start",
    "actual_end",
    "budget",
    "currency",
    "updated_at",
)


@dataclass(slots=True)
class IndicatorRecord:
    pk: int
    outcome_id: int | None
    output_id: int | None
    code: str
    name_fr: str
    name_en: str
    unit: str
    measure: str
    baseline: Decimal
    baseline_year: int | None
    target: Decimal | None
    values: list[tuple] = field(default_factory=list)  # (period_start, period_end, sex, age, target, achieved)

    @property
    def name(self) -> str:
        return _pick(self.name_fr, self.name_en)


@dataclass(slots=True)
class ProgrammeRecord:
    pk: int
    code: str
    title_fr: str
    title_en: str
    summary_fr: str
    summary_en: str
    primary_sector_id: int
    scope: str
    status: str
    planned_start: date
    planned_end: date | None
    actual_start: date | None
    actual_end: date | None
    budget: Decimal
    currency: str
    updated_at: datetime
    secondary_sector_ids: list[int] = field(default_factory=list)
    partners: list[tuple[int, str, Decimal | None]] = field(default_factory=list)  # (organisation, role, amount)
    unit_ids: list[int] = field(default_factory=list)
    results: list[tuple] = field(default_factory=list)  # (kind, pk, code, statement_fr, statement_en)
    indicators: list[IndicatorRecord] = field(default_factory=list)

    @property
    def title(self) -> str:
        return _pick(self.title_fr, self.title_en)

    @property
    def summary(self) -> str:
        return _pick(self.summary_fr, self.summary_en)

    def partners_in(self, role: str) -> list[int]:
        return [org for org, r, _ in self.partners if r == role]


def iter_programmes(
    queryset: QuerySet,
    lookups: Lookups,
    *,
    chunk_size: int | None = None,
    results: bool = False,
    statements: bool = False,
    all_cells: bool = False,
    progress: Progress = _no_progress,
) -> Iterator[ProgrammeRecord]:
    """Programmes of the queryset in its order, each with partners, locations and optionally its results:
    indicators with their values (totals only unless `all_cells`), and outcome/output statements."""
    chunk_size = chunk_size or settings.REPORTS_CHUNK_SIZE
    rows = queryset.values_list(*PROGRAMME_FIELDS).iterator(chunk_size=chunk_size)
    for chunk in _batched(rows, chunk_size):
        records = {row[0]: ProgrammeRecord(*row) for row in chunk}
        ids = list(records)
        for pid, org, role, amount in Participation.objects.filter(programme_id__in=ids).values_list(
            "programme_id", "organisation_id", "role", "contribution"
        ):
            records[pid].partners.append((org, role, amount))
        for record in records.values():
            # Sorted here rather than by a join in SQL: the organisation names are already in memory.
            record.partners.sort(key=lambda p: (p[1], lookups.orgs[p[0]].name_fr))
        for pid, unit in (
            ProgrammeLocation.objects.filter(programme_id__in=ids)
            .order_by("programme_id", "admin_unit__pcode")
            .values_list("programme_id", "admin_unit_id")
        ):
            records[pid].unit_ids.append(unit)
        through = Programme.secondary_sectors.through
        for pid, sector in (
            through.objects.filter(programme_id__in=ids).order_by("sector_id").values_list("programme_id", "sector_id")
        ):
            records[pid].secondary_sector_ids.append(sector)
        if results:
            _attach_results(records, ids, all_cells=all_cells, statements=statements)
        yield from records.values()
        progress(len(chunk))


def _attach_results(records: dict[int, ProgrammeRecord], ids: list[int], *, all_cells: bool, statements: bool) -> None:
    if statements:
        for pk, pid, code, fr, en in Outcome.objects.filter(programme_id__in=ids).values_list(
            "pk", "programme_id", "code", "statement_fr", "statement_en"
        ):
            records[pid].results.append(("outcome", pk, code, fr, en))
        for pk, pid, code, fr, en in Output.objects.filter(outcome__programme_id__in=ids).values_list(
            "pk", "outcome__programme_id", "code", "statement_fr", "statement_en"
        ):
            records[pid].results.append(("output", pk, code, fr, en))
    indicators: dict[int, IndicatorRecord] = {}
    for pid, *row in (
        Indicator.objects.filter(programme_id__in=ids)
        .order_by("programme_id", "code")
        .values_list(
            "programme_id",
            "pk",
            "outcome_id",
            "output_id",
            "code",
            "name_fr",
            "name_en",
            "unit",
            "measure",
            "baseline",
            "baseline_year",
            "target",
        )
    ):
        indicator = IndicatorRecord(*row)
        indicators[indicator.pk] = indicator
        records[pid].indicators.append(indicator)
    if not indicators:
        return
    values = IndicatorValue.objects.filter(indicator_id__in=list(indicators))
    if not all_cells:
        values = values.filter(sex=Sex.ALL, age_group=AgeGroup.ALL)
    for indicator_id, *row in values.order_by("indicator_id", "period_start", "sex", "age_group").values_list(
        "indicator_id", "period_start", "period_end", "sex", "age_group", "target", "achieved"
    ):
        indicators[indicator_id].values.append(tuple(row))


# --- Shared row builders ------------------------------------------------------------------------


def _d(value: date | None) -> str:
    return value.isoformat() if value else ""


def _status_label(status: str) -> str:
    return str(Status(status).label)


def _role_names(record: ProgrammeRecord, lookups: Lookups, role: str) -> str:
    return "; ".join(lookups.orgs[o].label for o in record.partners_in(role))


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


def _hidden(value: Decimal | None, hidden: bool, threshold: int) -> Any:
    """A value as a partner may read it: "< N" for a small count, "•" for one hidden to protect another."""
    if not hidden or value is None:
        return value
    return small_label(threshold) if 0 < value < threshold else HIDDEN_MARK


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
    ]


def matrix_rows(
    queryset: QuerySet, lookups: Lookups | None = None, *, progress: Progress = _no_progress
) -> Iterator[list]:
    """One row per programme × location × implementing partner (IOM itself when none is recorded)."""
    lookups = lookups or Lookups.load()
    iom = (_("IOM"), "IOM")
    country = "Niger"
    for record in iter_programmes(queryset, lookups, progress=progress):
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


def write_matrix_csv(queryset: QuerySet, out: IO[str], *, progress: Progress = _no_progress) -> int:
    """The 3W matrix as CSV (UTF-8 with BOM for spreadsheets): labels, then HXL hashtags, then rows."""
    columns = matrix_columns()
    writer = csv.writer(out, lineterminator="\n")
    out.write("\ufeff")
    writer.writerow([label for label, _tag in columns])
    writer.writerow([tag for _label, tag in columns])
    count = 0
    for row in matrix_rows(queryset, progress=progress):
        writer.writerow(safe_row(row))
        count += 1
    return count


def write_matrix_xlsx(
    queryset: QuerySet,
    out: IO[bytes] | str | Path,
    *,
    created: datetime | None = None,
    progress: Progress = _no_progress,
) -> int:
    columns = matrix_columns()
    workbook = Workbook(write_only=True)
    _fixed_properties(workbook, created)
    sheet = workbook.create_sheet(_("3W matrix"))
    sheet.append([label for label, _tag in columns])
    sheet.append([tag for _label, tag in columns])
    count = 0
    for row in matrix_rows(queryset, progress=progress):
        sheet.append(safe_row(row))
        count += 1
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


# --- 4. IATI 2.03 activity XML ------------------------------------------------------------------


@functools.cache
def iati_schema() -> etree.XMLSchema:
    """The official IATI 2.03 activities schema shipped in reports/data/iati (loaded once per process)."""
    return etree.XMLSchema(etree.parse(str(IATI_DIR / "schema-2.03" / "iati-activities-schema.xsd")))


def _narratives(parent: etree._Element, tag: str, fr: str, en: str) -> etree._Element:
    element = etree.SubElement(parent, tag)
    for lang, text in (("fr", fr), ("en", en)):
        if text:
            narrative = etree.SubElement(element, "narrative")
            narrative.set(XML_LANG, lang)
            narrative.text = text
    return element


def _amount(value: Decimal) -> str:
    return f"{value.quantize(Decimal('0.01'), rounding=ROUND_HALF_UP)}"


def _number(value: Decimal) -> str:
    return format(value.normalize(), "f")


def budget_periods(start: date, end: date | None, total: Decimal) -> list[tuple[date, date, Decimal]]:
    """The budget split per calendar year (IATI wants periods of at most a year), pro rata of the days."""
    end = end or date(start.year, 12, 31)
    periods: list[tuple[date, date]] = []
    cursor = start
    while cursor <= end:
        year_end = min(date(cursor.year, 12, 31), end)
        periods.append((cursor, year_end))
        cursor = year_end + timedelta(days=1)
    days = sum((b - a).days + 1 for a, b in periods)
    amounts, allotted = [], Decimal("0")
    for index, (a, b) in enumerate(periods):
        if index == len(periods) - 1:
            share = total - allotted
        else:
            share = (total * Decimal((b - a).days + 1) / Decimal(days)).quantize(Decimal("0.01"))
        allotted += share
        amounts.append((a, b, share))
    return amounts


def _sector_percentages(codes: list[str]) -> list[tuple[str, int]]:
    """Equal shares summing to exactly 100 (the first code takes the remainder), repeated codes merged."""
    merged: dict[str, int] = {}
    share, remainder = divmod(100, len(codes))
    for index, code in enumerate(codes):
        merged[code] = merged.get(code, 0) + share + (remainder if index == 0 else 0)
    return list(merged.items())


def iati_activity(
    record: ProgrammeRecord, lookups: Lookups, *, prefix: str, today: date, suppress_below: int = 0
) -> etree._Element:
    """One <iati-activity> in the element order of the 2.03 schema."""
    activity = etree.Element("iati-activity")
    activity.set("last-updated-datetime", record.updated_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
    activity.set(XML_LANG, "fr")
    activity.set("default-currency", record.currency)
    etree.SubElement(activity, "iati-identifier").text = f"{prefix}-{record.code}"
    reporting = _narratives(activity, "reporting-org", IOM_NAME["fr"], IOM_NAME["en"])
    reporting.set("ref", prefix)
    reporting.set("type", "40")
    reporting.set("secondary-reporter", "0")
    _narratives(activity, "title", record.title_fr, record.title_en)
    # The schema requires a description: without a summary, the title stands in for it.
    if record.summary_fr or record.summary_en:
        _narratives(activity, "description", record.summary_fr, record.summary_en).set("type", "1")
    else:
        _narratives(activity, "description", record.title_fr, record.title_en).set("type", "1")

    iom = _narratives(activity, "participating-org", IOM_NAME["fr"], IOM_NAME["en"])
    iom.set("ref", prefix)
    iom.set("role", "2")
    iom.set("type", "40")
    for org_id, role, _amount_value in record.partners:
        org = lookups.orgs[org_id]
        element = _narratives(activity, "participating-org", org.name_fr, org.name_en)
        if org.iati_identifier:
            element.set("ref", org.iati_identifier)
        element.set("role", IATI_ORGANISATION_ROLE[Role(role)])
        if org.iati_type:
            element.set("type", org.iati_type)

    etree.SubElement(activity, "activity-status").set("code", IATI_ACTIVITY_STATUS[Status(record.status)])
    dates = [("1", record.planned_start), ("3", record.planned_end)]
    dates += [("2", record.actual_start), ("4", record.actual_end)]
    for kind, value in sorted(dates, key=lambda item: item[0]):
        # Actual dates cannot lie in the future (IATI rule); planned ones can.
        if value is None or (kind in ("2", "4") and value > today):
            continue
        element = etree.SubElement(activity, "activity-date")
        element.set("type", kind)
        element.set("iso-date", value.isoformat())
    etree.SubElement(activity, "activity-scope").set("code", IATI_ACTIVITY_SCOPE[Scope(record.scope)])
    country = etree.SubElement(activity, "recipient-country")
    country.set("code", "NE")
    country.set("percentage", "100")

    for unit_id in record.unit_ids:
        _iati_location(activity, lookups, unit_id)

    sector_ids = [record.primary_sector_id, *record.secondary_sector_ids]
    for code, percentage in _sector_percentages([lookups.sectors[s].dac_code for s in sector_ids]):
        element = etree.SubElement(activity, "sector")
        element.set("vocabulary", "1")
        element.set("code", code)
        element.set("percentage", str(percentage))
    for code, percentage in _sector_percentages([lookups.sectors[s].code for s in sector_ids]):
        sector = next(s for s in lookups.sectors.values() if s.code == code)
        element = _narratives(activity, "sector", sector.name_fr, sector.name_en)
        element.set("vocabulary", "99")
        element.set("vocabulary-uri", "https://www.iom.int/migration-management")
        element.set("code", code)
        element.set("percentage", str(percentage))

    if record.budget:
        for start, end, amount in budget_periods(record.planned_start, record.planned_end, record.budget):
            budget = etree.SubElement(activity, "budget")
            budget.set("type", "1")
            budget.set("status", "1")
            etree.SubElement(budget, "period-start").set("iso-date", start.isoformat())
            etree.SubElement(budget, "period-end").set("iso-date", end.isoformat())
            value = etree.SubElement(budget, "value")
            value.set("currency", record.currency)
            value.set("value-date", start.isoformat())
            value.text = _amount(amount)

    _iati_results(activity, record, suppress_below)
    return activity


def _iati_location(activity: etree._Element, lookups: Lookups, unit_id: int) -> None:
    """A location that is an administrative area itself: P-code as our reference, GeoNames ADMn class."""
    unit = lookups.units[unit_id]
    chain = lookups.chain(unit_id)
    location = etree.SubElement(activity, "location")
    location.set("ref", unit.pcode)
    etree.SubElement(location, "location-reach").set("code", "1")
    _narratives(location, "name", " › ".join(u.name_fr for u in chain), "")
    _narratives(
        location,
        "description",
        f"Code P OCHA {unit.pcode} ({AdminLevelLabel.fr[unit.level]})",
        f"OCHA P-code {unit.pcode} ({AdminLevelLabel.en[unit.level]})",
    )
    # The country by ISO 3166-1 (vocabulary A4): IATI has no vocabulary for OCHA P-codes, which are
    # therefore carried in @ref, the name and the description.
    administrative = etree.SubElement(location, "administrative")
    administrative.set("vocabulary", "A4")
    administrative.set("level", "0")
    administrative.set("code", "NE")
    if unit.lat is not None and unit.lon is not None:
        point = etree.SubElement(location, "point")
        point.set("srsName", "http://www.opengis.net/def/crs/EPSG/0/4326")
        etree.SubElement(point, "pos").text = f"{unit.lat:.5f} {unit.lon:.5f}"
        etree.SubElement(location, "exactness").set("code", "2")
    etree.SubElement(location, "location-class").set("code", "1")
    etree.SubElement(location, "feature-designation").set("code", FEATURE_DESIGNATION[unit.level])


class AdminLevelLabel:
    fr = {1: "région", 2: "département", 3: "commune"}
    en = {1: "region", 2: "department", 3: "commune"}


def _iati_results(activity: etree._Element, record: ProgrammeRecord, suppress_below: int = 0) -> None:
    """One result per outcome (type 2) and output (type 1) that has indicators; loose indicators last."""
    groups: dict[tuple[str, int | None], list[IndicatorRecord]] = defaultdict(list)
    for ind in record.indicators:
        key = (
            ("output", ind.output_id)
            if ind.output_id
            else ("outcome", ind.outcome_id)
            if ind.outcome_id
            else ("", None)
        )
        groups[key].append(ind)
    statements = {(kind, pk): (code, fr, en) for kind, pk, code, fr, en in record.results}
    for key, indicators in groups.items():
        result = etree.SubElement(activity, "result")
        result.set("type", "1" if key[0] in ("output", "") else "2")
        result.set("aggregation-status", "1")
        code, fr, en = statements.get(key, ("", record.title_fr, record.title_en))
        _narratives(result, "title", f"{code} {fr}".strip(), f"{code} {en}".strip() if en else "")
        for ind in indicators:
            _iati_indicator(result, ind, record, suppress_below)


def _iati_indicator(
    result: etree._Element, ind: IndicatorRecord, record: ProgrammeRecord, suppress_below: int = 0
) -> None:
    indicator = etree.SubElement(result, "indicator")
    indicator.set("measure", "2" if ind.measure == Measure.PERCENTAGE else "1")
    indicator.set("ascending", "1")
    _narratives(indicator, "title", ind.name_fr, ind.name_en)
    baseline = etree.SubElement(indicator, "baseline")
    baseline.set("year", str(ind.baseline_year or record.planned_start.year))
    baseline.set("value", _number(ind.baseline))
    for start, end, _sex, _age, target, achieved in ind.values:
        period = etree.SubElement(indicator, "period")
        etree.SubElement(period, "period-start").set("iso-date", start.isoformat())
        etree.SubElement(period, "period-end").set("iso-date", end.isoformat())
        if target is not None:
            etree.SubElement(period, "target").set("value", _number(target))
        small = (
            suppress_below and ind.measure == Measure.UNIT and achieved is not None and 0 < achieved < suppress_below
        )
        if achieved is not None and not small:  # a partner's file leaves out counts of fewer than N people
            etree.SubElement(period, "actual").set("value", _number(achieved))


def _envelope(generated: datetime) -> dict[str, str]:
    return {
        "version": "2.03",
        "generated-datetime": generated.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def validate_activity(activity: etree._Element, generated: datetime) -> list[str]:
    """Schema errors of one activity, validated inside the same envelope as the file (constant memory)."""
    envelope = etree.Element("iati-activities", _envelope(generated))
    envelope.append(activity)
    schema = iati_schema()
    valid = schema.validate(envelope)
    envelope.remove(activity)
    if valid:
        return []
    return [f"line {e.line}: {e.message}" for e in schema.error_log][:20]


def write_iati_xml(
    queryset: QuerySet,
    out: IO[bytes] | str | Path,
    *,
    prefix: str | None = None,
    generated: datetime | None = None,
    progress: Progress = _no_progress,
    suppress_below: int = 0,
) -> tuple[int, list[dict]]:
    """IATI 2.03 activities, each validated against the official XSD as it is written.

    Returns the number of activities and the validation errors per activity identifier.
    """
    prefix = prefix or settings.IATI_ORGANISATION_PREFIX
    generated = generated or timezone.now()
    today = timezone.localdate()
    lookups = Lookups.load()
    problems: list[dict] = []
    count = 0
    with etree.xmlfile(out, encoding="utf-8") as xf:
        xf.write_declaration()
        with xf.element("iati-activities", _envelope(generated)):
            for record in iter_programmes(queryset, lookups, results=True, statements=True, progress=progress):
                activity = iati_activity(record, lookups, prefix=prefix, today=today, suppress_below=suppress_below)
                errors = validate_activity(activity, generated)
                if errors and len(problems) < 500:
                    problems.append({"activity": f"{prefix}-{record.code}", "errors": errors})
                xf.write(activity, pretty_print=True)
                count += 1
    return count, problems


# --- 2. Programme factsheet (PDF) ---------------------------------------------------------------

MAP_WIDTH = 480.0


def _rings(geometry: dict) -> Iterator[list]:
    if not geometry:
        return
    polygons = geometry["coordinates"] if geometry["type"] == "MultiPolygon" else [geometry["coordinates"]]
    for polygon in polygons:
        yield from polygon


def svg_map(background: list[dict], highlighted: list[dict], points: list[tuple[float, float, str]]) -> dict:
    """Paths of Niger's regions and the programme's units in an equirectangular projection (SVG units)."""
    lons = [c[0] for g in background for ring in _rings(g) for c in ring] or [0.0, 16.0]
    lats = [c[1] for g in background for ring in _rings(g) for c in ring] or [11.5, 23.5]
    west, east, south, north = min(lons), max(lons), min(lats), max(lats)
    kx = math.cos(math.radians((south + north) / 2))
    scale = MAP_WIDTH / ((east - west) * kx)
    height = (north - south) * scale

    def project(lon: float, lat: float) -> tuple[float, float]:
        return (lon - west) * kx * scale, (north - lat) * scale

    def path(geometry: dict) -> str:
        parts = []
        for ring in _rings(geometry):
            previous = None
            commands = []
            for lon, lat, *_rest in ring:
                x, y = project(lon, lat)
                point = (round(x, 1), round(y, 1))
                if point != previous:
                    commands.append(f"{point[0]},{point[1]}")
                    previous = point
            if len(commands) > 2:
                parts.append("M" + " L".join(commands) + " Z")
        return " ".join(parts)

    return {
        "width": round(MAP_WIDTH, 1),
        "height": round(height, 1),
        "background": [path(g) for g in background],
        "highlighted": [path(g) for g in highlighted],
        "points": [(*(round(v, 1) for v in project(lon, lat)), label) for lon, lat, label in points],
    }


def factsheet_context(programme: Programme, *, suppress_below: int = 0) -> dict:
    """Everything the factsheet template shows, read for one (already access-checked) programme."""
    lookups = Lookups.load()
    record = next(iter_programmes(Programme.objects.filter(pk=programme.pk), lookups, results=True, statements=True))
    regions = list(AdminUnit.objects.regions().values_list("boundary", flat=True))
    units = AdminUnit.objects.filter(pk__in=record.unit_ids)
    highlighted = [u.boundary for u in units if u.boundary]
    points = [(u.centroid_lon, u.centroid_lat, u.name) for u in units if u.centroid_lat is not None]
    partners = [
        {"role": str(Role(role).label), "name": lookups.orgs[org].label, "contribution": amount}
        for org, role, amount in record.partners
    ]
    locations = [
        {"path": " › ".join(u.name for u in lookups.chain(uid)), "pcode": lookups.units[uid].pcode}
        for uid in record.unit_ids
    ]
    statements = {(kind, pk): _pick(fr, en) for kind, pk, _code, fr, en in record.results}
    indicators = []
    for ind in record.indicators:
        latest = ind.values[-1] if ind.values else None
        indicators.append(
            {
                "code": ind.code,
                "name": ind.name,
                "result": statements.get(("output", ind.output_id)) or statements.get(("outcome", ind.outcome_id), ""),
                "unit": ind.unit,
                "baseline": ind.baseline,
                "target": ind.target,
                "period": f"{latest[0]:%Y-%m} – {latest[1]:%Y-%m}" if latest else "",
                "achieved": _hidden(
                    latest[5],
                    bool(suppress_below)
                    and ind.measure == Measure.UNIT
                    and latest[5] is not None
                    and 0 < latest[5] < suppress_below,
                    suppress_below,
                )
                if latest
                else None,
            }
        )
    return {
        "programme": record,
        "sector": lookups.sectors[record.primary_sector_id],
        "secondary_sectors": [lookups.sectors[s] for s in record.secondary_sector_ids],
        "status": _status_label(record.status),
        "scope": str(Scope(record.scope).label),
        "partners": partners,
        "locations": locations,
        "indicators": indicators,
        "map": svg_map(regions, highlighted, points),
        "generated": timezone.localtime(),
    }


def write_factsheet_pdf(programme: Programme, out: IO[bytes] | str | Path, *, suppress_below: int = 0) -> int:
    """The programme factsheet: overview, partners, map of its places, results — rendered by WeasyPrint."""
    from weasyprint import HTML  # imported here: loading Pango is slow and only factsheets need it

    html = render_to_string("reports/factsheet.html", factsheet_context(programme, suppress_below=suppress_below))
    HTML(string=html, base_url=str(settings.BASE_DIR)).write_pdf(out)
    return 1
