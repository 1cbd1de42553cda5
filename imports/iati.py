"""Reading IATI 2.03 activity files: a hardened, streaming parser into plain records (no database)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import IO

from django.utils.translation import gettext as _
from lxml import etree

from programmes.models import IATI_PORTAL_CODE, IATI_PORTAL_ORGANISATION, IATI_PORTAL_ROLE

XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
SUPPORTED_VERSIONS = ("2.03",)
# The first bytes we look at for a document type declaration (where entities are declared).
PROLOGUE_BYTES = 4096
# IATI activity-date types.
PLANNED_START, ACTUAL_START, PLANNED_END, ACTUAL_END = "1", "2", "3", "4"


class IatiFileError(ValueError):
    """The file as a whole cannot be read as IATI 2.03 activities (nothing is imported)."""


Narratives = dict[str, str]  # language code -> text


@dataclass
class OrgRef:
    """An organisation as the file names it (reporting, participating, provider or receiver)."""

    ref: str = ""
    type: str = ""
    role: str = ""
    activity_id: str = ""
    names: Narratives = field(default_factory=dict)
    portal_role: str = ""  # written by the portal's own export (programmes.models.IATI_PORTAL_ROLE)


@dataclass
class AdministrativeCode:
    vocabulary: str
    code: str
    level: str = ""


@dataclass
class LocationRecord:
    ref: str = ""
    names: Narratives = field(default_factory=dict)
    administrative: list[AdministrativeCode] = field(default_factory=list)
    location_ids: list[AdministrativeCode] = field(default_factory=list)
    point: tuple[Decimal, Decimal] | None = None  # (latitude, longitude)
    reach: str = ""
    exactness: str = ""
    feature_designation: str = ""


@dataclass
class CodeRecord:
    """A coded element with a vocabulary: sector, policy marker, recipient region, country."""

    code: str
    vocabulary: str = ""
    vocabulary_uri: str = ""
    percentage: Decimal | None = None
    significance: str = ""
    names: Narratives = field(default_factory=dict)


@dataclass
class Money:
    value: Decimal
    currency: str
    value_date: date | None = None


@dataclass
class BudgetRecord:
    type: str
    status: str
    period_start: date | None
    period_end: date | None
    amount: Money


@dataclass
class TransactionRecord:
    type: str
    date: date | None
    amount: Money
    ref: str = ""
    provider: OrgRef | None = None
    receiver: OrgRef | None = None
    descriptions: Narratives = field(default_factory=dict)


@dataclass
class PeriodValue:
    value: Decimal | None
    dimensions: dict[str, str] = field(default_factory=dict)
    comment: Narratives = field(default_factory=dict)


@dataclass
class IndicatorPeriod:
    start: date | None
    end: date | None
    targets: list[PeriodValue] = field(default_factory=list)
    actuals: list[PeriodValue] = field(default_factory=list)


@dataclass
class IndicatorRecord:
    measure: str
    ascending: bool
    titles: Narratives
    descriptions: Narratives = field(default_factory=dict)
    baseline_year: int | None = None
    baseline_value: Decimal | None = None
    periods: list[IndicatorPeriod] = field(default_factory=list)
    portal_code: str = ""  # written by the portal's own export (programmes.models.IATI_PORTAL_CODE)


@dataclass
class ResultRecord:
    type: str
    titles: Narratives
    descriptions: Narratives = field(default_factory=dict)
    indicators: list[IndicatorRecord] = field(default_factory=list)
    portal_code: str = ""


@dataclass
class DocumentLink:
    url: str
    format: str = ""
    titles: Narratives = field(default_factory=dict)
    categories: list[str] = field(default_factory=list)
    languages: list[str] = field(default_factory=list)
    document_date: date | None = None


@dataclass
class ContactRecord:
    type: str = ""
    organisation: Narratives = field(default_factory=dict)
    email: str = ""
    telephone: str = ""
    website: str = ""


@dataclass
class ActivityRecord:
    """One `iati-activity`, as the file says it, with the problems found while reading it."""

    line: int
    identifier: str = ""
    default_language: str = ""
    default_currency: str = ""
    humanitarian: bool = False
    last_updated: str = ""
    reporting_org: OrgRef = field(default_factory=OrgRef)
    titles: Narratives = field(default_factory=dict)
    descriptions: dict[str, Narratives] = field(default_factory=dict)  # description type -> narratives
    participating_orgs: list[OrgRef] = field(default_factory=list)
    # Beneficiary institutions the portal's own export lists in its target-groups description.
    target_group_orgs: list[OrgRef] = field(default_factory=list)
    status: str = ""
    dates: dict[str, date] = field(default_factory=dict)  # activity-date type -> date
    scope: str = ""
    recipient_countries: list[CodeRecord] = field(default_factory=list)
    recipient_regions: list[CodeRecord] = field(default_factory=list)
    locations: list[LocationRecord] = field(default_factory=list)
    sectors: list[CodeRecord] = field(default_factory=list)
    policy_markers: list[CodeRecord] = field(default_factory=list)
    budgets: list[BudgetRecord] = field(default_factory=list)
    transactions: list[TransactionRecord] = field(default_factory=list)
    results: list[ResultRecord] = field(default_factory=list)
    documents: list[DocumentLink] = field(default_factory=list)
    contacts: list[ContactRecord] = field(default_factory=list)
    raw_xml: str = ""
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _secure_parser_options() -> dict:
    # No DTD loading, no entity expansion, no network: an XML bomb or an external entity gets nowhere.
    return {
        "resolve_entities": False,
        "no_network": True,
        "load_dtd": False,
        "huge_tree": False,
        "dtd_validation": False,
    }


def _check_prologue(stream: IO[bytes]) -> None:
    head = stream.read(PROLOGUE_BYTES)
    stream.seek(0)
    if not head.strip():
        raise IatiFileError(_("The file is empty."))
    if b"<!DOCTYPE" in head.upper() or b"<!ENTITY" in head.upper():
        raise IatiFileError(
            _("The file declares a document type or entities, which IATI files never need: it was refused for safety.")
        )


def _local(tag) -> str:
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def _version_of(root_attributes: dict) -> str:
    for name, value in root_attributes.items():
        if _local(name) == "version":
            return value.strip()
    return ""


def iter_activities(stream: IO[bytes]) -> Iterator[ActivityRecord]:
    """Read every `iati-activity` of an `iati-activities` file (or a lone `iati-activity`), one at a time.

    Raises IatiFileError when the file as a whole is unusable (not XML, wrong root, unsupported version,
    declared entities); problems inside one activity are listed on that activity's record.
    """
    _check_prologue(stream)
    file_language = ""
    file_currency = ""
    root_seen = False
    try:
        events = etree.iterparse(stream, events=("start", "end"), **_secure_parser_options())
        for event, element in events:
            name = _local(element.tag)
            if event == "start":
                if not root_seen:
                    root_seen = True
                    if name == "iati-activities":
                        version = _version_of(dict(element.attrib))
                        if version and version not in SUPPORTED_VERSIONS:
                            raise IatiFileError(
                                _(
                                    "This file follows IATI version %(version)s; the portal reads version 2.03 "
                                    "files. Ask the publisher for a 2.03 file or convert it first."
                                )
                                % {"version": version}
                            )
                        file_language = element.get(XML_LANG, "")
                        file_currency = element.get("default-currency", "")
                    elif name == "iati-activity":
                        version = _version_of(dict(element.attrib))
                        if version and version not in SUPPORTED_VERSIONS:
                            raise IatiFileError(
                                _("This activity follows IATI version %(version)s; the portal reads version 2.03.")
                                % {"version": version}
                            )
                    else:
                        raise IatiFileError(
                            _("This is not an IATI activity file: its root element is “%(root)s”.") % {"root": name}
                        )
                continue
            if name != "iati-activity":
                continue
            record = read_activity(element, file_language=file_language, file_currency=file_currency)
            yield record
            # Free what was read so that memory stays flat however long the file is.
            parent = element.getparent()
            element.clear(keep_tail=False)
            if parent is not None:
                while element.getprevious() is not None:
                    del parent[0]
    except etree.XMLSyntaxError as exc:
        raise IatiFileError(
            _("The file is not well-formed XML (line %(line)s): %(problem)s") % {"line": exc.lineno, "problem": exc.msg}
        ) from None
    if not root_seen:
        raise IatiFileError(_("The file is empty."))


# --- Reading one activity --------------------------------------------------------------------


def _text(element) -> str:
    return " ".join((element.text or "").split()) if element is not None else ""


def narratives(element, default_language: str) -> Narratives:
    """The `narrative` children of an element by language (the activity's default where none is given)."""
    found: Narratives = {}
    if element is None:
        return found
    for narrative in element.findall("narrative"):
        text = " ".join("".join(narrative.itertext()).split())
        if not text:
            continue
        language = (narrative.get(XML_LANG) or default_language or "").lower()[:2]
        found.setdefault(language, text)
    return found


def parse_date(value: str | None) -> date | None:
    if not value:
        return None
    match = re.match(r"^\s*(\d{4})-(\d{2})-(\d{2})", value)
    if not match:
        return None
    try:
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return None


def parse_decimal(value: str | None) -> Decimal | None:
    if value is None:
        return None
    text = value.strip().replace(" ", "")
    if not text:
        return None
    try:
        number = Decimal(text)
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _org(element, language: str, *, activity_id_attr: str = "activity-id") -> OrgRef:
    return OrgRef(
        ref=(element.get("ref") or "").strip(),
        type=(element.get("type") or "").strip(),
        role=(element.get("role") or "").strip(),
        activity_id=(element.get(activity_id_attr) or "").strip(),
        names=narratives(element, language),
        portal_role=(element.get(IATI_PORTAL_ROLE) or "").strip(),
    )


def _code(element, language: str) -> CodeRecord:
    return CodeRecord(
        code=(element.get("code") or "").strip(),
        vocabulary=(element.get("vocabulary") or "").strip(),
        vocabulary_uri=(element.get("vocabulary-uri") or "").strip(),
        percentage=parse_decimal(element.get("percentage")),
        significance=(element.get("significance") or "").strip(),
        names=narratives(element, language),
    )


def _money(element, currency: str, record: ActivityRecord, what: str) -> Money | None:
    value = parse_decimal(element.text if element is not None else None)
    if value is None:
        record.errors.append(_("%(what)s has no readable value.") % {"what": what})
        return None
    currency = (element.get("currency") or currency or "").strip().upper()
    if not currency:
        record.errors.append(_("%(what)s has no currency and the activity gives no default currency.") % {"what": what})
        return None
    return Money(value=value, currency=currency, value_date=parse_date(element.get("value-date")))


def _location(element, language: str) -> LocationRecord:
    location = LocationRecord(ref=(element.get("ref") or "").strip(), names=narratives(element.find("name"), language))
    for admin in element.findall("administrative"):
        location.administrative.append(
            AdministrativeCode(
                vocabulary=(admin.get("vocabulary") or "").strip(),
                code=(admin.get("code") or "").strip(),
                level=(admin.get("level") or "").strip(),
            )
        )
    for location_id in element.findall("location-id"):
        location.location_ids.append(
            AdministrativeCode(
                vocabulary=(location_id.get("vocabulary") or "").strip(), code=(location_id.get("code") or "").strip()
            )
        )
    pos = element.find("point/pos")
    if pos is not None:
        parts = _text(pos).split()
        if len(parts) == 2:
            latitude, longitude = parse_decimal(parts[0]), parse_decimal(parts[1])
            if latitude is not None and longitude is not None and abs(latitude) <= 90 and abs(longitude) <= 180:
                location.point = (latitude, longitude)
    for child, attr in (("location-reach", "reach"), ("exactness", "exactness")):
        found = element.find(child)
        if found is not None:
            setattr(location, attr, (found.get("code") or "").strip())
    feature = element.find("feature-designation")
    if feature is not None:
        location.feature_designation = (feature.get("code") or "").strip()
    return location


def _period_values(period, tag: str, language: str) -> list[PeriodValue]:
    values = []
    for element in period.findall(tag):
        values.append(
            PeriodValue(
                value=parse_decimal(element.get("value")),
                dimensions={
                    (d.get("name") or "").strip().lower(): (d.get("value") or "").strip().lower()
                    for d in element.findall("dimension")
                },
                comment=narratives(element.find("comment"), language),
            )
        )
    return values


def _indicator(element, language: str) -> IndicatorRecord:
    indicator = IndicatorRecord(
        measure=(element.get("measure") or "1").strip(),
        ascending=(element.get("ascending") or "1").strip() not in ("0", "false"),
        titles=narratives(element.find("title"), language),
        descriptions=narratives(element.find("description"), language),
        portal_code=(element.get(IATI_PORTAL_CODE) or "").strip(),
    )
    baseline = element.find("baseline")
    if baseline is not None:
        year = (baseline.get("year") or "").strip()
        indicator.baseline_year = int(year) if year.isdigit() else None
        indicator.baseline_value = parse_decimal(baseline.get("value"))
    for period in element.findall("period"):
        start, end = period.find("period-start"), period.find("period-end")
        indicator.periods.append(
            IndicatorPeriod(
                start=parse_date(start.get("iso-date")) if start is not None else None,
                end=parse_date(end.get("iso-date")) if end is not None else None,
                targets=_period_values(period, "target", language),
                actuals=_period_values(period, "actual", language),
            )
        )
    return indicator


def read_activity(element, *, file_language: str = "", file_currency: str = "") -> ActivityRecord:
    """One activity element into a record; what is missing or unreadable is noted on the record."""
    language = (element.get(XML_LANG) or file_language or "").lower()[:2]
    currency = (element.get("default-currency") or file_currency or "").strip().upper()
    record = ActivityRecord(
        line=element.sourceline or 0,
        identifier=_text(element.find("iati-identifier")),
        default_language=language,
        default_currency=currency,
        humanitarian=(element.get("humanitarian") or "").strip() in ("1", "true"),
        last_updated=(element.get("last-updated-datetime") or "").strip(),
    )
    if not record.identifier:
        record.errors.append(_("The activity has no iati-identifier."))
    reporting = element.find("reporting-org")
    if reporting is not None:
        record.reporting_org = _org(reporting, language)
    record.titles = narratives(element.find("title"), language)
    if not record.titles:
        record.errors.append(_("The activity has no title."))
    for description in element.findall("description"):
        kind = (description.get("type") or "1").strip()
        record.descriptions.setdefault(kind, {}).update(narratives(description, language))
        if kind == "3":
            record.target_group_orgs += [_org(org, language) for org in description.findall(IATI_PORTAL_ORGANISATION)]
    record.participating_orgs = [_org(org, language) for org in element.findall("participating-org")]
    status = element.find("activity-status")
    record.status = (status.get("code") or "").strip() if status is not None else ""
    for activity_date in element.findall("activity-date"):
        kind = (activity_date.get("type") or "").strip()
        parsed = parse_date(activity_date.get("iso-date"))
        if parsed is None:
            record.warnings.append(
                _("An activity date of type %(type)s is not a date (%(value)s).")
                % {"type": kind, "value": activity_date.get("iso-date") or "—"}
            )
        elif kind in (PLANNED_START, ACTUAL_START, PLANNED_END, ACTUAL_END):
            record.dates[kind] = parsed
    scope = element.find("activity-scope")
    record.scope = (scope.get("code") or "").strip() if scope is not None else ""
    record.recipient_countries = [_code(c, language) for c in element.findall("recipient-country")]
    record.recipient_regions = [_code(r, language) for r in element.findall("recipient-region")]
    record.locations = [_location(loc, language) for loc in element.findall("location")]
    for sector in element.findall("sector"):
        code = _code(sector, language)
        code.vocabulary = code.vocabulary or "1"  # IATI: DAC 5-digit when no vocabulary is given
        record.sectors.append(code)
    record.policy_markers = [_code(m, language) for m in element.findall("policy-marker")]
    for budget in element.findall("budget"):
        amount = _money(budget.find("value"), currency, record, _("A budget"))
        if amount is None:
            continue
        start, end = budget.find("period-start"), budget.find("period-end")
        record.budgets.append(
            BudgetRecord(
                type=(budget.get("type") or "1").strip(),
                status=(budget.get("status") or "1").strip(),
                period_start=parse_date(start.get("iso-date")) if start is not None else None,
                period_end=parse_date(end.get("iso-date")) if end is not None else None,
                amount=amount,
            )
        )
    for transaction in element.findall("transaction"):
        kind = transaction.find("transaction-type")
        amount = _money(transaction.find("value"), currency, record, _("A transaction"))
        if amount is None:
            continue
        when = transaction.find("transaction-date")
        provider, receiver = transaction.find("provider-org"), transaction.find("receiver-org")
        record.transactions.append(
            TransactionRecord(
                type=(kind.get("code") or "").strip() if kind is not None else "",
                date=parse_date(when.get("iso-date")) if when is not None else None,
                amount=amount,
                ref=(transaction.get("ref") or "").strip(),
                provider=_org(provider, language, activity_id_attr="provider-activity-id")
                if provider is not None
                else None,
                receiver=_org(receiver, language, activity_id_attr="receiver-activity-id")
                if receiver is not None
                else None,
                descriptions=narratives(transaction.find("description"), language),
            )
        )
    for result in element.findall("result"):
        record.results.append(
            ResultRecord(
                type=(result.get("type") or "").strip(),
                titles=narratives(result.find("title"), language),
                descriptions=narratives(result.find("description"), language),
                indicators=[_indicator(i, language) for i in result.findall("indicator")],
                portal_code=(result.get(IATI_PORTAL_CODE) or "").strip(),
            )
        )
    for link in element.findall("document-link"):
        when = link.find("document-date")
        record.documents.append(
            DocumentLink(
                url=(link.get("url") or "").strip(),
                format=(link.get("format") or "").strip(),
                titles=narratives(link.find("title"), language),
                categories=[(c.get("code") or "").strip() for c in link.findall("category")],
                languages=[(lang.get("code") or "").strip() for lang in link.findall("language")],
                document_date=parse_date(when.get("iso-date")) if when is not None else None,
            )
        )
    for contact in element.findall("contact-info"):
        record.contacts.append(
            ContactRecord(
                type=(contact.get("type") or "").strip(),
                organisation=narratives(contact.find("organisation"), language),
                email=_text(contact.find("email")),
                telephone=_text(contact.find("telephone")),
                website=_text(contact.find("website")),
            )
        )
    record.raw_xml = etree.tostring(element, encoding="unicode")
    return record
