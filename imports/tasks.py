"""Celery tasks of the imports: thin wrappers taking job ids; the work lives in services.py."""

from __future__ import annotations

from celery import shared_task

from . import services


@shared_task(name="imports.preview_import", acks_late=True)
def preview_import(job_id: int) -> str:
    return services.import_job_preview(job_id=job_id).status


@shared_task(name="imports.apply_import", acks_late=True)
def apply_import(job_id: int) -> str:
    return services.import_job_apply(job_id=job_id).status
