"""Workflows on programmes that have rules or side effects: status changes and concurrent edits."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from .models import REVIEW_STEPS, Programme, ProgrammeStatusChange, Status


class TransitionNotAllowed(ValidationError):
    """The requested status change is not one of the programme lifecycle's allowed transitions."""


class ProgrammeLocked(ValidationError):
    """The programme is submitted or under review: edits wait for a request for revision."""

    def __init__(self) -> None:
        super().__init__(
            _("This programme is under review: it can be edited again once a revision is requested."), code="locked"
        )


class StaleProgramme(ValidationError):
    """Someone saved the programme after the editor loaded it; the editor's save is refused."""

    def __init__(self, current: Programme):
        self.current = current
        who = current.updated_by.get_full_name() or current.updated_by.username if current.updated_by else _("someone")
        super().__init__(
            _(
                "%(who)s saved this programme while you were editing it (now version %(version)s). Nothing was lost: review their changes below and save again."
            )
            % {"who": who, "version": current.version},
            code="stale",
        )


def programme_change_status(
    *, programme: Programme, to_status: str, user, reason: str = "", via_review: bool = False
) -> ProgrammeStatusChange:
    """Move a programme along one allowed transition and record the step in its history.

    Submission, review and decision steps (REVIEW_STEPS) are taken only by the review workflow,
    which passes `via_review=True`.
    """
    with transaction.atomic():
        locked = Programme.objects.select_for_update().get(pk=programme.pk)
        if not locked.can_transition_to(to_status):
            raise TransitionNotAllowed(
                _("A programme cannot go from “%(from)s” to “%(to)s”.")
                % {
                    "from": Status(locked.status).label,
                    "to": Status(to_status).label if to_status in Status.values else to_status,
                },
                code="transition",
            )
        if (locked.status, to_status) in REVIEW_STEPS and not via_review:
            raise TransitionNotAllowed(
                _("This step goes through the review: use the proposal page (submission, review, decision)."),
                code="review_step",
            )
        change = ProgrammeStatusChange.objects.create(
            programme=locked, from_status=locked.status, to_status=to_status, changed_by=user, reason=reason
        )
        Programme.objects.filter(pk=locked.pk).update(
            status=to_status, version=F("version") + 1, updated_by=user, updated_at=timezone.now()
        )
    programme.refresh_from_db(fields=["status", "version", "updated_by", "updated_at"])
    return change


def programme_save(*, programme: Programme, user, expected_version: int | None) -> Programme:
    """Save an edited programme unless someone else saved it since `expected_version` was loaded.

    The caller saves related formsets inside the same transaction (`transaction.atomic`), so that a
    refused save leaves nothing half-written.
    """
    if programme.pk is None:
        programme.created_by = user
        programme.updated_by = user
        programme.version = 1
        programme.save()
        return programme
    # Lock only the programme row: PostgreSQL refuses FOR UPDATE on the outer-joined (nullable) user.
    current = Programme.objects.select_for_update(of=("self",)).select_related("updated_by").get(pk=programme.pk)
    if current.is_locked_for_review:
        raise ProgrammeLocked
    if expected_version is not None and current.version != expected_version:
        raise StaleProgramme(current)
    programme.version = current.version + 1
    programme.updated_by = user
    programme.status = current.status  # status moves only through programme_change_status
    programme.save()
    return programme
