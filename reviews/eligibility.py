"""The eligibility checklist a proposal must pass before submission: pure checks plus one data loader.

Currency rule: a budget is converted to US dollars with the exchange rate (units of the currency per
USD) whose `as_of` date is the latest on or before the day of the check; the result is rounded half-up
to the cent and compared with the fund rule's range, both limits included. USD budgets are not
converted. The staff and office share is computed in the programme's own currency (a ratio needs no
conversion): staff + office lines must not exceed the rule's percentage of the budget (the limit passes).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from partners.models import OrganisationCategory
from programmes.models import Currency, Document, DocumentCategory, Participation, Programme, Role, Scope
from programmes.rules import contributions_over_budget
from regions.models import NIGER

from .models import STAFF_AND_OFFICE, BudgetLine, ExchangeRate, FundRule, ProposalKind


@dataclass(frozen=True)
class CheckItem:
    """One line of the checklist: what is checked, whether it passes, and why."""

    code: str
    label: str
    passed: bool
    message: str


def _money(amount: Decimal, currency: str) -> str:
    return f"{number_format(amount, decimal_pos=0, use_l10n=True, force_grouping=True)} {currency}"


def check_required_fields(programme: Programme, *, location_count: int, in_niger: bool = True) -> CheckItem:
    """`in_niger`: Niger is a recipient country (or none is recorded): its places (P-codes) are required."""
    missing = []
    if not programme.title_fr.strip():
        missing.append(str(Programme._meta.get_field("title_fr").verbose_name))
    if not programme.summary_fr.strip():
        missing.append(str(Programme._meta.get_field("summary_fr").verbose_name))
    if programme.planned_end is None:
        missing.append(str(Programme._meta.get_field("planned_end").verbose_name))
    if not programme.budget or programme.budget <= 0:
        missing.append(str(Programme._meta.get_field("budget").verbose_name))
    if programme.iom_focal_point_id is None:
        missing.append(str(Programme._meta.get_field("iom_focal_point").verbose_name))
    if location_count < 1 and in_niger:
        missing.append(_("at least one location"))
    label = _("Required fields are complete")
    if missing:
        return CheckItem("required_fields", label, False, _("Missing: %(fields)s.") % {"fields": ", ".join(missing)})
    return CheckItem(
        "required_fields", label, True, _("Title, summary, dates, budget, focal point and locations are filled in.")
    )


def check_endorsement(*, endorsing_organisation_ids: set[int], letter_issuer_ids: Iterable[int | None]) -> CheckItem:
    """At least one endorsement letter issued by an organisation with the endorsing-authority role."""
    label = _("Endorsement letter from a government partner")
    if any(issuer in endorsing_organisation_ids for issuer in letter_issuer_ids if issuer is not None):
        return CheckItem(
            "endorsement", label, True, _("An endorsement letter from an endorsing authority is attached.")
        )
    if not endorsing_organisation_ids:
        message = _("No partner has the endorsing-authority role in this programme.")
    else:
        message = _(
            "Attach an endorsement letter (document category “Endorsement letter”) issued by an endorsing authority of the programme."
        )
    return CheckItem("endorsement", label, False, message)


def convert_to_usd(amount: Decimal, currency: str, rate: ExchangeRate | None) -> Decimal | None:
    """USD stays as is; another currency needs a rate (None without one)."""
    if currency == Currency.USD:
        return amount
    if rate is None or rate.currency != currency:
        return None
    return rate.to_usd(amount)


def check_budget_range(
    *, budget: Decimal, currency: str, scope: str, rule: FundRule | None, rate: ExchangeRate | None
) -> CheckItem:
    label = _("Budget within the IOM Development Fund range for its scope")
    scope_label = Scope(scope).label
    if rule is None or not rule.is_active:
        return CheckItem(
            "budget_range",
            label,
            False,
            _("The IOM Development Fund has no rule for the scope “%(scope)s” (administrators configure fund rules).")
            % {"scope": scope_label},
        )
    budget_usd = convert_to_usd(budget, currency, rate)
    if budget_usd is None:
        return CheckItem(
            "budget_range",
            label,
            False,
            _("No exchange rate for %(currency)s is in effect today; an administrator must add one.")
            % {"currency": currency},
        )
    shown = _money(budget_usd, "USD")
    if currency != Currency.USD:
        shown = _("%(amount)s (converted at %(rate)s %(currency)s per USD as of %(date)s)") % {
            "amount": shown,
            "rate": number_format(rate.units_per_usd, use_l10n=True),
            "currency": currency,
            "date": rate.as_of.isoformat(),
        }
    params = {
        "budget": shown,
        "min": _money(rule.min_usd, "USD"),
        "max": _money(rule.max_usd, "USD"),
        "scope": scope_label,
    }
    if rule.min_usd <= budget_usd <= rule.max_usd:
        return CheckItem(
            "budget_range",
            label,
            True,
            _("%(budget)s is within the range of the scope “%(scope)s”: %(min)s–%(max)s.") % params,
        )
    return CheckItem(
        "budget_range",
        label,
        False,
        _("%(budget)s is outside the range of the scope “%(scope)s”: %(min)s–%(max)s.") % params,
    )


def check_budget_lines_total(*, budget: Decimal, lines: list[tuple[str, Decimal]], currency: str) -> CheckItem:
    label = _("Budget lines add up to the budget")
    total = sum((amount for _, amount in lines), Decimal("0"))
    params = {"total": _money(total, currency), "budget": _money(budget, currency)}
    if not lines:
        return CheckItem(
            "budget_lines", label, False, _("Add the budget lines by category (staff, office, activities…).")
        )
    if total != budget:
        return CheckItem(
            "budget_lines", label, False, _("The budget lines total %(total)s but the budget is %(budget)s.") % params
        )
    return CheckItem("budget_lines", label, True, _("The budget lines total %(total)s.") % params)


def check_staff_office_share(*, budget: Decimal, lines: list[tuple[str, Decimal]], max_percent: Decimal) -> CheckItem:
    """Staff plus office lines at most `max_percent` of the budget; exactly the limit passes."""
    label = _("Staff and office costs at most %(percent)s%% of the budget") % {
        "percent": number_format(max_percent.normalize(), use_l10n=True)
    }
    staff_office = sum((amount for category, amount in lines if category in STAFF_AND_OFFICE), Decimal("0"))
    if budget <= 0:
        return CheckItem("staff_office", label, False, _("The budget is empty."))
    share = (staff_office * 100 / budget).quantize(Decimal("0.1"))
    params = {"share": number_format(share, decimal_pos=1, use_l10n=True)}
    # Compare without dividing, so that exactly the limit passes whatever the rounding.
    if staff_office * 100 <= budget * max_percent:
        return CheckItem(
            "staff_office", label, True, _("Staff and office costs are %(share)s%% of the budget.") % params
        )
    return CheckItem("staff_office", label, False, _("Staff and office costs are %(share)s%% of the budget.") % params)


def check_idf_funder(*, is_idf_funded: bool) -> CheckItem:
    """An IOM Development Fund proposal names the fund among the programme's funders (the road rule)."""
    label = _("The IOM Development Fund is recorded as funder")
    if is_idf_funded:
        return CheckItem("idf_funder", label, True, _("The IOM Development Fund takes part as funder."))
    return CheckItem(
        "idf_funder",
        label,
        False,
        _("Add the IOM Development Fund as funding partner of the programme (with the amount requested)."),
    )


def check_contributions_within_budget(*, budget: Decimal, currency: str, contributions: list) -> CheckItem:
    """The funders' contributions (the IOM Development Fund's included) fit in the budget: the rule every
    door applies on save (programmes/rules.py), checked again here for programmes saved before it."""
    label = _("Funders' contributions within the budget")
    message = contributions_over_budget(contributions=contributions, budget=budget, currency=currency)
    if message:
        return CheckItem("contributions", label, False, message)
    return CheckItem("contributions", label, True, _("The funders' contributions fit in the budget."))


DEFAULT_ENDORSING_GOVERNMENTS = 2  # when the fund has no rule for the scope (IDF: regional projects)


def check_endorsing_governments(
    *, required: int, recipient_countries: dict[str, str], endorsed_countries: set[str]
) -> CheckItem:
    """At least `required` recipient countries whose government issued an endorsement letter.

    `recipient_countries`: code → name; `endorsed_countries`: codes of the countries of the national
    governments that issued an endorsement letter attached to the programme.
    """
    label = _("Endorsed by at least %(count)s governments of the recipient countries") % {"count": required}
    endorsed = sorted(name for code, name in recipient_countries.items() if code in endorsed_countries)
    params = {"count": len(endorsed), "required": required, "countries": ", ".join(endorsed) or "—"}
    if len(endorsed) >= required:
        return CheckItem(
            "endorsing_governments",
            label,
            True,
            _("%(count)s recipient countries endorse the proposal: %(countries)s.") % params,
        )
    if len(recipient_countries) < required:
        message = _(
            "A regional proposal needs at least %(required)s recipient countries, each endorsing it: the programme lists %(listed)s."
        ) % {**params, "listed": len(recipient_countries)}
    else:
        message = (
            _(
                "%(count)s of the %(required)s endorsements required (%(countries)s): attach an endorsement letter issued by the government (national government partner with its country) of each endorsing recipient country."
            )
            % params
        )
    return CheckItem("endorsing_governments", label, False, message)


KIND_SCOPE = {ProposalKind.MULTI_REGIONAL: Scope.MULTI_REGIONAL, ProposalKind.GLOBAL: Scope.GLOBAL}


def check_kind_matches_scope(*, kind: str, scope: str) -> CheckItem:
    """A multi-regional (global) review is for a programme whose scope is multi-regional (global)."""
    label = _("Scope matches the kind of proposal")
    expected = KIND_SCOPE[ProposalKind(kind)]
    params = {"kind": ProposalKind(kind).label, "scope": Scope(expected).label}
    if scope == expected:
        return CheckItem("kind_scope", label, True, _("%(kind)s: the programme's scope is %(scope)s.") % params)
    return CheckItem("kind_scope", label, False, _("A %(kind)s needs a programme whose scope is %(scope)s.") % params)


def eligibility_checklist(programme: Programme, kind: str, *, on: date | None = None) -> list[CheckItem]:
    """Load what the checks need (a handful of queries) and run them for a proposal of this kind."""
    on = on or timezone.localdate()
    endorsing = set(
        Participation.objects.filter(programme=programme, role=Role.ENDORSING_AUTHORITY).values_list(
            "organisation_id", flat=True
        )
    )
    letters = Document.objects.filter(programme=programme, category=DocumentCategory.ENDORSEMENT_LETTER).values_list(
        "issuing_organisation_id", flat=True
    )
    countries = {row.country_id: row.country.name for row in programme.recipient_countries.select_related("country")}
    in_niger = not countries or NIGER in countries
    items = [
        check_required_fields(programme, location_count=programme.locations.count(), in_niger=in_niger),
        check_endorsement(endorsing_organisation_ids=endorsing, letter_issuer_ids=list(letters)),
    ]
    if kind in KIND_SCOPE:
        items.append(check_kind_matches_scope(kind=kind, scope=programme.scope))
    if kind == ProposalKind.IDF:
        items.append(check_idf_funder(is_idf_funded=programme.is_idf_funded))
        rule = FundRule.objects.filter(scope=programme.scope).first()
        rate = None if programme.currency == Currency.USD else ExchangeRate.objects.in_effect(programme.currency, on)
        lines = list(BudgetLine.objects.filter(programme=programme).values_list("category", "amount"))
        items.append(
            check_budget_range(
                budget=programme.budget, currency=programme.currency, scope=programme.scope, rule=rule, rate=rate
            )
        )
        items.append(check_budget_lines_total(budget=programme.budget, lines=lines, currency=programme.currency))
        contributions = list(
            Participation.objects.filter(programme=programme, contribution__isnull=False).values_list(
                "contribution", flat=True
            )
        )
        items.append(
            check_contributions_within_budget(
                budget=programme.budget, currency=programme.currency, contributions=contributions
            )
        )
        max_percent = rule.max_staff_office_percent if rule is not None else Decimal("30")
        items.append(check_staff_office_share(budget=programme.budget, lines=lines, max_percent=max_percent))
        if rule is not None:
            required = rule.min_endorsing_governments
        else:
            required = 0 if programme.scope == Scope.NATIONAL else DEFAULT_ENDORSING_GOVERNMENTS
        if required:
            endorsed = set(
                Document.objects.filter(
                    programme=programme,
                    category=DocumentCategory.ENDORSEMENT_LETTER,
                    issuing_organisation__category=OrganisationCategory.NATIONAL_GOVERNMENT,
                    issuing_organisation__country__in=list(countries),
                ).values_list("issuing_organisation__country", flat=True)
            )
            items.append(
                check_endorsing_governments(
                    required=required, recipient_countries=countries, endorsed_countries=endorsed
                )
            )
    return items


def all_pass(items: Iterable[CheckItem]) -> bool:
    return all(item.passed for item in items)
