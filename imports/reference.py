"""The starter sector mappings, loaded by load_reference_data (only missing rows: admin edits are kept)."""

from __future__ import annotations

import csv
from pathlib import Path

from programmes.models import Sector
from programmes.reference import SyncResult

from .models import SectorMapping

DATA = Path(__file__).resolve().parent / "data" / "sector_mappings.csv"


def load_sector_mappings(**kwargs) -> dict[str, SyncResult]:
    result = SyncResult()
    sectors = {s.code: s for s in Sector.objects.all()}
    with DATA.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            sector = sectors.get(row["sector"])
            if sector is None:
                continue
            _mapping, created = SectorMapping.objects.get_or_create(
                vocabulary=row["vocabulary"],
                vocabulary_uri=row["vocabulary_uri"],
                code=row["code"],
                defaults={"sector": sector, "note": row["note"]},
            )
            if created:
                result.created += 1
            else:
                result.unchanged += 1
    return {"sector mappings": result}
