"""The review state machine: every legal step, and every illegal one refused with a clear message."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone, translation

from programmes.models import ProgrammeStatusChange, Status
from reviews import services
from reviews.models import BudgetLine, Decision, EventKind, Proposal, ProposalKind, Recommendation, ReviewCriterion
from reviews.services import ReviewError, proposal_is_locked

from .reviews_support import assign, declare_and_review, submit

pytest_plugins = ["tests.reviews_support"]


def refused(code: str, call, *args, **kwargs) -> ReviewError:
    with pytest.raises(ReviewError) as caught:
        call(*args, **kwargs)
    assert caught.value.code == code, caught.value.messages
    return caught.value


def events(proposal) -> list[str]:
    return list(proposal.events.values_list("kind", flat=True))


# --- Legal steps ------------------------------------------------------------------------------


def test_focal_point_submits_an_eligible_pipeline_programme(eligible, focal, manager, approver):
    proposal = submit(eligible, focal, manager, approver)
    eligible.refresh_from_db()
    assert eligible.status == Status.SUBMITTED
    assert proposal.kind == ProposalKind.IDF and proposal.round == 1 and proposal.submitted_at is not None
    assert events(proposal) == [EventKind.SUBMITTED]
    change = ProgrammeStatusChange.objects.get(programme=eligible)
    assert (change.from_status, change.to_status, change.changed_by) == (Status.PIPELINE, Status.SUBMITTED, focal)


def test_first_assignment_starts_the_review_and_the_second_keeps_it(submitted, manager, expert1, expert2):
    first = assign(submitted, manager, expert1)
    assert submitted.programme.status == Status.UNDER_REVIEW and first.round == 1
    assign(submitted, manager, expert2)
    submitted.programme.refresh_from_db()
    assert submitted.programme.status == Status.UNDER_REVIEW
    assert events(submitted).count(EventKind.REVIEWER_ASSIGNED) == 2


def test_approver_approves_with_the_required_completed_reviews(reviewed, approver):
    services.proposal_decide(proposal=reviewed, user=approver, decision=Decision.APPROVED)
    assert reviewed.programme.status == Status.APPROVED
    assert reviewed.decision == Decision.APPROVED and reviewed.decided_at is not None
    assert events(reviewed)[-1] == EventKind.APPROVED


def test_approver_rejects_with_a_reason_even_before_reviews(under_review, approver):
    proposal, *_ = under_review
    services.proposal_decide(proposal=proposal, user=approver, decision=Decision.REJECTED, reason="Out of mandate.")
    assert proposal.programme.status == Status.REJECTED and proposal.decision_reason == "Out of mandate."
    event = proposal.events.last()
    assert event.kind == EventKind.REJECTED and event.message == "Out of mandate." and event.actor == approver


@pytest.mark.parametrize("state", ["submitted", "under_review"])
def test_approver_requests_a_revision_while_submitted_or_under_review(request, state, approver):
    fixture = request.getfixturevalue(state)
    proposal = fixture if state == "submitted" else fixture[0]
    services.proposal_request_revision(proposal=proposal, user=approver, reason="Clarify the exit strategy.")
    assert proposal.programme.status == Status.REVISION_REQUESTED
    assert proposal.events.last().message == "Clarify the exit strategy."


def test_resubmission_goes_back_to_the_reviewers_in_a_new_round(reviewed, focal, approver):
    services.proposal_request_revision(proposal=reviewed, user=approver, reason="Revise the budget.")
    services.proposal_resubmit(proposal=reviewed, user=focal, message="Budget revised.")
    assert reviewed.round == 2 and reviewed.programme.status == Status.UNDER_REVIEW
    steps = list(
        ProgrammeStatusChange.objects.filter(programme=reviewed.programme)
        .order_by("changed_at", "pk")
        .values_list("to_status", flat=True)
    )
    assert steps == [
        Status.SUBMITTED,
        Status.UNDER_REVIEW,
        Status.REVISION_REQUESTED,
        Status.SUBMITTED,
        Status.UNDER_REVIEW,
    ]
    # The first round's reviews stay on record but no longer count: the approver must wait for round 2.
    assert reviewed.completed_review_count() == 0
    with pytest.raises(services.ReviewError) as refused:
        services.proposal_decide(proposal=reviewed, user=approver, decision=Decision.APPROVED)
    assert refused.value.code == "not_enough_reviews"
    again = list(reviewed.assignments.filter(round=2).select_related("reviewer"))
    assert len(again) == 2
    for assignment in again:
        declare_and_review(assignment, assignment.reviewer)
    services.proposal_decide(proposal=reviewed, user=approver, decision=Decision.APPROVED)
    assert reviewed.programme.status == Status.APPROVED


def test_resubmission_without_reviewers_waits_for_the_review_manager(submitted, focal, approver, manager, expert1):
    services.proposal_request_revision(proposal=submitted, user=approver, reason="Incomplete.")
    services.proposal_resubmit(proposal=submitted, user=focal)
    assert submitted.programme.status == Status.SUBMITTED
    assignment = assign(submitted, manager, expert1)
    assert assignment.round == 2 and submitted.programme.status == Status.UNDER_REVIEW


def test_a_reviewer_with_a_conflict_steps_aside_and_loses_access(under_review, expert1):
    proposal, first, _ = under_review
    services.review_report_conflict(assignment=first, user=expert1, reason="My brother works for the partner.")
    assert first.is_declined
    assert not Proposal.objects.visible_to(expert1).exists()
    assert proposal.events.last().kind == EventKind.CONFLICT_REPORTED
    assert proposal.events.last().message == ""  # the reason stays with the review manager
    refused("declined", services.review_declare_no_conflict, assignment=first, user=expert1, statement="x")


def review_round_again(proposal):
    for assignment in proposal.assignments.filter(round=proposal.round).select_related("reviewer"):
        declare_and_review(assignment, assignment.reviewer)


def test_the_whole_history_is_kept(reviewed, focal, approver):
    services.proposal_request_revision(proposal=reviewed, user=approver, reason="Revise.")
    services.proposal_resubmit(proposal=reviewed, user=focal)
    review_round_again(reviewed)
    services.proposal_decide(proposal=reviewed, user=approver, decision=Decision.APPROVED)
    assert events(reviewed) == [
        EventKind.SUBMITTED,
        EventKind.REVIEWER_ASSIGNED,
        EventKind.REVIEWER_ASSIGNED,
        EventKind.NO_CONFLICT_DECLARED,
        EventKind.REVIEW_SUBMITTED,
        EventKind.NO_CONFLICT_DECLARED,
        EventKind.REVIEW_SUBMITTED,
        EventKind.REVISION_REQUESTED,
        EventKind.RESUBMITTED,
        EventKind.REVIEWER_REASSIGNED,
        EventKind.REVIEWER_REASSIGNED,
        EventKind.NO_CONFLICT_DECLARED,
        EventKind.REVIEW_SUBMITTED,
        EventKind.NO_CONFLICT_DECLARED,
        EventKind.REVIEW_SUBMITTED,
        EventKind.APPROVED,
    ]
    assert [e.round for e in reviewed.events.order_by("at", "pk")] == [1] * 8 + [2] * 8
    with translation.override("en"):
        assert reviewed.events.last().describe().endswith("approved the proposal.")


# --- Illegal steps: submission ----------------------------------------------------------------


def test_only_the_focal_point_submits(eligible, manager, approver, viewer):
    refused("not_focal_point", submit, eligible, viewer, manager, approver)
    eligible.refresh_from_db()
    assert eligible.status == Status.PIPELINE and not Proposal.objects.exists()


def test_an_ineligible_programme_is_refused_and_nothing_changes(eligible, focal, manager, approver):
    BudgetLine.objects.filter(programme=eligible, category="staff").update(amount=Decimal("20000.01"))
    BudgetLine.objects.filter(programme=eligible, category="activities").update(amount=Decimal("69999.99"))
    with translation.override("en"):
        error = refused("ineligible", submit, eligible, focal, manager, approver)
    assert "Staff and office costs" in error.messages[0]
    eligible.refresh_from_db()
    assert eligible.status == Status.PIPELINE and not Proposal.objects.exists()


@pytest.mark.parametrize("status", [Status.ACTIVE, Status.APPROVED, Status.REJECTED, Status.CANCELLED])
def test_only_pipeline_programmes_are_submitted(eligible, focal, manager, approver, status):
    eligible.status = status
    eligible.save()
    refused("not_pipeline", submit, eligible, focal, manager, approver)


def test_a_submitted_proposal_cannot_be_submitted_again(submitted, focal, manager, approver):
    refused("not_pipeline", submit, submitted.programme, focal, manager, approver)


def test_a_proposal_sent_back_is_resubmitted_not_submitted(submitted, focal, manager, approver):
    services.proposal_request_revision(proposal=submitted, user=approver, reason="Revise.")
    refused("use_resubmit", submit, submitted.programme, focal, manager, approver)


def test_review_manager_and_approver_must_hold_their_roles(eligible, focal, manager, approver, expert1):
    refused("review_manager", submit, eligible, focal, expert1, approver)
    refused("approver", submit, eligible, focal, manager, expert1)


def test_the_focal_point_cannot_approve_their_own_proposal(eligible, focal, manager):
    from django.contrib.auth.models import Group

    focal.groups.add(Group.objects.get(name="Approvers"))
    refused("approver", submit, eligible, focal, manager, focal)


# --- Illegal steps: assignment ----------------------------------------------------------------


def test_only_the_review_manager_assigns(submitted, approver, expert1):
    refused("not_review_manager", assign, submitted, approver, expert1)


def test_a_reviewer_must_be_a_technical_expert(submitted, manager, viewer):
    refused("not_expert", assign, submitted, manager, viewer)


def test_focal_point_and_approver_cannot_review(submitted, manager, focal, approver):
    from django.contrib.auth.models import Group

    experts = Group.objects.get(name="Technical experts")
    focal.groups.add(experts)
    approver.groups.add(experts)
    refused("conflict", assign, submitted, manager, focal)
    refused("conflict", assign, submitted, manager, approver)


def test_the_same_expert_is_not_assigned_twice_in_a_round(under_review, manager, expert1):
    proposal, *_ = under_review
    refused("duplicate", assign, proposal, manager, expert1)


def test_a_due_date_in_the_past_is_refused(submitted, manager, expert1):
    refused(
        "due_date",
        services.proposal_assign_reviewer,
        proposal=submitted,
        reviewer=expert1,
        user=manager,
        due_date=timezone.localdate() - timedelta(days=1),
    )


def test_no_assignment_after_a_decision_or_during_revision(reviewed, manager, approver, expert3, focal):
    services.proposal_request_revision(proposal=reviewed, user=approver, reason="Revise.")
    refused("state", assign, reviewed, manager, expert3)
    services.proposal_resubmit(proposal=reviewed, user=focal)
    review_round_again(reviewed)
    services.proposal_decide(proposal=reviewed, user=approver, decision=Decision.APPROVED)
    refused("state", assign, reviewed, manager, expert3)


# --- Illegal steps: declaration and review ----------------------------------------------------


def test_only_the_assigned_reviewer_declares_and_reviews(under_review, expert2):
    _, first, _ = under_review
    refused("not_reviewer", services.review_declare_no_conflict, assignment=first, user=expert2, statement="x")


def test_no_review_before_the_declaration(under_review, expert1):
    _, first, _ = under_review
    refused(
        "no_declaration",
        services.review_submit,
        assignment=first,
        user=expert1,
        scores={c.pk: 3 for c in ReviewCriterion.objects.all()},
        comments="x",
        recommendation=Recommendation.APPROVE,
    )


def test_declaration_and_review_happen_once(under_review, expert1):
    _, first, _ = under_review
    declare_and_review(first, expert1)
    refused("already_declared", services.review_declare_no_conflict, assignment=first, user=expert1, statement="x")
    refused(
        "already_reviewed",
        services.review_submit,
        assignment=first,
        user=expert1,
        scores={c.pk: 3 for c in ReviewCriterion.objects.all()},
        comments="x",
        recommendation=Recommendation.APPROVE,
    )


@pytest.mark.parametrize("bad", [{}, {"score": 0}, {"score": 6}])
def test_every_active_criterion_is_scored_from_1_to_5(under_review, expert1, bad):
    _, first, _ = under_review
    services.review_declare_no_conflict(assignment=first, user=expert1, statement="x")
    criteria = list(ReviewCriterion.objects.filter(is_active=True))
    scores = {c.pk: bad.get("score", 3) for c in criteria} if bad else {c.pk: 3 for c in criteria[1:]}
    refused(
        "scores",
        services.review_submit,
        assignment=first,
        user=expert1,
        scores=scores,
        comments="x",
        recommendation=Recommendation.APPROVE,
    )


def test_no_review_after_the_decision(under_review, expert1, expert2, approver):
    proposal, first, second = under_review
    declare_and_review(first, expert1)
    services.review_declare_no_conflict(assignment=second, user=expert2, statement="x")
    services.proposal_decide(proposal=proposal, user=approver, decision=Decision.REJECTED, reason="No.")
    refused(
        "decided",
        services.review_submit,
        assignment=second,
        user=expert2,
        scores={c.pk: 3 for c in ReviewCriterion.objects.filter(is_active=True)},
        comments="Late.",
        recommendation=Recommendation.APPROVE,
    )


def test_no_review_while_a_revision_is_requested(under_review, expert1, approver):
    proposal, first, _ = under_review
    services.review_declare_no_conflict(assignment=first, user=expert1, statement="x")
    services.proposal_request_revision(proposal=proposal, user=approver, reason="Revise.")
    refused(
        "state",
        services.review_submit,
        assignment=first,
        user=expert1,
        scores={c.pk: 3 for c in ReviewCriterion.objects.filter(is_active=True)},
        comments="x",
        recommendation=Recommendation.APPROVE,
    )


# --- Illegal steps: decisions -----------------------------------------------------------------


def test_no_approval_without_the_required_completed_reviews(under_review, expert1, approver):
    proposal, first, _ = under_review
    declare_and_review(first, expert1)
    with translation.override("en"):
        error = refused(
            "not_enough_reviews", services.proposal_decide, proposal=proposal, user=approver, decision="approved"
        )
    assert "2 completed reviews in the current round; 1 is completed." in error.messages[0]
    with translation.override("fr"):
        error = refused(
            "not_enough_reviews", services.proposal_decide, proposal=proposal, user=approver, decision="approved"
        )
    assert "2 évaluations terminées dans le tour actuel ; 1 est terminée." in error.messages[0]  # plurals by count
    assert proposal.programme.status == Status.UNDER_REVIEW


def test_required_reviews_is_per_proposal(under_review, expert1, approver):
    proposal, first, _ = under_review
    Proposal.objects.filter(pk=proposal.pk).update(required_reviews=1)
    declare_and_review(first, expert1)
    services.proposal_decide(proposal=proposal, user=approver, decision=Decision.APPROVED)
    assert proposal.programme.status == Status.APPROVED


def test_only_the_approver_decides(reviewed, manager, focal):
    for user in (manager, focal):
        refused("not_approver", services.proposal_decide, proposal=reviewed, user=user, decision="approved")
        refused("not_approver", services.proposal_request_revision, proposal=reviewed, user=user, reason="x")


def test_a_submitted_proposal_without_reviewers_cannot_be_decided(submitted, approver):
    refused("state", services.proposal_decide, proposal=submitted, user=approver, decision="rejected", reason="x")


def test_rejection_and_revision_need_a_reason(reviewed, approver):
    refused(
        "reason_required", services.proposal_decide, proposal=reviewed, user=approver, decision="rejected", reason=" "
    )
    refused("reason_required", services.proposal_request_revision, proposal=reviewed, user=approver, reason="")
    assert reviewed.programme.status == Status.UNDER_REVIEW


def test_a_decision_is_final(reviewed, approver):
    services.proposal_decide(proposal=reviewed, user=approver, decision=Decision.APPROVED)
    refused("decided", services.proposal_decide, proposal=reviewed, user=approver, decision="rejected", reason="x")
    refused("decided", services.proposal_request_revision, proposal=reviewed, user=approver, reason="x")


def test_no_second_revision_request_while_one_is_pending(submitted, approver):
    services.proposal_request_revision(proposal=submitted, user=approver, reason="Revise.")
    refused("state", services.proposal_request_revision, proposal=submitted, user=approver, reason="Again.")


# --- Illegal steps: resubmission --------------------------------------------------------------


def test_only_the_focal_point_resubmits_a_proposal_sent_back(submitted, focal, approver, manager):
    refused("state", services.proposal_resubmit, proposal=submitted, user=focal)
    services.proposal_request_revision(proposal=submitted, user=approver, reason="Revise.")
    refused("not_focal_point", services.proposal_resubmit, proposal=submitted, user=manager)


def test_an_ineligible_revision_is_not_resubmitted(submitted, focal, approver):
    services.proposal_request_revision(proposal=submitted, user=approver, reason="Revise.")
    BudgetLine.objects.filter(programme=submitted.programme).delete()
    refused("ineligible", services.proposal_resubmit, proposal=submitted, user=focal)
    submitted.programme.refresh_from_db()
    assert submitted.programme.status == Status.REVISION_REQUESTED


# --- Locking ----------------------------------------------------------------------------------


def test_proposal_is_locked_only_while_with_reviewers(eligible, focal, manager, approver, expert1):
    assert not proposal_is_locked(eligible)
    proposal = submit(eligible, focal, manager, approver)
    assert proposal_is_locked(eligible)
    assign(proposal, manager, expert1)
    assert proposal_is_locked(proposal.programme)
    services.proposal_request_revision(proposal=proposal, user=approver, reason="Revise.")
    assert not proposal_is_locked(proposal.programme)


def test_budget_lines_cannot_be_edited_under_review(client, submitted, focal):
    client.force_login(focal)
    line = BudgetLine.objects.filter(programme=submitted.programme).first()
    data = {
        "lines-TOTAL_FORMS": "1",
        "lines-INITIAL_FORMS": "1",
        "lines-0-id": str(line.pk),
        "lines-0-category": "staff",
        "lines-0-amount": "1",
    }
    response = client.post(f"/fr/reviews/{submitted.programme.code}/budget/", data)
    assert response.status_code == 409
    line.refresh_from_db()
    assert line.amount != Decimal("1")


def test_budget_lines_are_edited_in_the_pipeline_and_bad_amounts_are_refused(client, eligible, focal):
    client.force_login(focal)
    line = BudgetLine.objects.filter(programme=eligible, category="staff").get()
    data = {
        "lines-TOTAL_FORMS": "2",
        "lines-INITIAL_FORMS": "1",
        "lines-0-id": str(line.pk),
        "lines-0-category": "staff",
        "lines-0-amount": "-5",
        "lines-1-category": "travel",
        "lines-1-description": "Missions",
        "lines-1-amount": "10",
    }
    url = f"/fr/reviews/{eligible.code}/budget/"
    response = client.post(url, data)
    assert response.status_code == 400 and "Missions" in response.content.decode()
    data["lines-0-amount"] = "15000"
    assert client.post(url, data).status_code == 302
    assert BudgetLine.objects.filter(programme=eligible).count() == 4


def test_other_users_cannot_edit_the_budget_lines(client, eligible, viewer):
    client.force_login(viewer)
    assert client.get(f"/fr/reviews/{eligible.code}/budget/").status_code == 404
