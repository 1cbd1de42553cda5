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
    assert response.status_code == 400 and "has not ended yet" in _text(response)
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
    assert response.status_code == 400 and "not assigned to IOM" in _text(response)
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


# --- The validators' decisions in the admin: the report page's services, rules and messages -----------


@pytest.fixture
def submitted(reporting_a, partner_a):
    people = reporting_a["people"]
    report = services.results_report_open(
        programme=reporting_a["programme"], user=partner_a, period_start=date(2025, 1, 1), period_end=date(2025, 3, 31)
    )
    services.results_report_save(
        report=report, user=partner_a, values=[services.ReportedValue(people.pk, Decimal("3"))]
    )
    return services.results_report_submit(report=report, user=partner_a)


def _action(client, action: str, *reports, **data):
    body = {"action": action, "_selected_action": [str(r.pk) for r in reports], **data}
    return client.post("/admin/reporting/resultsreport/", body)


def test_a_validator_returns_a_partners_report_from_the_admin_with_a_reason(admin_client_en, submitted):
    # The action first asks for the reason (nothing changes yet)...
    response = _action(admin_client_en, "return_reports", submitted)
    assert response.status_code == 200 and 'name="reason"' in _text(response)
    submitted.refresh_from_db()
    assert submitted.state == "submitted"
    # ...refuses an empty one with the page's message...
    response = _action(admin_client_en, "return_reports", submitted, confirmed="1", reason=" ")
    assert response.status_code == 400 and "Say why the report is returned." in _text(response)
    submitted.refresh_from_db()
    assert submitted.state == "submitted"
    # ...and returns it with the reason the partner sees next to its form.
    response = _action(admin_client_en, "return_reports", submitted, confirmed="1", reason="Sources missing")
    assert response.status_code == 302
    submitted.refresh_from_db()
    assert (submitted.state, submitted.return_reason) == ("returned", "Sources missing")
    assert [s.action for s in submitted.steps.all()] == ["submit", "return"]


def test_staff_without_the_validation_right_cannot_return_from_the_admin(client, staff, submitted):
    from django.contrib.auth.models import Permission

    staff.user_permissions.add(Permission.objects.get(codename="view_resultsreport"))
    client.force_login(staff)
    response = client.post(
        "/admin/reporting/resultsreport/",
        {"action": "return_reports", "_selected_action": [submitted.pk], "confirmed": "1", "reason": "No"},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 403
    assert "Only IOM staff with the validation right approve or return results reports." in _text(response)
    submitted.refresh_from_db()
    assert submitted.state == "submitted" and not submitted.steps.filter(action="return").exists()


def test_an_admin_decision_is_all_or_nothing(admin_client_en, submitted, admin_user, reporting_a):
    """One refused report of the selection: none is changed, each refusal is listed."""
    draft = services.results_report_open(
        programme=reporting_a["programme"], user=admin_user, period_start=date(2025, 4, 1), period_end=date(2025, 6, 30)
    )
    response = _action(admin_client_en, "approve_reports", submitted, draft)
    assert response.status_code == 400
    assert f"{draft}: This report is draft" in _text(response)
    submitted.refresh_from_db()
    assert submitted.state == "submitted"
    assert not LockBefore.objects.exists() and not submitted.steps.filter(action="approve").exists()
