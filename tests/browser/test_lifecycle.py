"""The agreement road in Chromium: the demo's donor-funded programme from pipeline to completed, by keyboard."""

from __future__ import annotations

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from programmes.models import Programme, Status

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


def press_button(page, name: str) -> None:
    """Reach a button or link with the keyboard and press Enter; wait for the next page."""
    target = page.get_by_role("button", name=name).or_(page.get_by_role("link", name=name)).first
    target.focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")


def test_the_demo_donor_funded_programme_goes_from_pipeline_to_completed_on_its_agreement(page, login, demo_data):
    # NE-MH-2025-00016 with the default 40 programmes; another donor-funded one with the 30 seeded here.
    programme = Programme.objects.get(agreement__isnull=False)
    code = programme.code
    assert programme.status == Status.PIPELINE and not programme.needs_department_review
    login("staff")
    page.goto(f"/fr/programmes/{code}/")
    assert page.locator("#approval-road").get_attribute("data-road") == "agreement"
    assert "signé le" in page.inner_text("#basis-agreement")

    press_button(page, "Passer à « Approuvé »")
    expect(page.locator("#programme-status")).to_have_text("Approuvé")
    press_button(page, "Passer à « En cours »")
    expect(page.locator("#programme-status")).to_have_text("En cours")
    assert Programme.objects.get(code=code).status == Status.ACTIVE

    page.goto(f"/fr/programmes/{code}/status/")
    press_button(page, "Passer à « Achevé » *")
    assert "Cette étape est irréversible" in page.inner_text("#status-confirm")
    page.fill("#status-reason", "Activités terminées.")
    press_button(page, "Confirmer : passer à « Achevé »")

    programme = Programme.objects.get(code=code)
    assert programme.status == Status.COMPLETED and programme.actual_end == timezone.localdate()
    assert page.console_errors == []
