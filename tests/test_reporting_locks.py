"""A locked period at the doors that write indicator values directly: the programme's edit page and the
admin. A changed or removed value of a locked period is refused with the lock's message; nothing saved;
the rest of the page still saves when the locked values are left as they are."""

from __future__ import annotations

import html
from datetime import date
from decimal import Decimal

import pytest
from django.test import Client

from programmes.models import IndicatorValue, LockBefore
from reporting import services
from reporting.services import ReportedValue

from .edit_support import form_data
from .reporting_support import Q1

pytestmark = pytest.mark.django_db
LOCKED_FR = "Les valeurs de cette période sont verrouillées (approuvées)"


@pytest.fixture
def approved(reporting_a, partner_a, validator):
    report = services.results_report_open(
        programme=reporting_a["programme"], user=partner_a, period_start=Q1[0], period_end=Q1[1]
    )
    services.results_report_save(
        report=report, user=partner_a, values=[ReportedValue(reporting_a["people"].pk, Decimal("90"))]
    )
    services.results_report_submit(report=report, user=partner_a)
    services.results_report_approve(report=report, user=validator)
    return report


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _value_key(data: dict, value: IndicatorValue) -> str:
    return next(
        k[: -len("-id")] for k, v in data.items() if k.endswith("-id") and "-values-" in k and v == str(value.pk)
    )


def test_the_edit_page_refuses_a_changed_value_of_a_locked_period(approved, reporting_a, staff):
    code = reporting_a["programme"].code
    client = _client(staff)
    data = form_data(client.get(f"/fr/programmes/{code}/edit/").content.decode())
    response = client.post(f"/fr/programmes/{code}/edit/", data)  # unchanged: saves
    assert response.status_code == 302
    value = IndicatorValue.objects.get()
    data = form_data(client.get(f"/fr/programmes/{code}/edit/").content.decode())
    prefix = _value_key(data, value)
    data[f"{prefix}-achieved"] = "95"
    response = client.post(f"/fr/programmes/{code}/edit/", data)
    assert response.status_code == 400 and LOCKED_FR in html.unescape(response.content.decode())
    data[f"{prefix}-achieved"] = "90"
    data[f"{prefix}-DELETE"] = "on"
    response = client.post(f"/fr/programmes/{code}/edit/", data)
    assert response.status_code == 400 and LOCKED_FR in html.unescape(response.content.decode())
    assert IndicatorValue.objects.get().achieved == Decimal("90")


def test_the_admin_refuses_a_value_in_a_period_locked_by_an_administrator(reporting_a, admin_user):
    LockBefore.objects.create(before=date(2025, 7, 1))
    client = _client(admin_user)
    response = client.post(
        "/admin/programmes/indicatorvalue/add/",
        {
            "indicator": reporting_a["share"].pk,
            "period_start": "2025-01-01",
            "period_end": "2025-03-31",
            "sex": "all",
            "age_group": "all",
            "achieved": "40",
        },
    )
    assert response.status_code == 200
    assert "verrouillée par un administrateur" in html.unescape(response.content.decode())
    assert not IndicatorValue.objects.exists()
