"""The review workflow: submit, assign, declare, review, decide, request revision, resubmit.

Every function checks who may act and in which state, moves the programme status only through
`programme_change_status`, writes a timeline event, and enqueues e-mails after commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _l
from django.utils.translation import ngettext

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

NOTIFIED_EVENTS = (
    EventKind.REVIEWER_ASSIGNED,
    EventKind.REVIEWER_REASSIGNED,
    EventKind.REVISION_REQUESTED,
    EventKind.APPROVED,
    EventKind.REJECTED,
)
# A reviewer asked again after a revision gets at least this many days.
MIN_ROUND_DAYS = 7


class ReviewError(ValidationError):
    """A review step refused: wrong person, wrong state, or missing information."""


def proposal_is_locked(programme: Programme) -> bool:
    """True while a proposal is with reviewers or the approver: nobody edits it until a revision is requested."""
    return programme.is_locked_for_review


def in_group(user, group: str) -> bool:
    return bool(user and user.is_iom_staff and user.groups.filter(name=group).exists())


def _record(proposal: Proposal, kind: str, actor, *, assignment=None, message: str = "") -> TimelineEvent:
    event = TimelineEvent.objects.create(
        proposal=proposal, kind=kind, actor=actor, assignment=assignment, message=message, round=proposal.round
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


def _require_eligible(programme: Programme, kind: str) -> None:
    items = eligibility_checklist(programme, kind)
    if not all_pass(items):
        failing = "; ".join(f"{item.label}: {item.message}" for item in items if not item.passed)
        raise ReviewError(_("The proposal is not eligible yet — %(failing)s") % {"failing": failing}, code="ineligible")


def _refresh(proposal: Proposal) -> None:
    proposal.refresh_from_db()
    proposal.programme.refresh_from_db()


# --- What a user can do on a proposal: one function for the buttons and the services -------------


class Action(models.TextChoices):
    SUBMIT = "submit", _l("Submit for review")
    RESUBMIT = "resubmit", _l("Resubmit the revised proposal")
    ASSIGN = "assign", _l("Assign reviewers")
    DECLARE = "declare", _l("Declare conflicts of interest")
    REVIEW = "review", _l("Write my review")
    APPROVE = "approve", _l("Approve")
    REJECT = "reject", _l("Reject")
    REQUEST_REVISION = "request_revision", _l("Request a revision")


@dataclass(frozen=True)
class ActionCheck:
    """Whether a user may take one action on a proposal now; if not, the code and message why."""

    action: str
    code: str = ""
    message: str = ""

    def __bool__(self) -> bool:
        return not self.code

    @property
    def allowed(self) -> bool:
        return not self.code

    def refuse(self) -> None:
        if self.code:
            raise ReviewError(self.message, code=self.code)


def proposal_actions(
    programme: Programme, user, *, proposal: Proposal | None = None, assignment: ReviewAssignment | None = None
) -> dict[str, ActionCheck]:
    """Every review action with whether `user` may take it now (and why not): the one source of the
    proposal page's buttons and of the services' checks, so no button leads to a refusal.

    `proposal` is the programme's proposal (looked up when not given); `assignment` is the user's
    assignment of the current round (looked up when not given).
    """
    if proposal is None:
        proposal = Proposal.objects.filter(programme=programme).first()
    status = programme.status
    checks: dict[str, ActionCheck] = {}

    def refuse(action: str, code: str, message: str) -> None:
        checks.setdefault(action, ActionCheck(action, code, str(message)))

    is_staff = bool(getattr(user, "is_iom_staff", False))
    # Submission and resubmission: the focal point.
    for action in (Action.SUBMIT, Action.RESUBMIT):
        if not is_staff or programme.iom_focal_point_id != user.pk:
            refuse(action, "not_focal_point", _("Only the programme's IOM focal point can submit it for review."))
    if status == Status.REVISION_REQUESTED:
        refuse(Action.SUBMIT, "use_resubmit", _("A revision was requested: resubmit the proposal instead."))
    elif status != Status.PIPELINE:
        refuse(
            Action.SUBMIT,
            "not_pipeline",
            _("Only a programme in the pipeline can be submitted for review (this one is “%(status)s”).")
            % {"status": programme.get_status_display()},
        )
    if Action.SUBMIT not in checks:
        road = programme.transition_refusal(Status.SUBMITTED, via_review=True)
        if road is not None:
            refuse(Action.SUBMIT, road[0], road[1])
    if proposal is None:
        refuse(Action.RESUBMIT, "no_proposal", _("This programme has no proposal yet."))
    elif status != Status.REVISION_REQUESTED:
        refuse(Action.RESUBMIT, "state", _("Only a proposal sent back for revision can be resubmitted."))

    # Everything else needs a proposal.
    later = (Action.ASSIGN, Action.DECLARE, Action.REVIEW, Action.APPROVE, Action.REJECT, Action.REQUEST_REVISION)
    if proposal is None:
        for action in later:
            refuse(action, "no_proposal", _("This programme has no proposal yet."))
        return {a: checks.get(a, ActionCheck(a)) for a in Action.values}

    if user.pk != proposal.review_manager_id:
        refuse(Action.ASSIGN, "not_review_manager", _("Only the proposal's review manager assigns reviewers."))
    elif status not in (Status.SUBMITTED, Status.UNDER_REVIEW):
        refuse(
            Action.ASSIGN, "state", _("Reviewers can only be assigned while the proposal is submitted or under review.")
        )

    if assignment is None:
        assignment = (
            ReviewAssignment.objects.filter(proposal=proposal, reviewer=user, round=proposal.round)
            .select_related("review")
            .first()
        )
    for action in (Action.DECLARE, Action.REVIEW):
        if assignment is None or assignment.round != proposal.round:
            refuse(action, "not_reviewer", _("You are not a reviewer of this proposal in its current round."))
        elif assignment.is_declined:
            refuse(action, "declined", _("You reported a conflict of interest for this proposal."))
        elif proposal.is_decided:
            refuse(action, "decided", _("A decision was already taken on this proposal: no more reviews."))
    if assignment is not None and assignment.has_declared_no_conflict:
        refuse(Action.DECLARE, "already_declared", _("You already declared having no conflict of interest."))
    if assignment is not None and not assignment.has_declared_no_conflict:
        refuse(Action.REVIEW, "no_declaration", _("Declare that you have no conflict of interest first."))
    if assignment is not None and Review.objects.filter(assignment=assignment).exists():
        refuse(Action.REVIEW, "already_reviewed", _("You already submitted your review."))
    if status != Status.UNDER_REVIEW:
        refuse(Action.REVIEW, "state", _("Reviews can only be submitted while the proposal is under review."))

    for action in (Action.APPROVE, Action.REJECT, Action.REQUEST_REVISION):
        if user.pk != proposal.approver_id:
            refuse(action, "not_approver", _("Only the proposal's approver decides."))
        elif proposal.is_decided:
            refuse(action, "decided", _("A decision was already taken on this proposal."))
    for action in (Action.APPROVE, Action.REJECT):
        if status != Status.UNDER_REVIEW:
            refuse(action, "state", _("Only a proposal under review can be approved or rejected."))
    if status not in (Status.SUBMITTED, Status.UNDER_REVIEW):
        refuse(
            Action.REQUEST_REVISION,
            "state",
            _("A revision can only be requested while the proposal is submitted or under review."),
        )
    if Action.APPROVE not in checks:
        completed = proposal.completed_review_count()
        if completed < proposal.required_reviews:
            refuse(
                Action.APPROVE,
                "not_enough_reviews",
                " ".join(
                    (
                        ngettext(
                            "Approval needs %(required)s completed review in the current round;",
                            "Approval needs %(required)s completed reviews in the current round;",
                            proposal.required_reviews,
                        )
                        % {"required": proposal.required_reviews},
                        ngettext("%(completed)s is completed.", "%(completed)s are completed.", completed)
                        % {"completed": completed},
                    )
                ),
            )
    return {a: checks.get(a, ActionCheck(a)) for a in Action.values}


def _require(action: str, programme: Programme, user, **kwargs) -> None:
    proposal_actions(programme, user, **kwargs)[action].refuse()


def proposal_submit(*, programme: Programme, user, kind: str, review_manager, approver) -> Proposal:
    """The focal point sends a pipeline programme for review once the eligibility checklist passes."""
    caller_programme = programme
    with transaction.atomic():
        programme = Programme.objects.select_for_update().get(pk=programme.pk)
        _require(Action.SUBMIT, programme, user)
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
        _require(Action.ASSIGN, locked.programme, user, proposal=locked)
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
    return locked


def _require_on_assignment(action: str, locked: ReviewAssignment, user) -> None:
    proposal = locked.proposal
    _require(action, proposal.programme, user, proposal=proposal, assignment=locked)


def review_declare_no_conflict(*, assignment: ReviewAssignment, user, statement: str) -> ReviewAssignment:
    """The reviewer declares having no conflict of interest; only then may they read the proposal."""
    with transaction.atomic():
        locked = _lock_assignment(assignment, user)
        _require_on_assignment(Action.DECLARE, locked, user)
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
        _require_on_assignment(Action.DECLARE, locked, user)
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
        _require_on_assignment(Action.REVIEW, locked, user)
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


def proposal_decide(*, proposal: Proposal, user, decision: str, reason: str = "") -> Proposal:
    """The approver approves (with enough completed reviews) or rejects (with a reason)."""
    reason = reason.strip()
    with transaction.atomic():
        locked = _lock(proposal)
        if decision not in (Decision.APPROVED, Decision.REJECTED):
            _require(Action.REJECT, locked.programme, user, proposal=locked)
            raise ReviewError(_("Choose a decision."), code="decision")
        action = Action.APPROVE if decision == Decision.APPROVED else Action.REJECT
        _require(action, locked.programme, user, proposal=locked)
        if decision == Decision.REJECTED and not reason:
            raise ReviewError(_("Give the reason for the rejection."), code="reason_required")
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
        _require(Action.REQUEST_REVISION, locked.programme, user, proposal=locked)
        if not reason:
            raise ReviewError(_("Give the reason for the revision request."), code="reason_required")
        programme_change_status(
            programme=locked.programme, to_status=Status.REVISION_REQUESTED, user=user, reason=reason, via_review=True
        )
        _record(locked, EventKind.REVISION_REQUESTED, user, message=reason)
    _refresh(proposal)
    return proposal


def proposal_resubmit(*, proposal: Proposal, user, message: str = "") -> Proposal:
    """The focal point resubmits the revised proposal: a new round opens, in which the reviewers of the
    last round (those who did not step aside) get a new assignment and an e-mail; only this round's
    reviews count for the decision."""
    with transaction.atomic():
        locked = _lock(proposal)
        _require(Action.RESUBMIT, locked.programme, user, proposal=locked)
        _require_eligible(locked.programme, locked.kind)
        previous = list(locked.assignments.filter(round=locked.round).active().order_by("assigned_at", "pk"))
        locked.round += 1
        locked.submitted_at = timezone.now()
        locked.save(update_fields=["round", "submitted_at"])
        programme_change_status(
            programme=locked.programme, to_status=Status.SUBMITTED, user=user, reason=message.strip(), via_review=True
        )
        _record(locked, EventKind.RESUBMITTED, user, message=message.strip())
        today = timezone.localdate()
        for earlier in previous:
            days = max((earlier.due_date - timezone.localdate(earlier.assigned_at)).days, MIN_ROUND_DAYS)
            again = ReviewAssignment.objects.create(
                proposal=locked,
                reviewer=earlier.reviewer,
                assigned_by=earlier.assigned_by,
                round=locked.round,
                due_date=today + timedelta(days=days),
            )
            _record(locked, EventKind.REVIEWER_REASSIGNED, user, assignment=again)
        if previous:
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
