"""Celery tasks of the programmes: the pages' aggregates refreshed outside the requests (programmes/summary.py)."""

from __future__ import annotations

from celery import shared_task

from . import summary


@shared_task(name="programmes.refresh_summaries", acks_late=True)
def refresh_summaries(claimed: list[int] | None = None) -> int:
    """Recompute the stale summaries (those claimed by the page that asked, and any other nobody is refreshing)."""
    return summary.refresh_stale(claimed)


@shared_task(name="programmes.rebuild_search_text_after_rename", acks_late=True)
def rebuild_search_text_after_rename(model_label: str, pk: int, old_pcode: str = "") -> int:
    """A rename reaching many programmes (programmes/summary_signals.py): their search text, rebuilt in batches."""
    from .summary_signals import rebuild_programmes_showing

    return rebuild_programmes_showing(model_label, pk, old_pcode)
