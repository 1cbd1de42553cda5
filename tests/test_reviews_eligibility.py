"""The eligibility checklist: required fields, endorsement, IDF budget range (with conversion) and staff share."""

from datetime import date
from decimal import Decimal

import pytest
from django.utils import translation

from programmes.models import Document, Participation, Role, Scope
from reviews.eligibility import (
    all_pass,
    check_budget_range,
    check_endorsement,
    check_staff_office_share,
    convert_to_usd,
    eligibility_checklist,
)
from reviews.models import BudgetLine, ExchangeRate, FundRule, ProposalKind

pytest_plugins = ["tests.reviews_support"]


def endorse_by_two_governments(programme) -> None:
    """Niger and Mali recipients, each government endorsing the proposal with a letter."""
    from .test_countries import endorse

    programme.recipient_countries.all().delete()
    for code in ("NE", "ML"):
        endorse(programme, code, Decimal("50"))


NATIONAL = FundRule(scope=Scope.NATIONAL, min_usd=Decimal("50000"), max_usd=Decimal("200000"))


def states(items) -> dict[str, bool]:
    return {item.code: item.passed for item in items}


def test_an_eligible_idf_programme_passes_every_item(eligible):
    items = eligibility_checklist(eligible, ProposalKind.IDF)
    assert states(items) == {
        "required_fields": True,
        "endorsement": True,
        "idf_funder": True,
        "budget_range": True,
        "budget_lines": True,
        "staff_office": True,
        "contributions": True,
    }
    assert all_pass(items)


def test_an_idf_contribution_above_the_budget_fails_eligibility(eligible):
    from partners.models import Organisation
    from programmes.models import Participation

    eligible.budget = Decimal("150000")
    eligible.currency = "USD"
    eligible.save()
    # The eligible programme already names the IOM Development Fund as funder (the review road).
    Participation.objects.update_or_create(
        programme=eligible,
        organisation=Organisation.objects.get(code="iom-idf"),
        defaults={"role": "funding", "contribution": Decimal("2154400")},
    )
    item = {i.code: i for i in eligibility_checklist(eligible, ProposalKind.IDF)}["contributions"]
    assert not item.passed and "2" in item.message and "150" in item.message


@pytest.mark.parametrize(
    ("staff_office", "passes"),
    [(Decimal("30000"), True), (Decimal("30000.01"), False), (Decimal("29999.99"), True), (Decimal("0"), True)],
)
def test_staff_and_office_share_of_exactly_30_percent_passes(staff_office, passes):
    lines = [("staff", staff_office), ("activities", Decimal("100000") - staff_office)]
    item = check_staff_office_share(budget=Decimal("100000"), lines=lines, max_percent=Decimal("30"))
    assert item.passed is passes


def test_staff_and_office_count_together_and_other_categories_do_not():
    lines = [("staff", Decimal("20000")), ("office", Decimal("10001")), ("travel", Decimal("69999"))]
    assert not check_staff_office_share(budget=Decimal("100000"), lines=lines, max_percent=Decimal("30")).passed
    lines = [("staff", Decimal("20000")), ("travel", Decimal("80000"))]
    assert check_staff_office_share(budget=Decimal("100000"), lines=lines, max_percent=Decimal("30")).passed


@pytest.mark.parametrize(
    ("budget", "passes"),
    [
        (Decimal("49999.99"), False),
        (Decimal("50000"), True),
        (Decimal("200000"), True),
        (Decimal("200000.01"), False),
    ],
)
def test_budget_range_limits_are_inclusive(budget, passes):
    item = check_budget_range(budget=budget, currency="USD", scope=Scope.NATIONAL, rule=NATIONAL, rate=None)
    assert item.passed is passes


def test_budget_in_xof_is_converted_with_the_rate_and_rounded_to_the_cent():
    rate = ExchangeRate(currency="XOF", units_per_usd=Decimal("600"), as_of=date(2026, 1, 1))
    assert convert_to_usd(Decimal("30000000"), "XOF", rate) == Decimal("50000.00")
    # 29,999,997 XOF / 600 = 49,999.995 USD, rounded half-up to 50,000.00: inside the range.
    assert convert_to_usd(Decimal("29999997"), "XOF", rate) == Decimal("50000.00")
    ok = check_budget_range(budget=Decimal("29999997"), currency="XOF", scope=Scope.NATIONAL, rule=NATIONAL, rate=rate)
    assert ok.passed and "600" in ok.message
    short = check_budget_range(
        budget=Decimal("29999990"), currency="XOF", scope=Scope.NATIONAL, rule=NATIONAL, rate=rate
    )
    assert not short.passed


def test_without_a_rate_a_non_usd_budget_fails_with_a_clear_message():
    item = check_budget_range(budget=Decimal("100000"), currency="EUR", scope=Scope.NATIONAL, rule=NATIONAL, rate=None)
    assert not item.passed and "EUR" in item.message


def test_the_rate_in_effect_is_the_latest_not_after_the_day_of_the_check(eligible):
    ExchangeRate.objects.filter(currency="EUR").delete()
    ExchangeRate.objects.create(currency="EUR", units_per_usd=Decimal("1.0"), as_of=date(2026, 1, 1))
    ExchangeRate.objects.create(currency="EUR", units_per_usd=Decimal("0.5"), as_of=date(2026, 6, 1))
    eligible.currency = "EUR"
    eligible.budget = Decimal("150000")
    eligible.save()
    BudgetLine.objects.filter(programme=eligible, category="activities").update(amount=Decimal("120000"))
    # In May, 1 EUR = 1 USD: 150,000 USD is in range. From June, 1 USD = 0.5 EUR: 300,000 USD is not.
    assert states(eligibility_checklist(eligible, ProposalKind.IDF, on=date(2026, 5, 31)))["budget_range"] is True
    assert states(eligibility_checklist(eligible, ProposalKind.IDF, on=date(2026, 6, 1)))["budget_range"] is False
    assert states(eligibility_checklist(eligible, ProposalKind.IDF, on=date(2025, 12, 31)))["budget_range"] is False


def test_regional_rule_applies_to_regional_programmes(eligible):
    eligible.scope = Scope.REGIONAL
    eligible.budget = Decimal("300000")
    eligible.save()
    endorse_by_two_governments(eligible)  # the regional IDF rule (tests/test_countries.py)
    BudgetLine.objects.filter(programme=eligible, category="activities").update(amount=Decimal("270000"))
    assert all_pass(eligibility_checklist(eligible, ProposalKind.IDF))
    eligible.budget = Decimal("300000.01")
    eligible.save()
    assert states(eligibility_checklist(eligible, ProposalKind.IDF))["budget_range"] is False


def test_fund_rules_are_read_from_the_database(eligible):
    FundRule.objects.filter(scope=Scope.NATIONAL).update(max_usd=Decimal("90000"))
    assert states(eligibility_checklist(eligible, ProposalKind.IDF))["budget_range"] is False
    FundRule.objects.filter(scope=Scope.NATIONAL).update(
        max_usd=Decimal("200000"), max_staff_office_percent=Decimal("25")
    )
    assert states(eligibility_checklist(eligible, ProposalKind.IDF))["staff_office"] is False


def test_idf_has_no_rule_for_global_projects(eligible):
    eligible.scope = Scope.GLOBAL
    eligible.save()
    assert states(eligibility_checklist(eligible, ProposalKind.IDF))["budget_range"] is False
    assert all_pass(eligibility_checklist(eligible, ProposalKind.GLOBAL))


def test_multi_regional_review_needs_a_multi_regional_programme(eligible):
    assert states(eligibility_checklist(eligible, ProposalKind.MULTI_REGIONAL))["kind_scope"] is False
    eligible.scope = Scope.MULTI_REGIONAL
    eligible.save()
    items = eligibility_checklist(eligible, ProposalKind.MULTI_REGIONAL)
    assert all_pass(items) and "budget_range" not in states(items)


def test_budget_lines_must_add_up_to_the_budget(eligible):
    BudgetLine.objects.filter(programme=eligible, category="activities").update(amount=Decimal("69999"))
    assert states(eligibility_checklist(eligible, ProposalKind.IDF))["budget_lines"] is False
    BudgetLine.objects.filter(programme=eligible).delete()
    assert states(eligibility_checklist(eligible, ProposalKind.IDF))["budget_lines"] is False


def test_missing_required_fields_are_named(eligible):
    eligible.summary_fr = ""
    eligible.planned_end = None
    eligible.save()
    eligible.locations.all().delete()
    with translation.override("en"):
        item = eligibility_checklist(eligible, ProposalKind.GLOBAL)[0]
    assert item.code == "required_fields" and not item.passed
    assert "summary" in item.message.lower() and "location" in item.message.lower()


def test_endorsement_must_come_from_an_endorsing_authority_of_the_programme(eligible):
    letter = Document.objects.get(programme=eligible)
    Participation.objects.filter(programme=eligible, organisation=letter.issuing_organisation).update(
        role=Role.GOVERNMENT_COUNTERPART
    )
    assert states(eligibility_checklist(eligible, ProposalKind.IDF))["endorsement"] is False
    Participation.objects.filter(programme=eligible, organisation=letter.issuing_organisation).update(
        role=Role.ENDORSING_AUTHORITY
    )
    letter.category = "other"
    letter.save()
    assert states(eligibility_checklist(eligible, ProposalKind.IDF))["endorsement"] is False


def test_endorsement_check_is_a_pure_function():
    assert check_endorsement(endorsing_organisation_ids={1, 2}, letter_issuer_ids=[None, 2]).passed
    assert not check_endorsement(endorsing_organisation_ids={1}, letter_issuer_ids=[3, None]).passed
    assert not check_endorsement(endorsing_organisation_ids=set(), letter_issuer_ids=[1]).passed


def test_the_checklist_is_shown_with_each_item_state_before_submission(client, eligible, focal):
    BudgetLine.objects.filter(programme=eligible, category="staff").update(amount=Decimal("20001"))
    client.force_login(focal)
    html = client.get(f"/en/reviews/{eligible.code}/").content.decode()
    assert 'data-check="staff_office" data-state="fail"' in html
    assert 'data-check="endorsement" data-state="pass"' in html
    assert "Staff and office costs are 30.0% of the budget" in html
