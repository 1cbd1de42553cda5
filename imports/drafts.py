"""An IATI activity as a draft of the portal's programme, and the field-by-field difference with what is stored."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from partners.iati_identifiers import identifier_errors
from programmes.models import IATI_ORGANISATION_ROLE, IATI_TRANSACTION_TYPE, Currency, Programme, Role, Scope, Status
from programmes.rules import HUNDRED, ParticipationRow
from regions.models import NIGER

from .iati import ActivityRecord
from .mapping import (
    GOVERNMENT_TYPES,
    INCOMING_COMMITMENT,
    ROLE_FROM_IATI,
    STATUS_FROM_IATI,
    Reference,
    iom_refs,
    pick,
    planned_dates,
    programme_code,
    scope_for_recipients,
    scope_of,
    supported_currency,
    total_budget,
    works_in_niger,
)
from .results import results_draft, stored_signature

PROGRAMME_FIELDS = (
    "code",
    "title_fr",
    "title_en",
    "summary_fr",
    "summary_en",
    "primary_sector",
    "scope",
    "planned_start",
    "planned_end",
    "actual_start",
    "actual_end",
    "budget",
    "currency",
    "modality",
)


@dataclass
class NewOrganisation:
    """An organisation the file names and the portal does not know: created only when the user confirms."""

    name: str
    ref: str
    iati_type: str
    role: str


@dataclass
class ProgrammeDraft:
    identifier: str
    code: str
    status: str
    fields: dict = field(default_factory=dict)
    secondary_sectors: list = field(default_factory=list)
    participations: list[ParticipationRow] = field(default_factory=list)
    new_organisations: list[NewOrganisation] = field(default_factory=list)
    locations: list = field(default_factory=list)
    # {"country": Country, "percentage": Decimal} rows; None: the stored recipients stay (a sheet)
    recipient_countries: list[dict] | None = None
    recipient_regions: list[dict] | None = None
    raw_xml: str = ""
    # A sheet adds partners and places to what is stored; an IATI activity describes the programme whole.
    merge_lists: bool = False
    results: object = None  # imports.results.ResultsDraft, or None: the stored framework stays
    transactions: list[dict] = field(default_factory=list)  # services.TRANSACTION_FIELDS, see _transactions
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def content_hash(self) -> str:
        return hashlib.sha256(self.raw_xml.encode()).hexdigest()


def _role(org, matched) -> str | None:
    if org.portal_role in Role.values and IATI_ORGANISATION_ROLE[Role(org.portal_role)] == org.role:
        return org.portal_role  # the portal's own export: its role, consistent with the IATI code
    if org.role in ROLE_FROM_IATI:
        return ROLE_FROM_IATI[org.role]
    if org.role == "2" and (org.type in GOVERNMENT_TYPES or (matched and matched.category == "national_government")):
        return Role.GOVERNMENT_COUNTERPART
    return None


def draft_from_activity(record: ActivityRecord, reference: Reference, language: str) -> ProgrammeDraft:
    """What the portal would hold for this activity; each problem is an error (not imported) or a warning."""
    draft = ProgrammeDraft(
        identifier=record.identifier,
        code=programme_code(record.identifier),
        status=STATUS_FROM_IATI.get(record.status, Status.PIPELINE),
        raw_xml=record.raw_xml,
        errors=list(record.errors),
        warnings=list(record.warnings),
    )
    try:
        Programme._meta.get_field("code").run_validators(draft.code)
    except ValidationError as invalid:
        draft.errors.extend(
            _("The identifier %(identifier)s cannot become a portal code: %(problem)s")
            % {"identifier": record.identifier, "problem": message}
            for message in invalid.messages
        )
    if record.status and record.status not in STATUS_FROM_IATI:
        draft.warnings.append(_("Activity status %(code)s is unknown: taken as pipeline.") % {"code": record.status})
    description = record.descriptions.get("1", {})
    fields = {
        "code": draft.code,
        "title_fr": record.titles.get("fr") or pick(record.titles, "fr"),
        "title_en": record.titles.get("en", ""),
        "summary_fr": description.get("fr") or pick(description, "fr"),
        "summary_en": description.get("en", ""),
    }
    for language_code in set(record.titles) - {"fr", "en"}:
        draft.warnings.append(
            _("The title in language “%(language)s” has no portal field: kept in the raw activity.")
            % {"language": language_code}
        )
    fields.update(planned_dates(record))
    if fields["planned_start"] is None:
        draft.errors.append(_("The activity has no planned or actual start date."))
    scope, note = scope_of(record)
    fields["scope"] = scope
    if note:
        draft.warnings.append(note)
    currency = record.default_currency or (record.budgets[0].amount.currency if record.budgets else "")
    if not supported_currency(currency):
        draft.errors.append(
            _("Currency “%(currency)s” is not one the portal keeps budgets in (XOF, USD, EUR).")
            % {"currency": currency or "—"}
        )
    fields["currency"] = currency
    budget, problems = total_budget(record, currency)
    draft.warnings.extend(problems)
    fields["budget"] = budget if budget is not None else Decimal("0")
    if budget is None:
        draft.warnings.append(_("No budget in the activity's currency: the budget is left at 0."))
    # Sectors: the first one mapped is the primary sector, the others secondary. The publisher's own
    # vocabularies (98, 99: IOM's, the portal's) say more than a DAC code shared by several sectors, so
    # they are read first (the order inside each vocabulary is kept).
    sectors = []
    for sector in sorted(record.sectors, key=lambda s: 0 if s.vocabulary in ("98", "99") else 1):
        resolved = reference.sectors.resolve(sector)
        if resolved is None:
            draft.warnings.append(
                _("Sector %(code)s of vocabulary %(vocabulary)s has no portal sector: add a sector mapping.")
                % {"code": sector.code, "vocabulary": sector.vocabulary}
            )
        elif resolved not in sectors:
            sectors.append(resolved)
    if not sectors:
        draft.errors.append(_("None of the activity's sectors maps to a portal sector."))
    else:
        fields["primary_sector"] = sectors[0]
        draft.secondary_sectors = sectors[1:]
    draft.fields = fields
    _participations(record, reference, draft, language)
    _locations(record, reference, draft)
    _transactions(record, reference, draft, language)
    draft.results = results_draft(record, draft.warnings)
    _recipients(record, reference, draft)
    return draft


def _recipients(record: ActivityRecord, reference: Reference, draft: ProgrammeDraft) -> None:
    """Recipient countries and regions with percentages adding up to 100; a scope that fits them; places
    (P-codes) only when Niger is a recipient."""
    countries = reference.recipients.countries_of(record.recipient_countries, draft.warnings)
    regions = reference.recipients.regions_of(record.recipient_regions, draft.warnings)
    scope, note = scope_for_recipients(draft.fields["scope"], countries, regions)
    if note:
        draft.fields["scope"] = scope
        draft.warnings.append(note)
    if draft.locations and not works_in_niger(countries):
        draft.warnings.append(
            _("Niger is not a recipient country: the activity's places were not matched to Niger's P-codes.")
        )
        draft.locations = []
    national = draft.fields["scope"] == Scope.NATIONAL
    if national and not countries and not regions and NIGER in reference.recipients.countries:
        # What the services do for a national programme given no country (rules.default_countries),
        # so that the preview compares like with like and a re-import changes nothing.
        countries = [{"country": reference.recipients.countries[NIGER], "percentage": HUNDRED}]
    draft.recipient_countries, draft.recipient_regions = countries, regions


def _participations(record: ActivityRecord, reference: Reference, draft: ProgrammeDraft, language: str) -> None:
    contributions: dict[str, Decimal] = {}
    for transaction in record.transactions:
        if transaction.type == INCOMING_COMMITMENT and transaction.provider is not None:
            if transaction.amount.currency != draft.fields.get("currency"):
                draft.warnings.append(
                    _("A commitment in %(currency)s was not recorded as a contribution.")
                    % {"currency": transaction.amount.currency}
                )
                continue
            key = transaction.provider.ref.upper() or pick(transaction.provider.names, language)
            contributions[key] = contributions.get(key, Decimal("0")) + transaction.amount.value
    seen = set()
    # The participating organisations, then the beneficiary institutions of the portal's own export (they have
    # no IATI role: its target-groups description carries them).
    beneficiaries = [org for org in record.target_group_orgs if org.portal_role == Role.BENEFICIARY_INSTITUTION]
    named = [(org, None) for org in record.participating_orgs]
    for org, given_role in named + [(org, Role.BENEFICIARY_INSTITUTION) for org in beneficiaries]:
        if org.ref.upper() in iom_refs():
            continue  # IOM itself
        match = reference.organisations.match(org, language)
        role = given_role or _role(org, match.organisation)
        name = match.organisation.name_fr if match.organisation else match.proposed_name
        if role is None:
            draft.warnings.append(
                _("%(name)s (IATI role %(role)s) has no portal role: kept in the raw activity.")
                % {"name": name or org.ref, "role": org.role or "—"}
            )
            continue
        key = match.organisation.pk if match.organisation else ("new", match.proposed_name)
        if key in seen:
            draft.warnings.append(
                _("%(name)s appears twice: the portal keeps one role per organisation (the first).") % {"name": name}
            )
            continue
        seen.add(key)
        contribution = None
        if role == Role.FUNDING:
            contribution = contributions.get(org.ref.upper()) or contributions.get(pick(org.names, language))
        if match.organisation is None:
            if not match.proposed_name:
                draft.warnings.append(_("A participating organisation has neither name nor identifier: skipped."))
                continue
            ref = org.ref.strip()
            government = org.type in ("10", "15") and role != Role.FUNDING  # see partners.services
            if identifier_errors(ref, niger_government=government):
                draft.warnings.append(
                    _("%(name)s: “%(ref)s” is not a valid IATI organisation identifier; it is created without one.")
                    % {"name": match.proposed_name, "ref": ref}
                )
                ref = ""
            draft.new_organisations.append(
                NewOrganisation(name=match.proposed_name, ref=ref, iati_type=org.type, role=role)
            )
        draft.participations.append(
            ParticipationRow(organisation=match.organisation, role=role, contribution=contribution)
        )


KIND_FROM_IATI = {code: kind for kind, code in IATI_TRANSACTION_TYPE.items()}


@dataclass(frozen=True)
class NewOrganisationKey:
    """A transaction's organisation that the import creates (one of the draft's new organisations)."""

    name: str


def _transactions(record: ActivityRecord, reference: Reference, draft: ProgrammeDraft, language: str) -> None:
    """The activity's transactions as the portal records them (programmes/services.py transaction_add);
    a transaction the portal cannot hold is named in a warning and kept in the raw activity."""
    for index, transaction in enumerate(record.transactions, start=1):
        kind = KIND_FROM_IATI.get(transaction.type)
        problem = None
        if kind is None:
            problem = _("its type %(type)s is not one the portal records") % {"type": transaction.type or "—"}
        elif transaction.date is None:
            problem = _("it has no date")
        elif transaction.amount.currency not in Currency.values:
            problem = _("its currency %(currency)s is not one the portal records") % {
                "currency": transaction.amount.currency
            }
        elif transaction.amount.value <= 0:
            problem = _("its amount is not positive")
        orgs = {}
        new_names = {o.name for o in draft.new_organisations}
        for name, org in (("provider", transaction.provider), ("receiver", transaction.receiver)):
            orgs[name] = None
            if org is not None and org.ref.upper() not in iom_refs():
                match = reference.organisations.match(org, language)
                orgs[name] = match.organisation
                if match.organisation is None and match.proposed_name in new_names:
                    orgs[name] = NewOrganisationKey(match.proposed_name)  # created with the participations
                elif match.organisation is None and problem is None:
                    problem = _("its %(party)s %(name)s is not in the portal") % {
                        "party": name,
                        "name": org.ref or pick(org.names, language),
                    }
        if problem is None and kind in (KIND_FROM_IATI["11"], KIND_FROM_IATI["1"]) and orgs["provider"] is None:
            problem = _("incoming money without a provider organisation")
        if problem:
            draft.warnings.append(
                _("Transaction %(n)s was not recorded (%(problem)s): kept in the raw activity.")
                % {"n": index, "problem": problem}
            )
            continue
        draft.transactions.append(
            {
                "kind": kind,
                "date": transaction.date,
                "value": transaction.amount.value,
                "currency": transaction.amount.currency,
                "provider": orgs["provider"],
                "receiver": orgs["receiver"],
                "description": pick(transaction.descriptions, language)[:255],
                "reference": imported_reference(draft.identifier, index),
            }
        )


def imported_reference(identifier: str, index: int) -> str:
    """The reference of an imported transaction: the activity it came from and its rank there."""
    suffix = f" #{index}"
    return f"IATI {identifier}"[: 100 - len(suffix)] + suffix


def _locations(record: ActivityRecord, reference: Reference, draft: ProgrammeDraft) -> None:
    units = []
    for location in record.locations:
        codes = [a.code for a in location.administrative] + [i.code for i in location.location_ids]
        if location.ref:
            codes.append(location.ref)
        names = list(location.names.values())
        if not names and not any(code.upper().startswith("NE") for code in codes):
            continue  # a point or a country-level location: nothing to place in Niger's gazetteer
        if [c for c in codes if c.upper() == "NE"] and not names:
            continue  # Niger as a whole is the national scope, not a place
        match = reference.places.resolve(codes, names)
        if match.unit is None:
            draft.warnings.append(match.problem)
        elif match.unit not in units:
            units.append(match.unit)
    draft.locations = units


def _shown(value) -> str:
    if value is None:
        return ""
    if hasattr(value, "code") and not isinstance(value, str):
        return str(value.code)
    return str(value)


def draft_changes(draft: ProgrammeDraft, programme: Programme | None) -> list[dict]:
    """Field by field, what would change (the whole draft for a new programme)."""
    changes = []
    for name in PROGRAMME_FIELDS:
        if name not in draft.fields:
            continue
        new = draft.fields[name]
        current = getattr(programme, name) if programme is not None else None
        if isinstance(new, Decimal) and current is not None:
            differs = Decimal(current) != new
        else:
            differs = _shown(current) != _shown(new)
        if programme is None or differs:
            label = str(Programme._meta.get_field(name).verbose_name)
            changes.append({"field": name, "label": label, "current": _shown(current), "new": _shown(new)})
    if not draft.merge_lists and (programme is None or programme.status != draft.status):
        changes.append(
            {
                "field": "status",
                "label": str(Programme._meta.get_field("status").verbose_name),
                "current": programme.get_status_display() if programme is not None else "",
                "new": str(Status(draft.status).label),
            }
        )
    changes += _list_changes(draft, programme)
    if draft.results is not None and (programme is None or draft.results.signature != stored_signature(programme)):
        values = sum(len(i.values) for i in draft.results.indicators)
        outputs = sum(len(o.outputs) for o in draft.results.outcomes)
        changes.append(
            {
                "field": "results",
                "label": str(_("Results framework")),
                "current": "",
                "new": _("%(outcomes)s outcomes, %(outputs)s outputs, %(indicators)s indicators, %(values)s values")
                % {
                    "outcomes": len(draft.results.outcomes),
                    "outputs": outputs,
                    "indicators": len(draft.results.indicators),
                    "values": values,
                },
            }
        )
    if programme is not None and not draft.merge_lists:
        stored_sectors = sorted(s.code for s in programme.secondary_sectors.all())
        if stored_sectors != sorted(s.code for s in draft.secondary_sectors):
            changes.append(
                {
                    "field": "secondary_sectors",
                    "label": str(Programme._meta.get_field("secondary_sectors").verbose_name),
                    "current": ", ".join(stored_sectors),
                    "new": ", ".join(sorted(s.code for s in draft.secondary_sectors)),
                }
            )
    return changes


def _partner_label(row, draft: ProgrammeDraft) -> str:
    from programmes.models import Role

    if row.organisation is not None:
        name = row.organisation.acronym or row.organisation.name_fr
    else:
        name = next((o.name for o in draft.new_organisations if o.role == row.role), "?")
    return f"{name} ({Role(row.role).label})"


def _list_changes(draft: ProgrammeDraft, programme: Programme | None) -> list[dict]:
    """Partners and places: for a sheet, those it adds; for an IATI activity, the lists it replaces."""
    changes = []
    stored_rows = list(programme.participations.all()) if programme is not None else []
    stored_partners = {(p.organisation_id, p.role, p.contribution) for p in stored_rows}
    stored_orgs = {p.organisation_id for p in stored_rows}
    if draft.merge_lists:
        added = [r for r in draft.participations if r.organisation is None or r.organisation.pk not in stored_orgs]
        differs = bool(added)
        new = added
    else:
        wanted = {(r.organisation.pk if r.organisation else None, r.role, r.contribution) for r in draft.participations}
        differs = wanted != stored_partners
        new = draft.participations
    if differs:
        changes.append(
            {
                "field": "participations",
                "label": str(_("Partners")),
                "current": ", ".join(
                    f"{p.organisation.acronym or p.organisation.name_fr} ({p.get_role_display()})" for p in stored_rows
                )
                if programme is not None
                else "",
                "new": ("+ " if draft.merge_lists else "") + ", ".join(_partner_label(r, draft) for r in new),
            }
        )
    if not draft.merge_lists:
        changes += _recipient_changes(draft, programme)
    stored_places = {loc.admin_unit_id for loc in programme.locations.all()} if programme is not None else set()
    wanted_places = {u.pk for u in draft.locations}
    added_places = [u for u in draft.locations if u.pk not in stored_places]
    if (draft.merge_lists and added_places) or (not draft.merge_lists and wanted_places != stored_places):
        shown = added_places if draft.merge_lists else draft.locations
        changes.append(
            {
                "field": "locations",
                "label": str(_("Places")),
                "current": ", ".join(sorted(loc.admin_unit.pcode for loc in programme.locations.all()))
                if programme is not None
                else "",
                "new": ("+ " if draft.merge_lists else "") + ", ".join(f"{u.name_fr} ({u.pcode})" for u in shown),
            }
        )
    return changes


def _recipient_changes(draft: ProgrammeDraft, programme: Programme | None) -> list[dict]:
    changes = []
    for name, key, label in (
        ("recipient_countries", "country", _("Recipient countries")),
        ("recipient_regions", "region", _("Recipient regions")),
    ):
        rows = getattr(draft, name)
        if rows is None:
            continue
        new = _shares((row[key].pk, row["percentage"]) for row in rows)
        stored = getattr(programme, name).values_list(key, "percentage") if programme is not None else []
        current = _shares(stored)
        if programme is None or new != current:
            changes.append({"field": name, "label": str(label), "current": current, "new": new})
    return changes


def _shares(rows) -> str:
    return ", ".join(f"{code} {percentage.normalize():f} %" for code, percentage in sorted(rows))
