"""Boundaries made lighter for the web map, without making a polygon invalid.

Rounding every coordinate to 3 decimals, as the map layers once did, bent rings across themselves
(Dosso, Tahoua, Tillabéri, Gaya, Madaoua, Say, Tamou came out invalid). Here the units served together
are simplified as one coverage (a border shared by two units stays one line: no gap, no overlap), then
snapped to the same ~100 m grid by GEOS, which repairs what the snapping would break.
"""

from __future__ import annotations

import shapely
from shapely.geometry import mapping, shape

WEB_TOLERANCE = 0.001  # coverage simplification (Visvalingam–Whyatt): moves a border by 1 km at most
WEB_GRID = 0.001  # degrees, about 100 m: the precision sent to browsers


def _polygonal(geometry: shapely.Geometry) -> shapely.Geometry:
    """Only the polygon parts (snapping may leave a collapsed sliver as a line or a point)."""
    if geometry.geom_type in ("Polygon", "MultiPolygon"):
        return geometry
    parts = [g for g in shapely.get_parts(geometry) if g.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(parts) if parts else shapely.Polygon()


def web_geometries(boundaries: list[dict | None]) -> list[dict]:
    """GeoJSON geometries for the map, in the order given; a missing boundary is an empty polygon."""
    present = [i for i, boundary in enumerate(boundaries) if boundary]
    result: list[dict] = [{"type": "Polygon", "coordinates": []} for _boundary in boundaries]
    if not present:
        return result
    geometries = [shapely.make_valid(shape(boundaries[i])) for i in present]
    simplified = shapely.coverage_simplify(geometries, WEB_TOLERANCE)
    for i, geometry in zip(present, simplified, strict=True):
        snapped = _polygonal(shapely.set_precision(geometry, WEB_GRID))
        if not snapped.is_valid:  # never seen with COD-AB data; kept as a guarantee, not a hope
            snapped = _polygonal(shapely.make_valid(snapped))
        if snapped.is_empty:
            continue
        result[i] = _as_lists(mapping(snapped))
    return result


def _as_lists(geojson: dict) -> dict:
    """shapely's mapping() uses tuples; JSON and tests compare lists."""

    def convert(value):
        return [convert(v) for v in value] if isinstance(value, list | tuple) else value

    return {"type": geojson["type"], "coordinates": convert(geojson["coordinates"])}
