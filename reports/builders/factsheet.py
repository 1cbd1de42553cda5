"""The programme factsheet (PDF), with its SVG map."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone

from programmes import money
from programmes.models import Measure, Programme, Role, Scope
from regions.models import AdminUnit

from .records import Lookups, _hidden, _pick, _status_label, iter_programmes

# --- 2. Programme factsheet (PDF) ---------------------------------------------------------------

MAP_WIDTH = 480.0
KM_PER_DEGREE = 111.32  # along a meridian
SCALE_STEPS = (50, 100, 200, 250, 500)  # km: the scale bar takes the largest fitting a fifth of the map


def _rings(geometry: dict) -> Iterator[list]:
    if not geometry:
        return
    polygons = geometry["coordinates"] if geometry["type"] == "MultiPolygon" else [geometry["coordinates"]]
    for polygon in polygons:
        yield from polygon


def svg_map(background: list[dict], highlighted: list[dict], points: list[tuple[float, float, str]]) -> dict:
    """Paths of Niger's regions and the programme's units in an equirectangular projection (SVG units)."""
    lons = [c[0] for g in background for ring in _rings(g) for c in ring] or [0.0, 16.0]
    lats = [c[1] for g in background for ring in _rings(g) for c in ring] or [11.5, 23.5]
    west, east, south, north = min(lons), max(lons), min(lats), max(lats)
    kx = math.cos(math.radians((south + north) / 2))
    scale = MAP_WIDTH / ((east - west) * kx)
    height = (north - south) * scale

    def project(lon: float, lat: float) -> tuple[float, float]:
        return (lon - west) * kx * scale, (north - lat) * scale

    def path(geometry: dict) -> str:
        parts = []
        for ring in _rings(geometry):
            previous = None
            commands = []
            for lon, lat, *_rest in ring:
                x, y = project(lon, lat)
                point = (round(x, 1), round(y, 1))
                if point != previous:
                    commands.append(f"{point[0]},{point[1]}")
                    previous = point
            if len(commands) > 2:
                parts.append("M" + " L".join(commands) + " Z")
        return " ".join(parts)

    px_per_km = scale / KM_PER_DEGREE
    km = max((step for step in SCALE_STEPS if step * px_per_km <= MAP_WIDTH / 5), default=SCALE_STEPS[0])
    return {
        "width": round(MAP_WIDTH, 1),
        "height": round(height, 1),
        "scale_km": km,
        "scale_px": round(km * px_per_km, 1),
        "background": [path(g) for g in background],
        "highlighted": [path(g) for g in highlighted],
        "points": [(*(round(v, 1) for v in project(lon, lat)), label) for lon, lat, label in points],
    }


def factsheet_context(programme: Programme, *, suppress_below: int = 0) -> dict:
    """Everything the factsheet template shows, read for one (already access-checked) programme."""
    lookups = Lookups.load()
    record = next(iter_programmes(Programme.objects.filter(pk=programme.pk), lookups, results=True, statements=True))
    regions = list(AdminUnit.objects.regions().values_list("boundary", flat=True))
    units = AdminUnit.objects.filter(pk__in=record.unit_ids)
    highlighted = [u.boundary for u in units if u.boundary]
    points = [(u.centroid_lon, u.centroid_lat, u.name) for u in units if u.centroid_lat is not None]
    partners = [
        {"role": str(Role(role).label), "name": lookups.orgs[org].label, "contribution": amount}
        for org, role, amount in record.partners
    ]
    locations = [
        {"path": " › ".join(u.name for u in lookups.chain(uid)), "pcode": lookups.units[uid].pcode}
        for uid in record.unit_ids
    ]
    statements = {(kind, pk): _pick(fr, en) for kind, pk, _code, fr, en in record.results}
    end = record.actual_end or record.planned_end
    indicators = []
    for ind in record.indicators:
        # A period starting after the programme ended is not shown; one running past the end stops there.
        values = [v for v in ind.values if end is None or v[0] <= end]
        latest = values[-1] if values else None
        if latest is not None and end is not None and latest[1] > end:
            latest = (latest[0], end, *latest[2:])
        indicators.append(
            {
                "code": ind.code,
                "name": ind.name,
                "result": statements.get(("output", ind.output_id)) or statements.get(("outcome", ind.outcome_id), ""),
                "unit": ind.unit_label,
                "baseline": ind.baseline,
                "target": ind.target,
                "period": f"{latest[0]:%Y-%m} – {latest[1]:%Y-%m}" if latest else "",
                "achieved": _hidden(
                    latest[5],
                    bool(suppress_below)
                    and ind.measure == Measure.UNIT
                    and latest[5] is not None
                    and 0 < latest[5] < suppress_below,
                    suppress_below,
                )
                if latest
                else None,
            }
        )
    # The budget's US dollar equivalent at the rate in force today (said on the sheet); what was spent is
    # IOM's accounting, shown to IOM staff only (as on the programme page and in the portfolio workbook).
    budget_usd = money.totals([(record.currency, record.budget)])
    return {
        "programme": record,
        "modality": lookups.labels["modality"].get(record.modality, ""),
        "budget_usd": budget_usd if budget_usd.complete else None,
        "rates_text": budget_usd.rates_text(),
        "spending": None if suppress_below else money.spending([record])[record.pk],
        "sector": lookups.sectors[record.primary_sector_id],
        "secondary_sectors": [lookups.sectors[s] for s in record.secondary_sector_ids],
        "status": _status_label(record.status),
        "scope": str(Scope(record.scope).label),
        "partners": partners,
        "funders": [
            {"name": lookups.orgs[org].name, "acronym": lookups.orgs[org].acronym_local}
            for org in record.partners_in(Role.FUNDING)
        ],
        "contact": settings.REPORTS_CONTACT_EMAIL,
        "locations": locations,
        "indicators": indicators,
        "map": svg_map(regions, highlighted, points),
        "generated": timezone.localtime(),
    }


def write_factsheet_pdf(programme: Programme, out: IO[bytes] | str | Path, *, suppress_below: int = 0) -> int:
    """The programme factsheet: overview, partners, map of its places, results — rendered by WeasyPrint."""
    from weasyprint import HTML  # imported here: loading Pango is slow and only factsheets need it

    html = render_to_string("reports/factsheet.html", factsheet_context(programme, suppress_below=suppress_below))
    # PDF/UA-1: a tagged PDF (structure tree, reading order, language, title) that screen readers can read.
    HTML(string=html, base_url=str(settings.BASE_DIR)).write_pdf(out, pdf_variant="pdf/ua-1")
    return 1
