"""From what an IATI activity says to what the portal would hold: sectors, organisations, places, codes.

Nothing here writes: each resolver reads its reference table once (a constant number of queries
whatever the file's length) and answers per activity; what cannot be mapped is said, never dropped.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.utils.translation import gettext as _

from partners.models import Organisation
from programmes.models import Currency, Role, Scope, Sector, Status, fold_text
from programmes.rules import HUNDRED, scope_recipients_problem
from regions.models import NIGER, PCODE_REGEX, AdminUnit, Country, Region

from .iati import ACTUAL_END, ACTUAL_START, PLANNED_END, PLANNED_START, ActivityRecord, CodeRecord, OrgRef
from .models import SectorMapping

# IATI ActivityStatus → the portal's status (pipeline/identification is the portal's pipeline).
STATUS_FROM_IATI = {
    "1": Status.PIPELINE,
    "2": Status.ACTIVE,
    "3": Status.COMPLETED,
    "4": Status.CLOSED,
    "5": Status.CANCELLED,
    "6": Status.SUSPENDED,
}
# IATI ActivityScope → the portal's scope. 1 global, 2 regional, 3 multi-national (one region or
# several: decided by the recipient regions), 4 national, 5–8 within one country.
SCOPE_FROM_IATI = {"1": Scope.GLOBAL, "2": Scope.REGIONAL, "3": Scope.REGIONAL}
NATIONAL_SCOPES = {"4", "5", "6", "7", "8"}
# IATI OrganisationRole → the portal's role. 2 Accountable is the government counterpart when the
# organisation is a government body; 3 Extending has no portal role (kept in the raw activity).
ROLE_FROM_IATI = {"1": Role.FUNDING, "4": Role.IMPLEMENTING_PARTNER}
GOVERNMENT_TYPES = {"10", "11", "15"}  # IATI OrganisationType: government, local government, other public sector
INCOMING_COMMITMENT, INCOMING_FUNDS = "11", "1"
ORIGINAL_BUDGET, REVISED_BUDGET = "1", "2"
_PCODE = re.compile(PCODE_REGEX)
_NOT_WORD = re.compile(r"[^0-9a-z]+")


def normalise_name(text: str) -> str:
    """Accents, case, punctuation and spacing forgiven: 'A.N.L.T.P / TIM' and 'anltp-tim' compare equal."""
    return _NOT_WORD.sub("", fold_text(text))


def pick(narratives: dict[str, str], language: str) -> str:
    """The text in `language`, else in the other portal language, else in any language given."""
    if narratives.get(language):
        return narratives[language]
    for other in ("fr", "en"):
        if narratives.get(other):
            return narratives[other]
    return next(iter(narratives.values()), "")


class SectorResolver:
    """Sector codes of every vocabulary → portal sectors, through the admin-editable mapping table."""

    def __init__(self) -> None:
        self.mapped = {
            (m.vocabulary, m.vocabulary_uri, m.code.upper()): m.sector
            for m in SectorMapping.objects.select_related("sector")
        }
        by_dac: dict[str, list[Sector]] = {}
        self.all_sectors = list(Sector.objects.all())
        for sector in self.all_sectors:
            by_dac.setdefault(sector.dac_code, []).append(sector)
        # A DAC code shared by several portal sectors cannot choose between them: only an explicit mapping can.
        self.by_dac = {code: sectors[0] for code, sectors in by_dac.items() if len(sectors) == 1}

    def resolve(self, sector: CodeRecord) -> Sector | None:
        code = sector.code.upper()
        for key in ((sector.vocabulary, sector.vocabulary_uri, code), (sector.vocabulary, "", code)):
            if key in self.mapped:
                return self.mapped[key]
        if sector.vocabulary == "1":
            return self.by_dac.get(code)
        return None


@dataclass
class OrganisationMatch:
    organisation: Organisation | None
    how: str  # "ref", "name", "acronym" or "" (not found: proposed for creation)
    proposed_name: str = ""


class OrganisationMatcher:
    """IATI `@ref` first, then the normalised name or acronym; never a guess between two candidates."""

    def __init__(self) -> None:
        organisations = list(Organisation.objects.all())
        self.by_ref = {o.iati_identifier.strip().upper(): o for o in organisations if o.iati_identifier.strip()}
        self.by_name: dict[str, list[Organisation]] = {}
        for organisation in organisations:
            keys = {normalise_name(organisation.name_fr), normalise_name(organisation.name_en)}
            for acronym in re.split(r"[/,]", organisation.acronym or ""):
                keys.add(normalise_name(acronym))
            keys.add(normalise_name(organisation.acronym or ""))
            for key in keys - {""}:
                self.by_name.setdefault(key, []).append(organisation)

    def match(self, org: OrgRef, language: str) -> OrganisationMatch:
        if org.ref and org.ref.strip().upper() in self.by_ref:
            return OrganisationMatch(self.by_ref[org.ref.strip().upper()], "ref")
        for name in org.names.values():
            candidates = self.by_name.get(normalise_name(name), [])
            if len({c.pk for c in candidates}) == 1:
                return OrganisationMatch(candidates[0], "name")
        return OrganisationMatch(None, "", proposed_name=pick(org.names, language) or org.ref)


@dataclass
class PlaceMatch:
    unit: AdminUnit | None
    problem: str = ""


class PlaceResolver:
    """Locations → Niger's administrative units: P-codes where given, else names matched to the gazetteer."""

    def __init__(self) -> None:
        units = list(AdminUnit.objects.without_boundary())
        self.by_pcode = {u.pcode: u for u in units}
        self.by_name: dict[str, list[AdminUnit]] = {}
        for unit in units:
            # Once per unit and key: "Tillabéri" and its other spelling "Tillaberi" are one key.
            for key in {normalise_name(name) for name in (unit.name_fr, unit.name_en, unit.name_alt)} - {""}:
                self.by_name.setdefault(key, []).append(unit)

    def suggest(self, text: str, *, level: int) -> AdminUnit | None:
        """The closest name of that level, for a "did you mean" (Tilaberi → Tillabéri)."""
        names = [key for key, units in self.by_name.items() if any(u.level == level for u in units)]
        close = difflib.get_close_matches(normalise_name(text), names, n=1, cutoff=0.75)
        if not close:
            return None
        return next(u for u in self.by_name[close[0]] if u.level == level)

    def resolve(self, codes: list[str], names: list[str]) -> PlaceMatch:
        for code in codes:
            code = code.strip().upper()
            if _PCODE.match(code):
                if code in self.by_pcode:
                    return PlaceMatch(self.by_pcode[code])
                return PlaceMatch(None, _("P-code %(code)s is not in Niger's gazetteer.") % {"code": code})
        for name in names:
            candidates = self.by_name.get(normalise_name(name), [])
            if len(candidates) == 1:
                return PlaceMatch(candidates[0])
            if candidates:
                # A region and its chief town share a name: the widest unit is what a name alone says.
                widest = min(candidates, key=lambda u: u.level)
                if sum(1 for c in candidates if c.level == widest.level) == 1:
                    return PlaceMatch(widest)
                labels = ", ".join(f"{c.name_fr} ({c.pcode})" for c in candidates[:5])
                return PlaceMatch(
                    None, _("“%(name)s” names several places: %(places)s.") % {"name": name, "places": labels}
                )
        shown = names[0] if names else (codes[0] if codes else "—")
        return PlaceMatch(None, _("“%(name)s” is not a place of Niger's gazetteer.") % {"name": shown})


class RecipientResolver:
    """`recipient-country` (ISO 3166-1) and `recipient-region` (IATI Region codelist, vocabulary 1) codes."""

    def __init__(self) -> None:
        self.countries = {c.code: c for c in Country.objects.all()}
        self.regions = {r.code: r for r in Region.objects.all()}

    def countries_of(self, codes: list[CodeRecord], warnings: list[str]) -> list[dict]:
        rows: dict[str, dict] = {}
        for item in codes:
            code = item.code.strip().upper()
            country = self.countries.get(code)
            if country is None:
                warnings.append(
                    _("Recipient country “%(code)s” is not in the IATI Country codelist: kept in the raw activity.")
                    % {"code": item.code}
                )
                continue
            _add_share(rows, country, "country", item.percentage)
        return shares_to_hundred(list(rows.values()), warnings, kind=_("recipient countries"))

    def regions_of(self, codes: list[CodeRecord], warnings: list[str]) -> list[dict]:
        rows: dict[str, dict] = {}
        for item in codes:
            code = item.code.strip()
            region = self.regions.get(code) if item.vocabulary in ("", "1") else None
            if region is None:
                warnings.append(
                    _(
                        "Recipient region “%(code)s” (vocabulary %(vocabulary)s) is not in the IATI Region codelist: kept in the raw activity."
                    )
                    % {"code": item.code, "vocabulary": item.vocabulary or "1"}
                )
                continue
            _add_share(rows, region, "region", item.percentage)
        return shares_to_hundred(list(rows.values()), warnings, kind=_("recipient regions"))


def _add_share(rows: dict[str, dict], place, key: str, percentage: Decimal | None) -> None:
    """A code given twice counts once, with the sum of its shares."""
    row = rows.setdefault(place.pk, {key: place, "percentage": None})
    if percentage is not None:
        row["percentage"] = (row["percentage"] or Decimal("0")) + percentage


CENT = Decimal("0.01")


def shares_to_hundred(rows: list[dict], warnings: list[str], *, kind: str) -> list[dict]:
    """Percentages that add up to exactly 100 (two decimals), reporting any change made.

    Missing percentages share what the others leave (equally when none is given, or nothing is left);
    then every share is scaled so that the total is 100; rounding goes to the largest share.
    """
    if not rows:
        return rows
    given = [row["percentage"] for row in rows if row["percentage"] is not None and row["percentage"] > 0]
    missing = [row for row in rows if row["percentage"] is None or row["percentage"] <= 0]
    total = sum(given, Decimal("0"))
    if len(given) == len(rows) and total == HUNDRED and all(p == p.quantize(CENT) for p in given):
        return rows
    if missing:
        left = HUNDRED - total if total < HUNDRED else Decimal("0")
        share = (left if left > 0 else HUNDRED) / len(missing)
        if not given or left <= 0:
            share = HUNDRED / len(rows)
            for row in rows:
                row["percentage"] = share
        else:
            for row in missing:
                row["percentage"] = share
        warnings.append(_("Some %(kind)s have no percentage: the shares were completed to 100%%.") % {"kind": kind})
    else:
        warnings.append(
            _("The percentages of the %(kind)s added up to %(total)s%%: scaled to 100%%.")
            % {"kind": kind, "total": f"{total.normalize():f}"}
        )
    total = sum((row["percentage"] for row in rows), Decimal("0"))
    for row in rows:
        row["percentage"] = (row["percentage"] * HUNDRED / total).quantize(CENT)
    largest = max(rows, key=lambda row: row["percentage"])
    largest["percentage"] += HUNDRED - sum((row["percentage"] for row in rows), Decimal("0"))
    return rows


def scope_for_recipients(scope: str, countries: list[dict], regions: list[dict]) -> tuple[str, str]:
    """The scope the recipients allow: an activity said global (or regional) for a single country is
    national; several countries said national are regional. The reason when the scope changes."""
    if not countries and not regions:
        return scope, ""  # nothing said: a national programme is Niger's (the services' default)
    if not scope_recipients_problem(scope=scope, countries=len(countries), regions=len(regions)):
        return scope, ""
    if len(countries) == 1 and not regions:
        fitted = Scope.NATIONAL
    elif scope == Scope.REGIONAL or len(regions) > 1:
        fitted = Scope.MULTI_REGIONAL
    else:
        fitted = Scope.REGIONAL
    return fitted, _("The activity scope “%(scope)s” does not fit its recipients: imported as “%(fitted)s”.") % {
        "scope": Scope(scope).label,
        "fitted": Scope(fitted).label,
    }


def works_in_niger(countries: list[dict]) -> bool:
    return not countries or any(row["country"].pk == NIGER for row in countries)


@dataclass
class Reference:
    """Every resolver an import needs, built once per file."""

    sectors: SectorResolver = field(default_factory=SectorResolver)
    organisations: OrganisationMatcher = field(default_factory=OrganisationMatcher)
    places: PlaceResolver = field(default_factory=PlaceResolver)
    recipients: RecipientResolver = field(default_factory=RecipientResolver)


def iom_refs() -> set[str]:
    """IOM's own organisation identifiers: IOM is the portal's owner, not one of a programme's partners."""
    return {settings.IATI_ORGANISATION_PREFIX.upper()}


def programme_code(identifier: str) -> str:
    """The portal code of an activity: IOM's identifiers lose the reporting-organisation prefix."""
    prefix = f"{settings.IATI_ORGANISATION_PREFIX}-"
    code = identifier[len(prefix) :] if identifier.upper().startswith(prefix.upper()) else identifier
    return code.strip().upper()


def planned_dates(record: ActivityRecord) -> dict:
    return {
        "planned_start": record.dates.get(PLANNED_START) or record.dates.get(ACTUAL_START),
        "planned_end": record.dates.get(PLANNED_END) or record.dates.get(ACTUAL_END),
        "actual_start": record.dates.get(ACTUAL_START),
        "actual_end": record.dates.get(ACTUAL_END),
    }


def total_budget(record: ActivityRecord, currency: str) -> tuple[Decimal | None, list[str]]:
    """The programme budget: per period the revised budget where one exists, else the original one.

    Budgets in another currency than the programme's cannot be added without a rate: they are reported.
    """
    problems = []
    by_period: dict[tuple, dict[str, Decimal]] = {}
    for budget in record.budgets:
        if budget.amount.currency != currency:
            problems.append(
                _("A budget in %(currency)s was not added to the %(programme)s total.")
                % {"currency": budget.amount.currency, "programme": currency}
            )
            continue
        period = (budget.period_start, budget.period_end)
        by_period.setdefault(period, {})
        by_period[period][budget.type] = by_period[period].get(budget.type, Decimal("0")) + budget.amount.value
    if not by_period:
        return None, problems
    total = sum(
        (amounts.get(REVISED_BUDGET, amounts.get(ORIGINAL_BUDGET, Decimal("0"))) for amounts in by_period.values()),
        Decimal("0"),
    )
    return total, problems


def scope_of(record: ActivityRecord) -> tuple[str, str]:
    """The portal scope and, when the file says nothing usable, why the default was taken."""
    if record.scope in NATIONAL_SCOPES:
        return Scope.NATIONAL, ""
    if record.scope == "3" and len(record.recipient_regions) > 1:
        return Scope.MULTI_REGIONAL, ""
    if record.scope in SCOPE_FROM_IATI:
        return SCOPE_FROM_IATI[record.scope], ""
    if len(record.recipient_countries) > 1:
        return Scope.REGIONAL, _("No activity scope: several recipient countries, taken as regional.")
    return Scope.NATIONAL, _("No activity scope: taken as national.")


def supported_currency(code: str) -> bool:
    return code in Currency.values
