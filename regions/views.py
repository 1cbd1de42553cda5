"""Map layers that need no programme knowledge: unit boundaries and IOM offices as GeoJSON (the pages of
places and the layers with programme counts are in programmes/place_views.py)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, JsonResponse
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_safe
from django.views.decorators.vary import vary_on_cookie

from .models import AdminUnit, Office

MAP_MAX_AGE = 300  # seconds: counts change with the data, boundaries almost never
MAX_UNITS_PER_REQUEST = 40


# --- GeoJSON layers ---------------------------------------------------------------------------


def _round_coordinates(coordinates, digits: int = 3):
    """About 100 m of precision: plenty for a country map, and a third lighter to send."""
    if coordinates and isinstance(coordinates[0], int | float):
        return [round(value, digits) for value in coordinates]
    return [_round_coordinates(part, digits) for part in coordinates]


def _feature(unit: AdminUnit, **properties) -> dict:
    geometry = unit.boundary or {"type": "Polygon", "coordinates": []}
    return {
        "type": "Feature",
        "id": unit.pcode,
        "properties": {
            "pcode": unit.pcode,
            "name": unit.name,
            "level": unit.level,
            "url": unit.get_absolute_url(),
            **properties,
        },
        "geometry": {"type": geometry["type"], "coordinates": _round_coordinates(geometry["coordinates"])},
    }


def _geojson(features: list[dict]) -> JsonResponse:
    response = JsonResponse({"type": "FeatureCollection", "features": features})
    # Counts depend on who asks: cache in the browser only, never in a shared proxy.
    patch_cache_control(response, private=True, max_age=MAP_MAX_AGE)
    return response


@login_required
@require_safe
@vary_on_cookie
def map_units(request: HttpRequest) -> JsonResponse:
    """Boundaries of the given units (?pcode=...&pcode=...), e.g. the places of one programme."""
    pcodes = request.GET.getlist("pcode")[:MAX_UNITS_PER_REQUEST]
    units = AdminUnit.objects.filter(pcode__in=pcodes)
    return _geojson([_feature(unit) for unit in units])


@login_required
@require_safe
def map_offices(request: HttpRequest) -> JsonResponse:
    """IOM's offices as GeoJSON points (at the commune centre when no exact position is recorded)."""
    offices = Office.objects.filter(is_active=True).select_related("commune").defer("commune__boundary")
    features = [
        {
            "type": "Feature",
            "properties": {"name": office.name, "kind": office.get_kind_display(), "commune": office.commune.name},
            "geometry": {"type": "Point", "coordinates": [office.lon, office.lat]},
        }
        for office in offices
        if office.lat is not None and office.lon is not None
    ]
    return _geojson(features)
