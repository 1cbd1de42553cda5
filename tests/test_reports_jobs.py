"""Report jobs: enqueue after commit, claim, idempotency, retries, stale recovery, expiry, scope, settings."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path
from unittest import mock

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import OperationalError, transaction
from django.utils import timezone
from openpyxl import load_workbook

from iom_portal.celery import app
from programmes.models import Status
from reports import services, tasks
from reports.models import JobStatus, ReportJob, ReportType

from .conftest import make_programme


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path) -> Path:
    """Report files go to a throwaway MEDIA_ROOT."""
    settings.MEDIA_ROOT = tmp_path / "private"
    return settings.MEDIA_ROOT


@pytest.fixture(autouse=True)
def eager_celery():
    """Tasks run in-process even when CI sets a real broker (the worker test uses its own)."""
    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous


def run_job(django_capture_on_commit_callbacks, user, type: str, parameters=None, language="fr") -> ReportJob:
    """Ask for a report and let the commit hooks run it in-process, as the embedded default does."""
    with django_capture_on_commit_callbacks(execute=True):
        job = services.report_job_create(user=user, type=type, parameters=parameters or {}, language=language)
    job.refresh_from_db()
    return job


def programme_codes_in_workbook(job: ReportJob) -> set[str]:
    workbook = load_workbook(job.path, read_only=True)
    sheet = workbook.worksheets[0]
    sheet.reset_dimensions()
    return {row[0] for row in sheet.iter_rows(min_row=2, values_only=True)}


# --- Enqueue after commit -----------------------------------------------------------------------


def test_a_job_is_sent_to_the_workers_only_after_its_transaction_commits(staff, django_capture_on_commit_callbacks):
    with mock.patch.object(tasks.run_report, "delay") as delay:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            job = services.report_job_create(user=staff, type=ReportType.KEY_FIGURES, parameters={}, language="fr")
            delay.assert_not_called()
        assert len(callbacks) == 1
        callbacks[0]()
    delay.assert_called_once_with(job.pk)


def test_a_rolled_back_request_enqueues_nothing(staff, django_capture_on_commit_callbacks):
    with (
        mock.patch.object(tasks.run_report, "delay") as delay,
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        services.report_job_create(user=staff, type=ReportType.KEY_FIGURES, parameters={}, language="fr")
        raise RuntimeError("the request failed after creating the job")
    assert callbacks == []
    delay.assert_not_called()
    assert not ReportJob.objects.exists()


def test_the_job_runs_in_process_without_a_broker(staff, programme_a, django_capture_on_commit_callbacks):
    job = run_job(django_capture_on_commit_callbacks, staff, ReportType.PORTFOLIO_XLSX)
    assert job.status == JobStatus.SUCCEEDED and job.progress == 100 and job.attempts == 1
    assert job.path.is_file() and job.size == job.path.stat().st_size
    assert job.file.name.startswith("reports/") and job.path.is_relative_to(settings.MEDIA_ROOT)
    assert job.expires_at > timezone.now()
    assert programme_a.code in programme_codes_in_workbook(job)


def test_bad_filters_are_refused_with_a_message_per_field(partner_a, programme_b):
    with pytest.raises(ValidationError) as error:
        services.report_job_create(
            user=partner_a,
            type=ReportType.PORTFOLIO_XLSX,
            parameters={"status": ["nonsense"], "active_from": "2026-02-01", "active_to": "2026-01-01"},
            language="fr",
        )
    assert set(error.value.message_dict) == {"status", "active_to"}
    with pytest.raises(ValidationError) as error:
        services.report_job_create(
            user=partner_a, type=ReportType.FACTSHEET_PDF, parameters={"programme": programme_b.code}, language="fr"
        )
    assert "programme" in error.value.message_dict
    assert not ReportJob.objects.exists()


# --- Scope: the requester's, when the job runs --------------------------------------------------


@pytest.mark.parametrize("persona", ["staff", "partner_a", "partner_b"])
def test_each_persona_gets_only_its_programmes_in_the_report(
    request, persona, programme_a, programme_b, draft_a, django_capture_on_commit_callbacks
):
    user = request.getfixturevalue(persona)
    job = run_job(django_capture_on_commit_callbacks, user, ReportType.PORTFOLIO_XLSX)
    expected = {
        "staff": {programme_a.code, programme_b.code, draft_a.code},
        "partner_a": {programme_a.code, draft_a.code},
        "partner_b": {programme_b.code},
    }[persona]
    assert programme_codes_in_workbook(job) == expected


def test_the_filters_narrow_the_report_like_the_programme_list(
    staff, programme_a, draft_a, django_capture_on_commit_callbacks
):
    job = run_job(django_capture_on_commit_callbacks, staff, ReportType.PORTFOLIO_XLSX, {"status": [Status.PIPELINE]})
    assert programme_codes_in_workbook(job) == {draft_a.code}
    job = run_job(django_capture_on_commit_callbacks, staff, ReportType.PORTFOLIO_XLSX, {"area": "NE006"})
    assert programme_codes_in_workbook(job) == {programme_a.code}


def test_scope_is_checked_when_the_job_runs_not_when_it_was_asked(
    partner_a, org_b, programme_a, django_capture_on_commit_callbacks
):
    shared_later = make_programme(org_b)
    with mock.patch.object(tasks.run_report, "delay"), django_capture_on_commit_callbacks(execute=True):
        job = services.report_job_create(user=partner_a, type=ReportType.PORTFOLIO_XLSX, parameters={}, language="fr")
    programme_a.participations.all().delete()  # organisation A leaves the programme before the job runs
    tasks.run_report.apply(args=[job.pk])
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED
    assert programme_codes_in_workbook(job) == set()
    assert shared_later.code not in programme_codes_in_workbook(job)


def test_a_deactivated_requester_gets_a_failed_job_and_no_file(
    partner_a, programme_a, django_capture_on_commit_callbacks
):
    with mock.patch.object(tasks.run_report, "delay"), django_capture_on_commit_callbacks(execute=True):
        job = services.report_job_create(user=partner_a, type=ReportType.MATRIX_3W_CSV, parameters={}, language="en")
    partner_a.is_active = False
    partner_a.save()
    tasks.run_report.apply(args=[job.pk])
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert job.error_message == "The account that asked for this report is no longer active."
    assert not job.file and not job.path.exists()
    assert not list(Path(settings.MEDIA_ROOT).glob("reports/**/*.*"))


def test_the_error_message_is_stored_in_the_requesters_language(partner_a, django_capture_on_commit_callbacks):
    with mock.patch.object(tasks.run_report, "delay"), django_capture_on_commit_callbacks(execute=True):
        job = services.report_job_create(user=partner_a, type=ReportType.MATRIX_3W_CSV, parameters={}, language="fr")
    partner_a.is_active = False
    partner_a.save()
    services.report_job_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.error_message == "Le compte qui a demandé ce rapport n'est plus actif."


# --- Claim, idempotency, retries ----------------------------------------------------------------


def test_running_the_same_job_twice_leaves_one_file_with_the_same_checksum(
    staff, programme_a, django_capture_on_commit_callbacks
):
    job = run_job(django_capture_on_commit_callbacks, staff, ReportType.MATRIX_3W_CSV)
    first = (job.sha256, job.path.read_bytes())
    assert services.report_job_run(job_id=job.pk) == "skipped"
    tasks.run_report.apply(args=[job.pk])
    job.refresh_from_db()
    assert job.attempts == 1 and (job.sha256, job.path.read_bytes()) == first
    assert list(Path(settings.MEDIA_ROOT).glob("reports/**/*.*")) == [job.path]


def test_a_rerun_after_a_dead_worker_replaces_the_file_instead_of_adding_one(
    staff, programme_a, django_capture_on_commit_callbacks
):
    job = run_job(django_capture_on_commit_callbacks, staff, ReportType.IATI_XML)
    checksum = job.sha256
    # Pretend the worker died after writing: the job is still "running" with an old heartbeat.
    ReportJob.objects.filter(pk=job.pk).update(
        status=JobStatus.RUNNING,
        claim_token=job.uuid,
        heartbeat_at=timezone.now() - timedelta(hours=1),
    )
    assert services.report_job_run(job_id=job.pk) == "succeeded"
    job.refresh_from_db()
    assert job.attempts == 2 and job.sha256 == checksum
    assert list(Path(settings.MEDIA_ROOT).glob("reports/**/*")) == [job.path.parent.parent, job.path.parent, job.path]


def test_a_job_taken_over_by_another_run_stops_without_finishing(staff, programme_a):
    job = ReportJob.objects.create(type=ReportType.MATRIX_3W_CSV, requester=staff)
    claimed = services.report_job_claim(job_id=job.pk)
    ReportJob.objects.filter(pk=job.pk).update(claim_token=None, status=JobStatus.QUEUED)
    heartbeat = services.Heartbeat(claimed, total=10)
    with pytest.raises(services.ClaimLost):
        heartbeat.beat(50)


def test_a_live_job_cannot_be_claimed_twice(staff):
    job = ReportJob.objects.create(type=ReportType.KEY_FIGURES, requester=staff)
    assert services.report_job_claim(job_id=job.pk) is not None
    assert services.report_job_claim(job_id=job.pk) is None


def test_a_database_hiccup_is_retried_then_the_job_succeeds(staff, programme_a, django_capture_on_commit_callbacks):
    real_build = services.build_report
    calls = []

    def flaky(job, path, progress):
        calls.append(job.attempts)
        if len(calls) == 1:
            raise OperationalError("server closed the connection unexpectedly")
        return real_build(job, path, progress)

    with mock.patch.object(services, "build_report", side_effect=flaky):
        job = run_job(django_capture_on_commit_callbacks, staff, ReportType.MATRIX_3W_CSV)
    assert calls == [1, 2]
    assert job.status == JobStatus.SUCCEEDED and job.attempts == 2


def test_a_lasting_database_outage_fails_the_job_after_bounded_retries(staff, django_capture_on_commit_callbacks):
    with mock.patch.object(services, "build_report", side_effect=OperationalError("no route to host")) as build:
        job = run_job(django_capture_on_commit_callbacks, staff, ReportType.MATRIX_3W_CSV, language="en")
    assert build.call_count == tasks.MAX_RETRIES + 1
    assert job.status == JobStatus.FAILED and "unavailable" in job.error_message


def test_a_permanent_error_fails_at_once_with_a_clear_message(staff, django_capture_on_commit_callbacks):
    with mock.patch.object(services, "build_report", side_effect=ValueError("bug")) as build:
        job = run_job(django_capture_on_commit_callbacks, staff, ReportType.MATRIX_3W_CSV, language="en")
    assert build.call_count == 1
    assert job.status == JobStatus.FAILED
    assert job.error_message == f"The report could not be built because of an unexpected error (reference {job.pk})."
    assert not list(Path(settings.MEDIA_ROOT).glob("reports/**/*.*"))


def test_retry_backoff_grows_and_is_capped():
    assert [tasks.backoff(n) for n in range(8)] == [5, 10, 20, 40, 80, 160, 300, 300]


# --- Housekeeping -------------------------------------------------------------------------------


def test_stale_running_jobs_are_requeued_then_failed_when_attempts_run_out(
    staff, settings, django_capture_on_commit_callbacks
):
    settings.REPORTS_MAX_ATTEMPTS = 2
    old = timezone.now() - timedelta(seconds=settings.REPORTS_STALE_AFTER + 60)
    common = {"type": ReportType.KEY_FIGURES, "requester": staff, "status": JobStatus.RUNNING, "heartbeat_at": old}
    retry = ReportJob.objects.create(**common, attempts=1, claim_token=ReportJob().uuid)
    give_up = ReportJob.objects.create(**common, attempts=2, claim_token=ReportJob().uuid, language="en")
    alive = ReportJob.objects.create(
        **{**common, "heartbeat_at": timezone.now()}, attempts=1, claim_token=ReportJob().uuid
    )
    with mock.patch.object(tasks.run_report, "delay") as delay, django_capture_on_commit_callbacks(execute=True):
        assert services.report_jobs_recover_stale() == {"requeued": 1, "failed": 1}
    delay.assert_called_once_with(retry.pk)
    retry.refresh_from_db(), give_up.refresh_from_db(), alive.refresh_from_db()
    assert retry.status == JobStatus.QUEUED and retry.claim_token is None
    assert give_up.status == JobStatus.FAILED and "stopped 2 times" in give_up.error_message
    assert alive.status == JobStatus.RUNNING


def test_queued_jobs_whose_message_was_lost_are_sent_again(staff, django_capture_on_commit_callbacks):
    job = ReportJob.objects.create(
        type=ReportType.KEY_FIGURES, requester=staff, enqueued_at=timezone.now() - timedelta(hours=2)
    )
    with mock.patch.object(tasks.run_report, "delay") as delay, django_capture_on_commit_callbacks(execute=True):
        services.report_jobs_recover_stale()
    delay.assert_called_once_with(job.pk)


def test_expired_files_are_deleted_and_the_job_marked_expired(staff, programme_a, django_capture_on_commit_callbacks):
    job = run_job(django_capture_on_commit_callbacks, staff, ReportType.KEY_FIGURES)
    fresh = run_job(django_capture_on_commit_callbacks, staff, ReportType.KEY_FIGURES)
    ReportJob.objects.filter(pk=job.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    assert tasks.delete_expired_files.apply().get() == 1
    job.refresh_from_db(), fresh.refresh_from_db()
    assert job.status == JobStatus.EXPIRED and not job.file and not job.path.exists()
    assert fresh.status == JobStatus.SUCCEEDED and fresh.path.is_file()


def test_the_monthly_portfolio_covers_every_programme_for_staff(
    programme_a, programme_b, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        job_pk = tasks.monthly_portfolio.apply().get()
    job = ReportJob.objects.get(pk=job_pk)
    assert job.scheduled and job.requester is None and job.status == JobStatus.SUCCEEDED
    assert programme_codes_in_workbook(job) == {programme_a.code, programme_b.code}


def test_beat_schedules_recovery_expiry_and_the_monthly_workbook():
    schedule = settings.CELERY_BEAT_SCHEDULE
    tasks_by_name = {entry["task"] for entry in schedule.values()}
    assert {"reports.recover_stale_jobs", "reports.delete_expired_files", "reports.monthly_portfolio"} <= tasks_by_name
    monthly = schedule["reports-monthly-portfolio"]["schedule"]
    assert monthly.day_of_month == {1}
    app.loader.import_default_modules()  # what a worker does at start: autodiscover every app's tasks
    assert all(name in app.tasks for name in tasks_by_name), tasks_by_name - set(app.tasks)
    # Stale recovery runs more often than a job is considered stale.
    assert schedule["reports-recover-stale-jobs"]["schedule"] <= settings.REPORTS_STALE_AFTER


def test_time_limits_stay_below_the_visibility_timeout_and_heartbeats_below_staleness():
    visibility = settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]
    assert settings.CELERY_TASK_SOFT_TIME_LIMIT < settings.CELERY_TASK_TIME_LIMIT < visibility
    assert settings.REPORTS_HEARTBEAT_SECONDS < settings.REPORTS_STALE_AFTER < settings.CELERY_TASK_TIME_LIMIT
    assert tasks.run_report.acks_late and settings.CELERY_TASK_REJECT_ON_WORKER_LOST


def test_database_constraints_protect_the_job_invariants(staff):
    from django.db import IntegrityError

    for fields in (
        {"status": JobStatus.SUCCEEDED},  # no file, no checksum
        {"status": JobStatus.FAILED},  # no message
        {"status": JobStatus.RUNNING},  # no heartbeat
        {"progress": 101},
        {"type": "spreadsheet"},
    ):
        with pytest.raises(IntegrityError), transaction.atomic():
            ReportJob.objects.create(**{"type": ReportType.KEY_FIGURES, "requester": staff, **fields})
    with pytest.raises(IntegrityError), transaction.atomic():
        ReportJob.objects.create(type=ReportType.KEY_FIGURES, requester=None)


def test_io_buffers_work_for_the_pure_builders(staff, programme_a):
    """The builders take any file object: the bench and other callers need no job."""
    from programmes.models import Programme
    from reports.builders import matrix

    out = io.StringIO()
    matrix.write_matrix_csv(Programme.objects.all(), out)
    assert programme_a.code in out.getvalue()
