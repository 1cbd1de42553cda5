"""Programmes by place: the pages of Niger's regions, departments and communes, and the map layers with counts."""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_safe
from django.views.decorators.vary import vary_on_cookie

from regions.models import AdminUnit, Office
from regions.views import _features, _geojson

from . import summary
from .models import Programme

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
    programmes = Programme.objects.visible_to(request.user).in_admin_unit(unit).for_list()
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


def _features_with_counts(request: HttpRequest, units: list[AdminUnit]) -> list[dict]:
    places = summary.summaries(request.user, "places")["places"]
    return _features(units, {unit.pcode: {"active": summary.active_in(places, unit.pcode)} for unit in units})


@login_required
@require_safe
@vary_on_cookie
def map_regions(request: HttpRequest) -> JsonResponse:
    """The 8 regions with the number of active programmes the user may see in each."""
    return _geojson(_features_with_counts(request, list(AdminUnit.objects.regions())))


@login_required
@require_safe
@vary_on_cookie
def map_children(request: HttpRequest, pcode: str) -> JsonResponse:
    """The departments of a region (or communes of a department): fetched only on drill-down."""
    unit = get_object_or_404(AdminUnit.objects.without_boundary(), pcode=pcode)
    return _geojson(_features_with_counts(request, list(unit.children.all())))
