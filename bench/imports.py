"""Benchmark of the imports: preview and import of generated IATI activities and 3W rows (see docs/PERFORMANCE.md).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/iom_bench_imports .venv/bin/python bench/imports.py --sizes 1000 10000

Each measurement runs in a fresh subprocess so that its peak RSS (ru_maxrss) is its own. For each size:
an IATI file of N activities is previewed then imported (time, peak memory, queries per activity), then a
3W sheet (XLSX) of N rows over the same programmes is previewed. Each run and size has its own
identifiers (B1000R<run>.000001…): every activity is new to the portal, whatever earlier runs left.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Budget of the import issue: 10,000 activities previewed and imported in under 2 minutes together,
# memory growth under 100 MB from 1,000 to 10,000.
BUDGET = {"preview_and_import_10000_s": 120.0, "memory_growth_mb": 100.0}


def _setup_django() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "iom_portal.settings")
    os.environ.setdefault("DEBUG", "1")
    import django

    django.setup()


def activity_xml(n: int, pcodes: list[str], prefix: str = "BENCH") -> str:
    place = pcodes[n % len(pcodes)]
    return f"""<iati-activity xml:lang="fr" default-currency="USD">
  <iati-identifier>XM-DAC-47066-{prefix}.{n:06d}</iati-identifier>
  <reporting-org ref="XM-DAC-47066" type="40"><narrative>OIM</narrative></reporting-org>
  <title><narrative>Programme de banc d'essai {n}</narrative><narrative xml:lang="en">Bench programme {n}</narrative></title>
  <description type="1"><narrative>Résumé {n}</narrative></description>
  <participating-org ref="XM-DAC-47066" role="2" type="40"><narrative>OIM</narrative></participating-org>
  <participating-org role="4" type="10"><narrative>Institut national de la statistique</narrative></participating-org>
  <activity-status code="1"/>
  <activity-date type="1" iso-date="2026-01-01"/><activity-date type="3" iso-date="2027-12-31"/>
  <activity-scope code="4"/>
  <recipient-country code="NE" percentage="100"/>
  <location><administrative vocabulary="G1" level="1" code="{place}"/><name><narrative>x</narrative></name></location>
  <sector vocabulary="99" vocabulary-uri="https://www.iom.int/migration-management" code="CT"/>
  <budget type="1" status="1"><period-start iso-date="2026-01-01"/><period-end iso-date="2026-12-31"/>
    <value currency="USD" value-date="2026-01-01">{100000 + n}</value></budget>
</iati-activity>"""


def child(kind: str, size: int, path: str) -> dict:
    _setup_django()
    from django.conf import settings
    from django.core.files.uploadedfile import UploadedFile
    from django.db import connection

    # As in production: no query log (DEBUG=1 only spares the settings their secrets; with it Django keeps the
    # text of the last 9,000 queries, and a batch's multi-row INSERTs would count as the import's memory).
    settings.DEBUG = False

    from imports.models import ImportFormat
    from imports.services import import_job_apply, import_job_confirm, import_job_create, iter_preview
    from partners.models import User

    user = User.objects.filter(is_superuser=True).order_by("pk").first()
    counted = [0]

    def count(execute, sql, params, many, context):  # counts every query without keeping them
        counted[0] += 1
        return execute(sql, params, many, context)

    started = time.perf_counter()
    with connection.execute_wrapper(count):
        if kind == "preview_xml":
            with open(path, "rb") as stream:  # read batch by batch, as import_job_preview does
                rows = sum(len(items) for items in iter_preview(stream, format=ImportFormat.IATI_XML, language="fr"))
        elif kind == "import_xml":
            settings.IMPORT_INLINE_BYTES = 10**12  # in this process: preview and import at once
            # An upload this large reaches the view as a temporary file on disk (FILE_UPLOAD_MAX_MEMORY_SIZE).
            with open(path, "rb") as handle:
                upload = UploadedFile(handle, name="bench.xml", size=os.path.getsize(path))
                job = import_job_create(user=user, upload=upload, language="fr")
            job = import_job_confirm(job=job, user=user, create_organisations=True)
            job = import_job_apply(job_id=job.pk)
            rows = sum(len(job.result.get(k, [])) for k in ("new", "update", "unchanged"))
        else:  # preview_sheet
            with open(path, "rb") as stream:
                rows = sum(
                    len(items)
                    for items in iter_preview(stream, format=ImportFormat.SHEET, language="fr", name="bench.xlsx")
                )
    seconds = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "kind": kind,
        "size": size,
        "seconds": round(seconds, 2),
        # CPU of the whole process (Django's start included): unlike the wall time, not stretched by the load
        "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 2),
        "rows": rows,
        "queries": counted[0],
        "queries_per_row": round(counted[0] / max(rows, 1), 2),
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
    }


def generate(size: int, folder: Path, prefix: str) -> tuple[Path, Path]:
    _setup_django()
    from openpyxl import Workbook

    from regions.models import AdminUnit

    pcodes = list(AdminUnit.objects.regions().values_list("pcode", flat=True))
    xml = folder / f"activities-{size}.xml"
    with xml.open("w", encoding="utf-8") as handle:
        handle.write('<?xml version="1.0" encoding="UTF-8"?>\n<iati-activities version="2.03">\n')
        for n in range(size):
            handle.write(activity_xml(n, pcodes, prefix))
        handle.write("</iati-activities>\n")
    sheet = folder / f"3w-{size}.xlsx"
    workbook = Workbook(write_only=True)
    rows = workbook.create_sheet()
    rows.append(["Code", "Région"])
    rows.append(["#activity+code", "#adm1+code"])
    for n in range(size):
        rows.append([f"{prefix}.{n:06d}", pcodes[(n + 1) % len(pcodes)]])
    workbook.save(sheet)
    return xml, sheet


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--child", nargs=3)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child[0], int(args.child[1]), args.child[2])))
        return 0
    os.environ.setdefault("DEBUG", "1")  # the benchmark's own database; settings need no secrets then
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, check=True)
    subprocess.run([sys.executable, "manage.py", "load_reference_data"], cwd=ROOT, check=True, capture_output=True)
    subprocess.run(
        [sys.executable, "manage.py", "seed_demo", "--programmes", "10", "--force"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    results = []
    run = int(time.time()) % 100000
    with tempfile.TemporaryDirectory() as folder:
        for size in args.sizes:
            # Identifiers of this run and size (B1000R<run>.000001…): every activity is new to the portal,
            # whatever earlier runs left in the benchmark's database.
            xml, sheet = generate(size, Path(folder), f"B{size}R{run}")
            for kind, path in (("preview_xml", xml), ("import_xml", xml), ("preview_sheet", sheet)):
                out = subprocess.run(
                    [sys.executable, __file__, "--child", kind, str(size), str(path)],
                    cwd=ROOT,
                    check=True,
                    capture_output=True,
                    text=True,
                )
                result = json.loads(out.stdout.strip().splitlines()[-1])
                results.append(result)
                print(json.dumps(result))
    by = {(r["kind"], r["size"]): r for r in results}
    failed = False
    largest, smallest = max(args.sizes), min(args.sizes)
    if (("preview_xml", largest) in by) and largest >= 10000:
        together = by[("preview_xml", largest)]["seconds"] + by[("import_xml", largest)]["seconds"]
        ok = together <= BUDGET["preview_and_import_10000_s"]
        failed |= not ok
        print(
            f"preview + import of {largest}: {together:.1f} s (budget {BUDGET['preview_and_import_10000_s']} s) {'OK' if ok else 'MISS'}"
        )
    if largest != smallest:
        growth = by[("import_xml", largest)]["peak_rss_mb"] - by[("import_xml", smallest)]["peak_rss_mb"]
        ok = growth <= BUDGET["memory_growth_mb"]
        failed |= not ok
        print(
            f"memory growth {smallest} → {largest}: {growth:.1f} MB (budget {BUDGET['memory_growth_mb']} MB) {'OK' if ok else 'MISS'}"
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
