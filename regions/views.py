"""Map layers that need no programme knowledge: unit boundaries and IOM offices as GeoJSON (the pages of
places and the layers with programme counts are in programmes/place_views.py)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, JsonResponse
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_safe
from django.views.decorators.vary import vary_on_cookie

from .geometry import web_geometries
from .models import AdminUnit, Office

MAP_MAX_AGE = 300  # seconds: counts change with the data, boundaries almost never
MAX_UNITS_PER_REQUEST = 40


# --- GeoJSON layers ---------------------------------------------------------------------------


def _features(units: list[AdminUnit], properties: dict[str, dict] | None = None) -> list[dict]:
    """Map features of units served together (simplified as one coverage, see regions/geometry.py),
    with extra properties by P-code."""
    geometries = web_geometries([unit.boundary for unit in units])
    return [
        _feature(unit, geometry, **(properties or {}).get(unit.pcode, {}))
        for unit, geometry in zip(units, geometries, strict=True)
    ]


def _feature(unit: AdminUnit, geometry: dict, **properties) -> dict:
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
        "geometry": geometry,
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
    return _geojson(_features(list(units)))


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
