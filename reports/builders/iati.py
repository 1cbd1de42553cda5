"""IATI 2.03 activity XML, validated against the bundled schema."""

from __future__ import annotations

import functools
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import IO

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone
from lxml import etree

from programmes.models import (
    IATI_ACTIVITY_STATUS,
    IATI_ORGANISATION_ROLE,
    IATI_PORTAL_CODE,
    IATI_PORTAL_NAMESPACE,
    IATI_PORTAL_ROLE,
    Measure,
    Role,
    Scope,
    Status,
    adds_up_by_sum,
)
from regions.models import NIGER

from .records import IndicatorRecord, Lookups, ProgrammeRecord, Progress, _no_progress, iter_programmes

IATI_DIR = Path(__file__).resolve().parent.parent / "data" / "iati"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
IOM_NAME = {
    "fr": "Organisation internationale pour les migrations (OIM)",
    "en": "International Organization for Migration (IOM)",
}
# IATI ActivityScope for each programme scope (4 national, 6 one region, 5 several regions, 1 global).
IATI_ACTIVITY_SCOPE = {Scope.NATIONAL: "4", Scope.REGIONAL: "6", Scope.MULTI_REGIONAL: "5", Scope.GLOBAL: "1"}
# GeoNames feature codes of first-, second- and third-order administrative divisions.
FEATURE_DESIGNATION = {1: "ADM1", 2: "ADM2", 3: "ADM3"}


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
        element.set(IATI_PORTAL_ROLE, role)
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
    # Recipients with their shares; a national programme recorded without any is Niger's (the default).
    countries = record.countries or ([(NIGER, "", "", Decimal("100"))] if record.scope == Scope.NATIONAL else [])
    for tag, rows in (("recipient-country", countries), ("recipient-region", record.regions)):
        for code, _fr, _en, percentage in rows:
            element = etree.SubElement(activity, tag)
            element.set("code", code)
            if tag == "recipient-region":
                element.set("vocabulary", "1")
            element.set("percentage", f"{percentage.normalize():f}")

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
        if code:
            result.set(IATI_PORTAL_CODE, code)
        _narratives(result, "title", f"{code} {fr}".strip(), f"{code} {en}".strip() if en else "")
        for ind in indicators:
            _iati_indicator(result, ind, record, suppress_below)


# IATI IndicatorMeasure: 1 unit, 2 percentage, 3 nominal (yes/no), 5 qualitative (text).
IATI_MEASURE = {Measure.UNIT: "1", Measure.PERCENTAGE: "2", Measure.YES_NO: "3", Measure.TEXT: "5"}


def _iati_indicator(
    result: etree._Element, ind: IndicatorRecord, record: ProgrammeRecord, suppress_below: int = 0
) -> None:
    indicator = etree.SubElement(result, "indicator")
    indicator.set("measure", IATI_MEASURE.get(ind.measure, "1"))
    indicator.set("ascending", "1")
    # Whether its values add up across activities and periods: the one aggregation rule.
    indicator.set("aggregation-status", "1" if adds_up_by_sum(ind.measure, ind.cumulative) else "0")
    indicator.set(IATI_PORTAL_CODE, ind.code)
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
        with xf.element("iati-activities", _envelope(generated), nsmap={"portal": IATI_PORTAL_NAMESPACE}):
            for record in iter_programmes(queryset, lookups, results=True, statements=True, progress=progress):
                activity = iati_activity(record, lookups, prefix=prefix, today=today, suppress_below=suppress_below)
                errors = validate_activity(activity, generated)
                if errors and len(problems) < 500:
                    problems.append({"activity": f"{prefix}-{record.code}", "errors": errors})
                xf.write(activity, pretty_print=True)
                count += 1
    return count, problems
