"""The map layers with counts: encoded once per language and reference version, the counts put in per request."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import translation

from programmes import summary
from regions.models import AdminUnit
from regions.views import _features, _geojson


def _expected(user, units: list[AdminUnit]) -> bytes:
    """What the layer sent before it was cached: every feature rebuilt and encoded on each request."""
    places = summary.summaries(user, "places")["places"]
    counts = {unit.pcode: {"active": summary.active_in(places, unit.pcode)} for unit in units}
    return _geojson(_features(units, counts)).content


@pytest.mark.parametrize("persona", ["staff", "partner_a", "partner_b"])
@pytest.mark.parametrize("language", ["fr", "en"])
def test_the_cached_layers_send_the_same_bytes_as_the_features_built_on_each_request(
    client, request, persona, language, programme_a, programme_b
):
    user = request.getfixturevalue(persona)
    client.force_login(user)
    with translation.override(language):
        regions_url = reverse("regions:map_regions")
        children_url = reverse("regions:map_children", args=["NE006"])
        for _ in range(2):  # built, then read from the cache
            response = client.get(regions_url)
            assert response["Content-Type"] == "application/json"
            assert "private" in response["Cache-Control"]
            assert response.content == _expected(user, list(AdminUnit.objects.regions()))
            response = client.get(children_url)
            expected = _expected(user, list(AdminUnit.objects.get(pcode="NE006").children.all()))
            assert response.content == expected


def test_a_unit_without_children_is_an_empty_layer_and_an_unknown_one_a_404(client, staff, reference):
    client.force_login(staff)
    response = client.get(reverse("regions:map_children", args=["NE006012007"]))
    assert response.json() == {"type": "FeatureCollection", "features": []}
    assert client.get(reverse("regions:map_children", args=["NE006999"])).status_code == 404


def test_a_renamed_unit_shows_in_the_cached_layer_and_counts_follow_each_persona(client, staff, partner_b, programme_a):
    client.force_login(staff)
    url = reverse("regions:map_regions")
    assert client.get(url).json()["features"][5]["properties"]["active"] == 1
    unit = AdminUnit.objects.get(pcode="NE006")
    unit.name_fr = "Tillabéri-renommée"
    unit.save()  # post_save: the reference version moves on
    feature = client.get(url).json()["features"][5]
    assert feature["properties"]["name"] == "Tillabéri-renommée" and feature["properties"]["active"] == 1
    client.force_login(partner_b)  # the same cached layer, the partner's own counts
    assert client.get(url).json()["features"][5]["properties"]["active"] == 0
