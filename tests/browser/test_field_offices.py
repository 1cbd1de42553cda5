"""Field offices in Chromium: a light dashboard on a slow link, every main page usable on a phone, the menu at 1366 px."""

from __future__ import annotations

import pytest

from programmes.models import Programme, Sector
from reviews.demo import seed_review_demo

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

# A field office's link: 512 kbit/s each way, 300 ms round trip.
SLOW_LINK = {"offline": False, "latency": 300, "downloadThroughput": 512_000 / 8, "uploadThroughput": 512_000 / 8}


def test_the_dashboard_loads_within_250_kb_and_4_seconds_on_a_slow_link(page, login, demo_data):
    login("staff")
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
    cdp.send("Network.emulateNetworkConditions", SLOW_LINK)
    transferred: dict[str, int] = {}
    cdp.on(
        "Network.loadingFinished", lambda event: transferred.update({event["requestId"]: event["encodedDataLength"]})
    )

    page.goto("/fr/", wait_until="load")
    page.wait_for_selector("#dashboard-map[data-ready=true]")  # the map's regions layer is part of the first load
    page.wait_for_load_state("networkidle")
    load_ms = page.evaluate("() => performance.getEntriesByType('navigation')[0].loadEventEnd")
    total = sum(transferred.values())
    print(
        f"dashboard on 512 kbit/s + 300 ms: {total} bytes in {len(transferred)} requests, load event at {load_ms:.0f} ms"
    )
    assert total <= 250 * 1024, total
    assert load_ms <= 4000, load_ms
    assert page.console_errors == []


def main_pages(code: str) -> list[str]:
    sector = Sector.objects.order_by("order").first()
    return [
        "/fr/",
        "/fr/programmes/",
        f"/fr/programmes/{code}/",
        f"/fr/programmes/{code}/edit/",
        "/fr/partners/",
        "/fr/partners/crn/",
        "/fr/regions/",
        "/fr/regions/NE006/",
        "/fr/programmes/sectors/",
        f"/fr/programmes/sectors/{sector.code}/",
        "/fr/reviews/tasks/",
        "/fr/reports/",
        "/en/programmes/",
        f"/en/programmes/{code}/",
    ]


def test_every_main_page_fits_a_375_px_phone_without_scrolling_sideways(chromium, live_server, demo_data):
    seed_review_demo()
    context = chromium.new_context(base_url=live_server.url, locale="fr-FR", viewport={"width": 375, "height": 740})
    page = context.new_page()
    page.goto("/fr/accounts/login/")
    page.fill("#id_username", "staff")
    page.fill("#id_password", "demo-pass-2026")
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")
    code = Programme.objects.filter(participations__organisation__code="crn").order_by("code").first().code
    too_wide = {}
    for url in main_pages(code):
        response = page.goto(url)
        assert response.status == 200, url
        width = page.evaluate("() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
        if width[0] > width[1]:
            too_wide[url] = width
    context.close()
    assert too_wide == {}


def test_the_programme_list_shows_status_period_and_budget_on_a_phone(chromium, live_server, demo_data):
    context = chromium.new_context(base_url=live_server.url, locale="fr-FR", viewport={"width": 375, "height": 740})
    page = context.new_page()
    page.goto("/fr/accounts/login/")
    page.fill("#id_username", "staff")
    page.fill("#id_password", "demo-pass-2026")
    page.click("button[type=submit]")
    page.goto("/fr/programmes/")
    first_row = page.locator("table.table-reflow tbody tr").first
    for label in ("Statut", "Période", "Budget"):
        cell = first_row.locator(f'td[data-label="{label}"]')
        box = cell.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 375, label
    context.close()


@pytest.mark.parametrize("username", ["admin", "partner.anltp"])
def test_the_top_menu_stays_on_one_line_at_1366_px(chromium, live_server, demo_data, username):
    context = chromium.new_context(base_url=live_server.url, locale="fr-FR", viewport={"width": 1366, "height": 800})
    page = context.new_page()
    page.goto("/fr/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", "demo-pass-2026")
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")
    nav = page.locator("nav.navbar").bounding_box()
    brand = page.locator(".navbar-brand").bounding_box()
    assert nav["height"] < brand["height"] * 2.2, nav
    tops = {round(box["y"]) for box in (link.bounding_box() for link in page.locator(".navbar-nav .nav-link").all())}
    assert len(tops) == 1, tops
    context.close()


def test_the_programme_admin_fits_a_1366_px_screen(chromium, live_server, demo_data):
    context = chromium.new_context(base_url=live_server.url, locale="fr-FR", viewport={"width": 1366, "height": 800})
    page = context.new_page()
    page.goto("/fr/accounts/login/")
    page.fill("#id_username", "admin")
    page.fill("#id_password", "demo-pass-2026")
    page.click("button[type=submit]")
    page.goto("/admin/programmes/programme/")
    for column in ("status", "planned_end", "budget", "currency"):
        box = page.locator(f"#result_list th.column-{column}").bounding_box()
        assert box["x"] + box["width"] <= 1366, column
    programme = Programme.objects.order_by("pk").first()
    page.goto(f"/admin/programmes/programme/{programme.pk}/change/")
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 1366
    context.close()
