"""Loading of the portal's reference data (admin units, sectors, government partners, offices, key figures).

Every loader is idempotent: it compares each row with what is stored and writes only what differs,
returning how many rows it created, updated and left unchanged.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.db import models, transaction
from django.dispatch import Signal

from partners.models import DEFAULT_IATI_TYPE, Organisation, OrganisationCategory
from regions.models import NIGER, AdminLevel, AdminUnit, Country, Office, Region, bump_reference_version

from .models import Document, FigureScope, KeyFigure, Sector, Visibility
from .services import sector_document_add

BASE_DIR = Path(__file__).resolve().parent.parent
NIGER_DIR = BASE_DIR / "regions" / "data" / "niger"
IATI_CODELIST_DIR = BASE_DIR / "regions" / "data" / "iati"
LEVEL_FILES = {AdminLevel.REGION: "regions", AdminLevel.DEPARTMENT: "departments", AdminLevel.COMMUNE: "communes"}


@dataclass
class SyncResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    def __str__(self) -> str:
        return f"{self.created} created, {self.updated} updated, {self.unchanged} unchanged"


def sync_rows(model: type[models.Model], key: str, rows: list[dict[str, Any]]) -> SyncResult:
    """Create missing rows and update differing ones, matching on the unique `key` field."""
    result = SyncResult()
    existing = {getattr(obj, key): obj for obj in model.objects.filter(**{f"{key}__in": [r[key] for r in rows]})}
    to_create, to_update, changed_fields = [], [], set()
    for row in rows:
        obj = existing.get(row[key])
        if obj is None:
            to_create.append(model(**row))
            continue
        diff = [name for name, value in row.items() if getattr(obj, name) != value]
        if diff:
            for name in diff:
                setattr(obj, name, row[name])
            changed_fields.update(diff)
            to_update.append(obj)
        else:
            result.unchanged += 1
    if to_create:
        for obj in to_create:
            if hasattr(obj, "search_text") and hasattr(obj, "build_search_text"):
                obj.search_text = obj.build_search_text()
        model.objects.bulk_create(to_create)
    if to_update:
        model.objects.bulk_update(to_update, sorted(changed_fields))
    result.created, result.updated = len(to_create), len(to_update)
    return result


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _centroid(geometry: dict) -> tuple[float, float]:
    """Centre of the bounding box of the largest ring: good enough to place a label or a marker."""
    polygons = geometry["coordinates"] if geometry["type"] == "MultiPolygon" else [geometry["coordinates"]]
    ring = max((polygon[0] for polygon in polygons), key=len)
    lons = [point[0] for point in ring]
    lats = [point[1] for point in ring]
    return round((min(lats) + max(lats)) / 2, 5), round((min(lons) + max(lons)) / 2, 5)


def load_admin_units() -> dict[AdminLevel, SyncResult]:
    results = {}
    for level, stem in LEVEL_FILES.items():
        features = json.loads((NIGER_DIR / f"{stem}.geojson").read_text(encoding="utf-8"))["features"]
        geometry_by_pcode = {f["properties"]["pcode"]: f["geometry"] for f in features}
        parents = dict(AdminUnit.objects.filter(level=level - 1).values_list("pcode", "pk")) if level > 1 else {}
        rows = []
        for record in _read_csv(NIGER_DIR / f"{stem}.csv"):
            geometry = geometry_by_pcode[record["pcode"]]
            lat, lon = _centroid(geometry)
            rows.append(
                {
                    "pcode": record["pcode"],
                    "name_fr": record["name_fr"],
                    "name_en": record["name_en"],
                    "name_alt": record["name_alt"],
                    "level": level,
                    "parent_id": parents[record["parent_pcode"]] if level > 1 else None,
                    "boundary": geometry,
                    "centroid_lat": lat,
                    "centroid_lon": lon,
                }
            )
        results[level] = sync_rows(AdminUnit, "pcode", rows)
    return results


def load_countries() -> SyncResult:
    """The IATI Country codelist with French and English names (regions/data/iati/README.md)."""
    fields = ("code", "name_fr", "name_en", "iati_name", "status")
    rows = [{name: r[name] for name in fields} for r in _read_csv(IATI_CODELIST_DIR / "countries.csv")]
    return sync_rows(Country, "code", rows)


def load_world_regions() -> SyncResult:
    """The IATI Region codelist (OECD DAC regions) with French and English names."""
    fields = ("code", "name_fr", "name_en", "status")
    rows = [{name: r[name] for name in fields} for r in _read_csv(IATI_CODELIST_DIR / "regions.csv")]
    return sync_rows(Region, "code", rows)


def load_sectors() -> SyncResult:
    rows = [
        {
            "code": r["code"],
            "order": int(r["order"]),
            "dac_code": r["dac_code"],
            "name_fr": r["name_fr"],
            "name_en": r["name_en"],
            "description_fr": r["description_fr"],
            "description_en": r["description_en"],
        }
        for r in _read_csv(BASE_DIR / "programmes" / "data" / "sectors.csv")
    ]
    return sync_rows(Sector, "code", rows)


def load_organisations() -> SyncResult:
    """Government partners and IOM units (parents first), then each region's governorate and council."""
    records = _read_csv(BASE_DIR / "partners" / "data" / "organisations.csv")
    result = SyncResult()
    for with_parent in (False, True):
        batch = [r for r in records if bool(r["parent_code"]) == with_parent]
        codes = dict(Organisation.objects.values_list("code", "pk"))
        rows = [
            {
                "code": r["code"],
                "acronym": r["acronym"],
                "name_fr": r["name_fr"],
                "name_en": r["name_en"],
                "category": r["category"],
                "iati_type": DEFAULT_IATI_TYPE[OrganisationCategory(r["category"])].value,
                "parent_id": codes[r["parent_code"]] if r["parent_code"] else None,
                # The government partners listed are Niger's (an endorsing government of a regional proposal).
                "country_id": NIGER if r["category"] == OrganisationCategory.NATIONAL_GOVERNMENT else None,
            }
            for r in batch
        ]
        _add(result, sync_rows(Organisation, "code", rows))
    regional = []
    for region in AdminUnit.objects.regions().without_boundary():
        slug = region.pcode.lower()
        regional += [
            {
                "code": f"gov-{slug}",
                "acronym": "",
                "name_fr": f"Gouvernorat {of_place(region.name_fr)}",
                "name_en": f"Governorate of {region.name_fr}",
                "category": OrganisationCategory.REGIONAL_AUTHORITY.value,
                "iati_type": DEFAULT_IATI_TYPE[OrganisationCategory.REGIONAL_AUTHORITY].value,
                "admin_unit_id": region.pk,
            },
            {
                "code": f"cr-{slug}",
                "acronym": "",
                "name_fr": f"Conseil régional {of_place(region.name_fr)}",
                "name_en": f"Regional Council of {region.name_fr}",
                "category": OrganisationCategory.REGIONAL_AUTHORITY.value,
                "iati_type": DEFAULT_IATI_TYPE[OrganisationCategory.REGIONAL_AUTHORITY].value,
                "admin_unit_id": region.pk,
            },
        ]
    _add(result, sync_rows(Organisation, "code", regional))
    return result


def of_place(name: str) -> str:
    """French "de" before a place name, elided before a vowel: "de Tahoua", "d'Agadez"."""
    return f"d'{name}" if name[:1].upper() in "AEIOUYÂÉÈÊÎÔÛ" else f"de {name}"


def load_offices() -> SyncResult:
    communes = dict(AdminUnit.objects.communes().values_list("pcode", "pk"))
    rows = [
        {
            "name_fr": r["name_fr"],
            "name_en": r["name_en"],
            "kind": r["kind"],
            "commune_id": communes[r["commune_pcode"]],
            "address": r["address"],
        }
        for r in _read_csv(BASE_DIR / "regions" / "data" / "offices.csv")
    ]
    return sync_rows(Office, "name_fr", rows)


def load_key_figures() -> SyncResult:
    sectors = dict(Sector.objects.values_list("code", "pk"))
    rows = [
        {
            "label_en": r["label_en"],
            "label_fr": r["label_fr"],
            "value": Decimal(r["value"]),
            "display_value": r["display_value"],
            "unit": r["unit"],
            "as_of": date.fromisoformat(r["as_of"]),
            "source": r["source"],
            "source_en": r["source_en"],
            "source_url": r["source_url"],
            "scope": FigureScope(r["scope"]).value,
            "sector_id": sectors.get(r["sector_code"]),
            "order": int(r["order"]),
        }
        for r in _read_csv(BASE_DIR / "programmes" / "data" / "key_figures.csv")
    ]
    return sync_rows(KeyFigure, "label_en", rows)


def load_sector_documents() -> SyncResult:
    """A starter set of public references (titles and links) per sector. Added once: a reference that staff
    retired or replaced is never brought back, and one already there is left as staff keep it."""
    result = SyncResult()
    sectors = {sector.code: sector for sector in Sector.objects.all()}
    known = set(Document.objects.filter(sector__isnull=False).exclude(link="").values_list("sector__code", "link"))
    for r in _read_csv(BASE_DIR / "programmes" / "data" / "sector_documents.csv"):
        if (r["sector_code"], r["link"]) in known or r["sector_code"] not in sectors:
            result.unchanged += 1
            continue
        document = Document(
            title=r["title"],
            category=r["category"],
            language=r["language"],
            link=r["link"],
            visibility=Visibility.PARTNERS,
        )
        sector_document_add(sector=sectors[r["sector_code"]], user=None, document=document)
        result.created += 1
    return result


def _add(total: SyncResult, part: SyncResult) -> None:
    total.created += part.created
    total.updated += part.updated
    total.unchanged += part.unchanged


# Sent at the end of load_reference_data; apps above programmes (e.g. imports) load their own reference
# rows in a receiver that returns {kind: SyncResult}, so that programmes never imports them.
reference_data_loaded = Signal()


@transaction.atomic
def load_reference_data() -> dict[str, SyncResult]:
    units = load_admin_units()
    bump_reference_version()  # bulk writes send no signals: cached place lists are rebuilt on next use
    results = {
        "regions": units[AdminLevel.REGION],
        "departments": units[AdminLevel.DEPARTMENT],
        "communes": units[AdminLevel.COMMUNE],
        "countries": load_countries(),
        "world regions": load_world_regions(),
        "sectors": load_sectors(),
        "organisations": load_organisations(),
        "offices": load_offices(),
        "key figures": load_key_figures(),
        "sector documents": load_sector_documents(),
    }
    for _receiver, response in reference_data_loaded.send(sender=SyncResult):
        results.update(response or {})
    return results
