"""Benchmark of the report builders beside floors measured in the same run (see docs/PERFORMANCE.md).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/iom_bench_reports .venv/bin/python bench/reports.py

Seeds N demo programmes (`seed_demo --programmes N --force`), then runs every measurement in a fresh
subprocess so that its peak RSS (ru_maxrss) is its own: the portfolio workbook, the 3W CSV and the IATI
XML as the workers build them, an openpyxl write-only floor writing the workbook's very rows from
memory, and a PostgreSQL COPY floor of the 3W rows (psycopg2 copy_expert to a temporary file).
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
KINDS = ("workbook", "workbook_floor", "csv", "copy_floor", "iati")
BUDGET = {"workbook": 1.5, "csv": 8.0, "memory_growth_mb": 30.0}

# The 3W rows in SQL: programme × place × implementing partner (IOM when none), funders aggregated,
# region/department/commune names and P-codes — the same columns the CSV builder writes.
COPY_SQL = """
COPY (
  SELECT COALESCE(o.name_fr, 'OIM'), COALESCE(o.acronym, 'IOM'), f.funders, s.name_fr, s.code, p.code, p.title_fr,
         'Niger', 'NER',
         CASE u.level WHEN 1 THEN u.name_fr WHEN 2 THEN pu.name_fr WHEN 3 THEN gu.name_fr END,
         CASE u.level WHEN 1 THEN u.pcode WHEN 2 THEN pu.pcode WHEN 3 THEN gu.pcode END,
         CASE u.level WHEN 2 THEN u.name_fr WHEN 3 THEN pu.name_fr END,
         CASE u.level WHEN 2 THEN u.pcode WHEN 3 THEN pu.pcode END,
         CASE u.level WHEN 3 THEN u.name_fr END, CASE u.level WHEN 3 THEN u.pcode END,
         p.status, COALESCE(p.actual_start, p.planned_start), COALESCE(p.actual_end, p.planned_end),
         p.budget, p.currency
  FROM programmes_programme p
  JOIN programmes_sector s ON s.id = p.primary_sector_id
  LEFT JOIN programmes_participation ip ON ip.programme_id = p.id AND ip.role = 'implementing_partner'
  LEFT JOIN partners_organisation o ON o.id = ip.organisation_id
  LEFT JOIN programmes_programmelocation l ON l.programme_id = p.id
  LEFT JOIN regions_adminunit u ON u.id = l.admin_unit_id
  LEFT JOIN regions_adminunit pu ON pu.id = u.parent_id
  LEFT JOIN regions_adminunit gu ON gu.id = pu.parent_id
  LEFT JOIN LATERAL (
    SELECT string_agg(fo.acronym || ' — ' || fo.name_fr, '; ' ORDER BY fo.name_fr) AS funders
    FROM programmes_participation fp JOIN partners_organisation fo ON fo.id = fp.organisation_id
    WHERE fp.programme_id = p.id AND fp.role = 'funding'
  ) f ON true
  ORDER BY p.planned_start DESC, p.code, u.pcode
) TO STDOUT WITH CSV HEADER
"""


def _setup_django() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "iom_portal.settings")
    os.environ.setdefault("DEBUG", "1")
    import django

    django.setup()


def _count_lines(path: Path) -> int:
    with open(path, encoding="utf-8") as handle:
        return sum(1 for _ in handle)


def child(kind: str) -> dict:
    """One measurement, in this (fresh) process."""
    _setup_django()
    from django.db import connection
    from django.utils import translation
    from openpyxl import Workbook

    from programmes.models import Programme
    from reports.builders import iati, matrix, portfolio, records

    translation.activate("fr")
    queryset = Programme.objects.all()
    out = Path(tempfile.mkdtemp(prefix="bench-reports-")) / f"{kind}.out"
    rows = 0
    if kind == "workbook_floor":
        # The workbook's rows, gathered first (not timed), then written from memory.
        lookups = records.Lookups.load()
        programme_rows, indicator_rows = [portfolio.portfolio_headers()], [portfolio.indicator_headers()]
        for record in records.iter_programmes(queryset, lookups, results=True, all_cells=True):
            programme_rows.append(portfolio.portfolio_row(record, lookups))
            indicator_rows.extend(portfolio.indicator_rows(record, lookups))
        figure_rows = list(portfolio.key_figure_rows(queryset))
        start = time.perf_counter()
        workbook = Workbook(write_only=True)
        for title, sheet_rows in (
            ("Programmes", programme_rows),
            ("Indicateurs", indicator_rows),
            ("Chiffres", figure_rows),
        ):
            sheet = workbook.create_sheet(title)
            for row in sheet_rows:
                sheet.append(row)
        workbook.save(out)
        rows = len(programme_rows) + len(indicator_rows) + len(figure_rows)
    elif kind == "copy_floor":
        start = time.perf_counter()
        with open(out, "w", encoding="utf-8") as handle, connection.cursor() as cursor:
            # JIT compilation alone costs ~0.6 s on this query: a floor measures the copy, not the compiler.
            cursor.execute("SET jit = off")
            cursor.cursor.copy_expert(COPY_SQL, handle)
        rows = _count_lines(out) - 1
    else:
        start = time.perf_counter()
        if kind == "workbook":
            rows = portfolio.write_portfolio_workbook(queryset, out)
        elif kind == "csv":
            with open(out, "w", encoding="utf-8", newline="") as handle:
                matrix.write_matrix_csv(queryset, handle)
            rows = _count_lines(out) - 2
        elif kind == "iati":
            rows, problems = iati.write_iati_xml(queryset, str(out))
            assert not problems, problems[:3]
    seconds = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"kind": kind, "seconds": seconds, "peak_rss_mb": peak_mb, "rows": rows, "bytes": out.stat().st_size}


def run_child(kind: str) -> dict:
    result = subprocess.run(
        [sys.executable, __file__, "--child", kind], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def seed(programmes: int) -> None:
    env = {**os.environ, "DEBUG": os.environ.get("DEBUG", "1")}
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
    subprocess.run([*manage, "load_reference_data"], cwd=ROOT, env=env, check=True, capture_output=True)
    subprocess.run(
        [*manage, "seed_demo", "--programmes", str(programmes), "--force"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [*manage, "shell", "-c", "from django.db import connection; connection.cursor().execute('ANALYZE')"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )  # fresh planner statistics for builders and floors alike


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--repeat", type=int, default=3, help="best of N runs per measurement")
    parser.add_argument("--no-seed", action="store_true", help="measure the data already in the database")
    parser.add_argument("--child", choices=KINDS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child)))
        return 0
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        print("Set DATABASE_URL to a PostgreSQL database of its own, e.g. iom_bench_reports.", file=sys.stderr)
        return 2
    results: dict[int, dict[str, dict]] = {}
    for size in args.sizes:
        if not args.no_seed:
            seed(size)
        # Interleaved rounds (every kind once per round), so that load from other processes on the
        # machine hits builders and floors alike; the best round of each kind counts.
        runs: dict[str, list[dict]] = {kind: [] for kind in KINDS}
        for _round in range(args.repeat):
            for kind in KINDS:
                runs[kind].append(run_child(kind))
        results[size] = {}
        for kind, kind_runs in runs.items():
            best = min(kind_runs, key=lambda r: r["seconds"])
            best["peak_rss_mb"] = max(r["peak_rss_mb"] for r in kind_runs)
            results[size][kind] = best
    ok = report(results)
    return 0 if ok else 1


def report(results: dict[int, dict[str, dict]]) -> bool:
    print("| programmes | report | rows | size | time (s) | floor (s) | ratio | budget | peak RSS (MB) |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|")
    ok = True
    for size, kinds in results.items():
        for kind, floor_kind in (("workbook", "workbook_floor"), ("csv", "copy_floor"), ("iati", None)):
            r = kinds[kind]
            floor = kinds[floor_kind]["seconds"] if floor_kind else None
            ratio = r["seconds"] / floor if floor else None
            budget = BUDGET.get(kind)
            if ratio and budget and ratio > budget:
                ok = False
            print(
                f"| {size:,} | {kind} | {r['rows']:,} | {r['bytes'] / 1e6:.1f} MB | {r['seconds']:.2f} | "
                f"{floor if floor is None else f'{floor:.2f}'} | {'' if ratio is None else f'{ratio:.2f}×'} | "
                f"{'' if budget is None else f'≤ {budget}×'} | {r['peak_rss_mb']:.0f} |"
            )
    sizes = sorted(results)
    if len(sizes) >= 2:
        print()
        for kind in ("workbook", "csv", "iati"):
            growth = results[sizes[-1]][kind]["peak_rss_mb"] - results[sizes[0]][kind]["peak_rss_mb"]
            verdict = "ok" if growth < BUDGET["memory_growth_mb"] else "OVER BUDGET"
            ok = ok and growth < BUDGET["memory_growth_mb"]
            print(
                f"- {kind}: peak RSS grows {growth:+.1f} MB from {sizes[0]:,} to {sizes[-1]:,} programmes ({verdict})"
            )
    return ok


if __name__ == "__main__":
    sys.exit(main())
