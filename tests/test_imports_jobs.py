"""Background import jobs: progress activity by activity, retried with backoff, resumed where they stopped."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import OperationalError
from django.test import Client

from imports import services, tasks
from imports.models import ImportJob, ImportStatus
from imports.services import import_job_confirm, import_job_create
from programmes.models import Programme


def activity(n: int) -> str:
    return f"""<iati-activity xml:lang="fr" default-currency="USD">
  <iati-identifier>XM-DAC-47066-JOB.{n:04d}</iati-identifier>
  <reporting-org ref="XM-DAC-47066" type="40"><narrative>OIM</narrative></reporting-org>
  <title><narrative>Programme {n}</narrative></title>
  <activity-status code="1"/>
  <activity-date type="1" iso-date="2026-01-01"/>
  <activity-scope code="4"/>
  <sector vocabulary="99" vocabulary-uri="https://www.iom.int/migration-management" code="CT"/>
</iati-activity>"""


def activities_file(count: int) -> bytes:
    body = "".join(activity(n) for n in range(1, count + 1))
    return f'<?xml version="1.0"?><iati-activities version="2.03">{body}</iati-activities>'.encode()


@pytest.fixture
def background(settings, tmp_path, monkeypatch):
    """Every file goes to the background job, one activity per batch; progress values are recorded."""
    settings.MEDIA_ROOT = tmp_path
    settings.IMPORT_INLINE_BYTES = 0
    monkeypatch.setattr(services, "BATCH_SIZE", 1)
    recorded: list[int] = []
    original = services._record_progress

    def record(job_id, done, total):
        original(job_id, done, total)
        recorded.append(ImportJob.objects.get(pk=job_id).progress)

    monkeypatch.setattr(services, "_record_progress", record)
    return recorded


def previewed(staff, count: int) -> ImportJob:
    job = import_job_create(user=staff, upload=SimpleUploadedFile("jobs.xml", activities_file(count)), language="fr")
    tasks.preview_import.apply(args=[job.pk])
    job.refresh_from_db()
    assert job.status == ImportStatus.PREVIEWED and job.item_count == count
    return job


def confirmed(job, staff) -> ImportJob:
    import_job_confirm(job=job, user=staff, create_organisations=True)  # large: left to the worker
    job.refresh_from_db()
    assert job.status == ImportStatus.APPLYING and job.progress == 0
    return job


def run_in_process(job) -> None:
    """The task as a worker runs it; in process, Celery runs each retry at once (its countdown skipped)."""
    from iom_portal.celery import app

    propagates = app.conf.task_eager_propagates
    app.conf.task_eager_propagates = False  # a retry is re-applied, not raised to the caller
    try:
        tasks.apply_import.apply(args=[job.pk])
    finally:
        app.conf.task_eager_propagates = propagates


def failing(monkeypatch, fail_on: set[int]) -> list[int]:
    """The write of an activity raises a lost-connection error on the given calls (1-based); returns the call
    log. Both write paths are watched: apply_draft (one activity) and programme_create_many (a batch, here of
    one activity: BATCH_SIZE is 1)."""
    calls: list[int] = []

    def watched(original):
        def write(*args, **kwargs):
            calls.append(len(calls) + 1)
            if len(calls) in fail_on:
                raise OperationalError("server closed the connection unexpectedly")
            return original(*args, **kwargs)

        return write

    for name in ("apply_draft", "programme_create_many"):
        monkeypatch.setattr(services, name, watched(getattr(services, name)))
    monkeypatch.setattr(tasks, "RETRY_DELAYS", (0, 0, 0))
    return calls


def test_the_preview_and_the_import_report_progress_activity_by_activity(staff, background):
    job = confirmed(previewed(staff, 4), staff)
    preview_steps = list(background)
    assert len(preview_steps) == 4 and preview_steps == sorted(preview_steps) and 0 < preview_steps[0] < 100
    background.clear()
    tasks.apply_import.apply(args=[job.pk])
    assert background == [25, 50, 75, 99]  # then 100 when it is done
    job.refresh_from_db()
    assert job.status == ImportStatus.APPLIED and job.progress == 100 and len(job.result["new"]) == 4


def test_an_interrupted_import_is_retried_and_resumes_where_it_stopped(staff, background, monkeypatch):
    job = confirmed(previewed(staff, 3), staff)
    calls = failing(monkeypatch, fail_on={2})
    run_in_process(job)
    job.refresh_from_db()
    assert job.status == ImportStatus.APPLIED and job.attempts == 1 and job.error_message == ""
    assert len(calls) == 4  # 1 imported, 2 interrupted; the second attempt does 2 and 3, not 1 again
    assert sorted(item["code"] for item in job.result["new"]) == ["JOB.0001", "JOB.0002", "JOB.0003"]
    assert "partial" not in job.result
    assert Programme.objects.filter(code__startswith="JOB.").count() == 3


def test_while_it_waits_for_the_next_attempt_the_page_says_so(staff, background, client: Client):
    job = confirmed(previewed(staff, 2), staff)
    services.import_job_interrupted(job_id=job.pk, attempt=2, attempts=4)
    client.force_login(staff)
    html = client.get(job.get_absolute_url()).content.decode()
    assert "tentative 2 sur 4" in html and "reprend" in html


def test_after_the_last_attempt_the_job_fails_saying_what_was_kept_and_how_to_go_on(
    staff, background, monkeypatch, client: Client
):
    job = confirmed(previewed(staff, 3), staff)
    failing(monkeypatch, fail_on={2, 3, 4, 5, 6})  # the first activity goes in, then the database stays away
    run_in_process(job)
    job.refresh_from_db()
    assert job.status == ImportStatus.FAILED and job.attempts == 4
    assert "4 tentatives" in job.error_message and "1 programme avait été importé" in job.error_message
    assert [item["code"] for item in job.result["new"]] == ["JOB.0001"]
    client.force_login(staff)
    html = client.get(job.get_absolute_url()).content.decode()
    assert "4 tentatives" in html and "1 programme créé" in html

    again = previewed(staff, 3)  # the same file again: the rest is imported, the first left unchanged
    assert [item["action"] for item in again.preview] == ["unchanged", "new", "new"]
