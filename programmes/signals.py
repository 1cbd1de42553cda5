"""What the programme services announce to the apps above them, which programmes never imports.

`programme_changed` is sent once the transaction that changed a programme commits (created; its fields,
partners, documents or agreement changed; a status change that sets its dates or stops it: rejected,
cancelled), with `programme_id`. A receiver that fails is logged
and does not undo the change it heard about.

`programmes_created` is sent instead, once, when `programme_create_many` (an import's batch) created many
programmes, with `programme_ids`: a receiver that must hear of every new programme connects to both (and
may do its work for the whole batch at once).
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.dispatch import Signal

logger = logging.getLogger(__name__)

programme_changed = Signal()
programmes_created = Signal()


def _send(programme_id: int) -> None:
    for receiver, result in programme_changed.send_robust(sender=None, programme_id=programme_id):
        if isinstance(result, Exception):
            logger.error("programme_changed: %r failed for programme %s", receiver, programme_id, exc_info=result)


def announce_programme_changed(programme_id: int) -> None:
    """Send `programme_changed` for this programme once the current transaction commits (at once outside one)."""
    transaction.on_commit(lambda: _send(programme_id))


def _send_created(programme_ids: list[int]) -> None:
    for receiver, result in programmes_created.send_robust(sender=None, programme_ids=programme_ids):
        if isinstance(result, Exception):
            logger.error(
                "programmes_created: %r failed for %s programmes", receiver, len(programme_ids), exc_info=result
            )


def announce_programmes_created(programme_ids: list[int]) -> None:
    """Send `programmes_created` for these new programmes once the current transaction commits."""
    programme_ids = list(programme_ids)
    transaction.on_commit(lambda: _send_created(programme_ids))
