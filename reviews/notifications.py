"""E-mails of the review workflow, each rendered in its recipient's preferred language."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from .models import EventKind, ReviewAssignment, TimelineEvent

TEMPLATE_OF_EVENT = {
    EventKind.REVIEWER_ASSIGNED: "review_assigned",
    EventKind.REVIEWER_REASSIGNED: "review_reassigned",
    EventKind.REVISION_REQUESTED: "revision_requested",
    EventKind.APPROVED: "decision",
    EventKind.REJECTED: "decision",
}


def recipients_of(event: TimelineEvent) -> list:
    """Who hears about an event: the reviewer of an assignment, the focal point (and review manager) of a decision."""
    proposal = event.proposal
    focal_point = proposal.programme.iom_focal_point
    if event.kind in (EventKind.REVIEWER_ASSIGNED, EventKind.REVIEWER_REASSIGNED):
        people = [event.assignment.reviewer]
    elif event.kind == EventKind.REVISION_REQUESTED:
        people = [focal_point]
    else:
        people = [focal_point, proposal.review_manager]
    unique = {p.pk: p for p in people if p is not None and p.is_active and p.email and p.pk != event.actor_id}
    return list(unique.values())


def absolute_url(path: str) -> str:
    return settings.SITE_URL.rstrip("/") + path


def send_to(user, template: str, context: dict) -> None:
    """Render subject and body in the recipient's language (URLs too) and send one message."""
    with translation.override(user.preferred_language or settings.LANGUAGE_CODE):
        context = {**context, "recipient": user, "portal_url": settings.SITE_URL}
        if "path" in context:
            name, args = context["path"]
            context["url"] = absolute_url(reverse(name, args=args))
        subject = " ".join(render_to_string(f"reviews/email/{template}_subject.txt", context).split())
        body = render_to_string(f"reviews/email/{template}_body.txt", context)
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [user.email])


def load_event(event_id: int) -> TimelineEvent:
    return TimelineEvent.objects.select_related(
        "actor", "assignment__reviewer", "proposal__programme__iom_focal_point", "proposal__review_manager"
    ).get(pk=event_id)


def send_event_mail(event: TimelineEvent, user) -> None:
    """The e-mail about one timeline event to one recipient."""
    if event.kind in (EventKind.REVIEWER_ASSIGNED, EventKind.REVIEWER_REASSIGNED):
        path = ("reviews:declare", [event.assignment.pk])
    else:
        path = ("reviews:proposal", [event.proposal.programme.code])
    context = {"event": event, "proposal": event.proposal, "programme": event.proposal.programme, "path": path}
    send_to(user, TEMPLATE_OF_EVENT[EventKind(event.kind)], context)


def send_overdue_reminders(*, days: int, now=None) -> int:
    """Remind reviewers whose review is `days` days past due, at most once every `days` days."""
    now = now or timezone.now()
    assignments = (
        ReviewAssignment.objects.overdue_by(days, today=timezone.localdate(now))
        .filter(Q(last_reminded_at__isnull=True) | Q(last_reminded_at__lte=now - timedelta(days=days)))
        .select_related("reviewer", "proposal__programme")
    )
    sent = 0
    for assignment in assignments:
        if not assignment.reviewer.email or not assignment.reviewer.is_active:
            continue
        send_to(
            assignment.reviewer,
            "review_overdue",
            {
                "assignment": assignment,
                "programme": assignment.proposal.programme,
                "days_late": (timezone.localdate(now) - assignment.due_date).days,
                "path": ("reviews:review", [assignment.pk]),
            },
        )
        assignment.last_reminded_at = now
        assignment.save(update_fields=["last_reminded_at"])
        TimelineEvent.objects.create(proposal=assignment.proposal, kind=EventKind.REMINDER_SENT, assignment=assignment)
        sent += 1
    return sent
