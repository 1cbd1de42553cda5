"""Every polygon the portal serves is valid (shapely), on the web map layers and in the API (issue 12)."""

from __future__ import annotations

import pytest
import shapely
from django.urls import reverse
from shapely.geometry import shape

from regions.geometry import web_geometries
from regions.models import AdminUnit

# Invalid once their coordinates were rounded to 3 decimals.
ONCE_INVALID = ("NE003", "NE005", "NE006", "NE003006", "NE005007", "NE006010", "NE006010003")


def _invalid(features: list[dict]) -> list[str]:
    bad = []
    for feature in features:
        geometry = shape(feature["geometry"])
        if geometry.is_empty or not geometry.is_valid or geometry.geom_type not in ("Polygon", "MultiPolygon"):
            bad.append(f"{feature['id']}: {shapely.is_valid_reason(geometry)}")
    return bad


def test_every_polygon_of_the_web_map_layers_is_valid(client, staff, reference):
    client.force_login(staff)
    regions = client.get(reverse("regions:map_regions")).json()["features"]
    assert len(regions) == 8
    served = list(regions)
    departments = []
    for region in regions:
        departments += client.get(reverse("regions:map_children", args=[region["id"]])).json()["features"]
    served += departments
    for department in departments:
        served += client.get(reverse("regions:map_children", args=[department["id"]])).json()["features"]
    assert len(served) == AdminUnit.objects.count()
    assert _invalid(served) == []
    units = client.get(reverse("regions:map_units"), {"pcode": list(ONCE_INVALID)}).json()["features"]
    assert {f["id"] for f in units} == set(ONCE_INVALID)
    assert _invalid(units) == []


def test_the_api_geojson_polygons_are_valid(client, staff, reference):
    client.force_login(staff)
    features = client.get("/api/v1/regions/geojson/", {"level": 3}).json()["features"]
    assert len(features) == AdminUnit.objects.filter(level=3).count()
    assert _invalid(features) == []


@pytest.mark.parametrize("pcode", ONCE_INVALID)
def test_the_once_invalid_units_stay_close_to_their_boundary(reference, pcode):
    unit = AdminUnit.objects.get(pcode=pcode)
    siblings = list(AdminUnit.objects.filter(parent_id=unit.parent_id))
    served = dict(zip([u.pcode for u in siblings], web_geometries([u.boundary for u in siblings]), strict=True))
    original, light = shape(unit.boundary), shape(served[pcode])
    assert light.is_valid
    # Simplified, not distorted: the two shapes differ by a thin band only.
    assert original.symmetric_difference(light).area < 0.01 * original.area
    # Snapping to the grid may drop a spike narrower than the grid (Tahoua has one of about 1 km).
    assert original.hausdorff_distance(light) < 0.02  # degrees, about 2 km


def test_neighbours_keep_their_shared_border(reference):
    """A coverage stays a coverage: no overlap between neighbouring regions once simplified."""
    regions = list(AdminUnit.objects.regions())
    geometries = [shape(g) for g in web_geometries([u.boundary for u in regions])]
    for i, first in enumerate(geometries):
        for second in geometries[i + 1 :]:
            assert first.intersection(second).area < 1e-6
