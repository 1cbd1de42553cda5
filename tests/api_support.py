"""Helpers of the REST API tests: token clients for the personas and a programme with results."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from partners.models import ApiToken
from programmes.models import Indicator, IndicatorValue, Outcome, Output, Programme


def token_client(user, language: str = "fr") -> APIClient:
    """A client authenticated like an integrator: a personal token, no session, no CSRF exemption."""
    _token, secret = ApiToken.create_for(user, "tests")
    client = APIClient(enforce_csrf_checks=True)
    client.credentials(HTTP_AUTHORIZATION=f"Token {secret}", HTTP_ACCEPT_LANGUAGE=language)
    return client


@pytest.fixture
def as_persona(request):
    """as_persona("staff") → a token client of that persona fixture; as_persona(None) → anonymous."""

    def make(persona: str | None, language: str = "fr") -> APIClient:
        if persona is None:
            client = APIClient(enforce_csrf_checks=True)
            client.credentials(HTTP_ACCEPT_LANGUAGE=language)
            return client
        return token_client(request.getfixturevalue(persona), language)

    return make


def add_results(programme: Programme) -> Indicator:
    """An outcome, an output and a disaggregated indicator with a total and two small cells."""
    outcome = Outcome.objects.create(programme=programme, code="OC1", statement_fr="Résultat", statement_en="Outcome")
    output = Output.objects.create(outcome=outcome, code="OP1.1", statement_fr="Produit", statement_en="Output")
    indicator = Indicator.objects.create(
        programme=programme,
        output=output,
        code="IND1",
        name_fr="Migrants assistés",
        name_en="Migrants assisted",
        target=Decimal("100"),
        disaggregated=True,
    )
    period = {"period_start": date(2025, 1, 1), "period_end": date(2025, 6, 30)}
    IndicatorValue.objects.create(indicator=indicator, achieved=Decimal("40"), **period)
    IndicatorValue.objects.create(indicator=indicator, sex="female", age_group="0-17", achieved=Decimal("3"), **period)
    IndicatorValue.objects.create(indicator=indicator, sex="male", age_group="18-59", achieved=Decimal("37"), **period)
    return indicator
