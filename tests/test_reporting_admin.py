"""The admin door of results reporting: the same refusals as the page and the API, nothing saved."""

from __future__ import annotations

import html
from datetime import date
from decimal import Decimal

import pytest
from django.test import Client

from programmes.models import Indicator, LockBefore
from reporting import services
from reporting.models import ResultsReport, ResultsReportValue

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_en(admin_user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(admin_user)
    return client


def _text(response) -> str:
    return html.unescape(response.content.decode())


def _values(rows: list[dict], initial: int = 0) -> dict:
    data = {
        "values-TOTAL_FORMS": str(len(rows)),
        "values-INITIAL_FORMS": str(initial),
        "values-MIN_NUM_FORMS": "0",
        "values-MAX_NUM_FORMS": "1000",
        "steps-TOTAL_FORMS": "0",
        "steps-INITIAL_FORMS": "0",
        "steps-MIN_NUM_FORMS": "0",
        "steps-MAX_NUM_FORMS": "0",
    }
    for i, row in enumerate(rows):
        for key, value in row.items():
            data[f"values-{i}-{key}"] = value
    return data


def test_admin_refuses_a_future_period_and_a_locked_one(admin_client_en, reporting_a):
    url = "/admin/reporting/resultsreport/add/"
    programme = reporting_a["programme"]
    response = admin_client_en.post(
        url, {"programme": programme.pk, "period_start": "2099-01-01", "period_end": "2099-03-31"}
    )
    assert response.status_code == 200 and "has not ended yet" in _text(response)
    LockBefore.objects.create(before=date(2025, 7, 1))
    response = admin_client_en.post(
        url, {"programme": programme.pk, "period_start": "2025-01-01", "period_end": "2025-03-31"}
    )
    assert "locked by an administrator" in _text(response)
    assert not ResultsReport.objects.exists()


def test_admin_values_go_through_the_services(admin_client_en, admin_user, reporting_a):
    share = reporting_a["share"]
    report = services.results_report_open(
        programme=reporting_a["programme"], user=admin_user, period_start=date(2025, 1, 1), period_end=date(2025, 3, 31)
    )
    url = f"/admin/reporting/resultsreport/{report.pk}/change/"
    # the partner's indicator is not IOM's to report
    people = reporting_a["people"]
    response = admin_client_en.post(
        url, _values([{"indicator": people.pk, "sex": "all", "age_group": "all", "achieved": "4"}])
    )
    assert response.status_code == 200 and "not assigned to IOM" in _text(response)
    response = admin_client_en.post(
        url, _values([{"indicator": share.pk, "sex": "all", "age_group": "all", "achieved": "140"}])
    )
    assert "A percentage must lie between 0 and 100." in _text(response)
    counted = Indicator.objects.create(
        programme=reporting_a["programme"], code="IND3", name_fr="Agents formés", people=True
    )
    response = admin_client_en.post(
        url, _values([{"indicator": counted.pk, "sex": "all", "age_group": "all", "achieved": "2.5"}])
    )
    assert "A count of people is a whole number." in _text(response)
    assert not ResultsReportValue.objects.exists()
    response = admin_client_en.post(
        url, _values([{"indicator": share.pk, "sex": "all", "age_group": "all", "achieved": "40"}])
    )
    assert response.status_code == 302
    assert ResultsReportValue.objects.get().achieved == Decimal("40")


def test_admin_reads_but_never_writes_a_partners_report(admin_client_en, reporting_a, partner_a):
    people = Indicator.objects.get(pk=reporting_a["people"].pk)
    report = services.results_report_open(
        programme=reporting_a["programme"], user=partner_a, period_start=date(2025, 1, 1), period_end=date(2025, 3, 31)
    )
    services.results_report_save(
        report=report, user=partner_a, values=[services.ReportedValue(people.pk, Decimal("3"))]
    )
    # An administrator reads a partner's report but cannot write it (only its reporter can).
    url = f"/admin/reporting/resultsreport/{report.pk}/change/"
    assert admin_client_en.get(url).status_code == 200
    admin_client_en.post(url, _values([{"indicator": people.pk, "sex": "all", "age_group": "all", "achieved": "2.5"}]))
    assert list(ResultsReportValue.objects.values_list("achieved", flat=True)) == [Decimal("3")]
