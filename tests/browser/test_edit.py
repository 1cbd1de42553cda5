"""Editing programmes in Chromium: create one with the place picker, then provoke and resolve a conflict."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from partners.models import Organisation
from programmes.models import Participation, Programme, Role

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

# A refused form is answered with a 4xx status (project rule), which Chromium reports on the console
# for the document itself. That line, once, is the only console message these tests accept.
REFUSED = "Failed to load resource: the server responded with a status of {status}"


def log_in(page, username: str) -> None:
    page.goto("/fr/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", "demo-pass-2026")
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")


def test_staff_creates_a_programme_with_two_partners_and_a_commune_picked_by_name(page, login, demo_data):
    ue, crn = Organisation.objects.get(code="ue"), Organisation.objects.get(code="crn")
    login("staff")
    page.goto("/fr/programmes/")
    page.goto("/fr/programmes/new/")

    page.fill("#id_code", "NE-CT-2026-777")
    page.fill("#id_title_fr", "Lutte contre la traite à Namaro")
    page.fill("#id_title_en", "Counter-trafficking in Namaro")
    page.select_option("#id_primary_sector", label="Lutte contre la traite des personnes")
    page.fill("#id_planned_start", "2026-01-01")
    page.fill("#id_planned_end", "2027-06-30")
    page.fill("#id_budget", "480000")

    page.select_option("#id_participations-0-organisation", str(crn.pk))
    page.select_option("#id_participations-0-role", Role.IMPLEMENTING_PARTNER)
    page.get_by_role("button", name="Ajouter un partenaire").click()
    page.select_option("#id_participations-1-organisation", str(ue.pk))
    page.select_option("#id_participations-1-role", Role.FUNDING)
    page.fill("#id_participations-1-contribution", "300000")

    picker = page.locator("#id_locations-0-admin_unit")
    picker.press_sequentially("namaro", delay=30)
    option = page.get_by_role("option", name="Tillabéri › Kollo › Namaro")
    option.click()
    assert page.input_value('input[name="locations-0-admin_unit"]') == "NE006008010"
    assert picker.input_value() == "Tillabéri › Kollo › Namaro"

    # An indicator added with "Ajouter un indicateur", and a period value added inside it.
    page.get_by_role("button", name="Ajouter un indicateur").click()
    page.fill("#id_indicators-1-code", "I1")
    page.fill("#id_indicators-1-name_fr", "Victimes assistées")
    page.fill("#id_indicators-1-target", "200")
    page.locator('[data-formset="indicators-1-values"]').get_by_role(
        "button", name="Ajouter une valeur de période"
    ).click()
    for row, end in enumerate(("2026-12-31", "2027-06-30")):  # periods within the programme's dates
        page.fill(f"#id_indicators-1-values-{row}-period_start", f"202{6 + row}-01-01")
        page.fill(f"#id_indicators-1-values-{row}-period_end", end)
        page.fill(f"#id_indicators-1-values-{row}-achieved", str(40 + row))

    page.get_by_role("button", name="Enregistrer").click()
    page.wait_for_load_state("networkidle")

    assert page.url.endswith("/fr/programmes/NE-CT-2026-777/")
    assert "Programme NE-CT-2026-777 enregistré." in page.content()
    programme = Programme.objects.get(code="NE-CT-2026-777")
    assert set(Participation.objects.filter(programme=programme).values_list("organisation__code", "role")) == {
        ("crn", Role.IMPLEMENTING_PARTNER),
        ("ue", Role.FUNDING),
    }
    assert list(programme.locations.values_list("admin_unit__pcode", flat=True)) == ["NE006008010"]
    indicator = programme.indicators.get()
    assert list(indicator.values.order_by("period_start").values_list("achieved", flat=True)) == [40, 41]
    assert page.console_errors == []


def test_an_invalid_form_keeps_the_picked_place_and_the_added_rows(page, login, demo_data):
    crn = Organisation.objects.get(code="crn")
    login("staff")
    page.goto("/fr/programmes/new/")
    page.fill("#id_code", "NE-CT-2026-778")
    page.fill("#id_title_fr", "Programme incomplet")
    page.select_option("#id_participations-0-organisation", str(crn.pk))
    page.select_option("#id_participations-0-role", Role.IMPLEMENTING_PARTNER)
    page.locator("#id_locations-0-admin_unit").press_sequentially("namaro", delay=30)
    page.get_by_role("option", name="Tillabéri › Kollo › Namaro").click()

    page.get_by_role("button", name="Ajouter un lieu").click()  # a row added by script gets a picker too
    page.locator("#id_locations-1-admin_unit").press_sequentially("say", delay=30)
    page.get_by_role("option", name="Tillabéri › Say › Say").click()

    page.get_by_role("button", name="Enregistrer").click()  # no sector, no start date
    page.wait_for_load_state("networkidle")

    assert page.locator("#form-errors").is_visible()
    assert page.input_value("#id_title_fr") == "Programme incomplet"
    assert page.input_value("#id_participations-0-organisation") == str(crn.pk)
    assert page.input_value('input[name="locations-0-admin_unit"]') == "NE006008010"
    assert page.input_value('input[name="locations-1-admin_unit"]') == "NE006010002"
    expect(page.locator("#id_locations-0-admin_unit")).to_have_value(re.compile("Namaro"))
    assert not Programme.objects.filter(code="NE-CT-2026-778").exists()
    assert page.console_errors == [REFUSED.format(status="400 (Bad Request)")]


def test_two_editors_conflict_and_the_second_resolves_it(page, login, demo_data, chromium, live_server):
    programme = Programme.objects.order_by("code").first()
    edit = f"/fr/programmes/{programme.code}/edit/"
    login("staff")
    page.goto(edit)

    other_context = chromium.new_context(base_url=live_server.url, locale="fr-FR")
    other = other_context.new_page()
    other_errors: list[str] = []
    other.on("console", lambda msg: msg.type == "error" and other_errors.append(msg.text))
    other.on("pageerror", lambda exc: other_errors.append(str(exc)))
    try:
        log_in(other, "admin")
        other.goto(edit)
        other.fill("#id_title_fr", "Titre changé par l'administratrice")
        other.get_by_role("button", name="Enregistrer").click()
        other.wait_for_load_state("networkidle")
        assert other.url.endswith(f"/fr/programmes/{programme.code}/")
    finally:
        other_context.close()

    # The same title changed by both: a clash, both values shown, the editor's input kept.
    page.fill("#id_title_fr", "Titre du chargé de programme")
    page.fill("#id_summary_fr", "Résumé mis à jour par le chargé de programme")
    page.get_by_role("button", name="Enregistrer").click()
    page.wait_for_load_state("networkidle")

    conflict = page.locator("#edit-conflict")
    assert conflict.is_visible()
    assert "Aïcha Administratrice" in conflict.inner_text()
    assert "Titre changé par l'administratrice" in conflict.inner_text()
    assert "Titre du chargé de programme" in conflict.inner_text()
    assert page.input_value("#id_summary_fr") == "Résumé mis à jour par le chargé de programme"
    assert page.input_value("#id_title_fr") == "Titre du chargé de programme"
    programme.refresh_from_db()
    assert programme.summary_fr != "Résumé mis à jour par le chargé de programme"

    page.get_by_role("button", name="Enregistrer").click()  # keeps the editor's choice
    page.wait_for_load_state("networkidle")

    assert page.url.endswith(f"/fr/programmes/{programme.code}/")
    programme.refresh_from_db()
    assert programme.title_fr == "Titre du chargé de programme"
    assert programme.summary_fr == "Résumé mis à jour par le chargé de programme"
    assert page.console_errors == [REFUSED.format(status="409 (Conflict)")]
    assert other_errors == []
