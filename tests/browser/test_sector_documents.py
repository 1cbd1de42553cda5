"""The sector page's guidance documents by keyboard alone, and axe-clean in both languages (issue 15)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from programmes.models import Document

from .test_accessibility import REFUSED, audit, tab_until

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


def test_staff_add_a_guidance_link_by_keyboard_and_the_pages_are_axe_clean(page, login, demo_data):
    login("staff")
    page.goto("/fr/programmes/sectors/CT/")
    tab_until(page, lambda f: f["tag"] == "a" and f["name"] == "Ajouter un document")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert audit(page, ["/fr/programmes/sectors/CT/documents/new/"]) == []

    tab_until(page, lambda f: f["id"] == "id_title")
    page.keyboard.type("Guide national de référencement")
    page.keyboard.press("Tab")
    page.keyboard.type("O")  # category "Orientations", chosen by type-ahead as in any select
    page.keyboard.press("Tab")
    page.keyboard.type("F")  # language of the document: Français
    tab_until(page, lambda f: f["id"] == "id_link")
    with page.expect_navigation():
        page.keyboard.press("Enter")  # submitted without a link or a file: refused, what was typed is kept
    expect(page.locator("#id_title")).to_have_value("Guide national de référencement")
    expect(page.get_by_text("Donnez soit un fichier, soit un lien")).to_be_visible()
    assert audit(page, []) == [] and page.url.endswith("/documents/new/")

    tab_until(page, lambda f: f["id"] == "id_link")
    page.keyboard.type("https://example.org/guide-referencement.pdf")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url.endswith("/fr/programmes/sectors/CT/"), page.locator("main").inner_text()
    expect(page.get_by_role("link", name="Guide national de référencement", exact=True)).to_be_visible()
    assert Document.objects.get(title="Guide national de référencement").link.endswith("referencement.pdf")

    found = audit(page, ["/fr/programmes/sectors/CT/", "/en/programmes/sectors/CT/"])
    assert found == []
    assert [error for error in page.console_errors if REFUSED not in error] == []
