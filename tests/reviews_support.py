"""Fixtures and helpers of the review tests: the review personas and an eligible IDF programme."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from partners.models import OrganisationCategory
from programmes.models import (
    Document,
    DocumentCategory,
    Participation,
    ProgrammeLocation,
    Role,
    Scope,
    Status,
)
from regions.models import AdminUnit
from reviews import services
from reviews.models import (
    APPROVERS_GROUP,
    EXPERTS_GROUP,
    REVIEW_MANAGERS_GROUP,
    BudgetLine,
    ProposalKind,
    Recommendation,
    ReviewCriterion,
)
from reviews.reference import load_review_reference

from .conftest import make_organisation, make_programme, make_user
from .lifecycle_support import fund_by_idf


@pytest.fixture
def review_reference(reference):
    """Fund rules, criteria, rates and groups (a transactional test elsewhere may have flushed them)."""
    load_review_reference()


@pytest.fixture
def focal(review_reference, staff):
    """The programme's IOM focal point: the `staff` persona (an IOM programme officer), reading French."""
    staff.email = "alice@iom.example"
    staff.save(update_fields=["email"])
    return staff


@pytest.fixture
def manager(review_reference):
    return make_user("rita.manager", is_staff=True, group=REVIEW_MANAGERS_GROUP, email="rita@iom.example")


@pytest.fixture
def approver(review_reference):
    return make_user("alan.approver", is_staff=True, group=APPROVERS_GROUP, email="alan@iom.example")


@pytest.fixture
def expert1(review_reference):
    return make_user("eve.expert", is_staff=True, group=EXPERTS_GROUP, email="eve@iom.example")


@pytest.fixture
def expert2(review_reference):
    return make_user("ed.expert", is_staff=True, group=EXPERTS_GROUP, email="ed@iom.example", preferred_language="en")


@pytest.fixture
def expert3(review_reference):
    return make_user("una.expert", is_staff=True, group=EXPERTS_GROUP, email="una@iom.example")


def make_eligible_programme(focal_point, *partners, **fields):
    """A national IDF-eligible pipeline programme: USD 100,000, staff + office exactly 30%, endorsed."""
    defaults = {
        "status": Status.PIPELINE,
        "scope": Scope.NATIONAL,
        "budget": Decimal("100000"),
        "currency": "USD",
        "summary_fr": "Résumé du projet.",
        "iom_focal_point": focal_point,
    }
    programme = make_programme(*partners, **{**defaults, **fields})
    ProgrammeLocation.objects.create(programme=programme, admin_unit=AdminUnit.objects.get(pcode="NE006012007"))
    ministry = make_organisation(f"min-{programme.pk}", category=OrganisationCategory.NATIONAL_GOVERNMENT)
    Participation.objects.create(programme=programme, organisation=ministry, role=Role.ENDORSING_AUTHORITY)
    Document.objects.create(
        programme=programme,
        title="Lettre d'approbation",
        category=DocumentCategory.ENDORSEMENT_LETTER,
        issuing_organisation=ministry,
        file="documents/test/letter.pdf",
    )
    fund_by_idf(programme, Decimal("80000"))
    BudgetLine.objects.bulk_create(
        [
            BudgetLine(programme=programme, category="staff", amount=Decimal("20000")),
            BudgetLine(programme=programme, category="office", amount=Decimal("10000")),
            BudgetLine(programme=programme, category="activities", amount=Decimal("70000")),
        ]
    )
    return programme


@pytest.fixture
def eligible(focal, org_a):
    """Shared with partner organisation A, so that partner A could see the programme itself."""
    return make_eligible_programme(focal, org_a)


def submit(programme, focal_point, manager, approver):
    return services.proposal_submit(
        programme=programme, user=focal_point, kind=ProposalKind.IDF, review_manager=manager, approver=approver
    )


def assign(proposal, manager, expert, days: int = 14):
    return services.proposal_assign_reviewer(
        proposal=proposal, reviewer=expert, user=manager, due_date=timezone.localdate() + timedelta(days=days)
    )


def declare_and_review(assignment, expert, score: int = 4, recommendation: str = Recommendation.APPROVE):
    services.review_declare_no_conflict(assignment=assignment, user=expert, statement="No conflict.")
    return services.review_submit(
        assignment=assignment,
        user=expert,
        scores={c.pk: score for c in ReviewCriterion.objects.filter(is_active=True)},
        comments=f"Comments of {expert.username}.",
        recommendation=recommendation,
    )


@pytest.fixture
def submitted(eligible, focal, manager, approver):
    return submit(eligible, focal, manager, approver)


@pytest.fixture
def under_review(submitted, manager, expert1, expert2):
    """Under review with two assigned reviewers, none of whom has declared or reviewed yet."""
    first = assign(submitted, manager, expert1)
    second = assign(submitted, manager, expert2)
    return submitted, first, second


@pytest.fixture
def reviewed(under_review, expert1, expert2):
    """Under review with both required reviews completed."""
    proposal, first, second = under_review
    declare_and_review(first, expert1, score=4)
    declare_and_review(second, expert2, score=2, recommendation=Recommendation.REVISE)
    return proposal
