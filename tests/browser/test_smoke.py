"""A first walk through the real pages in Chromium: log in, see the French dashboard, switch language."""

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


def test_staff_logs_in_sees_the_french_dashboard_and_switches_to_english(page, login, demo_data):
    login("staff")
    assert page.locator("h1").first.inner_text() == "Tableau de bord"

    page.get_by_role("button", name="English").click()
    page.wait_for_load_state("networkidle")

    assert page.url.endswith("/en/")
    assert page.locator("h1").first.inner_text() == "Dashboard"
    assert page.console_errors == []


def test_a_wrong_password_keeps_the_user_on_the_login_page(page, login, demo_data):
    login("staff", password="not-the-password")
    assert "/accounts/login/" in page.url
    assert page.locator("[role=alert]").count() == 1
