"""The programme lifecycle: only the allowed transitions, each recorded in the history."""

import itertools

import pytest

from programmes.models import REVIEW_STEPS, TRANSITIONS, Status
from programmes.services import TransitionNotAllowed, programme_change_status

from .conftest import make_programme
from .lifecycle_support import fund_by_idf, record_basis

LEGAL = [(a, b) for a, targets in TRANSITIONS.items() for b in targets]
ILLEGAL = [(a, b) for a in Status for b in Status if b not in TRANSITIONS[a]]


def test_the_agreement_road_goes_from_pipeline_to_approved_directly():
    assert Status.APPROVED in TRANSITIONS[Status.PIPELINE]
    assert (Status.PIPELINE, Status.APPROVED) not in REVIEW_STEPS


def test_the_happy_path_goes_from_pipeline_to_closed():
    path = [
        Status.PIPELINE,
        Status.SUBMITTED,
        Status.UNDER_REVIEW,
        Status.APPROVED,
        Status.ACTIVE,
        Status.COMPLETED,
        Status.CLOSED,
    ]
    for current, following in itertools.pairwise(path):
        assert following in TRANSITIONS[current]


def test_terminal_statuses_allow_nothing():
    assert TRANSITIONS[Status.CLOSED] == TRANSITIONS[Status.REJECTED] == TRANSITIONS[Status.CANCELLED] == ()


@pytest.mark.parametrize(("from_status", "to_status"), LEGAL)
def test_each_legal_transition_is_applied_and_recorded(reference, staff, from_status, to_status):
    programme = make_programme(status=from_status)
    if (from_status, to_status) == (Status.PIPELINE, Status.SUBMITTED):
        fund_by_idf(programme)  # the review road
    if (from_status, to_status) == (Status.PIPELINE, Status.APPROVED):
        record_basis(programme, staff)  # the agreement road, basis recorded
    version = programme.version

    review_step = (from_status, to_status) in REVIEW_STEPS
    change = programme_change_status(
        programme=programme, to_status=to_status, user=staff, reason="test", via_review=review_step
    )

    programme.refresh_from_db()
    assert programme.status == to_status
    assert programme.version == version + 1
    assert (change.from_status, change.to_status, change.changed_by) == (from_status, to_status, staff)


@pytest.mark.parametrize(("from_status", "to_status"), ILLEGAL)
def test_each_illegal_transition_is_refused_and_changes_nothing(reference, staff, from_status, to_status):
    programme = make_programme(status=from_status)

    with pytest.raises(TransitionNotAllowed):
        programme_change_status(programme=programme, to_status=to_status, user=staff)

    programme.refresh_from_db()
    assert programme.status == from_status
    assert not programme.status_changes.exists()


def test_an_unknown_status_is_refused(reference, staff):
    programme = make_programme(status=Status.PIPELINE)
    with pytest.raises(TransitionNotAllowed):
        programme_change_status(programme=programme, to_status="teleported", user=staff)


@pytest.mark.parametrize(("from_status", "to_status"), sorted(REVIEW_STEPS))
def test_review_steps_are_refused_as_plain_status_actions(reference, staff, from_status, to_status):
    programme = fund_by_idf(make_programme(status=from_status))

    with pytest.raises(TransitionNotAllowed):
        programme_change_status(programme=programme, to_status=to_status, user=staff)

    programme.refresh_from_db()
    assert programme.status == from_status
    assert to_status not in programme.manual_transitions()


def test_manual_actions_keep_the_operational_steps():
    from programmes.models import Programme

    assert Programme(status=Status.ACTIVE).manual_transitions() == (Status.COMPLETED, Status.SUSPENDED)
    assert Programme(status=Status.UNDER_REVIEW).manual_transitions() == ()
    assert Programme(status=Status.PIPELINE).manual_transitions() == (Status.CANCELLED,)
