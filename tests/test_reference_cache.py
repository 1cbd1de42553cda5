"""Cached reference lists (labelled places) follow admin edits and reference reloads without a restart."""

from __future__ import annotations

from django.urls import reverse

from programmes.reference import load_reference_data
from regions.models import AdminUnit, places

from .admin_support import posted_form_data

COMMUNE = "NE006012007"


def _place_label(client) -> str:
    found = client.get(reverse("programmes:places"), {"q": COMMUNE}).json()["results"]
    return next(p["label"] for p in found if p["pcode"] == COMMUNE)


def test_an_admin_rename_of_a_commune_shows_on_the_next_request(client, staff, admin_user, programme_a):
    client.force_login(staff)
    before = _place_label(client)
    assert "Nouveau-Nom-De-Commune" not in before
    assert "Nouveau-Nom-De-Commune" not in client.get(reverse("programmes:list")).content.decode()

    client.force_login(admin_user)
    unit = AdminUnit.objects.get(pcode=COMMUNE)
    change_url = reverse("admin:regions_adminunit_change", args=[unit.pk])
    data = posted_form_data(client.get(change_url).context["adminform"].form)
    response = client.post(change_url, {**data, "name_fr": "Nouveau-Nom-De-Commune"})
    assert response.status_code == 302, response.context["adminform"].form.errors

    client.force_login(staff)
    assert _place_label(client).endswith("› Nouveau-Nom-De-Commune")
    assert "Nouveau-Nom-De-Commune" in client.get(reverse("programmes:list")).content.decode()  # the area filter


def test_deleting_a_unit_in_the_admin_removes_it_from_the_place_lists(client, admin_user):
    unit = (
        AdminUnit.objects.filter(level=3, programme_locations__isnull=True, offices__isnull=True, children__isnull=True)
        .order_by("-pcode")
        .first()
    )
    assert unit.pcode in {p.pcode for p in places()}

    client.force_login(admin_user)
    response = client.post(reverse("admin:regions_adminunit_delete", args=[unit.pk]), {"post": "yes"})
    assert response.status_code == 302

    assert unit.pcode not in {p.pcode for p in places()}


def test_reloading_the_reference_data_refreshes_the_cached_places(staff, client):
    places()  # the list is cached...
    AdminUnit.objects.filter(pcode=COMMUNE).update(name_fr="Nom-Temporaire")  # ...and a bulk write sends no signal
    assert not any(p.label.endswith("Nom-Temporaire") for p in places())  # still the cached list

    load_reference_data()

    client.force_login(staff)
    label = _place_label(client)
    assert "Nom-Temporaire" not in label and label.startswith("Tillabéri › ")
