"""No lost updates: a save based on an outdated version is refused, explained, and can be redone."""

from __future__ import annotations

import html
import re
from decimal import Decimal

import pytest

from programmes.models import Programme, ProgrammeStatusChange, Status
from programmes.services import programme_change_status

from .conftest import make_user
from .edit_support import form_data


@pytest.fixture
def olga(reference):
    return make_user(
        "olga.officer", first_name="Olga", last_name="Moussa", is_staff=True, group="IOM programme officers"
    )


def url(programme: Programme) -> str:
    return f"/fr/programmes/{programme.code}/edit/"


def test_the_second_save_is_refused_explained_and_keeps_the_editors_input(client, staff, olga, programme_a):
    client.force_login(staff)
    mine = form_data(client.get(url(programme_a)).content.decode())
    client.force_login(olga)
    theirs = form_data(client.get(url(programme_a)).content.decode())

    theirs.update({"title_fr": "Titre d'Olga", "budget": "999000"})
    assert client.post(url(programme_a), theirs).status_code == 302

    client.force_login(staff)
    mine.update({"title_fr": "Titre d'Alice", "summary_fr": "Résumé d'Alice"})
    response = client.post(url(programme_a), mine)

    page = response.content.decode()
    assert response.status_code == 409
    assert "Olga Moussa" in page
    programme_a.refresh_from_db()
    assert (programme_a.title_fr, programme_a.budget, programme_a.version) == ("Titre d'Olga", Decimal("999000"), 2)
    assert programme_a.summary_fr == ""
    conflict = re.search(r'<section class="alert alert-warning".*?</section>', page, re.S).group(0)
    assert "Titre d&#x27;Olga" in conflict and "999000" in conflict and "Budget" in conflict
    assert "Résumé (français)" not in conflict  # only what *they* changed is listed

    again = form_data(page)
    assert again["version"] == "2"
    assert (again["title_fr"], again["summary_fr"]) == ("Titre d'Alice", "Résumé d'Alice")  # my input is kept
    assert again["budget"] == "999000.00"  # a field only Olga changed takes her value

    assert client.post(url(programme_a), again).status_code == 302
    programme_a.refresh_from_db()
    assert (programme_a.title_fr, programme_a.summary_fr, programme_a.budget, programme_a.version) == (
        "Titre d'Alice",
        "Résumé d'Alice",
        Decimal("999000"),
        3,
    )
    assert programme_a.updated_by == staff


def test_a_status_change_made_meanwhile_is_merged_not_undone(client, staff, olga, programme_a):
    client.force_login(staff)
    mine = form_data(client.get(url(programme_a)).content.decode())
    programme_change_status(programme=programme_a, to_status=Status.SUSPENDED, user=olga, reason="Sécurité")

    mine["title_fr"] = "Titre d'Alice"
    response = client.post(url(programme_a), mine, follow=True)

    assert response.redirect_chain and response.status_code == 200
    programme_a.refresh_from_db()
    assert programme_a.title_fr == "Titre d'Alice" and programme_a.status == Status.SUSPENDED
    assert ProgrammeStatusChange.objects.count() == 1


def test_a_partner_added_meanwhile_is_kept_with_the_place_added_here(client, staff, olga, programme_a, org_b):
    client.force_login(staff)
    mine = form_data(client.get(url(programme_a)).content.decode())
    client.force_login(olga)
    theirs = form_data(client.get(url(programme_a)).content.decode())
    theirs.update({"participations-1-organisation": str(org_b.pk), "participations-1-role": "funding"})
    assert client.post(url(programme_a), theirs).status_code == 302

    client.force_login(staff)
    mine.update({"locations-1-admin_unit": "NE006008010"})
    response = client.post(url(programme_a), mine, follow=True)

    assert response.status_code == 200 and response.redirect_chain
    page = html.unescape(response.content.decode())
    assert "avec les modifications enregistrées entre-temps par Olga Moussa : Partenaires" in page
    assert sorted(programme_a.locations.values_list("admin_unit__pcode", flat=True)) == ["NE006008010", "NE006012007"]
    assert programme_a.participations.filter(organisation=org_b, role="funding").exists()


def test_a_missing_version_is_an_error_not_a_blind_overwrite(client, staff, programme_a):
    client.force_login(staff)
    data = form_data(client.get(url(programme_a)).content.decode())
    data.pop("version")
    data["title_fr"] = "Sans version"
    response = client.post(f"/en/programmes/{programme_a.code}/edit/", data)
    assert response.status_code == 400
    assert "The form lost track of the version you loaded" in response.content.decode()
    programme_a.refresh_from_db()
    assert programme_a.title_fr != "Sans version"


def test_a_row_removed_meanwhile_stays_removed(client, staff, olga, programme_a):
    client.force_login(staff)
    mine = form_data(client.get(url(programme_a)).content.decode())
    client.force_login(olga)
    theirs = form_data(client.get(url(programme_a)).content.decode())
    theirs["locations-0-DELETE"] = "on"
    assert client.post(url(programme_a), theirs).status_code == 302

    client.force_login(staff)
    mine["title_fr"] = "Titre d'Alice"
    assert client.post(url(programme_a), mine).status_code == 302
    programme_a.refresh_from_db()
    assert programme_a.title_fr == "Titre d'Alice" and not programme_a.locations.exists()


def test_a_row_removed_meanwhile_but_changed_here_is_a_conflict_that_keeps_the_row(client, staff, olga, programme_a):
    client.force_login(staff)
    mine = form_data(client.get(url(programme_a)).content.decode())
    client.force_login(olga)
    theirs = form_data(client.get(url(programme_a)).content.decode())
    theirs["participations-0-DELETE"] = "on"
    assert client.post(url(programme_a), theirs).status_code == 302

    client.force_login(staff)
    mine["participations-0-notes"] = "Notes d'Alice"
    response = client.post(url(programme_a), mine)
    assert response.status_code == 409
    page = response.content.decode()
    assert "(supprimé)" in page and "Notes d&#x27;Alice" in page
    again = form_data(page)
    assert (
        again["participations-0-notes"] == "Notes d'Alice" and again.get("participations-0-id", "") == ""
    )  # a new row
    assert client.post(url(programme_a), again).status_code == 302
    assert programme_a.participations.get().notes == "Notes d'Alice"
