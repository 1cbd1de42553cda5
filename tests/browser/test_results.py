"""The results framework on the edit page, used with the keyboard only: an outcome and its outputs."""

from __future__ import annotations

import pytest

from programmes.models import Outcome

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

PASSWORD = "a-long-test-password-2026"  # the persona fixtures' password


def focused(page) -> str:
    return page.evaluate("document.activeElement.id || document.activeElement.textContent.trim()")


def type_into(page, field_id: str, text: str) -> None:
    """Tab to the next field, check it is the expected one, and type."""
    page.keyboard.press("Tab")
    assert focused(page) == field_id
    page.keyboard.type(text)


def test_staff_adds_an_outcome_and_two_outputs_with_the_keyboard_only(page, login, staff, programme_a):
    login(staff.username, PASSWORD)
    page.goto(f"/fr/programmes/{programme_a.code}/edit/")
    page.focus("#id_outcomes-0-order")  # the first field of the "Cadre de résultats" section
    page.keyboard.type("1")
    type_into(page, "id_outcomes-0-code", "OC1")
    type_into(page, "id_outcomes-0-statement_fr", "Les victimes de la traite sont protégées.")
    type_into(page, "id_outcomes-0-statement_en", "Victims of trafficking are protected.")
    page.keyboard.press("Tab")
    assert focused(page) == "id_outcomes-0-DELETE"
    type_into(page, "id_outcomes-0-outputs-0-order", "")
    type_into(page, "id_outcomes-0-outputs-0-code", "OP1.1")
    type_into(page, "id_outcomes-0-outputs-0-statement_fr", "Des centres d'accueil fonctionnent.")
    type_into(page, "id_outcomes-0-outputs-0-statement_en", "Shelters operate.")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    assert focused(page) == "+ Ajouter un produit"
    page.keyboard.press("Enter")  # a new output row, focused on its first field
    assert focused(page) == "id_outcomes-0-outputs-1-order"
    type_into(page, "id_outcomes-0-outputs-1-code", "OP1.2")
    type_into(page, "id_outcomes-0-outputs-1-statement_fr", "Les agents sont formés.")
    page.keyboard.press("Shift+Tab")
    assert focused(page) == "id_outcomes-0-outputs-1-code"
    page.keyboard.press("Enter")  # implicit submission from a text box: "Enregistrer"
    page.wait_for_url(f"**/fr/programmes/{programme_a.code}/")

    outcome = Outcome.objects.get(programme=programme_a)
    assert (outcome.code, outcome.statement_en) == ("OC1", "Victims of trafficking are protected.")
    assert list(outcome.outputs.values_list("code", "order")) == [("OP1.1", 1), ("OP1.2", 2)]
    results = page.locator("#results-title").locator("xpath=..")
    assert "OC1 — Les victimes de la traite sont protégées." in results.inner_text()
    assert "OP1.2 — Les agents sont formés." in results.inner_text()
    assert page.console_errors == []
