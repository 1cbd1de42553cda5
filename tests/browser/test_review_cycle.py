"""A full review cycle in Chromium with the demo accounts: submit → two reviews → revision → resubmit →
two reviews of the second round → approval."""

from __future__ import annotations

import pytest

from partners.models import User
from programmes.demo import DEMO_CODE_REGEX
from programmes.models import Programme, Status
from reviews.demo import seed_review_demo
from reviews.models import EventKind, Proposal

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


@pytest.fixture
def review_demo(demo_data):
    seed_review_demo()
    return Programme.objects.filter(code__regex=DEMO_CODE_REGEX, primary_sector__code="CT").order_by("code").first()


@pytest.fixture
def open_as(chromium, live_server):
    """A logged-in page per demo account, each in its own browser context; console errors are collected."""
    contexts, pages = [], []

    def _open(username: str):
        context = chromium.new_context(base_url=live_server.url, locale="fr-FR")
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15000)
        page.console_errors = []
        page.on("console", lambda msg: msg.type == "error" and page.console_errors.append(msg.text))
        page.on("pageerror", lambda exc: page.console_errors.append(str(exc)))
        page.goto("/fr/accounts/login/")
        page.fill("#id_username", username)
        page.fill("#id_password", "demo-pass-2026")
        page.click("button[type=submit]")
        page.wait_for_load_state("networkidle")
        pages.append(page)
        return page

    yield _open
    errors = [error for page in pages for error in page.console_errors]
    for context in contexts:
        context.close()
    assert errors == []


def review_as(page, code: str, recommendation: str) -> None:
    """From "My tasks": declare no conflict, score every criterion 4, comment and recommend."""
    page.goto("/fr/reviews/tasks/")
    page.locator("#my-reviews a", has_text=code).click()
    page.check("#id_confirm")
    page.click("#declare-form button[type=submit]")
    for radio in page.locator("#review-form input[type=radio][value='4']").all():
        radio.check()
    page.fill("#id_comments", f"Avis détaillé : recommandation {recommendation}.")
    page.check(f"input[name=recommendation][value={recommendation}]")
    page.click("#review-form button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert "Votre évaluation a été soumise" in page.inner_text("main")


def decide(page, code: str, decision: str, reason: str = "") -> None:
    page.goto(f"/fr/reviews/{code}/decision/")
    page.check(f"input[name=decision][value={decision}]")
    if reason:
        page.fill("#id_reason", reason)
    page.click("#decision-form button[type=submit]")
    page.wait_for_load_state("networkidle")


def test_a_full_review_cycle_with_the_demo_accounts(open_as, review_demo):
    code = review_demo.code

    staff = open_as("staff")
    staff.goto(f"/fr/reviews/{code}/")
    assert staff.locator("#eligibility-checklist [data-state=fail]").count() == 0
    # required fields, endorsement, IDF funder, budget range, budget lines, contributions, staff + office
    assert staff.locator("#eligibility-checklist [data-state=pass]").count() == 7
    staff.click("#submit-form button[type=submit]")
    staff.wait_for_load_state("networkidle")
    assert "La proposition a été soumise pour examen." in staff.inner_text("main")

    admin = open_as("admin")
    admin.goto("/fr/reviews/tasks/")
    admin.locator("#to-staff a", has_text=code).click()
    for username in ("expert", "expert2"):
        admin.select_option("#id_reviewer", value=str(User.objects.get(username=username).pk))
        admin.click("#assign-form button[type=submit]")
        admin.wait_for_load_state("networkidle")
    assert admin.locator("#assignments tbody tr").count() == 2

    expert = open_as("expert")
    review_as(expert, code, "revise")
    expert2 = open_as("expert2")
    review_as(expert2, code, "approve")
    assert "Avis détaillé : recommandation revise." in expert2.inner_text("main")  # after their own review

    decide(admin, code, "revise", reason="Précisez la stratégie de sortie.")
    assert Programme.objects.get(code=code).status == Status.REVISION_REQUESTED

    staff.goto("/fr/reviews/tasks/")
    staff.locator("#my-revisions a", has_text=code).click()
    assert "Précisez la stratégie de sortie." in staff.inner_text("main")
    staff.fill("#id_message", "Stratégie de sortie ajoutée.")
    staff.click("#resubmit-form button[type=submit]")
    staff.wait_for_load_state("networkidle")
    assert Programme.objects.get(code=code).status == Status.UNDER_REVIEW

    # Round 2: the first round's reviews no longer count; both experts have a new task.
    admin.goto(f"/fr/reviews/{code}/decision/")
    assert admin.locator("input[name=decision][value=approve]").count() == 0
    assert "0 sur les 2 requises" in admin.inner_text("#completed-reviews")
    review_as(expert, code, "approve")
    review_as(expert2, code, "approve")

    decide(admin, code, "approve")
    assert "Votre décision a été enregistrée" in admin.inner_text("main")
    assert Programme.objects.get(code=code).status == Status.APPROVED
    kinds = list(Proposal.objects.get(programme__code=code).events.values_list("kind", flat=True))
    assert kinds[0] == EventKind.SUBMITTED and kinds[-1] == EventKind.APPROVED
    assert admin.locator("#timeline li[data-kind]").count() == len(kinds)
    assert admin.locator("#timeline li[data-round]").count() == 2
