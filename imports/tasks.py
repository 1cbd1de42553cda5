"""Celery tasks of the imports: thin wrappers taking job ids; the work lives in services.py.

A transient error (the database or the file store not answering) is retried with exponential backoff
(RETRY_DELAYS); the job resumes where it stopped. After the last attempt the job fails with a message
that says what was imported and how to go on.
"""

from __future__ import annotations

from celery import shared_task

from . import services

RETRY_DELAYS = (10, 60, 300)  # seconds before the 2nd, 3rd and 4th attempt


def _run(task, job_id: int, work):
    try:
        return work(job_id=job_id).status
    except services.TRANSIENT_ERRORS as error:
        attempt = task.request.retries + 1
        if attempt > len(RETRY_DELAYS):
            return services.import_job_give_up(job_id=job_id, attempts=attempt).status
        services.import_job_interrupted(job_id=job_id, attempt=attempt + 1, attempts=len(RETRY_DELAYS) + 1)
        raise task.retry(exc=error, countdown=RETRY_DELAYS[attempt - 1], max_retries=len(RETRY_DELAYS)) from error


@shared_task(bind=True, name="imports.preview_import", acks_late=True)
def preview_import(self, job_id: int) -> str:
    return _run(self, job_id, services.import_job_preview)


@shared_task(bind=True, name="imports.apply_import", acks_late=True)
def apply_import(self, job_id: int) -> str:
    return _run(self, job_id, services.import_job_apply)
