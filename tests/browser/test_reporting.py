"""Results reports in Chromium: axe-core on the reporting pages in French and English, and a returned
report corrected and resubmitted with the keyboard (the reason is shown before the form)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from reporting.demo import seed_reporting_demo
from reporting.models import ResultsReport

from .test_accessibility import audit

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


@pytest.fixture
def reporting_demo(demo_data):
    programme = seed_reporting_demo()
    assert programme is not None
    return programme


def test_reporting_pages_have_no_axe_violations(page, login, reporting_demo):
    returned = ResultsReport.objects.get(state="returned")
    submitted = ResultsReport.objects.get(state="submitted")
    login("partner.anltp")
    french = ["/fr/reporting/", f"/fr/reporting/{returned.pk}/", f"/fr/reporting/programmes/{reporting_demo.code}/new/"]
    assert audit(page, french + [p.replace("/fr/", "/en/", 1) for p in french]) == []
    page.context.clear_cookies()
    login("staff")
    french = ["/fr/reporting/", f"/fr/reporting/{submitted.pk}/", "/fr/reviews/tasks/"]
    assert audit(page, french + [p.replace("/fr/", "/en/", 1) for p in french]) == []
    assert page.console_errors == []


def test_a_returned_report_is_corrected_and_resubmitted_with_the_keyboard(page, login, reporting_demo):
    returned = ResultsReport.objects.get(state="returned")
    login("partner.anltp")
    page.goto(f"/fr/reporting/{returned.pk}/")
    expect(page.locator("#return-reason")).to_contain_text("Le nombre de femmes manque")
    field = page.locator(f"input[name='v{returned.indicators().get().pk}-female-all-achieved']")
    field.focus()
    page.keyboard.press("Control+A")
    page.keyboard.type("21")
    page.get_by_role("button", name="Soumettre pour validation").focus()
    page.keyboard.press("Enter")
    page.wait_for_load_state("networkidle")
    expect(page.locator("#report-state")).to_contain_text("Soumis")
    returned.refresh_from_db()
    assert returned.state == "submitted"
    assert page.console_errors == []
