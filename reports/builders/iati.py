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
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from lxml import etree

from programmes.models import (
    ENDING_STATUSES,
    IATI_ACTIVITY_STATUS,
    IATI_ORGANISATION_ROLE,
    IATI_PORTAL_CODE,
    IATI_PORTAL_NAMESPACE,
    IATI_PORTAL_ORGANISATION,
    IATI_PORTAL_ROLE,
    IATI_TRANSACTION_TYPE,
    Measure,
    Role,
    Scope,
    Status,
    TransactionKind,
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
# IATI ActivityScope: derived from the recipients and the places the programme records (activity_scope).
NIGER_REGIONS = 8
MAX_REASONS_LISTED = 100
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


def activity_scope(record: ProgrammeRecord, lookups: Lookups) -> str | None:
    """The IATI ActivityScope the recorded recipients and places say (None: nothing to derive it from).

    Global programmes are global (1); recipient regions make it regional (2), several recipient countries
    multi-national (3). In Niger alone the places decide: one department (7), one region (6), several
    regions (5), all of Niger's regions (4); a national programme without places is national (4).
    """
    if record.scope == Scope.GLOBAL:
        return "1"
    if record.regions:
        return "2"
    if len(record.countries) > 1:
        return "3"
    if record.countries and record.countries[0][0] != NIGER:
        return "4"  # one country, not Niger: no P-codes to say more
    if not record.unit_ids:
        return "4" if record.scope == Scope.NATIONAL or record.countries else None
    chains = [lookups.chain(unit_id) for unit_id in record.unit_ids]
    regions = {chain[0].pcode for chain in chains}
    if len(regions) >= NIGER_REGIONS:
        return "4"
    if len(regions) > 1:
        return "5"
    departments = {chain[1].pcode if len(chain) > 1 else None for chain in chains}
    return "7" if len(departments) == 1 and None not in departments else "6"


def iati_activity(
    record: ProgrammeRecord,
    lookups: Lookups,
    *,
    prefix: str,
    today: date,
    suppress_below: int = 0,
    problems: list[str] | None = None,
) -> etree._Element:
    """One <iati-activity> in the element order of the 2.03 schema.

    What cannot be published truthfully is left out and said in `problems` (never invented).
    """
    problems = problems if problems is not None else []
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
    # Beneficiary institutions have no IATI OrganisationRole: they are the activity's target groups.
    beneficiaries = [lookups.orgs[o] for o in record.partners_in(Role.BENEFICIARY_INSTITUTION)]
    if beneficiaries:
        target_groups = _narratives(
            activity,
            "description",
            "Institutions bénéficiaires : " + "; ".join(o.name_fr for o in beneficiaries),
            "Beneficiary institutions: " + "; ".join(o.name_en or o.name_fr for o in beneficiaries),
        )
        target_groups.set("type", "3")
        # Each institution again, as data, in an element of the portal's namespace (IATI lets a description
        # carry elements of other namespaces after its narratives): an export imported again keeps them.
        for org in beneficiaries:
            element = _narratives(target_groups, IATI_PORTAL_ORGANISATION, org.name_fr, org.name_en)
            if org.iati_identifier:
                element.set("ref", org.iati_identifier)
            if org.iati_type:
                element.set("type", org.iati_type)
            element.set(IATI_PORTAL_ROLE, Role.BENEFICIARY_INSTITUTION)

    for role in ("2", "4"):  # IOM oversees and carries out its programmes
        iom = _narratives(activity, "participating-org", IOM_NAME["fr"], IOM_NAME["en"])
        iom.set("ref", prefix)
        iom.set("role", role)
        iom.set("type", "40")
    for org_id, role, _amount_value in record.partners:
        iati_role = IATI_ORGANISATION_ROLE[Role(role)]
        if iati_role is None:
            continue
        org = lookups.orgs[org_id]
        element = _narratives(activity, "participating-org", org.name_fr, org.name_en)
        if org.iati_identifier:
            element.set("ref", org.iati_identifier)
        element.set("role", iati_role)
        element.set(IATI_PORTAL_ROLE, role)
        if org.iati_type:
            element.set("type", org.iati_type)

    etree.SubElement(activity, "activity-status").set("code", IATI_ACTIVITY_STATUS[Status(record.status)])
    dates = [("1", record.planned_start), ("3", record.planned_end)]
    dates += [("2", record.actual_start), ("4", record.actual_end)]
    for kind, value in sorted(dates, key=lambda item: item[0]):
        # Actual dates cannot lie in the future (IATI rule); planned ones can.
        if value is not None and kind in ("2", "4") and value > today:
            problems.append(
                _("The actual date %(date)s is in the future: it was left out of the file.")
                % {"date": value.isoformat()}
            )
            continue
        if value is None:
            continue
        element = etree.SubElement(activity, "activity-date")
        element.set("type", kind)
        element.set("iso-date", value.isoformat())
    if record.status in ENDING_STATUSES and record.actual_end is None:
        problems.append(
            _("The programme is %(status)s but has no actual end date: record it before publishing.")
            % {"status": Status(record.status).label.lower()}
        )
    scope = activity_scope(record, lookups)
    if scope is None:
        problems.append(_("No place is recorded: the activity scope is left out (record where the programme works)."))
    else:
        etree.SubElement(activity, "activity-scope").set("code", scope)
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

    _iati_transactions(activity, record, lookups, prefix=prefix)
    _iati_results(activity, record, suppress_below, problems)
    return activity


def _org_element(parent: etree._Element, tag: str, org) -> None:
    element = _narratives(parent, tag, org.name_fr, org.name_en)
    if org.iati_identifier:
        element.set("ref", org.iati_identifier)
    if org.iati_type:
        element.set("type", org.iati_type)


def _iati_transactions(activity: etree._Element, record: ProgrammeRecord, lookups: Lookups, *, prefix: str) -> None:
    """The recorded transactions, and each funder's contribution as an incoming commitment (type 11) unless
    one is recorded for that funder. A contribution carries no date of its own: it is dated by the signed
    agreement when one is recorded, else by the planned start, and its description says which."""
    recorded_commitments = {t.provider_id for t in record.transactions if t.kind == TransactionKind.INCOMING_COMMITMENT}
    rows = []
    for org_id, role, amount in record.partners:
        if role != Role.FUNDING or not amount or org_id in recorded_commitments:
            continue
        if record.agreement_signed_on:
            day, fr, en = (
                record.agreement_signed_on,
                "Contribution du bailleur, datée de la signature de l'accord",
                "Funder's contribution, dated by the signing of the agreement",
            )
        else:
            day, fr, en = (
                record.planned_start,
                "Contribution du bailleur, datée du début prévu (aucun accord signé enregistré)",
                "Funder's contribution, dated by the planned start (no signed agreement recorded)",
            )
        rows.append(("11", day, amount, record.currency, fr, en, org_id, None))
    for t in record.transactions:
        rows.append(
            (
                IATI_TRANSACTION_TYPE[t.kind],
                t.date,
                t.value,
                t.currency,
                t.description,
                "",
                t.provider_id,
                t.receiver_id,
            )
        )
    for code, day, amount, currency, fr, en, provider, receiver in sorted(rows, key=lambda r: (r[1], r[0])):
        transaction = etree.SubElement(activity, "transaction")
        etree.SubElement(transaction, "transaction-type").set("code", code)
        etree.SubElement(transaction, "transaction-date").set("iso-date", day.isoformat())
        value = etree.SubElement(transaction, "value")
        value.set("currency", currency)
        value.set("value-date", day.isoformat())
        value.text = _amount(amount)
        if fr or en:
            _narratives(transaction, "description", fr, en)
        if provider is not None:
            _org_element(transaction, "provider-org", lookups.orgs[provider])
        if receiver is not None:
            _org_element(transaction, "receiver-org", lookups.orgs[receiver])
        elif code in ("1", "11"):  # money coming in is received by IOM for this activity
            iom = _narratives(transaction, "receiver-org", IOM_NAME["fr"], IOM_NAME["en"])
            iom.set("ref", prefix)
            iom.set("type", "40")


def _iati_location(activity: etree._Element, lookups: Lookups, unit_id: int) -> None:
    """A location that is an administrative area itself: P-code as our reference, GeoNames ADMn class."""
    unit = lookups.units[unit_id]
    chain = lookups.chain(unit_id)
    location = etree.SubElement(activity, "location")
    location.set("ref", unit.pcode)
    etree.SubElement(location, "location-reach").set("code", "1")
    _narratives(
        location, "name", " › ".join(u.name_fr for u in chain), " › ".join(u.name_en or u.name_fr for u in chain)
    )
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
    if unit.lat is not None and unit.lon is not None:  # a point inside the unit (programmes/reference.py)
        point = etree.SubElement(location, "point")
        point.set("srsName", "http://www.opengis.net/def/crs/EPSG/0/4326")
        etree.SubElement(point, "pos").text = f"{unit.lat:.5f} {unit.lon:.5f}"
        etree.SubElement(location, "exactness").set("code", "2")
    etree.SubElement(location, "location-class").set("code", "1")
    etree.SubElement(location, "feature-designation").set("code", FEATURE_DESIGNATION[unit.level])


class AdminLevelLabel:
    fr = {1: "région", 2: "département", 3: "commune"}
    en = {1: "region", 2: "department", 3: "commune"}


def _iati_results(
    activity: etree._Element, record: ProgrammeRecord, suppress_below: int = 0, problems: list[str] | None = None
) -> None:
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
            _iati_indicator(result, ind, record, suppress_below, problems if problems is not None else [])


def activity_period(record: ProgrammeRecord) -> tuple[date, date | None]:
    """The activity's dates as published: actual where recorded, planned otherwise."""
    return record.actual_start or record.planned_start, record.actual_end or record.planned_end


# IATI IndicatorMeasure: 1 unit, 2 percentage, 3 nominal (yes/no), 5 qualitative (text).
IATI_MEASURE = {Measure.UNIT: "1", Measure.PERCENTAGE: "2", Measure.YES_NO: "3", Measure.TEXT: "5"}


def _iati_indicator(
    result: etree._Element, ind: IndicatorRecord, record: ProgrammeRecord, suppress_below: int, problems: list[str]
) -> None:
    indicator = etree.SubElement(result, "indicator")
    indicator.set("measure", IATI_MEASURE.get(ind.measure, "1"))
    indicator.set("ascending", "1")
    # Whether its values add up across activities and periods: the one aggregation rule.
    indicator.set("aggregation-status", "1" if adds_up_by_sum(ind.measure, ind.cumulative) else "0")
    indicator.set(IATI_PORTAL_CODE, ind.code)
    _narratives(indicator, "title", ind.name_fr, ind.name_en)
    if ind.baseline_year:
        baseline = etree.SubElement(indicator, "baseline")
        baseline.set("year", str(ind.baseline_year))
        baseline.set("value", _number(ind.baseline))
    else:  # IATI requires the year of a baseline: without one recorded, the baseline is not published
        problems.append(
            _("Indicator %(code)s: no baseline year is recorded, so its baseline was left out.") % {"code": ind.code}
        )
    first, last = activity_period(record)
    for start, end, _sex, _age, target, achieved in ind.values:
        if start < first or (last is not None and end > last):
            problems.append(
                _(
                    "Indicator %(code)s: the period %(start)s–%(end)s lies outside the activity's dates "
                    "(%(first)s–%(last)s) and was left out."
                )
                % {
                    "code": ind.code,
                    "start": start.isoformat(),
                    "end": end.isoformat(),
                    "first": first.isoformat(),
                    "last": last.isoformat() if last else "…",
                }
            )
            continue
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
    notes: list[str] | None = None,
    with_reasons: bool = False,
) -> tuple[int, list[dict]]:
    """IATI 2.03 activities that IOM publishes, each validated against the official XSD as it is written.

    Only approved and later programmes go out, unless staff unticked "publish to IATI"; how many others
    were left out and why is written at the top of the file (an XML comment) and appended to `notes`.
    Returns the number of activities and the problems per activity identifier (schema errors, and what
    was left out because it could not be published truthfully).
    """
    prefix = prefix or settings.IATI_ORGANISATION_PREFIX
    generated = generated or timezone.now()
    today = timezone.localdate()
    lookups = Lookups.load()
    problems: list[dict] = []
    count = 0
    left_out = queryset.iati_left_out()
    note = left_out_note(left_out)
    if notes is not None and note:
        notes.append(note)
    if notes is not None and with_reasons and left_out.get("flag"):
        # For IOM staff only: which programmes were kept out, and the reason recorded (not in the file).
        for code, reason in (
            queryset.filter(iati_publish=False)
            .order_by("code")
            .values_list("code", "iati_exclusion_reason")[:MAX_REASONS_LISTED]
        ):
            notes.append(_("%(code)s kept out of IATI: %(reason)s") % {"code": code, "reason": reason})
    with etree.xmlfile(out, encoding="utf-8") as xf:
        xf.write_declaration()
        if note:
            xf.write(etree.Comment(f" {note} "))
        with xf.element("iati-activities", _envelope(generated), nsmap={"portal": IATI_PORTAL_NAMESPACE}):
            published = queryset.iati_published()
            for record in iter_programmes(
                published, lookups, results=True, statements=True, money=True, progress=progress
            ):
                content: list[str] = []
                activity = iati_activity(
                    record, lookups, prefix=prefix, today=today, suppress_below=suppress_below, problems=content
                )
                errors = validate_activity(activity, generated) + content
                if errors and len(problems) < 500:
                    problems.append({"activity": f"{prefix}-{record.code}", "errors": errors})
                xf.write(activity, pretty_print=True)
                count += 1
    return count, problems


def left_out_note(left_out: dict[str, int]) -> str:
    """One sentence: how many programmes the file leaves out, and why ("" when none)."""
    if not left_out:
        return ""
    parts = []
    statuses = {k: v for k, v in left_out.items() if k != "flag"}
    if statuses:
        detail = ", ".join(f"{Status(k).label.lower()} {v}" for k, v in sorted(statuses.items()))
        total = sum(statuses.values())
        parts.append(
            ngettext(
                "%(count)s programme not approved or never approved (%(detail)s)",
                "%(count)s programmes not approved or never approved (%(detail)s)",
                total,
            )
            % {"count": total, "detail": detail}
        )
    if left_out.get("flag"):
        parts.append(
            ngettext(
                "%(count)s programme kept out by IOM (“publish to IATI” unticked, with a reason)",
                "%(count)s programmes kept out by IOM (“publish to IATI” unticked, with a reason)",
                left_out["flag"],
            )
            % {"count": left_out["flag"]}
        )
    return _("Left out of this file: %(parts)s.") % {"parts": "; ".join(parts)}
