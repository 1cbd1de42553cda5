"""Celery tasks of the reports: thin wrappers taking job ids; the work lives in services.py."""

from __future__ import annotations

import logging

from celery import shared_task
from celery.signals import worker_ready

from . import services

MAX_RETRIES = 4
logger = logging.getLogger(__name__)


def backoff(retries: int) -> int:
    """Seconds before the next try: 5, 10, 20, 40 … capped at five minutes."""
    return min(5 * 2**retries, 300)


@shared_task(bind=True, name="reports.run_report", max_retries=MAX_RETRIES, acks_late=True)
def run_report(self, job_id: int) -> str:
    """Build one report job. Database or broker hiccups are retried with backoff, a bounded number of times."""
    try:
        return services.report_job_run(job_id=job_id)
    except services.TRANSIENT_ERRORS as exc:
        if self.request.retries >= self.max_retries:
            services.report_job_fail_after_retries(job_id=job_id)
            return "failed"
        if self.request.is_eager:
            # In-process (no broker): a countdown would only block the web request, so try again at once.
            return self.apply(args=[job_id], retries=self.request.retries + 1).result
        raise self.retry(exc=exc, countdown=backoff(self.request.retries)) from exc


@shared_task(name="reports.recover_stale_jobs")
def recover_stale_jobs() -> dict[str, int]:
    return services.report_jobs_recover_stale()


@shared_task(name="reports.delete_expired_files")
def delete_expired_files() -> int:
    return services.report_jobs_expire()


@shared_task(name="reports.monthly_portfolio")
def monthly_portfolio() -> int:
    return services.report_job_schedule_monthly_portfolio().pk


@shared_task(name="reports.dispatch_queued_jobs")
def dispatch_queued_jobs() -> int:
    """Send the jobs recorded while the broker was unreachable (beat, every minute)."""
    return services.report_jobs_dispatch()


@worker_ready.connect
def dispatch_on_worker_start(**kwargs) -> None:
    """A worker that starts (e.g. after the broker or the whole stack came back) sends what waited."""
    try:
        sent = services.report_jobs_dispatch()
    except Exception:  # never keep a worker from starting
        logger.exception("Could not dispatch the waiting report jobs at worker start")
        return
    if sent:
        logger.info("Dispatched %s report jobs that waited for a worker", sent)
