"""Nothing orphaned between a programme's partners, its indicators and the reports in progress (issue 13).

An indicator keeps its reporter while values of it wait in that reporter's report (they would otherwise
be published under the wrong reporter, or stranded), at every door that assigns indicators: the edit
page, the admin and the model (the importer's way). The partners' side of the rule ("a reporting
partner cannot stop reporting while…") is in tests/test_door_parity.py.
"""

from __future__ import annotations

import html
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from programmes.models import Indicator
from reporting import services

from .edit_support import form_data
from .reporting_support import Q1

pytestmark = pytest.mark.django_db

WAITING = (
    "ORGA a des valeurs de cet indicateur dans un rapport de résultats en cours (01/01/2025 – 31/03/2025) : "
    "faites approuver le rapport, ou retirez ces valeurs, avant de confier l’indicateur à un autre déclarant."
)


@pytest.fixture
def waiting(reporting_a, partner_a):
    """Partner A's Q1 report, still a draft, holds a value of IND1."""
    report = services.results_report_open(
        programme=reporting_a["programme"], user=partner_a, period_start=Q1[0], period_end=Q1[1]
    )
    services.results_report_save(
        report=report, user=partner_a, values=[services.ReportedValue(reporting_a["people"].pk, Decimal("3"))]
    )
    return report


def _reporter(indicator) -> int | None:
    return Indicator.objects.values_list("reporting_partner_id", flat=True).get(pk=indicator.pk)


def test_the_model_refuses_to_give_the_indicator_to_another_reporter(reporting_a, waiting):
    indicator = Indicator.objects.get(pk=reporting_a["people"].pk)
    indicator.reporting_partner = None
    with translation.override("fr"), pytest.raises(ValidationError) as refused:
        indicator.full_clean()
    assert WAITING in refused.value.message_dict["reporting_partner"]


def test_the_edit_page_refuses_it_next_to_the_field_and_keeps_the_reporter(client, staff, reporting_a, waiting):
    people = reporting_a["people"]
    client.force_login(staff)
    url = f"/fr/programmes/{reporting_a['programme'].code}/edit/"
    data = form_data(client.get(url).content.decode())
    names = [k for k, v in data.items() if k.endswith("-reporting_partner") and v == str(people.reporting_partner_id)]
    assert len(names) == 1
    data[names[0]] = ""  # IOM

    response = client.post(url, data)

    assert response.status_code == 400
    assert WAITING in html.unescape(response.content.decode())
    assert _reporter(people) == people.reporting_partner_id


def test_the_admin_refuses_it_with_the_same_message(client, admin_user, reporting_a, waiting):
    people = reporting_a["people"]
    client.force_login(admin_user)
    url = f"/admin/programmes/indicator/{people.pk}/change/"
    page = client.get(url, HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    data = form_data(page.replace('id="indicator_form"', 'id="programme-form"'))
    data["reporting_partner"] = ""
    data["_save"] = "Enregistrer"

    response = client.post(url, data, HTTP_ACCEPT_LANGUAGE="fr")

    assert response.status_code == 400
    assert WAITING in html.unescape(response.content.decode())
    assert _reporter(people) == people.reporting_partner_id


def test_once_the_report_is_approved_the_indicator_may_go_to_iom(reporting_a, partner_a, validator, waiting):
    services.results_report_submit(report=waiting, user=partner_a)
    services.results_report_approve(report=waiting, user=validator)
    indicator = Indicator.objects.get(pk=reporting_a["people"].pk)
    indicator.reporting_partner = None
    indicator.full_clean()
    indicator.save()
    assert _reporter(indicator) is None


def test_an_indicator_without_waiting_values_changes_reporter_freely(reporting_a, partner_a):
    services.results_report_open(
        programme=reporting_a["programme"], user=partner_a, period_start=Q1[0], period_end=Q1[1]
    )
    indicator = Indicator.objects.get(pk=reporting_a["people"].pk)
    indicator.reporting_partner = None
    indicator.full_clean()  # an empty draft holds nothing of it


# --- Nothing lost between two people filling in the same report (issue 16 applied to reports) -----------


def test_a_save_over_a_newer_save_is_refused_at_the_page_with_the_typed_values_kept(client, reporting_a, org_a):
    from .conftest import make_user

    first, second = make_user("ann.a", organisation=org_a), make_user("ben.a", organisation=org_a)
    people = reporting_a["people"]
    report = services.results_report_open(
        programme=reporting_a["programme"], user=first, period_start=Q1[0], period_end=Q1[1]
    )
    client.force_login(first)
    url = f"/en/reporting/{report.pk}/"
    loaded = client.get(url).content.decode()
    assert 'name="version" value="1"' in loaded
    # Ben saves 12 meanwhile...
    services.results_report_save(
        report=report, user=second, values=[services.ReportedValue(people.pk, Decimal("12"))], expected_version=1
    )
    # ...Ann saves 9 from the page she loaded before: refused, her 9 kept in the form, Ben's 12 stored.
    cell = f"v{people.pk}-all-all"
    response = client.post(url, {"version": "1", f"{cell}-achieved": "9", "action": "save"})
    page = html.unescape(response.content.decode())
    assert response.status_code == 409
    assert "Someone saved this report while you were filling it in (now version 2)" in page
    assert 'value="9"' in page and 'name="version" value="2"' in page
    assert list(report.values.values_list("achieved", flat=True)) == [Decimal("12")]
    # Saving again, knowingly, is accepted.
    assert client.post(url, {"version": "2", f"{cell}-achieved": "9", "action": "save"}).status_code == 302
    assert list(report.values.values_list("achieved", flat=True)) == [Decimal("9")]


def test_a_stale_if_match_is_a_412_at_the_api_and_nothing_changes(reporting_a, partner_a):
    from .api_support import token_client

    people = reporting_a["people"]
    report = services.results_report_open(
        programme=reporting_a["programme"], user=partner_a, period_start=Q1[0], period_end=Q1[1]
    )
    api = token_client(partner_a, "en")
    url = f"/api/v1/results-reports/{report.pk}/"
    etag = api.get(url)["ETag"]
    body = {"values": [{"indicator": people.pk, "achieved": "4"}]}
    saved = api.patch(url, body, format="json", HTTP_IF_MATCH=etag)
    assert saved.status_code == 200 and saved["ETag"] != etag
    body["values"][0]["achieved"] = "5"
    stale = api.patch(url, body, format="json", HTTP_IF_MATCH=etag)
    assert stale.status_code == 412 and stale.json()["code"] == "precondition_failed"
    assert list(report.values.values_list("achieved", flat=True)) == [Decimal("4")]
    assert api.patch(url, body, format="json", HTTP_IF_MATCH=saved["ETag"]).status_code == 200
    assert api.patch(url, body, format="json").status_code == 200  # If-Match is optional


def test_pasted_control_characters_are_stripped_from_comments_and_reasons(reporting_a, partner_a, validator):
    import unicodedata

    people = reporting_a["people"]
    report = services.results_report_open(
        programme=reporting_a["programme"], user=partner_a, period_start=Q1[0], period_end=Q1[1]
    )
    comment = unicodedata.normalize("NFD", "Réfugiés\x0b à Tillabéri\x0c")
    services.results_report_save(
        report=report, user=partner_a, values=[services.ReportedValue(people.pk, Decimal("4"), comment=comment)]
    )
    assert report.values.get().comment == "Réfugiés à Tillabéri"
    services.results_report_submit(report=report, user=partner_a)
    services.results_report_return(report=report, user=validator, reason="Source\x0b manquante\x00")
    report.refresh_from_db()
    assert report.return_reason == "Source manquante"
