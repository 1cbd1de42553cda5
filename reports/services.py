"""Report job workflows: ask for a report, claim and run it, recover from dead workers, expire files."""

from __future__ import annotations

import hashlib
import logging
import os
import re
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, InterfaceError, OperationalError, transaction
from django.db.models import F, Q, QuerySet
from django.http import FileResponse, Http404, QueryDict
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from kombu.exceptions import OperationalError as BrokerOperationalError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from programmes.filters import ProgrammeFilter
from programmes.models import Programme

from .builders import registry
from .models import JobStatus, ReportJob, ReportType

logger = logging.getLogger(__name__)

# Errors worth another try: the database or the broker hiccuped, the report itself is fine.
TRANSIENT_ERRORS = (OperationalError, InterfaceError, BrokerOperationalError, RedisConnectionError, RedisTimeoutError)
FILTER_FIELDS = tuple(ProgrammeFilter.base_filters)
SCHEDULED_RETENTION_DAYS = 35


class ReportError(Exception):
    """A permanent problem with the report: failing it at once, with this message for the requester."""


class ClaimLost(Exception):
    """Another run took the job over (this worker was presumed dead): stop without touching it."""


# --- Asking for a report ------------------------------------------------------------------------


def _as_querydict(parameters: dict) -> QueryDict:
    data = QueryDict(mutable=True)
    for key, value in parameters.items():
        data.setlist(key, [str(v) for v in value] if isinstance(value, list | tuple) else [str(value)])
    return data


def programme_filter(user, parameters: dict, queryset: QuerySet | None = None) -> ProgrammeFilter:
    """The programme list's own filters, bound to stored parameters and narrowed to the user's scope."""
    if queryset is None:
        queryset = Programme.objects.visible_to(user)
    return ProgrammeFilter(_as_querydict(parameters), queryset=queryset, request=SimpleNamespace(user=user))


def clean_parameters(*, user, type: str, parameters: dict) -> dict:
    """Validated parameters of a report request, or a ValidationError keyed by field."""
    if type not in ReportType.values:
        raise ValidationError({"type": [gettext_lazy("Choose a report type.")]})
    for name, value in parameters.items():
        values = value if isinstance(value, list | tuple) else [value]
        if "\x00" in str(name) or any("\x00" in str(v) for v in values):
            raise ValidationError(
                {str(name).replace("\x00", ""): [gettext_lazy("Text cannot contain the NUL character.")]}
            )
    if type == ReportType.FACTSHEET_PDF:
        code = str(parameters.get("programme") or "").strip()
        if not code:
            raise ValidationError({"programme": [gettext_lazy("A factsheet is about one programme: give its code.")]})
        if not Programme.objects.visible_to(user).filter(code=code).exists():
            raise ValidationError({"programme": [gettext_lazy("No programme you can see has this code.")]})
        return {"programme": code}
    filterset = programme_filter(user, {k: v for k, v in parameters.items() if k in FILTER_FIELDS})
    if not filterset.is_valid():
        raise ValidationError({name: list(errors) for name, errors in filterset.form.errors.items()})
    cleaned = {}
    for name in FILTER_FIELDS:
        values = [v for v in filterset.form.data.getlist(name) if v not in ("", None)]
        if values:
            cleaned[name] = values if name == "status" else values[0]
    return cleaned


# The broker is unreachable: the job row stays queued and unsent, and the dispatcher sends it later.
BROKER_DOWN = (BrokerOperationalError, RedisConnectionError, RedisTimeoutError, ConnectionError, OSError)
IDEMPOTENCY_KEY = re.compile(r"[A-Za-z0-9._:-]{1,64}")


def dispatch_job(job_id: int) -> bool:
    """Hand one queued job to the task queue, once (no retry loop): False when the broker is down."""
    from .tasks import run_report  # the tasks module imports this one

    try:
        if run_report.app.conf.task_always_eager:
            run_report.delay(job_id)  # in-process: no broker to reach
        else:
            with run_report.app.connection_for_write() as connection:
                connection.ensure_connection(max_retries=0)  # one try: a request never waits on the broker
                run_report.apply_async(args=[job_id], retry=False, connection=connection)
    except BROKER_DOWN as error:
        logger.warning("Report job %s waits for a worker: the task queue is unreachable (%s)", job_id, error)
        return False
    ReportJob.objects.filter(pk=job_id, status=JobStatus.QUEUED, enqueued_at__isnull=True).update(
        enqueued_at=timezone.now()
    )
    return True


def report_jobs_dispatch(limit: int = 200) -> int:
    """Send the queued jobs no worker has been told about yet (oldest first); stop at the first broker
    failure. Run by beat every minute, when a worker starts, and after every report request."""
    sent = 0
    waiting = ReportJob.objects.filter(status=JobStatus.QUEUED, enqueued_at__isnull=True).order_by("created_at", "pk")
    for job_id in list(waiting.values_list("pk", flat=True)[:limit]):
        if not dispatch_job(job_id):
            break
        sent += 1
    return sent


def _enqueue(job: ReportJob, *, sweep: bool = False) -> None:
    """Mark the job unsent and send it once the transaction commits (a failed send leaves it waiting);
    with `sweep`, then also send every other job that waited for the broker to come back."""
    ReportJob.objects.filter(pk=job.pk).update(enqueued_at=None)
    job.enqueued_at = None

    def send() -> None:
        if dispatch_job(job.pk) and sweep:
            report_jobs_dispatch()

    transaction.on_commit(send)


def _clean_idempotency_key(key: str | None) -> str:
    key = (key or "").strip()
    if key and not IDEMPOTENCY_KEY.fullmatch(key):
        raise ValidationError(
            {
                "idempotency_key": [
                    gettext_lazy(
                        "The idempotency key must be 1 to 64 letters, digits or the characters . _ : - (a UUID works)."
                    )
                ]
            }
        )
    return key


def _replay(user, key: str, type: str, cleaned: dict) -> ReportJob | None:
    """The job already asked for with this key, or None; the same key for another request is refused."""
    existing = ReportJob.objects.filter(requester=user, idempotency_key=key).first()
    if existing is None:
        return None
    if existing.type != type or existing.parameters != cleaned:
        raise ValidationError(
            {"idempotency_key": [gettext_lazy("This idempotency key was already used for a different report request.")]}
        )
    existing.replayed = True
    return existing


def report_job_create(
    *, user, type: str, parameters: dict, language: str, idempotency_key: str | None = None
) -> ReportJob:
    """Record the request and send it to the workers once the transaction commits.

    The job row is the truth: when the broker is down the request still succeeds and the job waits
    for the dispatcher. With an idempotency key, asking twice returns the first job (`replayed`)."""
    key = _clean_idempotency_key(idempotency_key)
    cleaned = clean_parameters(user=user, type=type, parameters=parameters)
    if language not in dict(settings.LANGUAGES):
        language = settings.LANGUAGE_CODE
    if key and (existing := _replay(user, key, type, cleaned)) is not None:
        return existing
    try:
        with transaction.atomic():
            job = ReportJob.objects.create(
                type=type,
                parameters=cleaned,
                requester=user,
                language=language,
                requested_as_staff=user.is_iom_staff,
                idempotency_key=key,
            )
    except IntegrityError:
        existing = _replay(user, key, type, cleaned) if key else None
        if existing is None:
            raise
        return existing
    job.replayed = False
    _enqueue(job, sweep=True)
    return job


def report_job_retry(*, job: ReportJob, user) -> ReportJob:
    """A failed or expired report asked for again: a new job with the same parameters, in the user's scope."""
    return report_job_create(
        user=user, type=job.type, parameters=job.parameters, language=job.language or settings.LANGUAGE_CODE
    )


def report_job_schedule_monthly_portfolio() -> ReportJob:
    """The monthly portfolio workbook of every programme, for IOM staff."""
    job = ReportJob.objects.create(
        type=ReportType.PORTFOLIO_XLSX,
        parameters={},
        scheduled=True,
        requested_as_staff=True,
        language=settings.LANGUAGE_CODE,
    )
    _enqueue(job)
    return job


# --- Running a job ------------------------------------------------------------------------------


def report_job_claim(*, job_id: int) -> ReportJob | None:
    """Take the job in one UPDATE: queued, or running with a dead worker. None when someone else has it."""
    now = timezone.now()
    stale = now - timedelta(seconds=settings.REPORTS_STALE_AFTER)
    token = uuid.uuid4()
    claimed = (
        ReportJob.objects.filter(pk=job_id)
        .filter(
            Q(status=JobStatus.QUEUED)
            | Q(status=JobStatus.RUNNING, heartbeat_at__lt=stale, attempts__lt=settings.REPORTS_MAX_ATTEMPTS)
        )
        .update(
            status=JobStatus.RUNNING,
            claim_token=token,
            attempts=F("attempts") + 1,
            progress=0,
            heartbeat_at=now,
            started_at=now,
            error_message="",
        )
    )
    return ReportJob.objects.select_related("requester").get(pk=job_id) if claimed else None


@dataclass
class Heartbeat:
    """Progress reporting of one claimed run; raises ClaimLost when the job was taken away."""

    job: ReportJob
    total: int
    done: int = 0
    last_beat: float = 0.0
    last_percent: int = 0
    problems: list = field(default_factory=list)  # [{"programme": code, "errors": [...]}], see builders.records

    def problem(self, code: str, errors: list[str]) -> None:
        """A value of this programme was cleaned or left out: recorded on the job, never a failed report."""
        self.problems.append({"programme": code, "errors": [str(e) for e in errors]})

    def __call__(self, count: int) -> None:
        self.done += count
        percent = min(99, self.done * 100 // max(self.total, 1))
        if settings.REPORTS_SLOW_DOWN_SECONDS:
            time.sleep(settings.REPORTS_SLOW_DOWN_SECONDS)
        now = time.monotonic()
        if percent != self.last_percent or now - self.last_beat >= settings.REPORTS_HEARTBEAT_SECONDS:
            self.beat(percent)

    def beat(self, percent: int) -> None:
        updated = ReportJob.objects.filter(
            pk=self.job.pk, status=JobStatus.RUNNING, claim_token=self.job.claim_token
        ).update(progress=percent, heartbeat_at=timezone.now())
        if not updated:
            raise ClaimLost
        self.last_beat, self.last_percent = time.monotonic(), percent


def job_programmes(job: ReportJob) -> QuerySet:
    """The programmes of a report, read through the requester's scope when the job runs."""
    if job.scheduled:
        return Programme.objects.all()
    requester = job.requester
    if requester is None or not requester.is_active:
        raise ReportError(_("The account that asked for this report is no longer active."))
    if job.type == ReportType.FACTSHEET_PDF:
        return Programme.objects.visible_to(requester).filter(code=job.parameters.get("programme", ""))
    filterset = programme_filter(requester, job.parameters)
    if not filterset.is_valid():
        raise ReportError(
            _("The filters of this report are no longer valid: %(errors)s") % {"errors": filterset.errors}
        )
    return filterset.qs


def build_report(job: ReportJob, path: Path, progress: Heartbeat) -> dict:
    """Write the job's file at `path` with the builder of its type (reports/builders/registry.py);
    returns what to record on the job (row count, validation messages)."""
    context = registry.BuildContext(
        programmes=job_programmes(job),
        path=path,
        parameters=job.parameters or {},
        suppress_below=0 if job.scheduled or job.requester.is_iom_staff else settings.SMALL_CELL_THRESHOLD,
        created=job.created_at,
        progress=progress,
    )
    try:
        return registry.build(job.type, context)
    except registry.NothingToReport:
        raise ReportError(_("This programme does not exist or is no longer shared with you.")) from None


def _checksum(path: Path) -> tuple[int, str]:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return path.stat().st_size, digest.hexdigest()


def report_job_run(*, job_id: int) -> str:
    """Claim and build the job. Safe to run twice: a finished or taken job is left alone, and the file
    has one name per job, written under a temporary name and renamed into place."""
    job = report_job_claim(job_id=job_id)
    if job is None:
        return "skipped"
    final = job.path
    final.parent.mkdir(parents=True, exist_ok=True)
    temporary = final.with_name(f".{final.name}.{job.claim_token.hex}.part")
    try:
        with translation.override(job.language):
            outcome = build_report(job, temporary, Heartbeat(job, total=1))
        size, sha256 = _checksum(temporary)
        os.replace(temporary, final)
    except ClaimLost:
        temporary.unlink(missing_ok=True)
        return "lost"
    except TRANSIENT_ERRORS:
        temporary.unlink(missing_ok=True)
        _release(job)
        raise
    except ReportError as error:
        temporary.unlink(missing_ok=True)
        _fail(job, str(error))
        return "failed"
    except SoftTimeLimitExceeded:
        temporary.unlink(missing_ok=True)
        with translation.override(job.language):
            _fail(job, _("The report took too long to build. Narrow the filters and ask again."))
        return "failed"
    except Exception:
        temporary.unlink(missing_ok=True)
        logger.exception("Report job %s failed", job.pk)
        with translation.override(job.language):
            _fail(
                job,
                _("The report could not be built because of an unexpected error (reference %(ref)s).")
                % {"ref": job.pk},
            )
        return "failed"
    now = timezone.now()
    retention = SCHEDULED_RETENTION_DAYS if job.scheduled else settings.REPORTS_RETENTION_DAYS
    ReportJob.objects.filter(pk=job.pk, claim_token=job.claim_token, status=JobStatus.RUNNING).update(
        status=JobStatus.SUCCEEDED,
        progress=100,
        file=job.storage_name,
        size=size,
        sha256=sha256,
        finished_at=now,
        heartbeat_at=now,
        expires_at=now + timedelta(days=retention),
        row_count=outcome.get("row_count", 0),
        validation_messages=outcome.get("validation_messages", []),
    )
    return "succeeded"


def _fail(job: ReportJob, message: str) -> None:
    ReportJob.objects.filter(pk=job.pk, claim_token=job.claim_token).update(
        status=JobStatus.FAILED, error_message=message, finished_at=timezone.now()
    )


def _release(job: ReportJob) -> None:
    """Give a claimed job back to the queue before a retry (best effort: the database may be down)."""
    try:
        ReportJob.objects.filter(pk=job.pk, claim_token=job.claim_token, status=JobStatus.RUNNING).update(
            status=JobStatus.QUEUED, claim_token=None, heartbeat_at=None, enqueued_at=timezone.now()
        )
    except TRANSIENT_ERRORS:
        logger.warning("Could not release report job %s; stale-job recovery will pick it up", job.pk)


def report_job_fail_after_retries(*, job_id: int) -> None:
    """Transient errors outlasted the retries: fail the job (unless it already moved on)."""
    job = ReportJob.objects.filter(pk=job_id).first()
    if job is None or job.is_finished:
        return
    with translation.override(job.language):
        message = _("The report could not be built: the database or the task queue was unavailable. Try again later.")
    ReportJob.objects.filter(pk=job_id, status__in=[JobStatus.QUEUED, JobStatus.RUNNING]).update(
        status=JobStatus.FAILED, error_message=message, finished_at=timezone.now(), claim_token=None
    )


# --- Housekeeping (beat) ------------------------------------------------------------------------


def report_jobs_recover_stale() -> dict[str, int]:
    """Re-queue jobs whose worker died (or whose message was lost) while attempts remain; fail the others."""
    requeued = failed = 0
    for job in ReportJob.objects.stale() | ReportJob.objects.lost_in_queue():
        base = ReportJob.objects.filter(pk=job.pk, status=job.status, claim_token=job.claim_token)
        if job.attempts < settings.REPORTS_MAX_ATTEMPTS:
            if base.update(status=JobStatus.QUEUED, claim_token=None, heartbeat_at=None, progress=0):
                _enqueue(job)
                requeued += 1
            continue
        with translation.override(job.language):
            message = _(
                "The report could not be finished: the worker building it stopped %(attempts)s times. "
                "Ask for it again, or narrow the filters."
            ) % {"attempts": job.attempts}
        failed += base.update(status=JobStatus.FAILED, error_message=message, finished_at=timezone.now())
    return {"requeued": requeued, "failed": failed}


def report_jobs_expire() -> int:
    """Delete the files of reports past their expiry date; the job rows stay as history."""
    count = 0
    for job in ReportJob.objects.expired():
        if job.file:
            (Path(settings.MEDIA_ROOT) / job.file.name).unlink(missing_ok=True)
        count += ReportJob.objects.filter(pk=job.pk, status=JobStatus.SUCCEEDED).update(
            status=JobStatus.EXPIRED, file=""
        )
    # Temporary files of runs that died mid-write.
    cutoff = time.time() - 24 * 3600
    for leftover in (Path(settings.MEDIA_ROOT) / "reports").glob("**/.*.part"):
        if leftover.stat().st_mtime < cutoff:
            leftover.unlink(missing_ok=True)
    return count


def report_job_file_response(job: ReportJob) -> FileResponse:
    """The finished file as an attachment (web page and API alike); a 404 while there is none."""
    if not job.is_ready or not job.path.is_file():
        raise Http404
    return FileResponse(
        open(job.path, "rb"),
        as_attachment=True,
        filename=job.download_name,
        content_type=job.content_type,
    )
