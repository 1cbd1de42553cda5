"""E-mails of the review workflow: enqueued after commit only, in each recipient's language; overdue reminders."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.core import mail
from django.db import transaction
from django.utils import timezone

from reviews import services
from reviews.models import Decision, EventKind, ReviewAssignment
from reviews.tasks import send_overdue_review_reminders

from .reviews_support import assign, declare_and_review

pytest_plugins = ["tests.reviews_support"]


def test_an_assignment_e_mail_is_enqueued_on_commit_only(
    django_capture_on_commit_callbacks, submitted, manager, expert1
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assign(submitted, manager, expert1)
    assert len(callbacks) == 1 and mail.outbox == []
    callbacks[0]()
    assert [m.to for m in mail.outbox] == [["eve@iom.example"]]


def test_a_rolled_back_step_sends_nothing(django_capture_on_commit_callbacks, submitted, manager, expert1):
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        assign(submitted, manager, expert1)
        raise RuntimeError("the request failed after the assignment")
    assert callbacks == [] and mail.outbox == []
    assert not ReviewAssignment.objects.exists()


def test_a_refused_step_sends_nothing(django_capture_on_commit_callbacks, submitted, approver, expert1):
    with django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(services.ReviewError):
        assign(submitted, approver, expert1)
    assert callbacks == [] and mail.outbox == []


def test_each_reviewer_is_written_to_in_their_own_language(
    django_capture_on_commit_callbacks, submitted, manager, expert1, expert2
):
    with django_capture_on_commit_callbacks(execute=True):
        assign(submitted, manager, expert1)  # prefers French
        assign(submitted, manager, expert2)  # prefers English
    by_recipient = {m.to[0]: m for m in mail.outbox}
    code = submitted.programme.code
    english, french = by_recipient["ed@iom.example"], by_recipient["eve@iom.example"]
    assert english.subject == f"Review requested: {code}"
    assert "/en/reviews/assignments/" in english.body and "conflict of interest" in english.body
    assert french.subject == f"Évaluation demandée : {code}"
    assert "/fr/reviews/assignments/" in french.body and "conflit d'intérêts" in french.body


def test_a_revision_request_is_sent_to_the_focal_point_with_the_reason(
    django_capture_on_commit_callbacks, reviewed, approver
):
    with django_capture_on_commit_callbacks(execute=True):
        services.proposal_request_revision(proposal=reviewed, user=approver, reason="Réduire les frais de bureau.")
    assert [m.to for m in mail.outbox] == [["alice@iom.example"]]
    assert "Réduire les frais de bureau." in mail.outbox[0].body
    assert mail.outbox[0].subject.startswith("Révision demandée")


def test_a_decision_is_sent_to_the_focal_point_and_the_review_manager(
    django_capture_on_commit_callbacks, reviewed, approver
):
    with django_capture_on_commit_callbacks(execute=True):
        services.proposal_decide(proposal=reviewed, user=approver, decision=Decision.APPROVED)
    assert sorted(m.to[0] for m in mail.outbox) == ["alice@iom.example", "rita@iom.example"]
    assert all(reviewed.programme.code in m.subject for m in mail.outbox)


def test_steps_without_e_mail_enqueue_nothing(django_capture_on_commit_callbacks, under_review, expert1):
    _, first, _ = under_review
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        declare_and_review(first, expert1)
    assert callbacks == [] and mail.outbox == []


# --- Overdue reminders ------------------------------------------------------------------------


def make_late(assignment, days: int) -> None:
    ReviewAssignment.objects.filter(pk=assignment.pk).update(due_date=timezone.localdate() - timedelta(days=days))


def test_the_reminder_is_scheduled_daily_by_beat():
    entry = settings.CELERY_BEAT_SCHEDULE["reviews-overdue-reminders"]
    assert entry["task"] == send_overdue_review_reminders.name


def test_reviews_overdue_by_the_configured_days_are_reminded_once_per_period(settings, under_review, expert1, expert2):
    settings.REVIEW_REMINDER_DAYS = 3
    proposal, first, second = under_review
    make_late(first, 3)
    make_late(second, 2)
    assert send_overdue_review_reminders.delay().get() == 1
    assert [m.to for m in mail.outbox] == [["eve@iom.example"]]
    assert "Évaluation en retard" in mail.outbox[0].subject and "3 jours" in mail.outbox[0].body
    assert proposal.events.last().kind == EventKind.REMINDER_SENT
    # Not again the next day; again once the period has passed.
    assert send_overdue_review_reminders() == 0
    ReviewAssignment.objects.filter(pk=first.pk).update(last_reminded_at=timezone.now() - timedelta(days=3))
    assert send_overdue_review_reminders() == 1


def test_submitted_reviews_and_proposals_sent_back_get_no_reminder(settings, under_review, expert1, approver):
    settings.REVIEW_REMINDER_DAYS = 1
    proposal, first, second = under_review
    declare_and_review(first, expert1)
    make_late(first, 10)
    make_late(second, 10)
    services.proposal_request_revision(proposal=proposal, user=approver, reason="Revise.")
    assert send_overdue_review_reminders() == 0 and mail.outbox == []
