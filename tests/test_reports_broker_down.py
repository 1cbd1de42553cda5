"""Asking for a report while the broker is down: the job row is the truth, nothing is lost or doubled."""

import time

import pytest

from iom_portal.celery import app
from reports import services
from reports.models import JobStatus, ReportJob

from .api_support import as_persona  # noqa: F401 — fixture
from .test_celery import use_broker

CLOSED_PORT_BROKER = "redis://127.0.0.1:1/0"  # nothing listens on port 1: every connection is refused


@pytest.fixture
def broker_down(monkeypatch):
    monkeypatch.delenv("CELERY_BROKER_URL", raising=False)  # Celery reads it before its own settings
    previous = {key: app.conf[key] for key in ("broker_url", "result_backend", "task_always_eager")}
    use_broker(broker_url=CLOSED_PORT_BROKER, result_backend=None, task_always_eager=False)
    yield
    use_broker(**previous)


def broker_back() -> None:
    """The broker is back: here, tasks run in-process again (the dispatcher is what is under test)."""
    use_broker(broker_url="memory://", task_always_eager=True)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("persona", ["staff", "partner_a"])
def test_the_api_answers_at_once_with_the_waiting_job_and_the_dispatcher_sends_it_later(
    broker_down,
    as_persona,  # noqa: F811
    persona,
    programme_a,
):
    client = as_persona(persona, "en")
    started = time.monotonic()
    response = client.post("/api/v1/reports/", {"type": "matrix_3w_csv", "parameters": {}}, format="json")
    assert time.monotonic() - started < 10
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "queued" and body["waiting_for_worker"] is True
    assert body["status_detail"].startswith("Waiting for a worker")
    job = ReportJob.objects.get(uuid=body["uuid"])
    assert job.enqueued_at is None and job.waiting_for_worker

    assert services.report_jobs_dispatch() == 0  # still down: nothing sent, nothing lost
    broker_back()
    assert services.report_jobs_dispatch() == 1
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED
    assert client.get(f"/api/v1/reports/{job.uuid}/download/").status_code == 200


@pytest.mark.django_db(transaction=True)
def test_the_page_answers_at_once_and_says_the_job_waits_for_a_worker(broker_down, client, partner_a, programme_a):
    client.force_login(partner_a)
    form = client.get("/fr/reports/")
    key = form.context["form"]["idempotency_key"].value()
    assert key and f'value="{key}"' in form.content.decode()
    data = {"type": "matrix_3w_csv", "language": "fr", "idempotency_key": key}
    response = client.post("/fr/reports/", data, follow=True)
    assert response.status_code == 200
    assert "data-waiting-for-worker" in response.content.decode()
    assert "En attente" in response.content.decode()
    # The same form sent again (a double click, a retry after a timeout): the same job.
    again = client.post("/fr/reports/", data)
    assert again.status_code == 302
    assert ReportJob.objects.count() == 1
    assert again["Location"] == ReportJob.objects.get().get_absolute_url()


@pytest.mark.django_db(transaction=True)
def test_a_worker_starting_sends_the_jobs_that_waited(broker_down, partner_a, programme_a):
    from reports.tasks import dispatch_on_worker_start

    job = services.report_job_create(user=partner_a, type="matrix_3w_csv", parameters={}, language="fr")
    assert ReportJob.objects.get(pk=job.pk).waiting_for_worker
    broker_back()
    dispatch_on_worker_start()
    assert ReportJob.objects.get(pk=job.pk).status == JobStatus.SUCCEEDED


@pytest.mark.django_db(transaction=True)
def test_the_next_report_request_sends_the_jobs_that_waited(broker_down, partner_a, programme_a):
    first = services.report_job_create(user=partner_a, type="matrix_3w_csv", parameters={}, language="fr")
    broker_back()
    second = services.report_job_create(user=partner_a, type="matrix_3w_xlsx", parameters={}, language="fr")
    statuses = dict(ReportJob.objects.values_list("pk", "status"))
    assert statuses == {first.pk: JobStatus.SUCCEEDED, second.pk: JobStatus.SUCCEEDED}


def test_the_dispatcher_runs_every_minute_from_beat(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["reports-dispatch-queued-jobs"]
    assert entry["task"] == "reports.dispatch_queued_jobs" and entry["schedule"] <= 60


@pytest.mark.parametrize("persona", ["staff", "partner_a"])
def test_the_same_idempotency_key_returns_the_same_job(as_persona, persona, programme_a):  # noqa: F811
    client = as_persona(persona)
    body = {"type": "matrix_3w_csv", "parameters": {"status": ["active"]}}
    first = client.post("/api/v1/reports/", body, format="json", HTTP_IDEMPOTENCY_KEY="9f1c-retry-1")
    second = client.post("/api/v1/reports/", body, format="json", HTTP_IDEMPOTENCY_KEY="9f1c-retry-1")
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["uuid"] == second.json()["uuid"]
    assert ReportJob.objects.count() == 1
    other = client.post("/api/v1/reports/", body, format="json", HTTP_IDEMPOTENCY_KEY="9f1c-retry-2")
    assert other.status_code == 201 and ReportJob.objects.count() == 2


def test_an_idempotency_key_reused_for_another_request_is_refused(as_persona, programme_a):  # noqa: F811
    client = as_persona("partner_a", "en")
    client.post("/api/v1/reports/", {"type": "matrix_3w_csv"}, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    response = client.post("/api/v1/reports/", {"type": "iati_xml"}, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    assert response.status_code == 400
    assert "idempotency_key" in response.json()["errors"]
    assert ReportJob.objects.count() == 1


def test_keys_are_per_user_so_one_user_cannot_fetch_anothers_job(as_persona, programme_a, programme_b):  # noqa: F811
    a = as_persona("partner_a").post(
        "/api/v1/reports/", {"type": "matrix_3w_csv"}, format="json", HTTP_IDEMPOTENCY_KEY="same"
    )
    b = as_persona("partner_b").post(
        "/api/v1/reports/", {"type": "matrix_3w_csv"}, format="json", HTTP_IDEMPOTENCY_KEY="same"
    )
    assert a.status_code == b.status_code == 201 and a.json()["uuid"] != b.json()["uuid"]


def test_a_malformed_idempotency_key_is_a_400(as_persona, programme_a):  # noqa: F811
    response = as_persona("partner_a").post(
        "/api/v1/reports/", {"type": "matrix_3w_csv"}, format="json", HTTP_IDEMPOTENCY_KEY="x" * 65
    )
    assert response.status_code == 400 and not ReportJob.objects.exists()
