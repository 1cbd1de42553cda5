"""The obligation calendar's pages in Chromium: axe-core clean in French and English for staff and partner,
and waiving by keyboard only (a blank reason refused with the message next to the field)."""

from __future__ import annotations

import pytest

from obligations.demo import seed_obligation_demo
from obligations.models import Obligation

from .test_accessibility import REFUSED, audit

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


@pytest.fixture
def idf_demo(demo_data):
    programme = seed_obligation_demo()
    assert programme is not None
    return programme


def test_obligation_pages_have_no_axe_violations(page, login, idf_demo):
    login("staff")
    french = [
        f"/fr/obligations/programmes/{idf_demo.code}/",
        "/fr/obligations/",
        "/fr/obligations/overdue/",
        "/fr/obligations/overdue/?by=partner",
        "/fr/obligations/overdue/?by=ministry",
        "/fr/reviews/tasks/",
    ]
    english = [path.replace("/fr/", "/en/", 1) for path in french]
    assert audit(page, french + english) == []
    assert page.console_errors == []


def test_partner_calendar_has_no_axe_violations(page, login, idf_demo):
    login("partner.anltp")
    paths = [f"/fr/obligations/programmes/{idf_demo.code}/", f"/en/obligations/programmes/{idf_demo.code}/"]
    assert audit(page, paths) == []


def test_waiving_by_keyboard_only(page, login, idf_demo):
    obligation = Obligation.objects.filter(programme=idf_demo, kind="extension_request").get()
    login("staff")
    page.goto(f"/fr/obligations/programmes/{idf_demo.code}/")
    row = page.locator(f"#obligation-{obligation.pk}")
    row.locator("summary").focus()
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.id") == f"reason-{obligation.pk}"
    page.keyboard.press("Tab")
    with page.expect_navigation():
        page.keyboard.press("Enter")  # a blank reason
    assert (
        "Indiquez le motif de la levée de cette obligation."
        in page.locator(f"#obligation-{obligation.pk}").inner_text()
    )
    page.focus(f"#reason-{obligation.pk}")
    page.keyboard.type("Pas de prolongation prévue")
    page.keyboard.press("Tab")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "L'obligation est levée" in page.content()
    obligation.refresh_from_db()
    assert obligation.waived_reason == "Pas de prolongation prévue"
    assert [e for e in page.console_errors if REFUSED not in e] == []
