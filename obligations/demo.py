"""Demo data of the obligation calendar: one IOM Development Fund programme of partner.anltp with its calendar.

Every obligation already past is fulfilled by a demo document except the latest one, left overdue (it is
on the overdue boards; no reminder goes out for it, as for any deadline already past when recorded).
"""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from partners.models import Organisation
from programmes.demo import DEMO_CODE_REGEX, demo_document
from programmes.models import IDF_ORGANISATION_CODE, Participation, Programme, Role, Status

from .models import Obligation
from .reference import ensure_idf_rule_set
from .services import obligations_refresh


def demo_programme() -> Programme | None:
    """An active demo programme of ANLTP/TIM under way for a few months."""
    today = timezone.localdate()
    return (
        Programme.objects.filter(
            code__regex=DEMO_CODE_REGEX,
            status=Status.ACTIVE,
            participations__organisation__code="anltp-tim",
            actual_start__gte=today - timedelta(days=400),
            actual_start__lte=today - timedelta(days=60),
        )
        .exclude(planned_end__isnull=True)
        .order_by("actual_start", "code")  # the longest under way: several deadlines already past
        .first()
    )


def seed_obligation_demo() -> Programme | None:
    ensure_idf_rule_set()
    programme = demo_programme()
    fund = Organisation.objects.filter(code=IDF_ORGANISATION_CODE).first()
    if programme is None or fund is None:
        return None
    Participation.objects.filter(programme=programme).filter(role=Role.FUNDING).delete()
    Participation.objects.filter(programme=programme, organisation=fund).delete()
    Participation.objects.create(
        programme=programme, organisation=fund, role=Role.FUNDING, contribution=(programme.budget * 8 / 10).quantize(1)
    )
    today = timezone.localdate()
    obligations_refresh(programme_id=programme.pk, today=today)
    past = list(Obligation.objects.filter(programme=programme).overdue(today).order_by("due_date", "pk"))
    for obligation in past[:-1]:
        demo_document(
            programme,
            title=f"{obligation.get_kind_display()} — {programme.code}",
            category=obligation.document_category,
            uploaded_by=programme.iom_focal_point,
        )
    obligations_refresh(programme_id=programme.pk, today=today)
    return programme
