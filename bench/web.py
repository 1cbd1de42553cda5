"""Web pages benchmark: every page of the budget table as IOM staff and as a partner, beside the framework floor.

Run by bench/run.sh (which seeds the database and starts the server). One interleaved run: each page as
`staff` and as `partner.anltp`, and the floors (`/bench/floor` for pages, `/bench/floor.json` for the API)
as both, in 10 rounds, so that every measurement shares the same background load. Budget: p50 ≤ 5× the
floor of the same user (HTML pages against the HTML floor, API against the JSON floor) and p95 ≤ 2× its
own p50. The table, the machine load and every miss go into docs/PERFORMANCE.md under
"## Web pages at N programmes"; the exit status is 1 on any miss or error.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from client import CONCURRENCY, REQUESTS, Result, Session, measure_interleaved

DOC = Path(__file__).resolve().parent.parent / "docs" / "PERFORMANCE.md"
P50_BUDGET = 5.0  # × the floor of the same user
P95_BUDGET = 2.0  # × own p50
PARTNER = os.environ.get("BENCH_PARTNER", "partner.anltp")
PARTNER_ORGANISATION = os.environ.get("BENCH_PARTNER_ORGANISATION", "anltp-tim")


def pages(code: str) -> list[tuple[str, str]]:
    """(page, URL): the rows of the issue's budget table. API rows start with "API"."""
    return [
        ("dashboard", "/fr/"),
        ("list", "/fr/programmes/"),
        ("list searched", "/fr/programmes/?q=tillaberi"),
        ("list searched, two words, page 2", "/fr/programmes/?q=tillaberi+reintegration&page=2"),
        ("list filtered (sector + region)", "/fr/programmes/?sector=CT&area=NE006"),
        ("list sorted by budget", "/fr/programmes/?ordering=-budget"),
        ("detail", f"/fr/programmes/{code}/"),
        ("region page", "/fr/regions/NE006/"),
        ("sector page", "/fr/programmes/sectors/CT/"),
        ("organisation page", f"/fr/partners/{PARTNER_ORGANISATION}/"),
        ("map layer: regions", "/fr/regions/map/regions.geojson"),
        ("map layer: departments of a region", "/fr/regions/map/NE006/children.geojson"),
        ("API list", "/api/v1/programmes/"),
        ("API detail", f"/api/v1/programmes/{code}/"),
    ]


def main() -> int:
    password = os.environ.get("BENCH_PASSWORD", "demo-pass-2026")
    sessions = {"staff": Session(), "partner": Session()}
    sessions["staff"].login(os.environ.get("BENCH_USER", "staff"), password)
    sessions["partner"].login(PARTNER, password)
    # A programme both users may see: the partner's first counter-trafficking programme in Tillabéri.
    status, page = sessions["partner"].get("/fr/programmes/?sector=CT&area=NE006")
    codes = re.findall(rb'href="/fr/programmes/(NE-[A-Z]+-[0-9]{4}-[0-9]{5})/"', page)
    if status != 200 or not codes:
        print(f"no programme found in the partner's filtered list (HTTP {status}); is the database seeded?")
        return 1
    rows = pages(codes[0].decode())
    endpoints = []
    for who, session in sessions.items():
        endpoints.append((f"floor|{who}", "/bench/floor", session))
        endpoints.append((f"floor.json|{who}", "/bench/floor.json", session))
    for name, url in rows:
        for who, session in sessions.items():
            endpoints.append((f"{name}|{who}", url, session))
    load_before = os.getloadavg()
    results = {r.name: r for r in measure_interleaved(None, endpoints)}
    load_after = os.getloadavg()
    table, failures, errors = render(rows, results)
    print(table)
    for failure in failures:
        print("OVER BUDGET:", failure)
    write_doc(table, failures, errors, results, load_before, load_after)
    return 1 if failures or errors else 0


def _floor(results: dict[str, Result], name: str, who: str) -> Result:
    return results[f"floor.json|{who}" if name.startswith("API") else f"floor|{who}"]


def render(rows, results: dict[str, Result]) -> tuple[str, list[str], int]:
    lines = [
        "| page | URL | staff p50 ms | staff p50 / floor | staff p95 / p50 | partner p50 ms | partner p50 / floor "
        "| partner p95 / p50 | errors |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    failures: list[str] = []
    errors = 0
    floor_rows = [("floor (HTML)", "/bench/floor", "floor"), ("floor (JSON)", "/bench/floor.json", "floor.json")]
    for label, url, key in floor_rows:
        s, p = results[f"{key}|staff"], results[f"{key}|partner"]
        lines.append(
            f"| {label} | `{url}` | {s.p50:.1f} | 1.0× | {s.p95 / s.p50:.1f}× | {p.p50:.1f} | 1.0× | "
            f"{p.p95 / p.p50:.1f}× | {s.errors + p.errors} |"
        )
        errors += s.errors + p.errors
    for name, url in rows:
        cells = []
        row_errors = 0
        for who in ("staff", "partner"):
            r = results[f"{name}|{who}"]
            floor = _floor(results, name, who)
            ratio, spread = r.p50 / floor.p50, r.p95 / r.p50
            mark = " ✗" if ratio > P50_BUDGET else ""
            spread_mark = " ✗" if spread > P95_BUDGET else ""
            cells += [f"{r.p50:.1f}", f"{ratio:.1f}×{mark}", f"{spread:.1f}×{spread_mark}"]
            if ratio > P50_BUDGET:
                failures.append(f"{name} as {who}: p50 {r.p50:.1f} ms = {ratio:.1f}× the floor ({floor.p50:.1f} ms)")
            if spread > P95_BUDGET:
                failures.append(f"{name} as {who}: p95 {r.p95:.1f} ms = {spread:.1f}× its p50 ({r.p50:.1f} ms)")
            row_errors += r.errors
        errors += row_errors
        lines.append(f"| {name} | `{url}` | {' | '.join(cells)} | {row_errors} |")
    return "\n".join(lines), failures, errors


def write_doc(table: str, failures: list[str], errors: int, results, load_before, load_after) -> None:
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    programmes = int(os.environ.get("BENCH_PROGRAMMES", "10000"))
    section = f"## Web pages at {programmes:,} programmes (staff and partner)"
    verdict = (
        "Within budget: every page, as staff and as partner."
        if not failures
        else "**Over budget:**\n\n" + "\n".join(f"- {f}" for f in failures)
    )
    body = "\n".join(
        [
            section,
            "",
            f"Measured by `make bench BENCH_PROGRAMMES={programmes}` (bench/run.sh + bench/web.py) on "
            f"{date.today():%Y-%m-%d}, commit {commit}: {programmes:,} demo programmes in PostgreSQL, gunicorn with "
            "2 workers and production settings (DEBUG off, hashed compressed static files). Every page as IOM "
            f"`staff` and as `{PARTNER}`, {REQUESTS} requests per page and user over {CONCURRENCY} concurrent "
            "keep-alive connections from 127.0.0.1 after a warm-up, interleaved in 10 rounds with the floors so "
            "that all share the same background load. Floors: `/bench/floor` (a fixed body through the full "
            "middleware stack: session, authentication, CSRF, locale, audit log, axes) for the pages, "
            "`/bench/floor.json` for the API, each measured as the same user.",
            "",
            f"Budget: p50 ≤ {P50_BUDGET:g}× the floor; p95 ≤ {P95_BUDGET:g}× its own p50 (✗ marks a miss).",
            "",
            table,
            "",
            verdict,
            "",
            f"Errors (non-200 answers): {errors}.",
            "",
            "Machine: 2 cores shared with other work (the load client runs on the same machine); 1-, 5- and "
            f"15-minute load average {load_before[0]:.1f} / {load_before[1]:.1f} / {load_before[2]:.1f} at the start "
            f"of the run and {load_after[0]:.1f} / {load_after[1]:.1f} / {load_after[2]:.1f} at its end. Absolute "
            "figures are noisy; the ratios are what the budget checks.",
            "",
        ]
    )
    text = DOC.read_text(encoding="utf-8") if DOC.exists() else "# Performance\n"
    pattern = re.compile(re.escape(section) + r"\n.*?(?=\n## |\Z)", re.S)
    found = pattern.search(text)
    text = pattern.sub(lambda _: body.rstrip("\n"), text) if found else text.rstrip("\n") + "\n\n" + body
    DOC.write_text(text.rstrip("\n") + "\n", encoding="utf-8")
    print(f"figures written to {DOC}")


if __name__ == "__main__":
    sys.exit(main())
