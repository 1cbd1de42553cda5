"""The edit form's server side for keyboard and screen-reader users (issue 18): full place labels resolve,
rows are named groups, and the error summary links each error to its field."""

from __future__ import annotations

import re

import pytest

from programmes.forms import PlaceField
from programmes.models import ProgrammeLocation

from .edit_support import form_data
from .test_edit_forms import NEW_URL, edit_url, new_programme_data


@pytest.mark.parametrize(
    ("text", "pcode"),
    [
        ("Agadez › Tchirozerine › Agadez", "NE001006001"),
        ("agadez>tchirozerine >  AGADEZ", "NE001006001"),
        ("Tillabéri › Kollo › Namaro", "NE006008010"),
        ("Tillaberi › Kollo", "NE006008"),
        ("namaro", "NE006008010"),
        ("NE003", "NE003"),
    ],
)
def test_a_place_resolves_from_its_full_label_its_pcode_or_a_unique_name(reference, text, pcode):
    assert PlaceField().clean(text).pcode == pcode


def test_a_label_that_names_no_place_is_refused_with_the_text_typed(reference):
    with pytest.raises(Exception, match="Agadez › Nowhere"):
        PlaceField().clean("Agadez › Nowhere")


def test_a_place_saved_by_its_full_label_without_javascript(client, staff, org_a, org_b):
    client.force_login(staff)
    data = new_programme_data(client, org_a, org_b)
    data["locations-0-admin_unit"] = "Agadez › Tchirozerine › Agadez"
    assert client.post(NEW_URL.format(lang="fr"), data).status_code == 302
    assert list(ProgrammeLocation.objects.values_list("admin_unit__pcode", flat=True)) == ["NE001006001"]


def test_each_edit_row_is_a_group_named_after_its_place_in_the_list(client, staff, programme_a):
    client.force_login(staff)
    page = client.get(edit_url(programme_a)).content.decode()
    rows = programme_a.participations.count() + 1  # one empty row to add a partner
    names = re.findall(r'role="group" aria-label="(Partenaire \d+)"', page)
    assert names == [f"Partenaire {n}" for n in range(1, rows + 1)]
    assert 'role="group" aria-label="Lieu 1"' in page
    assert 'role="group" aria-label="Indicateur 1"' in page
    assert "Les champs marqués d’un astérisque (*) sont obligatoires." in page


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_the_error_summary_links_each_error_to_its_field(client, staff, programme_a, lang):
    client.force_login(staff)
    data = form_data(client.get(edit_url(programme_a, lang)).content.decode())
    data["title_fr"] = ""
    data["locations-1-admin_unit"] = "Nulle-part-ville"
    response = client.post(edit_url(programme_a, lang), data)

    page = response.content.decode()
    assert response.status_code == 400
    summary = page.split("data-error-summary", 1)[1].split("</div>", 1)[0]
    links = dict(re.findall(r'<a class="alert-link" href="#([^"]+)" data-error-link>([^<]+)</a>', summary))
    place, title = ("Lieu 2 · Lieu", "Titre (français)") if lang == "fr" else ("Place 2 · Place", "Title (French)")
    assert links["id_title_fr"].startswith(f"{title}: ")
    assert (
        links["id_locations-1-admin_unit"].startswith(f"{place}: ")
        and "Nulle-part-ville" in links["id_locations-1-admin_unit"]
    )
    # Every link points at an element of the page.
    assert all(f'id="{target}"' in page for target in links)
