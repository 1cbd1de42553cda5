"""The review workflow: submit, assign, declare, review, decide, request revision, resubmit.

Every function checks who may act and in which state, moves the programme status only through
`programme_change_status`, writes a timeline event, and enqueues e-mails after commit.
"""

from __future__ import annotations

from datetime import date

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from programmes.models import Programme, Status
from programmes.rules import normalise_text_fields, raise_if
from programmes.services import attributed_to, programme_change_status, programme_lock

from .eligibility import all_pass, eligibility_checklist
from .models import (
    APPROVERS_GROUP,
    EXPERTS_GROUP,
    PREPARATION_STATUSES,
    REVIEW_MANAGERS_GROUP,
    BudgetLine,
    Decision,
    EventKind,
    Proposal,
    ProposalKind,
    Recommendation,
    Review,
    ReviewAssignment,
    ReviewCriterion,
    ReviewScore,
    TimelineEvent,
)

NOTIFIED_EVENTS = (EventKind.REVIEWER_ASSIGNED, EventKind.REVISION_REQUESTED, EventKind.APPROVED, EventKind.REJECTED)


class ReviewError(ValidationError):
    """A review step refused: wrong person, wrong state, or missing information."""


def proposal_is_locked(programme: Programme) -> bool:
    """True while a proposal is with reviewers or the approver: nobody edits it until a revision is requested."""
    return programme.is_locked_for_review


def in_group(user, group: str) -> bool:
    return bool(user and user.is_iom_staff and user.groups.filter(name=group).exists())


def _record(proposal: Proposal, kind: str, actor, *, assignment=None, message: str = "") -> TimelineEvent:
    event = TimelineEvent.objects.create(
        proposal=proposal, kind=kind, actor=actor, assignment=assignment, message=message
    )
    if kind in NOTIFIED_EVENTS:
        from .tasks import send_event_notifications

        event_id = event.pk
        # robust: a mail or broker failure is logged and never undoes or breaks the committed step.
        transaction.on_commit(lambda: send_event_notifications.delay(event_id), robust=True)
    return event


def _lock(proposal: Proposal) -> Proposal:
    """Re-read the proposal and its programme under a row lock, so two clicks cannot both pass a check."""
    locked = Proposal.objects.select_for_update().select_related("programme").get(pk=proposal.pk)
    locked.programme.refresh_from_db()
    return locked


def _require_focal_point(programme: Programme, user) -> None:
    if not user.is_iom_staff or programme.iom_focal_point_id != user.pk:
        raise ReviewError(_("Only the programme's IOM focal point can submit it for review."), code="not_focal_point")


def _require_eligible(programme: Programme, kind: str) -> None:
    items = eligibility_checklist(programme, kind)
    if not all_pass(items):
        failing = "; ".join(f"{item.label}: {item.message}" for item in items if not item.passed)
        raise ReviewError(_("The proposal is not eligible yet — %(failing)s") % {"failing": failing}, code="ineligible")


def _refresh(proposal: Proposal) -> None:
    proposal.refresh_from_db()
    proposal.programme.refresh_from_db()


def proposal_submit(*, programme: Programme, user, kind: str, review_manager, approver) -> Proposal:
    """The focal point sends a pipeline programme for review once the eligibility checklist passes."""
    _require_focal_point(programme, user)
    caller_programme = programme
    with transaction.atomic():
        programme = Programme.objects.select_for_update().get(pk=programme.pk)
        if programme.status == Status.REVISION_REQUESTED:
            raise ReviewError(_("A revision was requested: resubmit the proposal instead."), code="use_resubmit")
        if programme.status != Status.PIPELINE:
            raise ReviewError(
                _("Only a programme in the pipeline can be submitted for review (this one is “%(status)s”).")
                % {"status": programme.get_status_display()},
                code="not_pipeline",
            )
        if kind not in ProposalKind.values:
            raise ReviewError(_("Choose the kind of proposal."), code="kind")
        if not in_group(review_manager, REVIEW_MANAGERS_GROUP):
            raise ReviewError(_("The review manager must be an IOM review manager."), code="review_manager")
        if not in_group(approver, APPROVERS_GROUP):
            raise ReviewError(_("The approver must be an IOM approver."), code="approver")
        if approver.pk == user.pk:
            raise ReviewError(_("You cannot approve your own proposal: choose another approver."), code="approver")
        _require_eligible(programme, kind)
        proposal, _created = Proposal.objects.update_or_create(
            programme=programme,
            defaults={
                "kind": kind,
                "review_manager": review_manager,
                "approver": approver,
                "submitted_at": timezone.now(),
                "decision": "",
                "decided_at": None,
                "decision_reason": "",
            },
        )
        programme_change_status(programme=programme, to_status=Status.SUBMITTED, user=user, via_review=True)
        _record(proposal, EventKind.SUBMITTED, user)
    caller_programme.refresh_from_db()
    return proposal


def proposal_assign_reviewer(*, proposal: Proposal, reviewer, user, due_date: date) -> ReviewAssignment:
    """The review manager asks a technical expert to review; the first assignment starts the review."""
    with transaction.atomic():
        locked = _lock(proposal)
        if user.pk != locked.review_manager_id:
            raise ReviewError(_("Only the proposal's review manager assigns reviewers."), code="not_review_manager")
        if not locked.programme.is_locked_for_review:
            raise ReviewError(
                _("Reviewers can only be assigned while the proposal is submitted or under review."), code="state"
            )
        if not in_group(reviewer, EXPERTS_GROUP):
            raise ReviewError(_("A reviewer must be an IOM technical expert."), code="not_expert")
        if reviewer.pk in (locked.programme.iom_focal_point_id, locked.approver_id):
            raise ReviewError(_("The focal point and the approver cannot review this proposal."), code="conflict")
        if locked.assignments.filter(reviewer=reviewer, round=locked.round).exists():
            raise ReviewError(_("This expert is already assigned to this proposal."), code="duplicate")
        if due_date < timezone.localdate():
            raise ReviewError(_("The due date cannot be in the past."), code="due_date")
        assignment = ReviewAssignment.objects.create(
            proposal=locked, reviewer=reviewer, assigned_by=user, round=locked.round, due_date=due_date
        )
        if locked.programme.status == Status.SUBMITTED:
            programme_change_status(
                programme=locked.programme, to_status=Status.UNDER_REVIEW, user=user, via_review=True
            )
        _record(locked, EventKind.REVIEWER_ASSIGNED, user, assignment=assignment)
    _refresh(proposal)
    return assignment


def _lock_assignment(assignment: ReviewAssignment, user) -> ReviewAssignment:
    locked = ReviewAssignment.objects.select_for_update().select_related("proposal__programme").get(pk=assignment.pk)
    locked.proposal.programme.refresh_from_db()
    if locked.reviewer_id != user.pk:
        raise ReviewError(_("This review is assigned to someone else."), code="not_reviewer")
    if locked.is_declined:
        raise ReviewError(_("You reported a conflict of interest for this proposal."), code="declined")
    if locked.proposal.is_decided:
        raise ReviewError(_("A decision was already taken on this proposal: no more reviews."), code="decided")
    return locked


def review_declare_no_conflict(*, assignment: ReviewAssignment, user, statement: str) -> ReviewAssignment:
    """The reviewer declares having no conflict of interest; only then may they read the proposal."""
    with transaction.atomic():
        locked = _lock_assignment(assignment, user)
        if locked.has_declared_no_conflict:
            raise ReviewError(_("You already declared having no conflict of interest."), code="already_declared")
        locked.conflict_declared_at = timezone.now()
        locked.conflict_statement = statement
        locked.save(update_fields=["conflict_declared_at", "conflict_statement"])
        _record(locked.proposal, EventKind.NO_CONFLICT_DECLARED, user, assignment=locked)
    assignment.refresh_from_db()
    return assignment


def review_report_conflict(*, assignment: ReviewAssignment, user, reason: str) -> ReviewAssignment:
    """The reviewer has a conflict of interest: they step aside and the review manager assigns someone else."""
    if not reason.strip():
        raise ReviewError(_("Describe the conflict of interest."), code="reason_required")
    with transaction.atomic():
        locked = _lock_assignment(assignment, user)
        if locked.has_declared_no_conflict:
            raise ReviewError(_("You already declared having no conflict of interest."), code="already_declared")
        locked.declined_at = timezone.now()
        locked.decline_reason = reason.strip()
        locked.save(update_fields=["declined_at", "decline_reason"])
        # The reason stays on the assignment (review manager only), not in the shared timeline.
        _record(locked.proposal, EventKind.CONFLICT_REPORTED, user, assignment=locked)
    assignment.refresh_from_db()
    return assignment


def review_submit(
    *, assignment: ReviewAssignment, user, scores: dict[int, int], comments: str, recommendation: str
) -> Review:
    """The reviewer scores every active criterion from 1 to 5, comments and recommends."""
    with transaction.atomic():
        locked = _lock_assignment(assignment, user)
        if not locked.has_declared_no_conflict:
            raise ReviewError(_("Declare that you have no conflict of interest first."), code="no_declaration")
        if Review.objects.filter(assignment=locked).exists():
            raise ReviewError(_("You already submitted your review."), code="already_reviewed")
        if locked.proposal.programme.status != Status.UNDER_REVIEW:
            raise ReviewError(_("Reviews can only be submitted while the proposal is under review."), code="state")
        if recommendation not in Recommendation.values:
            raise ReviewError(_("Choose a recommendation."), code="recommendation")
        if not comments.strip():
            raise ReviewError(_("Comments are required."), code="comments")
        criteria = list(ReviewCriterion.objects.filter(is_active=True))
        if any(scores.get(c.pk) not in (1, 2, 3, 4, 5) for c in criteria):
            raise ReviewError(_("Score every criterion from 1 to 5."), code="scores")
        review = Review.objects.create(assignment=locked, comments=comments.strip(), recommendation=recommendation)
        ReviewScore.objects.bulk_create([ReviewScore(review=review, criterion=c, score=scores[c.pk]) for c in criteria])
        _record(locked.proposal, EventKind.REVIEW_SUBMITTED, user, assignment=locked)
    return review


def _require_approver(locked: Proposal, user) -> None:
    if user.pk != locked.approver_id:
        raise ReviewError(_("Only the proposal's approver decides."), code="not_approver")
    if locked.is_decided:
        raise ReviewError(_("A decision was already taken on this proposal."), code="decided")


def proposal_decide(*, proposal: Proposal, user, decision: str, reason: str = "") -> Proposal:
    """The approver approves (with enough completed reviews) or rejects (with a reason)."""
    reason = reason.strip()
    with transaction.atomic():
        locked = _lock(proposal)
        _require_approver(locked, user)
        if locked.programme.status != Status.UNDER_REVIEW:
            raise ReviewError(_("Only a proposal under review can be approved or rejected."), code="state")
        if decision == Decision.REJECTED and not reason:
            raise ReviewError(_("Give the reason for the rejection."), code="reason_required")
        if decision == Decision.APPROVED:
            completed = locked.completed_review_count()
            if completed < locked.required_reviews:
                raise ReviewError(
                    _("Approval needs %(required)s completed reviews; %(completed)s are completed.")
                    % {"required": locked.required_reviews, "completed": completed},
                    code="not_enough_reviews",
                )
        elif decision != Decision.REJECTED:
            raise ReviewError(_("Choose a decision."), code="decision")
        locked.decision = decision
        locked.decided_at = timezone.now()
        locked.decision_reason = reason
        locked.save(update_fields=["decision", "decided_at", "decision_reason"])
        to_status = Status.APPROVED if decision == Decision.APPROVED else Status.REJECTED
        programme_change_status(
            programme=locked.programme, to_status=to_status, user=user, reason=reason, via_review=True
        )
        kind = EventKind.APPROVED if decision == Decision.APPROVED else EventKind.REJECTED
        _record(locked, kind, user, message=reason)
    _refresh(proposal)
    return proposal


def proposal_request_revision(*, proposal: Proposal, user, reason: str) -> Proposal:
    """The approver sends the proposal back to its focal point with the reason; it can be edited again."""
    reason = reason.strip()
    with transaction.atomic():
        locked = _lock(proposal)
        _require_approver(locked, user)
        if not locked.programme.is_locked_for_review:
            raise ReviewError(
                _("A revision can only be requested while the proposal is submitted or under review."), code="state"
            )
        if not reason:
            raise ReviewError(_("Give the reason for the revision request."), code="reason_required")
        programme_change_status(
            programme=locked.programme, to_status=Status.REVISION_REQUESTED, user=user, reason=reason, via_review=True
        )
        _record(locked, EventKind.REVISION_REQUESTED, user, message=reason)
    _refresh(proposal)
    return proposal


def proposal_resubmit(*, proposal: Proposal, user, message: str = "") -> Proposal:
    """The focal point resubmits the revised proposal; it goes straight back to its reviewers, if any."""
    with transaction.atomic():
        locked = _lock(proposal)
        _require_focal_point(locked.programme, user)
        if locked.programme.status != Status.REVISION_REQUESTED:
            raise ReviewError(_("Only a proposal sent back for revision can be resubmitted."), code="state")
        _require_eligible(locked.programme, locked.kind)
        locked.round += 1
        locked.submitted_at = timezone.now()
        locked.save(update_fields=["round", "submitted_at"])
        programme_change_status(
            programme=locked.programme, to_status=Status.SUBMITTED, user=user, reason=message.strip(), via_review=True
        )
        _record(locked, EventKind.RESUBMITTED, user, message=message.strip())
        if locked.assignments.active().exists():
            programme_change_status(
                programme=locked.programme, to_status=Status.UNDER_REVIEW, user=user, via_review=True
            )
    _refresh(proposal)
    return proposal


def budget_lines_update(
    *, programme: Programme, user, lines: list[dict], delete: list[int] = (), expected_version: int | None = None
) -> None:
    """Save `lines` ({"id" (None for a new line), "category", "description", "amount"}), delete the lines `delete`.

    Like every write of a programme's part: the programme row locked, refused under review or once
    decided, free text normalised, each line validated (errors keyed `lines-<index>-<field>`), history
    attributed to `user`. Budget lines are not part of the programme's edited fields: no version bump.
    """
    with transaction.atomic(), attributed_to(user):
        current = programme_lock(programme=programme, expected_version=expected_version)
        if current.status not in PREPARATION_STATUSES:
            raise ReviewError(
                _("The budget cannot be changed while the proposal is under review or decided."), code="state"
            )
        stored = {line.pk: line for line in BudgetLine.objects.filter(programme=current)}
        wanted, errors = [], {}
        for index, values in enumerate(lines):
            line = stored.get(values.get("id")) or BudgetLine(programme=current)
            changed = any(getattr(line, name) != values[name] for name in ("category", "description", "amount"))
            for name in ("category", "description", "amount"):
                setattr(line, name, values[name])
            normalise_text_fields(line)
            try:
                line.full_clean(exclude=["programme"])
            except ValidationError as invalid:
                for name, messages in invalid.message_dict.items():
                    errors.setdefault(f"lines-{index}-{name}", []).extend(messages)
            wanted.append((line, changed or line.pk is None))
        raise_if(errors)
        for pk in delete:
            if pk in stored:
                stored[pk].delete()
        for line, changed in wanted:
            if changed:
                line.save()
