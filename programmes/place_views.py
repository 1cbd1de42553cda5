"""Programmes by place: the pages of Niger's regions, departments and communes, and the map layers with counts."""

from __future__ import annotations

import json
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.serializers.json import DjangoJSONEncoder
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_safe
from django.views.decorators.vary import vary_on_cookie

from regions.models import AdminUnit, Office, cached_reference
from regions.models import places as unit_places
from regions.views import MAP_MAX_AGE, _features

from . import summary
from .models import Programme
from .templatetags.programme_tables import PROGRAMME_TABLE_FIELDS

UNIT_PROGRAMMES_SHOWN = 50


@login_required
@require_safe
def region_list(request: HttpRequest) -> HttpResponse:
    places = summary.summaries(request.user, "places")["places"]
    context = {
        "rows": region_rows(list(AdminUnit.objects.regions().without_boundary()), places),
        "computed_at": places.computed_at,
        "figures_stale": places.stale,
        "map_config": map_config(layer="regions", drill=True, offices=True),
    }
    return render(request, "regions/region_list.html", context)


@login_required
@require_safe
def admin_unit_detail(request: HttpRequest, pcode: str) -> HttpResponse:
    unit = get_object_or_404(AdminUnit.objects.without_boundary().select_related("parent__parent"), pcode=pcode)
    programmes = Programme.objects.visible_to(request.user).in_admin_unit(unit).only(*PROGRAMME_TABLE_FIELDS)
    children = list(unit.children.without_boundary())
    places = summary.summaries(request.user, "places")["places"]
    offices = (
        Office.objects.filter(commune__pcode__startswith=unit.pcode, is_active=True)
        .select_related("commune")
        .defer("commune__boundary")
    )
    context = {
        "unit": unit,
        "children": [{"unit": child, "active": summary.active_in(places, child.pcode)} for child in children],
        "programmes": programmes[:UNIT_PROGRAMMES_SHOWN],
        "programme_count": summary.programmes_in(places, unit.pcode),
        "computed_at": places.computed_at,
        "figures_stale": places.stale,
        "offices": offices,
        "map_config": map_config(layer=unit.pcode if children else None, highlight=[unit.pcode], offices=True),
    }
    return render(request, "regions/admin_unit_detail.html", context)


def region_rows(regions: list[AdminUnit], places: summary.Snapshot) -> list[dict]:
    """Each region with its number of active programmes in the user's scope (from the summary)."""
    return [{"unit": region, "active": summary.active_in(places, region.pcode)} for region in regions]


def map_config(
    *, layer: str | None = None, drill: bool = False, highlight: list[str] | None = None, offices: bool = False
) -> dict:
    """What static/js/map.js needs (layer URLs); pages pass it with json_script.

    `layer` is "regions" or the P-code whose children are shaded; `highlight` lists P-codes drawn as outlines.
    """
    if layer == "regions":
        layer_url = reverse("regions:map_regions")
    elif layer:
        layer_url = reverse("regions:map_children", args=[layer])
    else:
        layer_url = None
    highlight_url = None
    if highlight:
        highlight_url = reverse("regions:map_units") + "?" + urlencode([("pcode", p) for p in highlight])
    return {
        "layer": layer_url,
        "drill": drill,
        "children": reverse("regions:map_children", args=["PCODE"]),
        "highlight": highlight_url,
        "offices": reverse("regions:map_offices") if offices else None,
        "tile_url": settings.MAP_TILE_URL,
    }


# --- GeoJSON layers with counts -------------------------------------------------------------
# The boundaries (read, simplified as one coverage, snapped and encoded: most of a layer's cost) are the
# same for everyone: each layer's features are encoded once per language and reference version
# (`cached_reference`, reset when units change), split around the one figure that depends on the reader,
# the number of active programmes in the user's scope (from the summary), put in on each request.

COUNT_SLOT = '"active": 0}, "geometry": '


def _encoded_features(units: list[AdminUnit]) -> list[tuple[str, str, str]]:
    """(P-code, the feature's JSON up to its count, the rest) per unit, as JsonResponse would write it."""
    encoded = []
    for unit, feature in zip(units, _features(units, {unit.pcode: {"active": 0} for unit in units}), strict=True):
        text = json.dumps(feature, cls=DjangoJSONEncoder)
        # The first match is the property itself: in a name, quotes are escaped.
        head, slot, tail = text.partition(COUNT_SLOT)
        encoded.append((unit.pcode, head + '"active": ', slot.removeprefix('"active": 0') + tail))
    return encoded


def _geojson_with_counts(request: HttpRequest, layer: list[tuple[str, str, str]]) -> HttpResponse:
    """The same body as `_geojson(features with counts)`, from the encoded layer and the scope's counts."""
    places = summary.summaries(request.user, "places")["places"]
    features = ", ".join(f"{head}{int(summary.active_in(places, pcode))}{tail}" for pcode, head, tail in layer)
    response = HttpResponse(
        f'{{"type": "FeatureCollection", "features": [{features}]}}', content_type="application/json"
    )
    patch_cache_control(response, private=True, max_age=MAP_MAX_AGE)
    return response


@login_required
@require_safe
@vary_on_cookie
def map_regions(request: HttpRequest) -> HttpResponse:
    """The 8 regions with the number of active programmes the user may see in each."""
    layer = cached_reference("map-layer:regions", lambda: _encoded_features(list(AdminUnit.objects.regions())))
    return _geojson_with_counts(request, layer)


@login_required
@require_safe
@vary_on_cookie
def map_children(request: HttpRequest, pcode: str) -> HttpResponse:
    """The departments of a region (or communes of a department): fetched only on drill-down."""
    if not any(place.pcode == pcode for place in unit_places()):  # the cached list of every unit: no query
        raise Http404
    layer = cached_reference(
        f"map-layer:children:{pcode}",
        lambda: _encoded_features(list(AdminUnit.objects.filter(parent__pcode=pcode))),
    )
    return _geojson_with_counts(request, layer)
