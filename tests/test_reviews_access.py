"""Who sees what: proposals, reviews and review pages for every role, reviewer isolation, and the pages' forms."""

import pytest
from django.db import connection
from django.template import Context, Template
from django.test.utils import CaptureQueriesContext

from programmes.models import Status
from reviews import services
from reviews.models import Proposal, Recommendation, ReviewCriterion

from .reviews_support import assign, declare_and_review, make_eligible_programme, submit

pytest_plugins = ["tests.reviews_support"]

ROLES = ["manager", "approver", "focal", "expert1"]
OUTSIDERS = ["viewer", "expert3", "admin_user", "partner_a", "partner_b"]


@pytest.mark.parametrize("persona", ROLES + OUTSIDERS)
def test_only_people_with_a_role_see_a_proposal_under_review(request, persona, under_review):
    proposal, *_ = under_review
    user = request.getfixturevalue(persona)
    assert Proposal.objects.visible_to(user).filter(pk=proposal.pk).exists() is (persona in ROLES)


@pytest.mark.parametrize("persona", ROLES + OUTSIDERS)
def test_the_proposal_page_is_a_404_for_everyone_else(client, request, persona, reviewed):
    client.force_login(request.getfixturevalue(persona))
    response = client.get(f"/fr/reviews/{reviewed.programme.code}/")
    assert response.status_code == (200 if persona in ROLES else 404)
    if persona not in ROLES:
        assert "Comments of" not in response.content.decode()


@pytest.mark.parametrize(
    ("page", "allowed"),
    [("reviewers/", "manager"), ("decision/", "approver")],
)
@pytest.mark.parametrize("persona", ROLES + OUTSIDERS)
def test_assignment_and_decision_pages_belong_to_their_role(client, request, persona, page, allowed, reviewed):
    client.force_login(request.getfixturevalue(persona))
    response = client.get(f"/fr/reviews/{reviewed.programme.code}/{page}")
    assert response.status_code == (200 if persona == allowed else 404)


@pytest.mark.parametrize("persona", ["expert2", "manager", "approver", "focal", "viewer", "partner_a"])
def test_an_assignment_is_reachable_only_by_its_reviewer(client, request, persona, under_review):
    _, first, _ = under_review
    client.force_login(request.getfixturevalue(persona))
    assert client.get(f"/fr/reviews/assignments/{first.pk}/declaration/").status_code == 404
    assert client.get(f"/fr/reviews/assignments/{first.pk}/review/").status_code == 404


def test_a_pipeline_programme_page_is_only_for_its_focal_point(client, eligible, viewer, partner_a, focal):
    for user, status in [(focal, 200), (viewer, 404), (partner_a, 404)]:
        client.force_login(user)
        assert client.get(f"/fr/reviews/{eligible.code}/").status_code == status


def test_partner_b_gets_404_on_a_programme_it_does_not_share(client, eligible, partner_b):
    client.force_login(partner_b)
    assert client.get(f"/fr/reviews/{eligible.code}/budget/").status_code == 404


def test_partners_have_no_tasks_page(client, partner_a):
    client.force_login(partner_a)
    assert client.get("/fr/reviews/tasks/").status_code == 404


# --- Reviewer isolation -----------------------------------------------------------------------


def test_a_reviewer_declares_no_conflict_before_seeing_the_proposal(client, under_review, expert1):
    proposal, first, _ = under_review
    client.force_login(expert1)
    code = proposal.programme.code
    for url in (f"/fr/reviews/{code}/", f"/fr/reviews/assignments/{first.pk}/review/"):
        response = client.get(url)
        assert (
            response.status_code == 302 and response["Location"] == f"/fr/reviews/assignments/{first.pk}/declaration/"
        )
    html = client.get(f"/fr/reviews/assignments/{first.pk}/declaration/").content.decode()
    assert proposal.programme.code in html and "Résumé du projet." not in html


def test_the_declaration_must_be_ticked_and_a_conflict_described(client, under_review, expert1):
    _, first, _ = under_review
    client.force_login(expert1)
    url = f"/fr/reviews/assignments/{first.pk}/declaration/"
    assert client.post(url, {"action": "declare"}).status_code == 400
    assert client.post(url, {"action": "conflict", "reason": "  "}).status_code == 400
    first.refresh_from_db()
    assert not first.has_declared_no_conflict and not first.is_declined
    response = client.post(url, {"action": "declare", "confirm": "on"})
    assert response.status_code == 302 and response["Location"].endswith(f"/assignments/{first.pk}/review/")
    html = client.get(response["Location"]).content.decode()
    assert "Résumé du projet." in html and 'id="review-form"' in html


def test_a_reviewer_sees_the_other_reviews_only_after_submitting_their_own(client, under_review, expert1, expert2):
    proposal, first, second = under_review
    declare_and_review(second, expert2)
    services.review_declare_no_conflict(assignment=first, user=expert1, statement="x")
    client.force_login(expert1)
    url = f"/fr/reviews/{proposal.programme.code}/"
    html = client.get(url).content.decode()
    assert "Comments of ed.expert" not in html
    review_html = client.get(f"/fr/reviews/assignments/{first.pk}/review/").content.decode()
    assert "Comments of ed.expert" not in review_html
    declare_and_review_rest(first, expert1)
    html = client.get(url).content.decode()
    assert "Comments of ed.expert" in html and "Comments of eve.expert" in html


def declare_and_review_rest(assignment, expert):
    services.review_submit(
        assignment=assignment,
        user=expert,
        scores={c.pk: 3 for c in ReviewCriterion.objects.filter(is_active=True)},
        comments=f"Comments of {expert.username}.",
        recommendation=Recommendation.APPROVE,
    )


def test_the_focal_point_reads_the_reviews_once_a_revision_is_requested(client, reviewed, focal, approver):
    client.force_login(focal)
    url = f"/fr/reviews/{reviewed.programme.code}/"
    assert "Comments of eve.expert" not in client.get(url).content.decode()
    services.proposal_request_revision(proposal=reviewed, user=approver, reason="Revise the budget.")
    html = client.get(url).content.decode()
    assert "Comments of eve.expert" in html and "Revise the budget." in html
    assert 'id="resubmit-form"' in html


def test_the_approver_sees_every_review_with_average_scores(client, under_review, expert1, expert2, approver):
    proposal, first, second = under_review
    declare_and_review(first, expert1, score=5)
    declare_and_review(second, expert2, score=2)
    summary = proposal.score_summary()
    assert [str(row["average"]) for row in summary["per_criterion"]] == ["3.50"] * ReviewCriterion.objects.count()
    assert str(summary["overall"]) == "3.50"
    client.force_login(approver)
    html = client.get(f"/fr/reviews/{proposal.programme.code}/decision/").content.decode()
    assert "Comments of eve.expert" in html and "Comments of ed.expert" in html
    assert "3,50" in html  # French number format


def test_overall_average_is_weighted_by_criterion(under_review, expert1, expert2):
    proposal, first, second = under_review
    criteria = list(ReviewCriterion.objects.filter(is_active=True))
    ReviewCriterion.objects.exclude(pk=criteria[0].pk).update(weight=1)
    ReviewCriterion.objects.filter(pk=criteria[0].pk).update(weight=3)
    for assignment, expert in ((first, expert1), (second, expert2)):
        services.review_declare_no_conflict(assignment=assignment, user=expert, statement="x")
        scores = {c.pk: 1 for c in criteria} | {criteria[0].pk: 5}
        services.review_submit(
            assignment=assignment, user=expert, scores=scores, comments="x", recommendation=Recommendation.REVISE
        )
    n = len(criteria)
    expected = (5 * 3 + 1 * (n - 1)) / (3 + n - 1)
    assert float(proposal.score_summary()["overall"]) == pytest.approx(expected, abs=0.005)


# --- Forms on the pages: errors are clear, input is kept ---------------------------------------


def test_submitting_through_the_page(client, eligible, focal, manager, approver):
    client.force_login(focal)
    response = client.post(
        f"/fr/reviews/{eligible.code}/submit/", {"kind": "idf", "review_manager": manager.pk, "approver": approver.pk}
    )
    assert response.status_code == 302
    eligible.refresh_from_db()
    assert eligible.status == Status.SUBMITTED


def test_an_ineligible_submission_through_the_page_is_a_400_with_the_reason(client, eligible, focal, manager, approver):
    eligible.locations.all().delete()
    client.force_login(focal)
    response = client.post(
        f"/en/reviews/{eligible.code}/submit/", {"kind": "idf", "review_manager": manager.pk, "approver": approver.pk}
    )
    assert response.status_code == 400
    assert "at least one location" in response.content.decode()


def test_a_decision_without_reason_is_a_400_and_keeps_the_choice(client, reviewed, approver):
    client.force_login(approver)
    response = client.post(f"/fr/reviews/{reviewed.programme.code}/decision/", {"decision": "reject", "reason": ""})
    assert response.status_code == 400
    assert 'value="reject" id="id_decision_2" checked' in response.content.decode()
    reviewed.programme.refresh_from_db()
    assert reviewed.programme.status == Status.UNDER_REVIEW


def test_an_early_approval_through_the_page_says_why(client, under_review, approver):
    proposal, *_ = under_review
    client.force_login(approver)
    response = client.post(f"/en/reviews/{proposal.programme.code}/decision/", {"decision": "approve"})
    assert response.status_code == 400 and "Approval needs 2 completed reviews" in response.content.decode()


def test_an_incomplete_review_is_a_400_and_keeps_the_comments(client, under_review, expert1):
    _, first, _ = under_review
    services.review_declare_no_conflict(assignment=first, user=expert1, statement="x")
    client.force_login(expert1)
    response = client.post(
        f"/fr/reviews/assignments/{first.pk}/review/",
        {"comments": "Mes remarques détaillées", "recommendation": "revise"},
    )
    assert response.status_code == 400 and "Mes remarques détaillées" in response.content.decode()
    assert not hasattr(first, "review")


def test_the_review_manager_assigns_through_the_page_with_suggestions(client, submitted, manager, expert1, expert3):
    from reviews.models import ReviewerProfile

    profile = ReviewerProfile.objects.create(user=expert3)
    profile.sectors.add(submitted.programme.primary_sector)
    client.force_login(manager)
    url = f"/fr/reviews/{submitted.programme.code}/reviewers/"
    html = client.get(url).content.decode()
    assert html.index("una.expert") < html.index("eve.expert")  # experts of the sector first
    response = client.post(url, {"reviewer": expert3.pk, "due_date": "2000-01-01"})
    assert response.status_code == 400
    response = client.post(url, {"reviewer": expert3.pk, "due_date": "2099-01-01"})
    assert response.status_code == 302
    submitted.programme.refresh_from_db()
    assert submitted.programme.status == Status.UNDER_REVIEW


# --- My tasks and the programme panel ---------------------------------------------------------


def test_my_tasks_lists_reviews_decisions_and_revisions(client, under_review, expert1, approver, focal, manager):
    proposal, *_ = under_review
    code = proposal.programme.code
    client.force_login(expert1)
    assert code in client.get("/fr/reviews/tasks/").content.decode()
    client.force_login(approver)
    assert code in client.get("/fr/reviews/tasks/").content.decode()
    client.force_login(focal)
    assert code not in client.get("/fr/reviews/tasks/").content.decode()
    services.proposal_request_revision(proposal=proposal, user=approver, reason="Revise.")
    assert code in client.get("/fr/reviews/tasks/").content.decode()


def test_my_tasks_uses_the_same_number_of_queries_for_few_and_many_tasks(
    client, focal, manager, approver, expert1, org_a
):
    def tasks_queries() -> int:
        client.force_login(approver)
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/fr/reviews/tasks/").status_code == 200
        return len(queries)

    def add_proposal():
        proposal = submit(make_eligible_programme(focal, org_a), focal, manager, approver)
        assign(proposal, manager, expert1)

    add_proposal()
    small = tasks_queries()
    for _ in range(5):
        add_proposal()
    assert tasks_queries() == small


def render_panel(programme, user) -> str:
    template = Template('{% include "reviews/includes/programme_panel.html" %}')
    return template.render(Context({"programme": programme, "user": user}))


def test_the_programme_panel_shows_the_proposal_to_its_roles_only(reviewed, approver, viewer, partner_a, focal):
    decision_url = f"/reviews/{reviewed.programme.code}/decision/"
    assert decision_url in render_panel(reviewed.programme, approver)
    focal_panel = render_panel(reviewed.programme, focal)
    assert "review-panel" in focal_panel and decision_url not in focal_panel
    assert render_panel(reviewed.programme, viewer).strip() == ""
    assert render_panel(reviewed.programme, partner_a).strip() == ""


def test_the_programme_panel_invites_the_focal_point_to_prepare_a_submission(eligible, focal, viewer):
    assert f"/reviews/{eligible.code}/" in render_panel(eligible, focal)
    assert render_panel(eligible, viewer).strip() == ""


@pytest.mark.parametrize("page", ["", "decision/"])
def test_proposal_and_decision_pages_use_the_same_number_of_queries_for_2_and_5_reviews(
    client, under_review, manager, approver, expert1, expert2, page
):
    from .conftest import make_user

    proposal, first, second = under_review
    declare_and_review(first, expert1)
    declare_and_review(second, expert2)

    def page_queries() -> int:
        client.force_login(approver)
        with CaptureQueriesContext(connection) as queries:
            assert client.get(f"/fr/reviews/{proposal.programme.code}/{page}").status_code == 200
        return len(queries)

    small = page_queries()
    for n in range(3):
        extra = make_user(f"extra.expert{n}", is_staff=True, group="Technical experts")
        declare_and_review(assign(proposal, manager, extra), extra)
    assert proposal.completed_review_count() == 5
    assert page_queries() == small


def test_every_review_admin_page_loads_for_an_administrator(client, admin_user, reviewed):
    from django.contrib import admin as django_admin

    from reviews.models import ReviewAssignment

    client.force_login(admin_user)
    models = [m for m in django_admin.site._registry if m._meta.app_label == "reviews"]
    assert len(models) == 9  # exchange rates moved to the programmes app (money is converted everywhere)
    for model in models:
        url = f"/admin/reviews/{model._meta.model_name}/"
        assert client.get(url).status_code == 200, url
        assert client.get(url, {"q": "TEST"}).status_code == 200, url
    assert client.get(f"/admin/reviews/proposal/{reviewed.pk}/change/").status_code == 200
    assignment = ReviewAssignment.objects.filter(proposal=reviewed).first()
    assert client.get(f"/admin/reviews/reviewassignment/{assignment.pk}/change/").status_code == 200
    assert client.get("/admin/reviews/proposal/add/").status_code == 403
    assert client.get("/admin/reviews/reviewassignment/add/").status_code == 403
