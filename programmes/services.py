"""Workflows on programmes that have rules or side effects: status changes and concurrent edits."""

from __future__ import annotations

from datetime import date

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from .models import (
    ENDING_STATUSES,
    REASON_REQUIRED,
    Document,
    Programme,
    ProgrammeAgreement,
    ProgrammeStatusChange,
    Status,
)

# While the agreement may still be recorded or corrected.
AGREEMENT_EDITABLE_STATUSES = (Status.PIPELINE, Status.APPROVED, Status.ACTIVE, Status.SUSPENDED)


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
    *,
    programme: Programme,
    to_status: str,
    user,
    reason: str = "",
    actual_end: date | None = None,
    via_review: bool = False,
) -> ProgrammeStatusChange:
    """Move a programme along one allowed transition and record the step in its history.

    The programme's state must allow the step (`Programme.transition_refusal`: lifecycle, road and
    recorded basis); submission, review and decision steps (REVIEW_STEPS) are taken only by the review
    workflow, which passes `via_review=True`. Suspension, requests for revision and the irreversible
    steps need a reason; completing or closing needs an actual end not in the future (the one given,
    else the one recorded, else today); becoming active records today as actual start if none is.
    """
    reason = (reason or "").strip()
    with transaction.atomic():
        locked = Programme.objects.select_for_update(of=("self",)).get(pk=programme.pk)
        refusal = locked.transition_refusal(to_status, via_review=via_review)
        if refusal is not None:
            code, message = refusal
            raise TransitionNotAllowed({"status": ValidationError(message, code=code)})
        if to_status in REASON_REQUIRED and not reason:
            message = _("Give a reason to move the programme to “%(status)s”.") % {"status": Status(to_status).label}
            raise TransitionNotAllowed({"reason": ValidationError(message, code="reason_required")})
        updates = {}
        if to_status in ENDING_STATUSES:
            end = actual_end or locked.actual_end or timezone.localdate()
            problem = Programme.actual_end_problem(end, actual_start=locked.actual_start)
            if problem:
                raise TransitionNotAllowed({"actual_end": ValidationError(problem, code="actual_end")})
            if end != locked.actual_end:
                updates["actual_end"] = end
        if to_status == Status.ACTIVE and locked.actual_start is None:
            updates["actual_start"] = timezone.localdate()
        change = ProgrammeStatusChange.objects.create(
            programme=locked, from_status=locked.status, to_status=to_status, changed_by=user, reason=reason
        )
        Programme.objects.filter(pk=locked.pk).update(
            status=to_status, version=F("version") + 1, updated_by=user, updated_at=timezone.now(), **updates
        )
    programme.refresh_from_db(fields=["status", "version", "updated_by", "updated_at", "actual_start", "actual_end"])
    return change


def programme_record_agreement(
    *, programme: Programme, user, reference: str, signed_on: date, document: Document
) -> ProgrammeAgreement:
    """Record (or correct) the signed agreement or donor contract a programme is approved on."""
    with transaction.atomic():
        locked = Programme.objects.select_for_update(of=("self",)).get(pk=programme.pk)
        if locked.status not in AGREEMENT_EDITABLE_STATUSES:
            raise ValidationError(
                _(
                    "The agreement can be recorded while the programme is in the pipeline, approved, active or suspended."
                ),
                code="state",
            )
        agreement = locked.recorded_agreement() or ProgrammeAgreement(programme=locked)
        agreement.reference = (reference or "").strip()
        agreement.signed_on = signed_on
        agreement.document = document
        agreement.recorded_by = user
        agreement.recorded_at = timezone.now()
        agreement.full_clean(exclude=["programme"])
        agreement.save()
        Programme.objects.filter(pk=locked.pk).update(
            version=F("version") + 1, updated_by=user, updated_at=timezone.now()
        )
    programme.refresh_from_db(fields=["version", "updated_by", "updated_at"])
    return agreement


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
