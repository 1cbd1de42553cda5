"""Invariants hold in the database, and forms explain them in the user's language."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import translation

from partners.models import Organisation, OrganisationCategory, User
from programmes.models import Indicator, IndicatorValue, Participation, Programme, Role
from regions.models import AdminUnit

from .conftest import make_programme


def violates(create) -> bool:
    try:
        with transaction.atomic():
            create()
    except IntegrityError:
        return True
    return False


def test_programme_codes_are_unique(programme_a):
    assert violates(lambda: make_programme(code=programme_a.code))


def test_planned_end_cannot_precede_start(reference):
    assert violates(lambda: make_programme(planned_start=date(2026, 1, 1), planned_end=date(2025, 1, 1)))


def test_budget_cannot_be_negative(reference):
    assert violates(lambda: make_programme(budget=Decimal("-1")))


def test_an_organisation_has_one_role_per_programme(programme_a, org_a):
    assert violates(lambda: Participation.objects.create(programme=programme_a, organisation=org_a, role=Role.FUNDING))


def test_only_funders_carry_a_contribution(programme_a, org_b):
    assert violates(
        lambda: Participation.objects.create(
            programme=programme_a, organisation=org_b, role=Role.IMPLEMENTING_PARTNER, contribution=Decimal("10")
        )
    )


def test_percentage_indicators_stay_within_0_and_100(programme_a):
    assert violates(
        lambda: Indicator.objects.create(
            programme=programme_a, code="P1", name_fr="Taux", measure="percentage", target=Decimal("120")
        )
    )
    Indicator.objects.create(
        programme=programme_a, code="P2", name_fr="Taux", measure="percentage", target=Decimal("100")
    )


def test_indicator_values_cannot_be_negative_or_end_before_start(programme_a):
    indicator = Indicator.objects.create(programme=programme_a, code="N1", name_fr="Personnes")
    assert violates(
        lambda: IndicatorValue.objects.create(
            indicator=indicator, period_start=date(2025, 1, 1), period_end=date(2025, 12, 31), achieved=Decimal("-3")
        )
    )
    assert violates(
        lambda: IndicatorValue.objects.create(
            indicator=indicator, period_start=date(2025, 6, 1), period_end=date(2025, 1, 1)
        )
    )


def test_pcode_format_is_enforced(reference):
    assert violates(lambda: AdminUnit.objects.create(pcode="NG001", name_fr="Ailleurs", level=1))
    assert violates(lambda: AdminUnit.objects.create(pcode="NE0011", name_fr="Mal formé", level=1))


def test_a_partner_user_can_never_be_staff(org_a):
    assert violates(lambda: User.objects.create(username="sneaky", organisation=org_a, is_staff=True))


def test_a_regional_authority_needs_its_admin_unit(reference):
    assert violates(
        lambda: Organisation.objects.create(
            code="cr-x", name_fr="Conseil", category=OrganisationCategory.REGIONAL_AUTHORITY
        )
    )


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("fr", "La fin prévue ne peut pas précéder le début prévu."),
        ("en", "The planned end cannot be before the planned start."),
    ],
)
def test_model_validation_explains_the_date_rule_in_the_users_language(programme_a, language, expected):
    programme = Programme.objects.get(pk=programme_a.pk)
    programme.planned_end = date(2020, 1, 1)
    with translation.override(language), pytest.raises(ValidationError) as excinfo:
        programme.full_clean()
    assert expected in str(excinfo.value)


def test_model_validation_rejects_a_malformed_programme_code_in_french(reference):
    programme = Programme(code="bad code", title_fr="Titre", planned_start=date(2025, 1, 1))
    with translation.override("fr"), pytest.raises(ValidationError) as excinfo:
        programme.full_clean(exclude=["primary_sector"])
    assert "code" in excinfo.value.message_dict
