"""The reporting pages and API: a quarter played by partner A and a validator; three personas; bad input at
every door refused with the service's message and nothing saved."""

from __future__ import annotations

import html
from datetime import date

import pytest
from django.test import Client

from programmes.models import IndicatorValue, PeriodLock
from reporting import services
from reporting.models import ResultsReport, ResultsReportValue, State

from .api_support import token_client
from .reporting_support import Q1

pytestmark = pytest.mark.django_db


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _text(response) -> str:
    return html.unescape(response.content.decode())


def _open(reporting_a, partner_a) -> ResultsReport:
    return services.results_report_open(
        programme=reporting_a["programme"], user=partner_a, period_start=Q1[0], period_end=Q1[1]
    )


def _cell(indicator, sex="all", age="all") -> str:
    return f"v{indicator.pk}-{sex}-{age}"


def test_a_quarter_in_the_browser(reporting_a, partner_a, validator):
    people = reporting_a["people"]
    partner, iom = _client(partner_a), _client(validator)
    # The partner's page lists the quarter to do; opening it makes a draft.
    page = partner.get("/en/reporting/")
    assert reporting_a["programme"].code in _text(page)
    response = partner.post(
        f"/en/reporting/programmes/{reporting_a['programme'].code}/new/",
        {"period_start": "2025-01-01", "period_end": "2025-03-31"},
    )
    report = ResultsReport.objects.get()
    assert response.status_code == 302 and response["Location"].endswith(f"/reporting/{report.pk}/")
    response = partner.post(
        f"/en/reporting/{report.pk}/",
        {f"{_cell(people)}-achieved": "150", f"{_cell(people)}-comment": "Q1", "action": "submit"},
    )
    assert response.status_code == 302
    report.refresh_from_db()
    assert report.state == State.SUBMITTED
    # The validator returns it: a reason is required.
    response = iom.post(f"/en/reporting/{report.pk}/decision/", {"action": "return", "reason": ""})
    assert response.status_code == 400 and "Say why the report is returned." in _text(response)
    iom.post(f"/en/reporting/{report.pk}/decision/", {"action": "return", "reason": "Le total est trop élevé."})
    # The reason is next to the form, above the values.
    page = _text(partner.get(f"/en/reporting/{report.pk}/"))
    assert page.index("Le total est trop élevé.") < page.index('id="values-form"')
    assert "Le total est trop élevé." in _text(partner.get("/en/reporting/"))
    partner.post(f"/en/reporting/{report.pk}/", {f"{_cell(people)}-achieved": "120", "action": "submit"})
    assert "reports-to-validate" in _text(iom.get("/en/reporting/"))
    response = iom.post(f"/en/reporting/{report.pk}/decision/", {"action": "approve"})
    assert response.status_code == 302
    assert IndicatorValue.objects.get().achieved == 120
    assert PeriodLock.objects.filter(lifted_at__isnull=True).count() == 1
    # The programme page shows the approved value; the history has the report's steps.
    detail = _text(partner.get(f"/en/programmes/{reporting_a['programme'].code}/"))
    assert "120" in detail


def test_bad_input_at_the_page_refused_and_kept(reporting_a, partner_a):
    people, share = reporting_a["people"], reporting_a["share"]
    report = _open(reporting_a, partner_a)
    partner = _client(partner_a)
    response = partner.post(f"/en/reporting/{report.pk}/", {f"{_cell(people)}-achieved": "12.5", "action": "save"})
    assert response.status_code == 400
    assert "A count of people is a whole number." in _text(response)
    assert 'value="12.5"' in _text(response)  # what the user typed is kept
    response = partner.post(f"/en/reporting/{report.pk}/", {f"{_cell(people)}-achieved": "abc", "action": "save"})
    assert response.status_code == 400
    assert not ResultsReportValue.objects.exists()
    # An indicator not assigned to the partner has no input: a forged one is ignored, never saved.
    partner.post(f"/en/reporting/{report.pk}/", {f"{_cell(share)}-achieved": "50", "action": "save"})
    assert not ResultsReportValue.objects.filter(indicator=share).exists()
    response = partner.post(
        f"/en/reporting/programmes/{reporting_a['programme'].code}/new/",
        {"period_start": "2099-01-01", "period_end": "2099-03-31"},
    )
    assert response.status_code == 400 and "has not ended yet" in _text(response)
    assert ResultsReport.objects.count() == 1


def test_three_personas(reporting_a, partner_a, partner_b, staff, validator, programme_b):
    report = _open(reporting_a, partner_a)
    assert _client(partner_a).get(f"/fr/reporting/{report.pk}/").status_code == 200
    assert _client(partner_b).get(f"/fr/reporting/{report.pk}/").status_code == 404
    assert _client(staff).get(f"/fr/reporting/{report.pk}/").status_code == 404  # a partner's draft: not IOM's
    assert _client(validator).get(f"/fr/reporting/{report.pk}/").status_code == 200
    assert reporting_a["programme"].code not in _text(_client(partner_b).get("/fr/reporting/"))
    # B does not take part in A's programme; A does not report for B's.
    assert _client(partner_b).get(f"/fr/reporting/programmes/{reporting_a['programme'].code}/new/").status_code == 404
    assert _client(partner_a).get(f"/fr/reporting/programmes/{programme_b.code}/new/").status_code == 404
    # the partner cannot decide
    assert _client(partner_a).post(f"/fr/reporting/{report.pk}/decision/", {"action": "approve"}).status_code == 403


def test_three_personas_in_the_lists_the_api_and_the_admin(reporting_a, partner_a, partner_b, staff, validator):
    """Partner A's draft: A and the validators see it everywhere; B and non-validating staff nowhere."""
    report = _open(reporting_a, partner_a)
    services.results_report_save(
        report=report, user=partner_a, values=[services.ReportedValue(reporting_a["people"].pk, 7)]
    )
    code = reporting_a["programme"].code

    def api_ids(user) -> list[int]:
        return [row["id"] for row in token_client(user).get("/api/v1/results-reports/").json()["results"]]

    assert api_ids(partner_a) == [report.pk] and api_ids(validator) == [report.pk]
    assert api_ids(partner_b) == [] and api_ids(staff) == []
    assert token_client(staff).get(f"/api/v1/results-reports/{report.pk}/").status_code == 404
    assert f"/reporting/{report.pk}/" in _text(_client(partner_a).get("/fr/reporting/"))
    for outsider in (partner_b, staff):
        page = _text(_client(outsider).get("/fr/reporting/"))
        assert f"/reporting/{report.pk}/" not in page
    assert code not in _text(_client(partner_b).get("/fr/reporting/"))
    # B cannot write A's report through the API either (404: it does not exist for B).
    body = {"values": [{"indicator": reporting_a["people"].pk, "achieved": "1"}]}
    assert (
        token_client(partner_b).patch(f"/api/v1/results-reports/{report.pk}/", body, format="json").status_code == 404
    )
    assert token_client(partner_b).post(f"/api/v1/results-reports/{report.pk}/submit/").status_code == 404
    # The reports' admin is IOM's: partners are sent to the login page, staff without the right refused.
    assert _client(partner_a).get("/admin/reporting/resultsreport/").status_code == 302
    assert _client(staff).get("/admin/reporting/resultsreport/").status_code == 403
    assert ResultsReportValue.objects.get().achieved == 7


def test_api_round_trip_and_refusals(reporting_a, partner_a, partner_b, validator):
    people, share = reporting_a["people"], reporting_a["share"]
    api = token_client(partner_a, "en")
    body = {
        "programme": reporting_a["programme"].code,
        "period_start": "2025-01-01",
        "period_end": "2025-03-31",
        "values": [{"indicator": people.pk, "achieved": "12.5"}],
    }
    response = api.post("/api/v1/results-reports/", body, format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400, response.content
    assert "A count of people is a whole number." in response.content.decode()
    assert not ResultsReportValue.objects.exists()
    body["values"] = [{"indicator": share.pk, "achieved": "40"}]
    response = api.post("/api/v1/results-reports/", body, format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400 and "not assigned" in response.content.decode()
    body["values"] = [{"indicator": people.pk, "achieved": "40"}]
    response = api.post("/api/v1/results-reports/", body, format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 201, response.content
    pk = response.json()["id"]
    assert token_client(partner_b).get(f"/api/v1/results-reports/{pk}/").status_code == 404
    assert api.post(f"/api/v1/results-reports/{pk}/approve/").status_code == 403
    assert api.post(f"/api/v1/results-reports/{pk}/submit/").status_code == 200
    validator_api = token_client(validator)
    response = validator_api.post(f"/api/v1/results-reports/{pk}/return/", {"reason": ""}, format="json")
    assert response.status_code == 400
    assert validator_api.post(f"/api/v1/results-reports/{pk}/submit/").status_code == 403
    response = validator_api.post(f"/api/v1/results-reports/{pk}/approve/")
    assert response.status_code == 200 and response.json()["state"] == "approved"
    body["period_start"], body["period_end"] = "2025-02-01", "2025-02-28"  # inside the locked quarter
    response = api.post("/api/v1/results-reports/", body, format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400 and "locked" in response.content.decode()
    assert date(2025, 2, 1) not in set(ResultsReport.objects.values_list("period_start", flat=True))


def _queries(client, url: str) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_query_counts_do_not_grow_with_the_reports(reporting_a, org_a, partner_a, validator):
    from programmes.models import Indicator, Participation

    from .conftest import make_programme

    def add_programmes(count: int) -> None:
        for _ in range(count):
            programme = make_programme(org_a)
            Participation.objects.filter(programme=programme).update(reports_results=True)
            indicator = Indicator.objects.create(
                programme=programme, code="P1", name_fr="x", people=True, reporting_partner=org_a
            )
            for period in (Q1, (date(2025, 4, 1), date(2025, 6, 30))):
                report = services.results_report_open(
                    programme=programme, user=partner_a, period_start=period[0], period_end=period[1]
                )
                services.results_report_save(
                    report=report, user=partner_a, values=[services.ReportedValue(indicator.pk, 5)]
                )
                services.results_report_submit(report=report, user=partner_a)

    partner, iom = _client(partner_a), _client(validator)
    add_programmes(2)
    few = [_queries(partner, "/fr/reporting/"), _queries(iom, "/fr/reporting/"), _queries(iom, "/fr/reviews/tasks/")]
    add_programmes(8)
    many = [_queries(partner, "/fr/reporting/"), _queries(iom, "/fr/reporting/"), _queries(iom, "/fr/reviews/tasks/")]
    assert few == many
