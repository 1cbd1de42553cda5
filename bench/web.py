"""Staff web pages benchmark: list, filtered list, detail and dashboard beside the framework floor.

Run by bench/run.sh (which starts the server); prints p50/p95 and requests/s, checks the budget
(list and detail p50 <= 8x floor, p95 <= 3x their own p50) and records the figures in
docs/PERFORMANCE.md under "## Staff web pages".
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

SECTION = "## Staff web pages"
DOC = Path(__file__).resolve().parent.parent / "docs" / "PERFORMANCE.md"
P50_BUDGET = 8.0  # x floor, for list and detail
P95_BUDGET = 3.0  # x own p50


def main() -> int:
    session = Session()
    session.login(os.environ.get("BENCH_USER", "staff"), os.environ.get("BENCH_PASSWORD", "demo-pass-2026"))
    status, page = session.get("/fr/programmes/?sector=CT&area=NE006")
    codes = re.findall(rb'href="/fr/programmes/(NE-[A-Z]+-[0-9]{4}-[0-9]{5})/"', page)
    if status != 200 or not codes:
        print(f"no programme found in the filtered list (HTTP {status}); is the database seeded?")
        return 1
    endpoints = [
        ("floor", "/bench/floor"),
        ("list", "/fr/programmes/"),
        ("list filtered", "/fr/programmes/?sector=CT&area=NE006"),
        ("list searched", "/fr/programmes/?q=tillaberi+reintegration&ordering=-budget&page=2"),
        ("detail", f"/fr/programmes/{codes[0].decode()}/"),
        ("dashboard", "/fr/"),
    ]
    results = measure_interleaved(session, endpoints)
    floor = results[0].p50
    table = render(results, floor)
    print(table)
    failures = check(results, floor)
    for failure in failures:
        print("OVER BUDGET:", failure)
    write_doc(table, failures)
    return 1 if failures or any(r.errors for r in results) else 0


def render(results: list[Result], floor: float) -> str:
    lines = [
        "| page | URL | p50 ms | p95 ms | req/s | p50 / floor | p95 / p50 | errors |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r.name} | `{r.url}` | {r.p50:.1f} | {r.p95:.1f} | {r.rps:.0f} | "
            f"{r.p50 / floor:.1f}× | {r.p95 / r.p50:.1f}× | {r.errors} |"
        )
    return "\n".join(lines)


def check(results: list[Result], floor: float) -> list[str]:
    failures = []
    for r in results:
        if r.name.startswith(("list", "detail")) and r.p50 > P50_BUDGET * floor:
            failures.append(f"{r.name}: p50 {r.p50:.1f} ms > {P50_BUDGET}× floor ({floor:.1f} ms)")
        if r.name.startswith(("list", "detail")) and r.p95 > P95_BUDGET * r.p50:
            failures.append(f"{r.name}: p95 {r.p95:.1f} ms > {P95_BUDGET}× its p50 ({r.p50:.1f} ms)")
    return failures


def write_doc(table: str, failures: list[str]) -> None:
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    programmes = os.environ.get("BENCH_PROGRAMMES", "10000")
    body = "\n".join(
        [
            SECTION,
            "",
            f"Measured by `make bench` (bench/run.sh + bench/web.py) on {date.today():%Y-%m-%d}, commit {commit}: "
            f"{programmes} demo programmes in PostgreSQL, gunicorn with 2 workers and production settings "
            f"(DEBUG off, hashed compressed static files), logged in as IOM staff, {REQUESTS} requests per page "
            f"over {CONCURRENCY} concurrent keep-alive connections from 127.0.0.1 after a warm-up, "
            "interleaved in 10 rounds so that every page and the floor share the same background load. "
            "The floor is `/bench/floor`, a view returning a fixed body through the full middleware stack "
            "(session load and save, authentication, CSRF, locale, audit log, axes).",
            "",
            f"Budget: list and detail p50 ≤ {P50_BUDGET:g}× floor; p95 ≤ {P95_BUDGET:g}× their own p50.",
            "",
            table,
            "",
            "Within budget." if not failures else "Over budget: " + "; ".join(failures),
            "",
            "Machine: 2 shared cores (the load client runs on the same machine; 1-minute load average at the "
            f"end of the run: {os.getloadavg()[0]:.1f}), so absolute figures are noisy; the ratios are what the "
            "budget checks.",
            "",
        ]
    )
    text = DOC.read_text(encoding="utf-8") if DOC.exists() else "# Performance\n"
    pattern = re.compile(re.escape(SECTION) + r"\n.*?(?=\n## |\Z)", re.S)
    text = pattern.sub(lambda _: body.rstrip("\n"), text) if pattern.search(text) else text.rstrip("\n") + "\n\n" + body
    DOC.write_text(text.rstrip("\n") + "\n", encoding="utf-8")
    print(f"figures written to {DOC}")


if __name__ == "__main__":
    sys.exit(main())
