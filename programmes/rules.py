"""The rules that say what a programme may be: written once here, applied by the services at every door.

Each check returns errors as a dict of field name → messages, the shape of a Django
`ValidationError(dict)`: the doors show each message next to its field. Errors of one row of a list
(participations, locations) are keyed `<list>-<index>-<field>`, the index counting the rows given to
the service, e.g. `participations-1-contribution`; an error of the whole list is keyed by its name.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from partners.models import User

# Dates outside this range are typing mistakes (9999-12-31) that would break reports and IATI files.
EARLIEST_DATE = date(1990, 1, 1)
LATEST_DATE = date(2100, 12, 31)

# C0 control characters other than tab, line feed and carriage return (a pasted vertical tab or form
# feed breaks spreadsheets and XML), and DEL.
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

Errors = dict[str, list[str]]


def normalise_text(value: str) -> str:
    """Unicode NFC, without the control characters that no report format can carry."""
    return _CONTROL_CHARACTERS.sub("", unicodedata.normalize("NFC", value))


def normalise_text_fields(instance: models.Model) -> None:
    """Normalise every free-text field of a model instance in place, before it is validated and saved."""
    for field in instance._meta.concrete_fields:
        if isinstance(field, models.CharField | models.TextField) and not field.choices:
            value = getattr(instance, field.attname)
            if isinstance(value, str):
                setattr(instance, field.attname, normalise_text(value))


def raise_if(errors: Errors) -> None:
    if errors:
        raise ValidationError(errors)


def add(errors: Errors, key: str, message: str) -> None:
    errors.setdefault(key, []).append(message)


# --- The programme's own fields (called by Programme.clean(), hence by every full_clean) -----------

DATE_FIELDS = ("planned_start", "planned_end", "actual_start", "actual_end")


def programme_field_errors(programme) -> Errors:
    errors: Errors = {}
    for name in DATE_FIELDS:
        value = getattr(programme, name)
        if value is not None and not EARLIEST_DATE <= value <= LATEST_DATE:
            add(
                errors,
                name,
                _("Enter a date between %(earliest)s and %(latest)s.")
                % {"earliest": EARLIEST_DATE.year, "latest": LATEST_DATE.year},
            )
    if "planned_end" not in errors and _before(programme.planned_end, programme.planned_start):
        add(errors, "planned_end", _("The planned end cannot be before the planned start."))
    if "actual_end" not in errors and _before(programme.actual_end, programme.actual_start):
        add(errors, "actual_end", _("The actual end cannot be before the actual start."))
    if "actual_end" not in errors and programme.has_ended:
        # A completed or closed programme has ended: when, is known and past (see programme_change_status).
        problem = programme.actual_end_problem(programme.actual_end)
        if problem:
            add(errors, "actual_end", problem)
    if not programme.iati_publish and not (programme.iati_exclusion_reason or "").strip():
        add(
            errors,
            "iati_exclusion_reason",
            _("Say why this programme is kept out of the IATI file (the file reports the reason)."),
        )
    focal_point_id = programme.iom_focal_point_id
    # A focal point who has left since being chosen stays until someone picks another: only a new
    # choice must be active IOM staff.
    newly_chosen = focal_point_id is not None and focal_point_id != programme.loaded_focal_point_id
    if newly_chosen and not User.objects.iom_staff().filter(pk=focal_point_id).exists():
        add(errors, "iom_focal_point", _("The IOM focal point must be an active member of IOM staff."))
    return errors


def _before(end: date | None, start: date | None) -> bool:
    return end is not None and start is not None and end < start


# --- Sectors, partners and places ---------------------------------------------------------------


def sector_errors(*, primary_sector_id: int | None, secondary_sectors: Iterable) -> Errors:
    if primary_sector_id is not None and any(s.pk == primary_sector_id for s in secondary_sectors):
        return {"secondary_sectors": [_("The primary sector cannot also be a secondary sector.")]}
    return {}


@dataclass(frozen=True)
class ParticipationRow:
    """One organisation's part as a door read it: the services replace the list with these rows."""

    organisation: object
    role: str
    contribution: Decimal | None = None
    notes: str = ""
    reports_results: bool | None = None  # None: as stored (False for a new participation)

    @classmethod
    def from_mapping(cls, row: Mapping) -> ParticipationRow:
        return cls(
            organisation=row["organisation"],
            role=row["role"],
            contribution=row.get("contribution"),
            notes=row.get("notes") or "",
            reports_results=None if row.get("reports_results") is None else bool(row["reports_results"]),
        )


def contribution_errors(*, role: str, contribution: Decimal | None) -> Errors:
    """Only a funder has a contribution (also a database constraint; this says it next to the field)."""
    from .models import Role

    if contribution is not None and role != Role.FUNDING:
        return {"contribution": [_("Only a funding partner has a contribution: choose the role Funding or clear it.")]}
    return {}


def participation_errors(rows: list[ParticipationRow], *, budget: Decimal | None, currency: str) -> Errors:
    """One role per organisation, a contribution only for funders, contributions within the budget."""
    errors: Errors = {}
    seen: set[int] = set()
    for index, row in enumerate(rows):
        if row.organisation.pk in seen:
            add(
                errors,
                f"participations-{index}-organisation",
                _("%(organisation)s is listed twice: an organisation has one role per programme.")
                % {"organisation": row.organisation},
            )
        seen.add(row.organisation.pk)
        for name, messages in contribution_errors(role=row.role, contribution=row.contribution).items():
            errors.setdefault(f"participations-{index}-{name}", []).extend(messages)
    message = contributions_over_budget(
        contributions=[row.contribution for row in rows], budget=budget, currency=currency
    )
    if message:
        add(errors, "participations", message)
    return errors


def contributions_over_budget(*, contributions: Iterable[Decimal | None], budget: Decimal | None, currency: str) -> str:
    """Why the funders' contributions exceed the budget, or "" when they fit.

    Contributions are recorded in the programme's currency (Participation.contribution), like the
    budget, so no conversion is needed; the IOM Development Fund's eligibility calls this same rule.
    """
    total = sum((c for c in contributions if c is not None), Decimal("0"))
    if budget is None or total <= budget:
        return ""
    return _("The funders' contributions total %(total)s, more than the budget of %(budget)s.") % {
        "total": money(total, currency),
        "budget": money(budget, currency),
    }


def money(amount: Decimal, currency: str) -> str:
    return f"{number_format(amount, decimal_pos=0, use_l10n=True, force_grouping=True)} {currency}"


# Checks other apps register for an organisation that stops reporting for a programme (its participation
# removed or its "reports for this programme" unticked): each takes (programme, organisation) and returns
# why it may not, or "". Results reporting registers "it has reports in progress" (reporting/apps.py):
# programmes knows nothing of reporting, reporting plugs its rule in here.
StopReportingCheck = Callable[[object, object], str]
_STOP_REPORTING_CHECKS: list[StopReportingCheck] = []


def register_stop_reporting_check(check: StopReportingCheck) -> None:
    """Add a check run whenever an organisation would stop reporting for a programme (idempotent)."""
    if check not in _STOP_REPORTING_CHECKS:
        _STOP_REPORTING_CHECKS.append(check)


def stop_reporting_errors(programme, rows: list[ParticipationRow]) -> Errors:
    """An organisation that reports for the programme keeps doing so while indicators are assigned to it
    (or while a registered check says no, e.g. reports in progress): reassign first, then remove.

    `rows` are the participations as they would be after the change (reports_results None: as stored).
    The error is next to the row's tick box when the row stays, on the list when the row is removed."""
    from .models import Indicator

    errors: Errors = {}
    if programme.pk is None:
        return errors
    reporting = {
        p.organisation_id: p.organisation
        for p in programme.participations.filter(reports_results=True).select_related("organisation")
    }
    if not reporting:
        return errors
    positions = {row.organisation.pk: index for index, row in enumerate(rows)}
    stopping = [
        (organisation, positions.get(pk))
        for pk, organisation in reporting.items()
        if pk not in positions or rows[positions[pk]].reports_results is False
    ]
    if not stopping:
        return errors
    assigned: dict[int, list[str]] = {}
    for organisation_id, code in (
        Indicator.objects.filter(programme=programme, reporting_partner_id__in=[o.pk for o, _i in stopping])
        .order_by("code")
        .values_list("reporting_partner_id", "code")
    ):
        assigned.setdefault(organisation_id, []).append(code)
    for organisation, index in stopping:
        key = "participations" if index is None else f"participations-{index}-reports_results"
        if organisation.pk in assigned:
            add(
                errors,
                key,
                _(
                    "%(organisation)s reports the indicators %(codes)s of this programme: assign them to IOM or "
                    "to another reporting partner before %(organisation)s stops reporting or leaves the programme."
                )
                % {"organisation": organisation.short_name, "codes": ", ".join(assigned[organisation.pk])},
            )
        for check in _STOP_REPORTING_CHECKS:
            message = check(programme, organisation)
            if message:
                add(errors, key, message)
    return errors


# Checks other apps register for an indicator given to another reporter: each takes (indicator, the
# previous reporter's organisation id, None for IOM) and returns why not, or "". Results reporting
# registers "the previous reporter has values of it in a report in progress" (reporting/apps.py).
ReassignIndicatorCheck = Callable[[object, int | None], str]
_REASSIGN_INDICATOR_CHECKS: list[ReassignIndicatorCheck] = []


def register_reassign_indicator_check(check: ReassignIndicatorCheck) -> None:
    """Add a check run whenever an indicator changes reporter (Indicator.clean: every door; idempotent)."""
    if check not in _REASSIGN_INDICATOR_CHECKS:
        _REASSIGN_INDICATOR_CHECKS.append(check)


def reassign_indicator_errors(indicator, previous_reporter_id: int | None) -> list[str]:
    return [message for check in _REASSIGN_INDICATOR_CHECKS if (message := check(indicator, previous_reporter_id))]


def location_errors(units: list) -> Errors:
    errors: Errors = {}
    seen: set[int] = set()
    for index, unit in enumerate(units):
        if unit.pk in seen:
            add(errors, f"locations-{index}-admin_unit", _("This place is already listed for the programme."))
        seen.add(unit.pk)
    return errors


def row_key(key: str) -> tuple[str, int, str] | None:
    """`participations-1-contribution` → ("participations", 1, "contribution"); None for other keys."""
    match = re.fullmatch(r"([a-z_]+)-(\d+)-([a-z_]+)", key)
    return (match.group(1), int(match.group(2)), match.group(3)) if match else None


# --- Recipient countries and regions -------------------------------------------------------------

HUNDRED = Decimal("100")


@dataclass(frozen=True)
class RecipientRow:
    """A recipient country or region (an instance of regions.Country or regions.Region) with its share."""

    place: object
    percentage: Decimal | None


def default_countries(*, scope: str, countries: list[RecipientRow], regions: list[RecipientRow]) -> list[RecipientRow]:
    """A national programme given no country works in Niger, at 100 %."""
    from regions.models import NIGER, Country

    from .models import Scope

    if scope == Scope.NATIONAL and not countries and not regions:
        return [RecipientRow(Country.objects.get(code=NIGER), HUNDRED)]
    return countries


def recipient_errors(
    *, scope: str, countries: list[RecipientRow], regions: list[RecipientRow], has_locations: bool
) -> Errors:
    """Each kind's percentages sum to 100; the scope agrees with the recipients; P-codes only in Niger.

    National: one country (Niger by default), no region. Regional: one region, or several (neighbouring)
    countries. Multi-regional and global: several countries or regions. A programme other than national
    may leave its recipients unstated; its places (P-codes) then wait for Niger to be listed.
    """
    from regions.models import NIGER

    errors: Errors = {}
    for kind, rows, field in (("recipient_countries", countries, "country"), ("recipient_regions", regions, "region")):
        seen: set[str] = set()
        total = Decimal("0")
        for index, row in enumerate(rows):
            if row.place.pk in seen:
                add(
                    errors,
                    f"{kind}-{index}-{field}",
                    _("%(name)s is listed twice: give each country or region once, with its whole share.")
                    % {"name": row.place},
                )
            seen.add(row.place.pk)
            if row.percentage is None:
                add(errors, f"{kind}-{index}-percentage", _("Give the percentage of the programme that goes there."))
            elif not Decimal("0") < row.percentage <= HUNDRED:
                add(errors, f"{kind}-{index}-percentage", _("A percentage lies between 0.01 and 100."))
            else:
                total += row.percentage
        if rows and not any(key.startswith(f"{kind}-") for key in errors) and total != HUNDRED:
            message = (
                _("The percentages of the recipient countries add up to %(total)s%%, not 100%%.")
                if kind == "recipient_countries"
                else _("The percentages of the recipient regions add up to %(total)s%%, not 100%%.")
            )
            add(errors, kind, message % {"total": number_format(total.normalize(), use_l10n=True)})
    message = scope_recipients_problem(scope=scope, countries=len(countries), regions=len(regions))
    if message:
        add(errors, "recipient_countries", message)
    if has_locations and not any(row.place.pk == NIGER for row in countries):
        add(
            errors,
            "locations",
            _("Places (P-codes) are in Niger: add Niger as a recipient country, or remove the places."),
        )
    return errors


def scope_recipients_problem(*, scope: str, countries: int, regions: int) -> str:
    """Why the number of recipient countries and regions does not fit the scope, or ""."""
    from .models import Scope

    if scope == Scope.NATIONAL and (countries != 1 or regions):
        return _(
            "A national programme has one recipient country and no recipient region: for several, choose the scope regional, multi-regional or global."
        )
    if scope == Scope.REGIONAL and regions > 1:
        return _(
            "A regional programme has one recipient region or several neighbouring countries: for several regions, choose the scope multi-regional."
        )
    if scope != Scope.NATIONAL and countries == 1 and not regions:
        return _(
            "A %(scope)s programme has several recipient countries or a recipient region: with one country, the scope is national."
        ) % {"scope": str(Scope(scope).label).lower()}
    return ""


# --- Money -----------------------------------------------------------------------------------------


def transaction_errors(transaction) -> Errors:
    """A transaction's own rules: a sensible date, and a provider for money coming in."""
    from .models import INCOMING_KINDS

    errors: Errors = {}
    if transaction.date is not None and not EARLIEST_DATE <= transaction.date <= LATEST_DATE:
        add(
            errors,
            "date",
            _("Enter a date between %(earliest)s and %(latest)s.")
            % {"earliest": EARLIEST_DATE.year, "latest": LATEST_DATE.year},
        )
    if transaction.kind in INCOMING_KINDS and transaction.provider_id is None:
        add(errors, "provider", _("Incoming money needs its provider: choose the funder it comes from."))
    return errors
