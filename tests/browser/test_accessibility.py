"""Keyboard and screen-reader use in Chromium (issue 18): axe-core at WCAG 2.2 A/AA on every main page,
the place picker as a WAI-ARIA combobox, focus rings of 3:1, the map by keyboard, the edit form's
rows and error summary, skip links, and a keyboard-only walk from the login to a saved place."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from partners.models import User
from programmes.models import Programme, ProgrammeLocation

# Its own xdist group: about half of the browser tests' time, so the two browser groups run on the two workers side by side.
pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser-accessibility")]

AXE = (Path(__file__).parent / "vendor" / "axe-core-4.14.1" / "axe.min.js").read_text()
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
# A refused form answers 400 (project rule); Chromium logs that status for the document itself.
REFUSED = "Failed to load resource: the server responded with a status of 400"


def axe_violations(page) -> list[str]:
    """axe-core's WCAG 2.2 A/AA violations on the page as it is now, one line per rule and element."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(AXE)  # evaluated by the driver, so the portal's CSP does not apply to it
    result = page.evaluate(
        "(tags) => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})",
        WCAG_TAGS,
    )
    return [
        f"{page.url} {v['id']}: {' '.join(node['target'][0] if isinstance(node['target'][0], str) else str(node['target']) for node in v['nodes'][:3])}"
        for v in result["violations"]
    ]


def wait_for_maps(page) -> None:
    for element in page.locator(".js-map").all():
        expect(element).to_have_attribute("data-ready", "true")


def audit(page, paths: list[str]) -> list[str]:
    found = []
    for path in paths:
        page.goto(path)
        page.wait_for_load_state("networkidle")
        wait_for_maps(page)
        found += axe_violations(page)
    return found


def focused(page) -> dict:
    return page.evaluate(
        """() => { const e = document.activeElement; return {
             tag: e.tagName.toLowerCase(), id: e.id, role: e.getAttribute('role') || '',
             name: (e.getAttribute('aria-label') || e.textContent || e.value || '').replace(/\\s+/g, ' ').trim() }; }"""
    )


def tab_until(page, matches, limit: int = 80, key: str = "Tab") -> dict:
    """Press Tab until the focused element satisfies `matches`; fails after `limit` presses."""
    for _ in range(limit):
        page.keyboard.press(key)
        current = focused(page)
        if matches(current):
            return current
    raise AssertionError(f"not reached with {limit} × {key}; focus is on {focused(page)}")


def add_place(page):
    """Click "Add a place" and return the new row's picker box."""
    page.get_by_role("button", name="Ajouter un lieu").click()
    return page.locator("[data-formset=locations] input[role=combobox]").last


def programme_pages(code: str, region: str = "NE006") -> list[str]:
    return [
        "/fr/",
        "/fr/programmes/",
        f"/fr/programmes/{code}/",
        "/fr/partners/",
        "/fr/regions/",
        f"/fr/regions/{region}/",
        "/fr/programmes/sectors/",
        "/fr/reports/",
        "/fr/accounts/tokens/",
    ]


# --- axe-core on every main page --------------------------------------------------------------------


def test_staff_pages_have_no_axe_violations_in_french_and_english(page, login, demo_data):
    code = Programme.objects.order_by("code").first().code
    login("staff")
    french = [
        *programme_pages(code),
        f"/fr/programmes/{code}/edit/",
        f"/fr/programmes/{code}/transactions/",
        "/fr/programmes/new/",
        "/fr/reviews/tasks/",
    ]
    english = [path.replace("/fr/", "/en/", 1) for path in french]
    assert audit(page, french + english) == []
    assert page.console_errors == []


def test_partner_pages_have_no_axe_violations_in_french_and_english(page, login, demo_data):
    partner = User.objects.get(username="partner.anltp")
    code = Programme.objects.visible_to(partner).order_by("code").first().code
    login("partner.anltp")
    french = programme_pages(code)
    english = [path.replace("/fr/", "/en/", 1) for path in french]
    assert audit(page, french + english) == []
    assert page.console_errors == []


def test_login_page_and_admin_programme_change_page_have_no_axe_violations(page, login, demo_data):
    page.goto("/fr/accounts/login/")
    assert axe_violations(page) == []
    programme = Programme.objects.order_by("code").first()
    login("admin")
    found = audit(
        page,
        [f"/admin/programmes/programme/{programme.pk}/change/", "/admin/programmes/programme/", "/admin/"],
    )
    assert found == []
    # Inline inputs are named by their column and row; breadcrumbs are underlined, not told by colour.
    page.goto(f"/admin/programmes/programme/{programme.pk}/change/")
    page.wait_for_load_state("networkidle")
    assert page.locator("div.breadcrumbs a").first.evaluate("a => getComputedStyle(a).textDecorationLine") == (
        "underline"
    )
    role = page.locator("#participations-0 select[name$='role']")
    assert re.match(r".+ \(1\)$", role.get_attribute("aria-label")), role.get_attribute("aria-label")


def test_edit_page_with_the_picker_open_has_no_axe_violations(page, login, demo_data):
    code = Programme.objects.order_by("code").first().code
    login("staff")
    page.goto(f"/fr/programmes/{code}/edit/")
    box = add_place(page)
    box.press_sequentially("tillab", delay=20)
    expect(page.get_by_role("listbox").last).to_be_visible()
    box.press("ArrowDown")
    assert axe_violations(page) == []


# --- the place picker ---------------------------------------------------------------------------------


def test_enter_in_the_place_picker_never_submits_the_form(page, login, demo_data):
    programme = Programme.objects.order_by("code").first()
    version = programme.version
    posts = []
    page.on("request", lambda request: request.method == "POST" and posts.append(request.url))
    login("staff")
    posts.clear()
    page.goto(f"/fr/programmes/{programme.code}/edit/")
    box = add_place(page)
    expect(box).to_be_focused()

    # Typed, list open, nothing highlighted: Enter does nothing at all.
    box.press_sequentially("Zinder", delay=20)
    listbox = page.get_by_role("listbox").last
    expect(listbox).to_be_visible()
    box.press("Enter")
    # Closed list: Enter still does nothing.
    box.press("Escape")
    expect(box).to_have_attribute("aria-expanded", "false")
    box.press("Enter")
    page.wait_for_timeout(300)
    assert posts == []
    assert page.url.endswith(f"/fr/programmes/{programme.code}/edit/")

    # Arrow down highlights (aria-activedescendant), Enter picks it; still nothing is posted.
    box.press("ArrowDown")
    expect(listbox).to_be_visible()
    box.press("ArrowDown")
    active = box.get_attribute("aria-activedescendant")
    assert active and page.locator(f"#{active}").get_attribute("aria-selected") == "true"
    option_text = page.locator(f"#{active} span").first.inner_text()
    box.press("Enter")
    expect(box).to_have_value(option_text)
    expect(box).to_have_attribute("aria-expanded", "false")
    page.wait_for_timeout(300)
    assert posts == []
    programme.refresh_from_db()
    assert programme.version == version
    assert page.console_errors == []


def test_picker_announces_the_count_and_says_no_place_found_outside_the_listbox(page, login, demo_data):
    code = Programme.objects.order_by("code").first().code
    login("staff")
    page.goto(f"/fr/programmes/{code}/edit/")
    box = add_place(page)
    listbox_id = box.get_attribute("aria-controls")
    status = page.locator(f"#{listbox_id}-status")
    assert status.get_attribute("role") == "status"

    box.press_sequentially("tillab", delay=20)
    expect(box).to_have_attribute("aria-expanded", "true")
    expect(status).to_have_text(re.compile(r"^\d+ lieux trouvés"))
    options = page.locator(f"#{listbox_id} > *")
    assert options.count() >= 2 and all(
        role == "option" for role in options.evaluate_all("items => items.map(i => i.getAttribute('role'))")
    )

    box.fill("")
    box.press_sequentially("xyzxyz", delay=20)
    expect(status).to_have_text("Aucun lieu trouvé")
    expect(box).to_have_attribute("aria-expanded", "false")
    assert page.locator(f"#{listbox_id} > *").count() == 0
    expect(page.get_by_text("Aucun lieu trouvé", exact=True).first).to_be_visible()
    assert page.console_errors == []


def test_a_chosen_place_keeps_its_pcode_when_the_text_is_edited(page, login, demo_data):
    programme = Programme.objects.order_by("code").first()
    login("staff")
    page.goto(f"/fr/programmes/{programme.code}/edit/")
    box = add_place(page)
    hidden = page.locator(f"#{box.get_attribute('id')}-pcode")
    box.press_sequentially("dosso", delay=20)
    page.locator("[role=option][data-pcode=NE003]").click()
    assert hidden.input_value() == "NE003"

    # A space typed and deleted, then some other text: the chosen place stays until another is picked.
    box.press("End")
    box.press("Space")
    box.press("Backspace")
    assert hidden.input_value() == "NE003"
    box.press_sequentially(" zzz", delay=20)
    assert hidden.input_value() == "NE003"
    # Leaving the box puts the chosen label back: what is shown is what will be saved.
    page.get_by_role("button", name="Enregistrer").focus()
    expect(box).to_have_value("Dosso")
    page.get_by_role("button", name="Enregistrer").click()
    page.wait_for_load_state("networkidle")
    assert page.url.endswith(f"/fr/programmes/{programme.code}/")
    assert ProgrammeLocation.objects.filter(programme=programme, admin_unit__pcode="NE003").exists()

    # Emptying the box clears the choice.
    page.goto(f"/fr/programmes/{programme.code}/edit/")
    box = add_place(page)
    hidden = page.locator(f"#{box.get_attribute('id')}-pcode")
    box.press_sequentially("zinder", delay=20)
    page.locator("[role=option][data-pcode=NE007]").click()
    assert hidden.input_value() == "NE007"
    box.fill("")
    box.dispatch_event("input")
    assert hidden.input_value() == ""
    assert page.console_errors == []


# --- focus rings ---------------------------------------------------------------------------------------

CONTRAST = """(element) => {
  function rgb(colour) { const m = colour.match(/[\\d.]+/g); return m ? m.map(Number) : [0, 0, 0, 0]; }
  function luminance([r, g, b]) {
    const c = [r, g, b].map(v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
    return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
  }
  function background(node) {
    for (; node && node.nodeType === 1; node = node.parentElement) {
      const c = rgb(getComputedStyle(node).backgroundColor);
      if (c.length < 4 || c[3] > 0.5) return c;
    }
    return [255, 255, 255];
  }
  const style = getComputedStyle(element);
  const width = parseFloat(style.outlineWidth);
  if (style.outlineStyle === 'none' || width < 2) return {ratio: 0, why: 'no outline ' + style.outlineStyle + ' ' + width};
  // Outside the element (offset >= 0) the ring lies on the parent's background, inside on its own.
  const offset = parseFloat(style.outlineOffset);
  const behind = offset + width > 0 ? background(element.parentElement) : background(element);
  const a = luminance(rgb(style.outlineColor)), b = luminance(behind);
  return {ratio: (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05), why: style.outlineColor + ' on ' + behind};
}"""


def assert_focus_rings(page, stops: int) -> int:
    """Tab through `stops` controls of the page; each shows an outline of 3:1 or more."""
    seen = 0
    weak = []
    for _ in range(stops):
        page.keyboard.press("Tab")
        element = page.evaluate_handle("() => document.activeElement")
        if element.evaluate("e => e === document.body"):
            break
        result = element.evaluate(CONTRAST)
        if result["ratio"] < 3:
            weak.append(f"{focused(page)} {result}")
        seen += 1
    assert weak == [], "\n".join(weak)
    return seen


def test_every_control_shows_a_focus_ring_of_at_least_3_to_1(page, login, demo_data):
    code = Programme.objects.order_by("code").first().code
    login("staff")
    for path, stops in (("/fr/", 60), ("/fr/programmes/", 60), (f"/fr/programmes/{code}/edit/", 120)):
        page.goto(path)
        page.wait_for_load_state("networkidle")
        wait_for_maps(page)
        assert assert_focus_rings(page, stops) > 10
    # The navigation links in particular: Bootstrap's `.nav-link:focus-visible {outline: 0}` no longer wins.
    page.goto("/fr/programmes/")
    tab_until(page, lambda f: f["name"] == "Programmes" and f["tag"] == "a")
    outline = page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid"


# --- the map -------------------------------------------------------------------------------------------


def test_map_regions_are_named_buttons_enter_drills_down_and_a_link_skips_the_map(page, login, demo_data):
    login("staff")
    page.goto("/fr/")
    wait_for_maps(page)
    map_element = page.locator("#dashboard-map")
    shapes = map_element.locator("path[tabindex='0']")
    expect(shapes).to_have_count(8)
    names = shapes.evaluate_all("paths => paths.map(p => p.getAttribute('role') + ' ' + p.getAttribute('aria-label'))")
    assert any(re.fullmatch(r"button Zinder, Programmes actifs : \d+", n) for n in names), names
    # Offices are listed after the map, not Tab stops inside it.
    assert map_element.locator(".leaflet-marker-icon[tabindex='0']").count() == 0
    expect(page.locator("#dashboard-map-after summary")).to_have_text(re.compile(r"Bureaux de l’OIM .*\(11\)"))
    # Leaflet's controls speak French.
    assert map_element.locator(".leaflet-control-zoom-in").get_attribute("title") == "Zoom avant"
    assert map_element.locator(".leaflet-control-zoom-out").get_attribute("title") == "Zoom arrière"

    # "Skip the map" jumps from before the map to after it.
    skip = tab_until(page, lambda f: f["name"] == "Passer la carte")
    assert skip["tag"] == "a"
    page.keyboard.press("Enter")
    assert focused(page)["id"] == "dashboard-map-after"
    page.keyboard.press("Tab")
    assert page.evaluate("() => !document.getElementById('dashboard-map').contains(document.activeElement)")

    # Into the map: the container, then the regions; Enter on Zinder shows its departments.
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Shift+Tab")  # back through the map's own stops to a region
    zinder = tab_until(page, lambda f: f["name"].startswith("Zinder"), limit=20, key="Shift+Tab")
    assert zinder["role"] == "button"
    page.keyboard.press("Enter")
    expect(map_element.locator(".map-back")).to_be_visible()
    expect(map_element.locator("path[tabindex='0']").first).to_be_focused()
    assert map_element.locator("path[tabindex='0']").count() > 1
    assert page.console_errors == []


def test_map_popup_and_controls_speak_english_on_english_pages(page, login, demo_data):
    login("staff", language="en")
    page.goto("/en/regions/")
    wait_for_maps(page)
    assert page.locator(".leaflet-control-zoom-in").get_attribute("title") == "Zoom in"
    page.goto("/fr/regions/")
    wait_for_maps(page)
    page.locator(".leaflet-marker-icon").first.dispatch_event("click")
    expect(page.locator(".leaflet-popup-close-button")).to_have_attribute("aria-label", "Fermer")
    assert page.console_errors == []


# --- edit form rows, required marks and error recovery ----------------------------------------------


def test_edit_rows_are_named_groups_and_required_fields_are_marked_with_text(page, login, demo_data):
    programme = Programme.objects.order_by("code").first()
    rows = programme.participations.count()
    login("staff")
    page.goto(f"/fr/programmes/{programme.code}/edit/")
    partner_one = page.get_by_role("group", name="Partenaire 1", exact=True)
    expect(partner_one.get_by_role("checkbox", name="Supprimer")).to_have_count(1)
    page.get_by_role("button", name="Ajouter un partenaire").click()
    # The new row is named after its place in the list, and the focus is in it.
    new_row = page.get_by_role("group", name=f"Partenaire {rows + 2}", exact=True)
    expect(new_row).to_have_count(1)
    assert page.evaluate(
        "(name) => document.activeElement.closest('[role=group]').getAttribute('aria-label') === name",
        f"Partenaire {rows + 2}",
    )
    # The asterisk is drawn, but read as a word.
    name = page.evaluate(
        """() => { const label = document.querySelector('label[for=id_code]');
                   const after = getComputedStyle(label, '::after').content; return after; }"""
    )
    assert "obligatoire" in name and "*" in name
    assert page.locator("label[for=id_code] .asteriskField").is_hidden()
    assert page.console_errors == []


def test_error_summary_takes_the_focus_and_links_to_each_faulty_field(page, login, demo_data):
    programme = Programme.objects.order_by("code").first()
    login("staff")
    page.goto(f"/fr/programmes/{programme.code}/edit/")
    page.fill("#id_title_fr", "")
    box = add_place(page)
    box_id = box.get_attribute("id")
    box.press_sequentially("Nulle-part-ville", delay=10)
    page.get_by_role("button", name="Enregistrer").click()
    page.wait_for_load_state("networkidle")

    summary = page.locator("[data-error-summary]")
    expect(summary).to_be_focused()
    links = summary.get_by_role("link")
    texts = links.all_inner_texts()
    assert any(t.startswith("Titre (français)") for t in texts), texts
    assert any(t.startswith("Lieu ") and "Nulle-part-ville" in t for t in texts), texts
    summary.get_by_role("link", name=re.compile(r"^Lieu \d+ · Lieu")).click()
    expect(page.locator(f"#{box_id}")).to_be_focused()
    summary.get_by_role("link", name=re.compile(r"^Titre \(français\)")).click()
    expect(page.locator("#id_title_fr")).to_be_focused()
    assert len(page.console_errors) == 1 and page.console_errors[0].startswith(REFUSED)


# --- reports page ------------------------------------------------------------------------------------


def test_reports_help_texts_are_referenced_by_id_and_every_header_has_text(page, login, demo_data):
    login("staff")
    page.goto("/fr/reports/")
    described = page.locator("[aria-describedby]").evaluate_all(
        "els => els.flatMap(e => e.getAttribute('aria-describedby').split(' '))"
    )
    assert described and all(page.locator(f"[id='{ref}']").count() == 1 for ref in described), described
    assert page.locator("th").evaluate_all("ths => ths.filter(th => !th.textContent.trim()).length") == 0


# --- the keyboard walk ------------------------------------------------------------------------------


def test_keyboard_only_from_login_to_a_saved_place(page, demo_data):
    programme = Programme.objects.filter(locations__admin_unit__pcode__startswith="NE006").order_by("code").first()
    places_before = set(programme.locations.values_list("admin_unit__pcode", flat=True))
    version = programme.version

    page.goto("/fr/accounts/login/")
    page.keyboard.press("Tab")
    tab_until(page, lambda f: f["id"] == "id_username")
    page.keyboard.type("staff")
    page.keyboard.press("Tab")
    assert focused(page)["id"] == "id_password"
    page.keyboard.type("demo-pass-2026")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.wait_for_load_state("networkidle")

    # The list, through the main navigation.
    tab_until(page, lambda f: f["tag"] == "a" and f["name"] == "Programmes")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.wait_for_load_state("networkidle")
    assert page.url.endswith("/fr/programmes/")

    # "Skip to results" is the second Tab stop and lands right before the first result.
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    assert focused(page)["name"] == "Aller aux résultats"
    page.keyboard.press("Enter")
    assert focused(page)["id"] == "results"
    page.keyboard.press("Tab")
    assert re.fullmatch(r"NE-.+", focused(page)["name"])

    # Filter by region: open "More filters", choose Tillabéri in the area box, search.
    page.keyboard.press("Shift+Tab")
    tab_until(page, lambda f: f["tag"] == "summary", key="Shift+Tab")
    page.keyboard.press("Enter")
    tab_until(page, lambda f: f["id"] == "id_area")
    page.keyboard.type("Tillab")
    assert page.input_value("#id_area") == "NE006"
    tab_until(page, lambda f: f["tag"] == "button" and f["name"] == "Rechercher")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.wait_for_load_state("networkidle")
    assert "area=NE006" in page.url

    # Open the programme, then its edit page.
    tab_until(page, lambda f: f["tag"] == "a" and f["name"] == programme.code, limit=150)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.wait_for_load_state("networkidle")
    assert page.url.endswith(f"/fr/programmes/{programme.code}/")
    tab_until(page, lambda f: f["tag"] == "a" and f["name"] == "Modifier")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.wait_for_load_state("networkidle")
    assert page.url.endswith(f"/fr/programmes/{programme.code}/edit/")

    # Add a place by keyboard: the new row's picker takes the focus; arrows and Enter pick a commune.
    tab_until(page, lambda f: f["tag"] == "button" and f["name"] == "+ Ajouter un lieu", limit=200)
    page.keyboard.press("Enter")
    current = focused(page)
    assert current["role"] == "combobox"
    page.keyboard.type("namaro", delay=30)
    expect(page.locator(f"#{current['id']}")).to_have_attribute("aria-expanded", "true")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    expect(page.locator(f"#{current['id']}")).to_have_value("Tillabéri › Kollo › Namaro")
    assert focused(page)["id"] == current["id"]
    # Nothing is saved before "Enregistrer".
    programme.refresh_from_db()
    assert programme.version == version
    assert set(programme.locations.values_list("admin_unit__pcode", flat=True)) == places_before

    tab_until(page, lambda f: f["tag"] == "button" and f["name"] == "Enregistrer", limit=400)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.wait_for_load_state("networkidle")
    assert page.url.endswith(f"/fr/programmes/{programme.code}/")
    assert set(programme.locations.values_list("admin_unit__pcode", flat=True)) == places_before | {"NE006008010"}
    assert page.console_errors == []
