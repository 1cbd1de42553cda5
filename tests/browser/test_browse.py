"""Browsing in Chromium: log in, search without accents, filter by region, open a programme, switch language, map."""

import re

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


def test_staff_searches_filters_opens_a_programme_and_switches_language(page, login, demo_data):
    login("staff")
    page.get_by_role("link", name="Programmes", exact=True).first.click()
    page.wait_for_load_state("networkidle")
    assert page.locator("h1").first.inner_text() == "Programmes"

    # An accent-free query finds the accented titles ("réintégration") first; then programmes that match
    # elsewhere (e.g. their sector, "Retour volontaire assisté et réintégration").
    page.fill("#id_q", "reintegration")
    page.get_by_role("button", name="Rechercher").click()
    page.wait_for_load_state("networkidle")
    assert "q=reintegration" in page.url
    titles = page.locator("tbody tr td:nth-child(2)").all_inner_texts()
    in_title = ["intégration" in t.lower() for t in titles]
    assert titles and in_title[0] and in_title == sorted(in_title, reverse=True), titles

    # Filter by region (Tillabéri) through the area picker; the filters stay in the URL.
    page.fill("#id_q", "")
    page.locator("summary", has_text="Plus de filtres").click()
    page.select_option("#id_area", "NE006")
    page.get_by_role("button", name="Rechercher").click()
    page.wait_for_load_state("networkidle")
    assert "area=NE006" in page.url
    count = page.locator("#result-count").inner_text()
    assert re.match(r"\d+ programmes?", count), count

    # Open the first programme: its places include Tillabéri, its map draws them.
    page.locator("tbody tr td a").first.click()
    page.wait_for_load_state("networkidle")
    assert "/fr/programmes/NE-" in page.url
    assert page.get_by_role("heading", name="Partenaires").is_visible()
    assert "Tillabéri" in page.locator("#locations-title + ul").inner_text()
    page.wait_for_selector("#programme-map[data-ready=true]")
    assert page.locator("#programme-map path.leaflet-interactive, #programme-map svg path").count() >= 1

    # Switch to English on the same page.
    code = page.url.rstrip("/").rsplit("/", 1)[-1]
    page.get_by_role("button", name="English").click()
    page.wait_for_load_state("networkidle")
    assert page.url.endswith(f"/en/programmes/{code}/")
    assert page.get_by_role("heading", name="Partners").is_visible()
    assert page.console_errors == []


def test_dashboard_map_draws_the_regions_and_drills_down_to_departments(page, login, demo_data):
    login("staff")
    page.wait_for_selector("#dashboard-map[data-ready=true]")
    assert page.locator("#dashboard-map").get_attribute("data-features") == "8"
    assert page.locator("#dashboard-map path.leaflet-interactive").count() == 8
    assert page.locator("#dashboard-map .leaflet-marker-icon").count() >= 1  # IOM offices
    # Bar charts are drawn in HTML, one visible bar per row with a count.
    for chart in ("#chart-sector", "#chart-status", "#chart-region"):
        assert page.locator(f"{chart} .bar").first.bounding_box()["width"] > 0

    # Drill down into a region: its departments replace the regions; "back" returns.
    # Click inside Tillabéri (14.8° N, 1.0° E) like a user would.
    page.locator("#dashboard-map").scroll_into_view_if_needed()
    point = page.evaluate(
        "() => { const p = document.querySelector('#dashboard-map').leafletMap.latLngToContainerPoint([14.8, 1.0]);"
        " return {x: p.x, y: p.y}; }"
    )
    box = page.locator("#dashboard-map").bounding_box()
    page.mouse.click(box["x"] + point["x"], box["y"] + point["y"])
    # The strict CSP forbids eval, so wait with locator assertions rather than wait_for_function.
    expect(page.locator("#dashboard-map")).not_to_have_attribute("data-features", "8")
    departments = int(page.locator("#dashboard-map").get_attribute("data-features"))
    assert departments > 1
    page.get_by_role("button", name="Retour aux régions").click()
    expect(page.locator("#dashboard-map")).to_have_attribute("data-features", "8")
    assert page.console_errors == []


def test_partner_sees_only_its_programmes_and_no_admin_link(page, login, demo_data):
    login("partner.anltp")
    assert page.get_by_role("link", name="Administration").count() == 0
    page.goto("/fr/programmes/")
    rows = page.locator("tbody tr td:first-child a").all_inner_texts()
    assert rows
    page.goto("/fr/regions/NE006/")
    page.wait_for_selector("#unit-map[data-ready=true]")
    assert page.locator("#unit-map path.leaflet-interactive").count() >= 1
    assert page.console_errors == []
