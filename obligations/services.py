"""The one write path of obligations: refresh a programme's calendar, match evidence, waive, remind.

`obligations_refresh` runs when a programme changes (programmes.signals.programme_changed, on commit):
its future open obligations follow the rules and the dates again; past, fulfilled and waived ones are
kept as they are. Evidence is then matched: a document of the obligation's category uploaded from the
day the obligation opens, or the recorded signed agreement.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from partners.models import User
from programmes.models import Document, Participation, Programme, ProgrammeAgreement, Role, Status
from programmes.services import attributed_to
from reporting.models import ResultsReport

from .calendar import Planned, plan
from .models import FULFILLING_REPORT_STATES, Evidence, Obligation, ObligationRule, Responsible

logger = logging.getLogger(__name__)

# A programme that ends this way owes nothing more: its open obligations to come are removed.
STOPPED_STATUSES = (Status.REJECTED, Status.CANCELLED)


def rules_of(programme: Programme) -> list[ObligationRule]:
    """The active rules of the programme's funders and of its recorded agreement."""
    funders = Participation.objects.filter(programme=programme, role=Role.FUNDING).values("organisation_id")
    agreement = ProgrammeAgreement.objects.filter(programme=programme).values("pk")
    return list(
        ObligationRule.objects.filter(rule_set__is_active=True)
        .filter(Q(rule_set__funder__in=funders) | Q(rule_set__agreement__in=agreement))
        .select_related("rule_set")
        .order_by("rule_set_id", "order", "pk")
    )


def _responsible(programme: Programme, rule: ObligationRule, partner_id: int | None) -> dict:
    if rule.responsible == Responsible.PARTNER and partner_id is not None:
        return {"responsible_organisation_id": partner_id, "responsible_user_id": None}
    return {"responsible_organisation_id": None, "responsible_user_id": programme.iom_focal_point_id}


def _values(programme: Programme, item: Planned, partner_id: int | None) -> dict:
    return {
        "rule": item.rule,
        "kind": item.rule.kind,
        "due_date": item.due_date,
        "period_start": item.period_start,
        "period_end": item.period_end,
        "opens_on": item.opens_on,
        "evidence": item.rule.evidence,
        "document_category": item.rule.category,
        **_responsible(programme, item.rule, partner_id),
    }


def obligations_refresh(*, programme_id: int, today: date | None = None, user=None) -> list[Obligation]:
    """Bring the programme's calendar in line with its rules and dates, then match its evidence.

    Created: every planned obligation not yet recorded (one already past when first recorded is listed
    as overdue but not reminded: nobody is e-mailed about a deadline that passed before the portal knew
    it). Updated or removed: open obligations whose due date is today or later. Kept as they are: past,
    fulfilled and waived obligations.
    """
    today = today or timezone.localdate()
    now = timezone.now()
    with transaction.atomic(), attributed_to(user):
        programme = Programme.objects.select_for_update(of=("self",)).filter(pk=programme_id).first()
        if programme is None:
            return []
        wanted = (
            {}
            if programme.status in STOPPED_STATUSES
            else {p.key: p for p in plan(programme, rules_of(programme), today=today)}
        )
        partner_id = (
            Participation.objects.filter(programme=programme, role=Role.IMPLEMENTING_PARTNER)
            .order_by("pk")
            .values_list("organisation_id", flat=True)
            .first()
        )
        existing = {o.key: o for o in Obligation.objects.filter(programme=programme)}
        for key, obligation in existing.items():
            changeable = obligation.is_open and obligation.due_date >= today
            if not changeable:
                continue
            if key not in wanted:
                obligation.delete()
                continue
            values = _values(programme, wanted[key], partner_id)
            changed = [name for name, value in values.items() if getattr(obligation, name) != value]
            if changed:
                for name in changed:
                    setattr(obligation, name, values[name])
                if "due_date" in changed:  # a new date: the reminders start again
                    obligation.reminded_at = obligation.overdue_reminded_at = obligation.escalated_at = None
                    changed += ["reminded_at", "overdue_reminded_at", "escalated_at"]
                obligation.save(update_fields=[f.removesuffix("_id") for f in changed])
        for key, item in wanted.items():
            if key in existing:
                continue
            obligation = Obligation(programme=programme, key=key, **_values(programme, item, partner_id))
            if item.due_date < today:
                obligation.reminded_at = obligation.overdue_reminded_at = obligation.escalated_at = now
            obligation.save()
        _match_evidence(programme)
    return list(Obligation.objects.filter(programme_id=programme_id).order_by("due_date", "pk"))


def obligations_refresh_many(*, programme_ids: list[int], user=None) -> None:
    """obligations_refresh for many programmes (an import's batch of new ones), in three queries for those that
    owe nothing: a calendar comes only from the rules of a funder or of a recorded agreement, and evidence is
    only matched to recorded obligations, so a programme with none of the three is left as it is."""
    ids = list(programme_ids)
    concerned = set(
        Participation.objects.filter(programme_id__in=ids, role=Role.FUNDING).values_list("programme_id", flat=True)
    )
    concerned |= set(ProgrammeAgreement.objects.filter(programme_id__in=ids).values_list("programme_id", flat=True))
    concerned |= set(Obligation.objects.filter(programme_id__in=ids).values_list("programme_id", flat=True))
    for programme_id in sorted(concerned):
        try:
            obligations_refresh(programme_id=programme_id, user=user)
        except Exception:  # as with programme_changed: one programme's failure is logged, the others go on
            logger.exception("obligations of programme %s could not be refreshed", programme_id)


def programmes_of_rule_set(rule_set) -> list[int]:
    """The programmes a rule set applies to: those its funder funds, or its agreement's programme."""
    if rule_set.agreement_id:
        return list(ProgrammeAgreement.objects.filter(pk=rule_set.agreement_id).values_list("programme_id", flat=True))
    return list(
        Participation.objects.filter(organisation_id=rule_set.funder_id, role=Role.FUNDING)
        .exclude(programme__status__in=STOPPED_STATUSES)
        .values_list("programme_id", flat=True)
        .distinct()
    )


def _has_evidence(obligation: Obligation, reports: dict) -> bool:
    if obligation.fulfilled_document_id or obligation.fulfilled_agreement_id:
        return True
    report = reports.get(obligation.fulfilled_report_id)
    return report is not None and report.state in FULFILLING_REPORT_STATES


def _report_for(obligation: Obligation, reports: list) -> ResultsReport | None:
    """A submitted (or approved) results report of the obligation's reporter covering its period; the latest."""
    found = [
        r
        for r in reports
        if r.state in FULFILLING_REPORT_STATES
        and (
            obligation.responsible_organisation_id is None
            or r.organisation_id == obligation.responsible_organisation_id
        )
        and (
            r.period_start <= obligation.period_end and r.period_end >= obligation.period_start
            if obligation.period_start and obligation.period_end
            else obligation.opens_on is None or r.period_end >= obligation.opens_on
        )
    ]
    return max(found, key=lambda r: (r.period_end, r.pk)) if found else None


def _match_evidence(programme: Programme) -> None:
    """Fulfil open obligations with the evidence recorded for them; reopen those whose evidence was removed
    (a deleted document, a results report returned to its reporter)."""
    obligations = list(
        Obligation.objects.filter(programme=programme, waived_at__isnull=True).order_by("due_date", "pk")
    )
    reports = {r.pk: r for r in ResultsReport.objects.filter(programme=programme)}
    for obligation in obligations:
        if obligation.fulfilled_at and not _has_evidence(obligation, reports):
            obligation.fulfilled_at = obligation.fulfilled_report = None
            obligation.save(update_fields=["fulfilled_at", "fulfilled_report"])
    used = {o.fulfilled_document_id for o in obligations if o.fulfilled_document_id}
    used_reports = {o.fulfilled_report_id for o in obligations if o.fulfilled_report_id}
    documents = list(
        Document.objects.filter(programme=programme)
        .exclude(pk__in=used)
        .order_by("uploaded_at", "pk")
        .only("pk", "category", "uploaded_at")
    )
    agreement = ProgrammeAgreement.objects.filter(programme=programme).first()
    now = timezone.now()
    for obligation in obligations:
        if obligation.fulfilled_at:
            continue
        if obligation.evidence == Evidence.AGREEMENT:
            if agreement is None:
                continue
            obligation.fulfilled_agreement = agreement
        else:
            report = None
            if obligation.evidence == Evidence.RESULTS_REPORT:
                report = _report_for(obligation, [r for r in reports.values() if r.pk not in used_reports])
            if report is not None:
                used_reports.add(report.pk)
                obligation.fulfilled_report = report
            else:
                found = next(
                    (
                        d
                        for d in documents
                        if d.category == obligation.document_category
                        and (obligation.opens_on is None or timezone.localdate(d.uploaded_at) >= obligation.opens_on)
                    ),
                    None,
                )
                if found is None:
                    continue
                documents.remove(found)
                obligation.fulfilled_document = found
        obligation.fulfilled_at = now
        obligation.save(update_fields=["fulfilled_at", "fulfilled_document", "fulfilled_agreement", "fulfilled_report"])


def obligation_waive(*, obligation: Obligation, user, reason: str) -> Obligation:
    """IOM staff release an open obligation, with the reason (kept in the history)."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": [_("Give the reason for waiving this obligation.")]})
    with transaction.atomic(), attributed_to(user):
        current = Obligation.objects.select_for_update().get(pk=obligation.pk)
        if not current.is_open:
            raise ValidationError(
                {"reason": [_("This obligation is already fulfilled or waived: there is nothing to waive.")]}
            )
        current.waived_at = timezone.now()
        current.waived_by = user
        current.waived_reason = reason
        current.save(update_fields=["waived_at", "waived_by", "waived_reason"])
    obligation.refresh_from_db()
    return obligation


# --- Reminders ----------------------------------------------------------------------------------


def recipients_of(obligation: Obligation) -> list[User]:
    """The person responsible, or the active users of the responsible partner; else the programme's focal point."""
    if obligation.responsible_organisation_id:
        people = list(User.objects.filter(organisation_id=obligation.responsible_organisation_id, is_active=True))
    elif obligation.responsible_user_id:
        people = [obligation.responsible_user]
    else:
        people = [obligation.programme.iom_focal_point]
    return [p for p in people if p is not None and p.is_active and p.email]


def manager_of(obligation: Obligation) -> User | None:
    """The programme's manager: its IOM focal point."""
    manager = obligation.programme.iom_focal_point
    return manager if manager is not None and manager.is_active and manager.email else None


def _claim(obligation: Obligation, field: str, now) -> bool:
    """Mark the reminder as sent if nobody did yet; False when another run already claimed it."""
    return bool(Obligation.objects.filter(pk=obligation.pk, **{f"{field}__isnull": True}).update(**{field: now}))


def _send(user: User, template: str, obligation: Obligation, today: date) -> None:
    """One e-mail in the recipient's language, through the outbox (delivered after commit)."""
    with translation.override(user.preferred_language or settings.LANGUAGE_CODE):
        context = {
            "recipient": user,
            "obligation": obligation,
            "programme": obligation.programme,
            "days_late": (today - obligation.due_date).days,
            "days_left": (obligation.due_date - today).days,
            "url": settings.SITE_URL.rstrip("/") + reverse("obligations:programme", args=[obligation.programme.code]),
            "portal_url": settings.SITE_URL,
        }
        subject = " ".join(render_to_string(f"obligations/email/{template}_subject.txt", context).split())
        body = render_to_string(f"obligations/email/{template}_body.txt", context)
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [user.email])


def send_reminders(*, today: date | None = None, now=None) -> dict[str, int]:
    """Remind before the due date, when overdue, and escalate to the manager after a delay; each once.

    Running twice (two beat schedulers, a retried task) sends nothing more: each reminder is claimed on
    its row before it is sent, in the same transaction as the outbox message.
    """
    if today is None:
        today, now = timezone.localdate(), now or timezone.now()
    elif now is None:  # a given day (tests, a catch-up run): its morning, when the beat task runs
        now = timezone.make_aware(datetime.combine(today, time(7, 0)))
    sent = {"before": 0, "overdue": 0, "escalated": 0}
    live = (
        Obligation.objects.open()
        .exclude(programme__status__in=STOPPED_STATUSES)
        .select_related("programme__iom_focal_point", "responsible_user")
    )
    steps = [
        (
            "before",
            "reminded_at",
            "obligation_due",
            live.filter(
                reminded_at__isnull=True,
                due_date__gte=today,
                due_date__lte=today + timedelta(days=settings.OBLIGATION_REMINDER_DAYS_BEFORE),
            ),
        ),
        (
            "overdue",
            "overdue_reminded_at",
            "obligation_overdue",
            live.filter(overdue_reminded_at__isnull=True, due_date__lt=today),
        ),
        (
            "escalated",
            "escalated_at",
            "obligation_escalated",
            # The manager hears of it once the responsible was reminded N days ago and it is still open.
            live.filter(
                escalated_at__isnull=True,
                due_date__lt=today - timedelta(days=settings.OBLIGATION_ESCALATION_DAYS),
                overdue_reminded_at__lte=now - timedelta(days=settings.OBLIGATION_ESCALATION_DAYS),
            ),
        ),
    ]
    for step, field, template, queryset in steps:
        for obligation in queryset.order_by("due_date", "pk"):
            with transaction.atomic():
                if not _claim(obligation, field, now):
                    continue
                people = [manager_of(obligation)] if step == "escalated" else recipients_of(obligation)
                for person in [p for p in people if p is not None]:
                    _send(person, template, obligation, today)
                sent[step] += 1
    return sent
