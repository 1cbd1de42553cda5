"""Reports pages and API: ask, watch, download, retry — and 404 for other people's reports."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import include, path
from rest_framework.routers import DefaultRouter

from iom_portal.urls import urlpatterns as portal_urlpatterns
from reports.api import ReportJobViewSet
from reports.models import JobStatus, ReportJob, ReportType

from .conftest import make_programme
from .test_reports_jobs import eager_celery, media_root  # noqa: F401 — shared fixtures

# The API router lives in iom_portal/api.py (built by another branch); these tests mount the viewset alone.
router = DefaultRouter()
router.register("reports", ReportJobViewSet)
urlpatterns = [*portal_urlpatterns, path("test-api/", include(router.urls))]


def ask(client, django_capture_on_commit_callbacks, **data):
    form = {"type": ReportType.MATRIX_3W_CSV, "language": "fr", **data}
    with django_capture_on_commit_callbacks(execute=True):
        return client.post("/fr/reports/", form)


def test_reports_page_offers_the_types_and_the_programme_filters(client, partner_a, programme_a):
    client.force_login(partner_a)
    html = client.get("/fr/reports/").content.decode()
    assert "Classeur du portefeuille (XLSX)" in html and "Fichier d&#x27;activités IITA 2.03 (XML)" in html
    for name in ("q", "sector", "status", "area", "partner", "funder", "active_from"):
        assert f'name="{name}"' in html
    assert "<script>" not in html and " onclick=" not in html


def test_asking_for_a_report_runs_it_in_process_and_shows_the_download(
    client, staff, programme_a, django_capture_on_commit_callbacks
):
    client.force_login(staff)
    response = ask(client, django_capture_on_commit_callbacks, status=["active"])
    job = ReportJob.objects.get()
    assert response.status_code == 302 and response["Location"] == job.get_absolute_url()
    assert job.parameters == {"status": ["active"]} and job.status == JobStatus.SUCCEEDED
    html = client.get(job.get_absolute_url()).content.decode()
    assert job.get_download_url() in html and 'hx-trigger="every 2s"' not in html
    download = client.get(job.get_download_url())
    assert download.status_code == 200
    assert download["Content-Disposition"].startswith("attachment;") and ".csv" in download["Content-Disposition"]
    assert programme_a.code in b"".join(download.streaming_content).decode("utf-8-sig")


def test_a_queued_job_polls_its_status_every_two_seconds_with_htmx(client, staff):
    job = ReportJob.objects.create(type=ReportType.KEY_FIGURES, requester=staff)
    client.force_login(staff)
    html = client.get(job.get_absolute_url()).content.decode()
    assert 'hx-trigger="every 2s"' in html and f'hx-get="/fr/reports/{job.uuid}/status/"' in html
    assert "vendor/htmx-2.0.11/htmx.min.js" in html
    partial = client.get(f"/fr/reports/{job.uuid}/status/").content.decode()
    assert partial.lstrip().startswith("<section") and "<html" not in partial
    assert "En attente" in partial


def test_bad_input_is_refused_with_errors_next_to_the_fields_and_nothing_lost(
    client, partner_a, programme_b, django_capture_on_commit_callbacks
):
    client.force_login(partner_a)
    response = ask(
        client,
        django_capture_on_commit_callbacks,
        type=ReportType.FACTSHEET_PDF,
        programme=programme_b.code,
        q="frontières",
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "Aucun programme que vous pouvez voir n&#x27;a ce code." in html
    assert f'value="{programme_b.code}"' in html and 'value="frontières"' in html
    response = ask(client, django_capture_on_commit_callbacks, active_from="2026-05-01", active_to="2026-01-01")
    assert (
        response.status_code == 400
        and "La fin de la période ne peut pas précéder son début." in response.content.decode()
    )
    response = ask(client, django_capture_on_commit_callbacks, type="spreadsheet")
    assert response.status_code == 400
    assert not ReportJob.objects.exists()


@pytest.mark.parametrize("persona", ["staff", "partner_a", "partner_b"])
def test_reports_list_shows_own_jobs_and_staff_see_everyones(client, request, persona, staff, partner_a, partner_b):
    jobs = {
        name: ReportJob.objects.create(type=ReportType.KEY_FIGURES, requester=user)
        for name, user in (("staff", staff), ("partner_a", partner_a), ("partner_b", partner_b))
    }
    client.force_login(request.getfixturevalue(persona))
    html = client.get("/fr/reports/").content.decode()
    visible = {name for name, job in jobs.items() if str(job.uuid) in html}
    assert visible == ({"staff", "partner_a", "partner_b"} if persona == "staff" else {persona})


def test_a_partner_never_gets_another_partners_report(
    client, partner_a, partner_b, programme_a, django_capture_on_commit_callbacks
):
    client.force_login(partner_a)
    ask(client, django_capture_on_commit_callbacks)
    job = ReportJob.objects.get()
    assert job.status == JobStatus.SUCCEEDED
    client.force_login(partner_b)
    for suffix in ("", "status/", "download/"):
        assert client.get(f"/fr/reports/{job.uuid}/{suffix}").status_code == 404
    assert client.post(f"/fr/reports/{job.uuid}/retry/").status_code == 404
    assert client.get(f"/test-api/reports/{job.uuid}/").status_code == 404
    assert client.get(f"/test-api/reports/{job.uuid}/download/").status_code == 404


def test_iom_staff_may_download_a_partners_report(
    client, staff, partner_a, programme_a, django_capture_on_commit_callbacks
):
    client.force_login(partner_a)
    ask(client, django_capture_on_commit_callbacks)
    client.force_login(staff)
    assert client.get(ReportJob.objects.get().get_download_url()).status_code == 200


def test_anonymous_visitors_are_sent_to_login(client, staff):
    job = ReportJob.objects.create(type=ReportType.KEY_FIGURES, requester=staff)
    for url in ("/fr/reports/", job.get_absolute_url(), job.get_download_url()):
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_a_failed_report_shows_its_error_and_can_be_asked_again(
    client, partner_a, programme_a, django_capture_on_commit_callbacks
):
    job = ReportJob.objects.create(
        type=ReportType.MATRIX_3W_CSV,
        requester=partner_a,
        status=JobStatus.FAILED,
        error_message="Le rapport n'a pas pu être produit.",
        parameters={"q": "réintégration"},
    )
    client.force_login(partner_a)
    html = client.get(job.get_absolute_url()).content.decode()
    assert "Le rapport n&#x27;a pas pu être produit." in html and "Réessayer" in html
    assert client.get(job.get_download_url()).status_code == 404
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/fr/reports/{job.uuid}/retry/")
    new_job = ReportJob.objects.exclude(pk=job.pk).get()
    assert response["Location"] == new_job.get_absolute_url()
    assert new_job.parameters == {"q": "réintégration"} and new_job.status == JobStatus.SUCCEEDED


def test_reports_list_query_count_does_not_grow_with_jobs(client, staff, partner_a):
    client.force_login(staff)

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/fr/reports/").status_code == 200
        return len(queries)

    ReportJob.objects.create(type=ReportType.KEY_FIGURES, requester=partner_a)
    small = count()
    for _ in range(20):
        ReportJob.objects.create(type=ReportType.KEY_FIGURES, requester=partner_a)
    assert count() == small


# --- API ----------------------------------------------------------------------------------------


def test_api_creates_polls_and_downloads_a_report(client, partner_a, programme_a, django_capture_on_commit_callbacks):
    client.force_login(partner_a)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/test-api/reports/",
            {"type": "iati_xml", "parameters": {"status": ["active"]}, "language": "en"},
            content_type="application/json",
        )
    assert response.status_code == 201, response.content
    uuid = response.json()["uuid"]
    body = client.get(f"/test-api/reports/{uuid}/").json()
    assert body["status"] == "succeeded" and body["progress"] == 100 and body["validation_messages"] == []
    assert body["download_url"].endswith(f"/test-api/reports/{uuid}/download/")
    download = client.get(body["download_url"])
    content = b"".join(download.streaming_content)
    assert download.status_code == 200 and programme_a.code.encode() in content


def test_api_rejects_bad_parameters_with_400(client, partner_a, programme_b):
    client.force_login(partner_a)
    for payload in (
        {"type": "factsheet_pdf", "parameters": {"programme": programme_b.code}},
        {"type": "portfolio_xlsx", "parameters": {"status": ["nonsense"]}},
        {"type": "nonsense"},
    ):
        response = client.post("/test-api/reports/", payload, content_type="application/json")
        assert response.status_code == 400, payload
    assert not ReportJob.objects.exists()


@pytest.mark.parametrize("persona", ["staff", "partner_a", "partner_b"])
def test_api_lists_only_the_jobs_each_persona_may_see(client, request, persona, staff, partner_a, partner_b, org_a):
    make_programme(org_a)
    owners = {"staff": staff, "partner_a": partner_a, "partner_b": partner_b}
    jobs = {name: ReportJob.objects.create(type=ReportType.KEY_FIGURES, requester=u) for name, u in owners.items()}
    client.force_login(owners[persona])
    listed = {row["uuid"] for row in client.get("/test-api/reports/").json()["results"]}
    expected = set(owners) if persona == "staff" else {persona}
    assert listed == {str(jobs[name].uuid) for name in expected}


def test_factsheet_link_prefills_the_form(client, staff, programme_a):
    client.force_login(staff)
    html = client.get(f"/fr/reports/?type=factsheet_pdf&programme={programme_a.code}").content.decode()
    assert re.search(rf'name="programme"[^>]*value="{programme_a.code}"', html)
    assert re.search(r'<option value="factsheet_pdf" selected>', html)


@pytest.fixture(autouse=True)
def api_urls(settings):
    settings.ROOT_URLCONF = __name__


def test_a_staff_report_stays_out_of_reach_after_its_requester_joins_a_partner(
    client, staff, org_a, settings, tmp_path
):
    from reports.models import ReportJob
    from reports.services import report_job_create

    settings.MEDIA_ROOT = tmp_path
    job = report_job_create(user=staff, type="key_figures", parameters={}, language="fr")
    assert ReportJob.objects.get(pk=job.pk).requested_as_staff

    staff.is_staff = False
    staff.organisation = org_a
    staff.save()
    client.force_login(staff)
    assert client.get(f"/fr/reports/{job.uuid}/").status_code == 404
    assert client.get(f"/fr/reports/{job.uuid}/download/").status_code == 404
