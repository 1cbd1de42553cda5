"""Programme records for the report builders: streamed from the database with their relations.

Rows are streamed: programmes come from a server-side cursor in chunks, and each chunk's partners,
locations and results are fetched with one query per relation, so memory stays flat as data grows.
Names and labels follow the active language (the caller wraps a builder in translation.override).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from itertools import islice
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from partners.models import IatiOrganisationType, Organisation
from programmes.models import (
    PEOPLE_UNITS,
    AgeGroup,
    Indicator,
    IndicatorValue,
    Measure,
    Modality,
    Outcome,
    Output,
    Participation,
    Programme,
    ProgrammeAgreement,
    ProgrammeLocation,
    RecipientCountry,
    RecipientRegion,
    Role,
    Scope,
    Sector,
    Sex,
    Status,
    Transaction,
    counts_people,
    fold_text,
    total_over_periods,
)
from programmes.privacy import HIDDEN_MARK, small_label
from regions.models import AdminUnit

Progress = Callable[[int], None]

# --- Values no file format can carry -------------------------------------------------------------
# The domain refuses them, but a row written before that rule, by SQL or by an import bypassing it
# must not fail a whole report: the builders clean each record first and report what they changed.
# C0 controls but tab, newline and carriage return; DEL; and what XML 1.0 cannot hold at all.
UNWRITABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")
EARLIEST_DATE, LATEST_DATE = date(1900, 1, 1), date(2100, 12, 31)


def clean_text(value: Any) -> tuple[Any, bool]:
    """(text safe for XLSX, CSV and XML, whether it had to change); other values pass unchanged."""
    if not isinstance(value, str):
        return value, False
    cleaned = UNWRITABLE.sub(" ", value)
    if cleaned == value:
        return value, False
    return " ".join(part for part in cleaned.split(" ") if part) if cleaned.strip() else "", True


def date_in_range(value: Any) -> bool:
    return (
        not isinstance(value, date)
        or EARLIEST_DATE <= (value.date() if isinstance(value, datetime) else value) <= LATEST_DATE
    )


def sanitise_record(record: ProgrammeRecord) -> list[str]:
    """Clean the record in place; one message per value changed or left out (for the job's messages)."""
    problems: list[str] = []

    def text(owner: Any, name: str, label: str) -> None:
        cleaned, changed = clean_text(getattr(owner, name))
        if changed:
            setattr(owner, name, cleaned)
            problems.append(_("%(field)s: control characters replaced by spaces.") % {"field": label})

    for name in ("code", "title_fr", "title_en", "summary_fr", "summary_en"):
        text(record, name, name)
    for name in ("planned_start", "planned_end", "actual_start", "actual_end"):
        value = getattr(record, name)
        if not date_in_range(value):
            # planned_start is required everywhere: the nearest bound; any other date is left out.
            bound = LATEST_DATE if value > LATEST_DATE else EARLIEST_DATE
            setattr(record, name, bound if name == "planned_start" else None)
            problems.append(
                _("%(field)s: the date %(date)s is outside %(first)s–%(last)s and was left out.")
                % {"field": name, "date": value.isoformat(), "first": EARLIEST_DATE.year, "last": LATEST_DATE.year}
            )
    results = []
    for kind, pk, code, fr, en in record.results:
        cleaned = [clean_text(v) for v in (code, fr, en)]
        if any(changed for _v, changed in cleaned):
            problems.append(
                _("%(field)s: control characters replaced by spaces.") % {"field": f"{kind} {cleaned[0][0]}"}
            )
        results.append((kind, pk, *(v for v, _changed in cleaned)))
    record.results = results
    for indicator in record.indicators:
        for name in ("code", "name_fr", "name_en", "unit"):
            text(indicator, name, f"{_('indicator')} {indicator.code} {name}")
        kept = []
        for value in indicator.values:
            if date_in_range(value[0]) and date_in_range(value[1]):
                kept.append(value)
            else:
                problems.append(
                    _(
                        "indicator %(code)s: a value for %(start)s–%(end)s has a date outside %(first)s–%(last)s and was left out."
                    )
                    % {
                        "code": indicator.code,
                        "start": value[0].isoformat(),
                        "end": value[1].isoformat(),
                        "first": EARLIEST_DATE.year,
                        "last": LATEST_DATE.year,
                    }
                )
        indicator.values = kept
    return problems


def _no_progress(done: int) -> None:
    """Default progress callback: nobody is listening."""


def _batched(iterable: Iterable, size: int) -> Iterator[list]:
    iterator = iter(iterable)
    while chunk := list(islice(iterator, size)):
        yield chunk


def _lang() -> str:
    return "en" if get_language() == "en" else "fr"


def _pick(fr: str, en: str, lang: str | None = None) -> str:
    """The one language picker of the builders: English when the report is in English and the English
    text exists, French otherwise (French is the portal's reference language)."""
    return en if (lang or _lang()) == "en" and en else fr


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
    acronym_local: str = ""  # the acronym in the report's language (UE / EU)
    type_label: str = ""  # the IATI organisation type, in the report's language


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
            return _pick(fr, en, lang)

        units = {
            pk: Unit(pcode, fr, en, level, parent, lat, lon, pick(fr, en))
            for pk, pcode, fr, en, level, parent, lat, lon in AdminUnit.objects.values_list(
                "pk", "pcode", "name_fr", "name_en", "level", "parent_id", "centroid_lat", "centroid_lon"
            )
        }
        orgs = {}
        org_types = _choice_labels(IatiOrganisationType)
        for pk, code, acronym, acronym_en, fr, en, iati_type, iati_identifier in Organisation.objects.values_list(
            "pk", "code", "acronym", "acronym_en", "name_fr", "name_en", "iati_type", "iati_identifier"
        ):
            name = pick(fr, en)
            label = f"{acronym} — {name}" if acronym else name
            local = pick(acronym, acronym_en)
            orgs[pk] = Org(
                code, acronym, fr, en, iati_type, iati_identifier, name, label, local, org_types.get(iati_type, "")
            )
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
            "modality": _choice_labels(Modality),
            "role": _choice_labels(Role),
        }
        return cls(lang, units, orgs, sectors, labels)

    def pick(self, fr: str, en: str) -> str:
        return _pick(fr, en, self.lang)

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
    "modality",
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
    unit_en: str = ""
    cumulative: bool = False
    people: bool = False
    disaggregated: bool = False
    key_indicator: str = ""
    values: list[tuple] = field(default_factory=list)  # (period_start, period_end, sex, age, target, achieved)

    @property
    def name(self) -> str:
        return _pick(self.name_fr, self.name_en)

    @property
    def counts_people(self) -> bool:
        """The rule of Indicator.counts_people, on the record."""
        return counts_people(self.measure, self.people, self.disaggregated, self.key_indicator, self.unit)

    def total_achieved(self) -> Decimal | None:
        """Achieved over all periods, by the one aggregation rule (programmes.models.total_over_periods)."""
        totals = [row[5] for row in self.values if row[2] == Sex.ALL and row[3] == AgeGroup.ALL]
        return total_over_periods(self.measure, self.cumulative, totals)

    @property
    def unit_label(self) -> str:
        """The unit in the report's language: the English unit when entered; a French unit of people
        becomes "people" in English (never "personnes" in an English file); other units as entered."""
        if _lang() != "en":
            return self.unit
        if self.unit_en:
            return self.unit_en
        return _("people") if fold_text(self.unit).strip() in PEOPLE_UNITS else self.unit


@dataclass(frozen=True, slots=True)
class TransactionRecord:
    kind: str
    date: date
    value: Decimal
    currency: str
    provider_id: int | None
    receiver_id: int | None
    description: str


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
    modality: str  # a Modality value, "" when not stated
    secondary_sector_ids: list[int] = field(default_factory=list)
    partners: list[tuple[int, str, Decimal | None]] = field(default_factory=list)  # (organisation, role, amount)
    unit_ids: list[int] = field(default_factory=list)
    # Recipients, largest share first: (code, name_fr, name_en, percentage)
    countries: list[tuple[str, str, str, Decimal]] = field(default_factory=list)
    regions: list[tuple[str, str, str, Decimal]] = field(default_factory=list)
    results: list[tuple] = field(default_factory=list)  # (kind, pk, code, statement_fr, statement_en)
    indicators: list[IndicatorRecord] = field(default_factory=list)
    transactions: list[TransactionRecord] = field(default_factory=list)  # with money=True
    agreement_signed_on: date | None = None  # with money=True

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
    money: bool = False,
    progress: Progress = _no_progress,
) -> Iterator[ProgrammeRecord]:
    """Programmes of the queryset in its order, each with partners, locations and optionally its results:
    indicators with their values (totals only unless `all_cells`), and outcome/output statements; with
    `money`, its transactions and the date its agreement was signed."""
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
        for model, key, target in ((RecipientCountry, "country", "countries"), (RecipientRegion, "region", "regions")):
            recipients = model.objects.filter(programme_id__in=ids).order_by("programme_id", "-percentage", key)
            fields = ("programme_id", key, f"{key}__name_fr", f"{key}__name_en", "percentage")
            for pid, *row in recipients.values_list(*fields):
                getattr(records[pid], target).append(tuple(row))
        through = Programme.secondary_sectors.through
        for pid, sector in (
            through.objects.filter(programme_id__in=ids).order_by("sector_id").values_list("programme_id", "sector_id")
        ):
            records[pid].secondary_sector_ids.append(sector)
        if results:
            _attach_results(records, ids, all_cells=all_cells, statements=statements)
        if money:
            for pid, *row in (
                Transaction.objects.filter(programme_id__in=ids)
                .order_by("programme_id", "date", "pk")
                .values_list(
                    "programme_id", "kind", "date", "value", "currency", "provider_id", "receiver_id", "description"
                )
            ):
                records[pid].transactions.append(TransactionRecord(*row))
            for pid, signed_on in ProgrammeAgreement.objects.filter(programme_id__in=ids).values_list(
                "programme_id", "signed_on"
            ):
                records[pid].agreement_signed_on = signed_on
        report_problem = getattr(progress, "problem", None)  # services.Heartbeat collects them on the job
        for record in records.values():
            problems = sanitise_record(record)
            if problems and report_problem is not None:
                report_problem(record.code, problems)
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
            "unit_en",
            "cumulative",
            "people",
            "disaggregated",
            "key_indicator",
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


def recipients_label(rows: list[tuple[str, str, str, Decimal]], lookups: Lookups) -> str:
    """'Niger (60 %); Mali (40 %)': recipient countries or regions in the report's language."""
    return "; ".join(f"{lookups.pick(fr, en)} ({percentage.normalize():f} %)" for _code, fr, en, percentage in rows)


def _hidden(value: Decimal | None, hidden: bool, threshold: int) -> Any:
    """A value as a partner may read it: "< N" for a small count, "•" for one hidden to protect another."""
    if not hidden or value is None:
        return value
    return small_label(threshold) if 0 < value < threshold else HIDDEN_MARK
