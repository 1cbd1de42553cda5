"""Demo data of the review workflow: roles, reviewer expertise and two proposals to play with.

Call `seed_review_demo()` after `programmes.demo.seed_demo()` (it relies on its programmes and accounts):
- `admin` is review manager and approver; `expert` (CT, AVRR) and `expert2` (CT, AVRR, VM) are reviewers;
- a counter-trafficking programme of `staff`, eligible and in the pipeline, ready to be submitted;
- an AVRR programme of `staff` under review: `expert2` has reviewed it, `expert` still has to.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.contrib.auth.models import Group
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from partners.models import Organisation, User
from programmes.demo import DEMO_CODE_REGEX, DEMO_PASSWORD, DEMO_PDF
from programmes.models import (
    IDF_ORGANISATION_CODE,
    Currency,
    Document,
    DocumentCategory,
    Participation,
    Programme,
    ProgrammeStatusChange,
    Role,
    Scope,
    Sector,
    Status,
    Visibility,
)

from . import services
from .models import (
    APPROVERS_GROUP,
    EXPERTS_GROUP,
    REVIEW_MANAGERS_GROUP,
    BudgetLine,
    Proposal,
    Recommendation,
    ReviewCriterion,
    ReviewerProfile,
)
from .reference import load_review_reference

DEMO_LETTER = "documents/demo/lettre-d-approbation.pdf"


def _prepare(programme: Programme, *, focal_point: User, budget: Decimal, currency: str, lines: list) -> None:
    """Put a demo programme back in the pipeline, eligible for the IOM Development Fund, which funds it."""
    Proposal.objects.filter(programme=programme).delete()
    ProgrammeStatusChange.objects.filter(programme=programme).delete()
    Programme.objects.filter(pk=programme.pk).update(
        status=Status.PIPELINE,
        scope=Scope.NATIONAL,
        budget=budget,
        currency=currency,
        iom_focal_point=focal_point,
        actual_start=None,
        actual_end=None,
        planned_end=programme.planned_start + timedelta(days=730),
    )
    programme.refresh_from_db()
    # The IOM Development Fund funds it (the review road), for the whole budget.
    Participation.objects.filter(programme=programme, role=Role.FUNDING).delete()
    Participation.objects.filter(programme=programme, organisation__code=IDF_ORGANISATION_CODE).delete()
    Participation.objects.create(
        programme=programme,
        organisation=Organisation.objects.get(code=IDF_ORGANISATION_CODE),
        role=Role.FUNDING,
        contribution=budget,
    )
    BudgetLine.objects.filter(programme=programme).delete()
    BudgetLine.objects.bulk_create(
        [BudgetLine(programme=programme, category=c, description=d, amount=Decimal(a)) for c, d, a in lines]
    )
    endorser = Participation.objects.filter(programme=programme, role=Role.ENDORSING_AUTHORITY).first()
    if endorser is None:
        taken = Participation.objects.filter(programme=programme).values_list("organisation_id", flat=True)
        organisation = Organisation.objects.government().exclude(pk__in=taken).order_by("code").first()
        endorser = Participation.objects.create(
            programme=programme, organisation=organisation, role=Role.ENDORSING_AUTHORITY
        )
    if not default_storage.exists(DEMO_LETTER):
        default_storage.save(DEMO_LETTER, ContentFile(DEMO_PDF))
    Document.objects.filter(programme=programme, category=DocumentCategory.ENDORSEMENT_LETTER).delete()
    Document.objects.create(
        programme=programme,
        title=f"Lettre d'approbation — {endorser.organisation.short_name}",
        category=DocumentCategory.ENDORSEMENT_LETTER,
        visibility=Visibility.PARTNERS,
        issuing_organisation=endorser.organisation,
        file=DEMO_LETTER,
        original_filename="lettre-d-approbation.pdf",
        content_type="application/pdf",
        size=len(DEMO_PDF),
        uploaded_by=focal_point,
    )


def _ensure_roles() -> dict[str, User]:
    load_review_reference()
    groups = {name: Group.objects.get(name=name) for name in (REVIEW_MANAGERS_GROUP, APPROVERS_GROUP, EXPERTS_GROUP)}
    users = {u.username: u for u in User.objects.filter(username__in=["admin", "staff", "expert"])}
    expert2, _ = User.objects.update_or_create(
        username="expert2",
        defaults={
            "first_name": "Hadiza",
            "last_name": "Souley",
            "email": "expert2@demo.iom-niger.example",
            "is_staff": True,
            "is_active": True,
            "organisation": None,
            "preferred_language": "en",
        },
    )
    expert2.set_password(DEMO_PASSWORD)
    expert2.save(update_fields=["password"])
    expert2.groups.set([groups[EXPERTS_GROUP]])
    users["expert2"] = expert2
    users["admin"].groups.add(groups[REVIEW_MANAGERS_GROUP], groups[APPROVERS_GROUP])
    sectors = {s.code: s for s in Sector.objects.filter(code__in=["CT", "AVRR", "VM"])}
    for username, codes in [("expert", ["CT", "AVRR"]), ("expert2", ["CT", "AVRR", "VM"])]:
        profile, _ = ReviewerProfile.objects.get_or_create(user=users[username])
        profile.sectors.set([sectors[c] for c in codes])
    return users


@transaction.atomic
def seed_review_demo() -> list[Proposal]:
    """Set up the review roles and the two demo proposals; returns the proposal under review."""
    users = _ensure_roles()
    demo = Programme.objects.filter(code__regex=DEMO_CODE_REGEX).order_by("code")
    ready = demo.filter(primary_sector__code="CT").first()
    reviewing = demo.filter(primary_sector__code="AVRR").first()
    if ready is None or reviewing is None:
        return []
    _prepare(
        ready,
        focal_point=users["staff"],
        budget=Decimal("150000"),
        currency=Currency.USD,
        lines=[
            ("staff", "Chargé de projet (50 %)", "30000"),
            ("office", "Bureau de Niamey", "10000"),
            ("activities", "Formations des forces de sécurité", "80000"),
            ("equipment", "Matériel informatique", "15000"),
            ("travel", "Missions de suivi", "10000"),
            ("evaluation", "Évaluation finale", "5000"),
        ],
    )
    _prepare(
        reviewing,
        focal_point=users["staff"],
        budget=Decimal("90000000"),
        currency=Currency.XOF,
        lines=[
            ("staff", "Assistants de réintégration", "18000000"),
            ("office", "Bureau d'Agadez", "7000000"),
            ("activities", "Kits de réintégration", "55000000"),
            ("evaluation", "Suivi et évaluation", "10000000"),
        ],
    )
    admin, staff = users["admin"], users["staff"]
    proposal = services.proposal_submit(
        programme=reviewing, user=staff, kind="idf", review_manager=admin, approver=admin
    )
    today = timezone.localdate()
    done = services.proposal_assign_reviewer(
        proposal=proposal, reviewer=users["expert2"], user=admin, due_date=today + timedelta(days=3)
    )
    services.proposal_assign_reviewer(
        proposal=proposal, reviewer=users["expert"], user=admin, due_date=today + timedelta(days=7)
    )
    services.review_declare_no_conflict(assignment=done, user=users["expert2"], statement="No conflict of interest.")
    services.review_submit(
        assignment=done,
        user=users["expert2"],
        scores={c.pk: 4 for c in ReviewCriterion.objects.filter(is_active=True)},
        comments="Relevant and well partnered with the Ministry; clarify the exit strategy for reintegration kits.",
        recommendation=Recommendation.APPROVE,
    )
    return [proposal]
