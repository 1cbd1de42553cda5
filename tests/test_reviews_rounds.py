"""Review rounds: a resubmission opens a round that only its own reviews decide; one source of actions."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from programmes.models import Status
from reviews import services
from reviews.models import Decision, EventKind, Proposal, ReviewAssignment, reviews_visible, roles_of
from reviews.notifications import send_overdue_reminders
from reviews.services import Action, ReviewError, proposal_actions

from .conftest import make_programme
from .reviews_support import assign, declare_and_review, make_eligible_programme, submit

pytest_plugins = ["tests.reviews_support"]


def revise_and_resubmit(proposal, approver, focal, django_capture_on_commit_callbacks):
    services.proposal_request_revision(proposal=proposal, user=approver, reason="Revoir le budget.")
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.proposal_resubmit(proposal=proposal, user=focal, message="Budget revu.")


def test_a_full_idf_cycle_with_a_revision_and_a_second_round(
    client, django_capture_on_commit_callbacks, reviewed, focal, manager, approver, expert1, expert2
):
    proposal = reviewed
    assert proposal.completed_review_count() == 2

    revise_and_resubmit(proposal, approver, focal, django_capture_on_commit_callbacks)

    # A new round opens and goes straight back to the last round's reviewers, each with a new task and an e-mail.
    assert proposal.round == 2 and proposal.programme.status == Status.UNDER_REVIEW
    second = {a.reviewer: a for a in proposal.assignments.filter(round=2)}
    assert set(second) == {expert1, expert2}
    assert sorted(m.to[0] for m in mail.outbox) == ["ed@iom.example", "eve@iom.example"]
    english = next(m for m in mail.outbox if m.to == ["ed@iom.example"])
    assert "round 2" in english.subject and f"/reviews/assignments/{second[expert2].pk}/declaration/" in english.body
    assert {a.proposal_id for a in ReviewAssignment.objects.pending().filter(reviewer=expert1)} == {proposal.pk}

    # Only the current round counts: the approver cannot approve on the first round's reviews.
    assert proposal.completed_review_count() == 0
    client.force_login(approver)
    page = client.get(f"/en/reviews/{proposal.programme.code}/").content.decode()
    assert '<dd class="col-sm-9" id="completed-reviews">0 / 2</dd>' in page
    decide_page = client.get(f"/en/reviews/{proposal.programme.code}/decision/").content.decode()
    assert 'value="approve"' not in decide_page and "in the current round; 0 are completed" in decide_page
    with pytest.raises(ReviewError):
        services.proposal_decide(proposal=proposal, user=approver, decision=Decision.APPROVED)

    # The reviewers declare and review again; then the approver approves on round 2.
    declare_and_review(second[expert1], expert1, score=5)
    declare_and_review(second[expert2], expert2, score=5)
    assert proposal.completed_review_count() == 2
    assert proposal.score_summary()["overall"] == 5
    services.proposal_decide(proposal=proposal, user=approver, decision=Decision.APPROVED)
    assert proposal.programme.status == Status.APPROVED

    # Earlier rounds stay readable: the reviews of round 1 and the timeline of both rounds.
    client.force_login(focal)
    page = client.get(f"/en/reviews/{proposal.programme.code}/").content.decode()
    assert 'id="reviews-round-1"' in page and 'id="reviews-round-2"' in page
    assert 'data-round="1"' in page and 'data-round="2"' in page
    assert page.count('class="card mb-3 review"') == 4
    assert "resubmitted the revised proposal: round 2 opens." in page


def test_a_reviewer_who_stepped_aside_is_not_asked_again(
    django_capture_on_commit_callbacks, submitted, focal, manager, approver, expert1, expert2
):
    first = assign(submitted, manager, expert1)
    assign(submitted, manager, expert2)
    services.review_report_conflict(assignment=first, user=expert1, reason="Ancien employeur du partenaire.")
    revise_and_resubmit(submitted, approver, focal, django_capture_on_commit_callbacks)
    assert list(submitted.assignments.filter(round=2).values_list("reviewer__username", flat=True)) == [
        expert2.username
    ]
    assert [m.to for m in mail.outbox] == [["ed@iom.example"]]


def test_a_first_round_assignment_cannot_be_used_in_the_second_round(
    django_capture_on_commit_callbacks, under_review, focal, approver, expert1
):
    proposal, first, _ = under_review
    revise_and_resubmit(proposal, approver, focal, django_capture_on_commit_callbacks)
    with pytest.raises(ReviewError) as refused:
        declare_and_review(first, expert1)
    assert refused.value.code == "not_reviewer"


def test_the_review_manager_staffs_only_the_current_round(
    django_capture_on_commit_callbacks, under_review, focal, manager, approver, expert1, expert2
):
    proposal, first, _ = under_review
    services.review_report_conflict(assignment=first, user=expert1, reason="Conflit.")
    revise_and_resubmit(proposal, approver, focal, django_capture_on_commit_callbacks)
    # Round 2 has one reviewer (expert2): two are required, so the manager still has to staff it.
    assert list(Proposal.objects.needing_reviewers_from(manager)) == [proposal]
    assert Proposal.objects.for_list().get(pk=proposal.pk).completed_count == 0


def test_overdue_reminders_concern_the_current_round_only(
    django_capture_on_commit_callbacks, under_review, focal, approver, expert1, expert2
):
    proposal, *_ = under_review
    revise_and_resubmit(proposal, approver, focal, django_capture_on_commit_callbacks)
    ReviewAssignment.objects.filter(proposal=proposal).update(due_date=timezone.localdate() - timedelta(days=10))
    mail.outbox.clear()
    assert send_overdue_reminders(days=3) == 2
    reminded = ReviewAssignment.objects.filter(last_reminded_at__isnull=False)
    assert set(reminded.values_list("round", flat=True)) == {2}


def test_the_focal_point_reads_the_earlier_rounds_but_not_the_current_one_under_review(
    django_capture_on_commit_callbacks, reviewed, focal, approver, expert1
):
    revise_and_resubmit(reviewed, approver, focal, django_capture_on_commit_callbacks)
    again = reviewed.assignments.get(round=2, reviewer=expert1)
    declare_and_review(again, expert1)
    visible = reviews_visible(reviewed, roles_of(reviewed, focal))
    assert {r.assignment.round for r in visible} == {1}
    # The reviewer reads the rounds in which they have reviewed.
    assert {r.assignment.round for r in reviews_visible(reviewed, roles_of(reviewed, expert1))} == {1, 2}


# --- One source of actions -----------------------------------------------------------------------------

SERVICE_OF_ACTION = {
    Action.ASSIGN: lambda p, user, people: services.proposal_assign_reviewer(
        proposal=p, reviewer=people["expert3"], user=user, due_date=timezone.localdate() + timedelta(days=5)
    ),
    Action.APPROVE: lambda p, user, people: services.proposal_decide(proposal=p, user=user, decision=Decision.APPROVED),
    Action.REJECT: lambda p, user, people: services.proposal_decide(
        proposal=p, user=user, decision=Decision.REJECTED, reason="Non."
    ),
    Action.REQUEST_REVISION: lambda p, user, people: services.proposal_request_revision(
        proposal=p, user=user, reason="Revoir."
    ),
    Action.RESUBMIT: lambda p, user, people: services.proposal_resubmit(proposal=p, user=user),
}


@pytest.mark.parametrize("state", ["submitted", "under_review", "reviewed"])
@pytest.mark.parametrize("persona", ["focal", "manager", "approver", "expert1"])
def test_every_action_refused_by_proposal_actions_is_refused_by_its_service_with_the_same_message(
    request, state, persona, expert3
):
    fixture = request.getfixturevalue(state)
    proposal = fixture[0] if isinstance(fixture, tuple) else fixture
    user = request.getfixturevalue(persona)
    people = {"expert3": expert3}
    actions = proposal_actions(proposal.programme, user, proposal=proposal)
    for action, service in SERVICE_OF_ACTION.items():
        check = actions[action]
        if check:
            continue
        with pytest.raises(ReviewError) as refused:
            service(Proposal.objects.get(pk=proposal.pk), user, people)
        assert (refused.value.code, refused.value.messages[0]) == (check.code, check.message)


@pytest.mark.parametrize("state", ["submitted", "under_review", "reviewed"])
@pytest.mark.parametrize("persona", ["focal", "manager", "approver", "expert1"])
def test_the_proposal_page_shows_a_button_exactly_for_the_allowed_actions(client, request, state, persona):
    fixture = request.getfixturevalue(state)
    proposal = fixture[0] if isinstance(fixture, tuple) else fixture
    user = request.getfixturevalue(persona)
    actions = proposal_actions(proposal.programme, user, proposal=proposal)
    client.force_login(user)
    response = client.get(f"/en/reviews/{proposal.programme.code}/", follow=True)
    page = response.content.decode()
    code = proposal.programme.code
    assert (f'href="/en/reviews/{code}/reviewers/">Assign reviewers' in page) == bool(actions[Action.ASSIGN])
    can_decide = any(actions[a] for a in (Action.APPROVE, Action.REJECT, Action.REQUEST_REVISION))
    assert (f'href="/en/reviews/{code}/decision/">Decide' in page) == can_decide


def test_an_agreement_road_programme_is_not_offered_the_review(client, focal, manager, approver):
    programme = make_programme(status=Status.PIPELINE, iom_focal_point=focal, summary_fr="Résumé")
    actions = proposal_actions(programme, focal)
    assert not actions[Action.SUBMIT] and actions[Action.SUBMIT].code == "road"
    with pytest.raises(ReviewError) as refused:
        submit(programme, focal, manager, approver)
    assert refused.value.code == "road"

    client.force_login(focal)
    assert 'id="review-panel"' not in client.get(f"/en/programmes/{programme.code}/").content.decode()
    page = client.get(f"/en/reviews/{programme.code}/").content.decode()
    assert 'id="submit-refusal"' in page and 'id="submit-form"' not in page


def test_an_idf_programme_is_offered_the_review_on_its_page(client, focal):
    programme = make_eligible_programme(focal)
    client.force_login(focal)
    assert 'id="review-panel"' in client.get(f"/en/programmes/{programme.code}/").content.decode()


def test_the_timeline_names_the_round_of_each_event(django_capture_on_commit_callbacks, under_review, focal, approver):
    proposal, *_ = under_review
    revise_and_resubmit(proposal, approver, focal, django_capture_on_commit_callbacks)
    kinds = list(proposal.events.filter(round=2).values_list("kind", flat=True))
    assert kinds == [EventKind.RESUBMITTED, EventKind.REVIEWER_REASSIGNED, EventKind.REVIEWER_REASSIGNED]
