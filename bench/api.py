"""REST API benchmark: requests/s and p95 of the programme list and detail beside a minimal JSON floor.

Serves the portal with gunicorn and production settings on a PostgreSQL database seeded with
10,000 programmes, then measures, in one run, as a partner user and as IOM staff (token auth):

    floor   /bench/floor.json            (a bare JsonResponse through the same middleware)
    list    /api/v1/programmes/          (first page of 50)
    detail  /api/v1/programmes/<code>/   (a programme the partner takes part in)

Budget: list >= 0.10x the floor's requests/s; partner no slower than staff by more than 1.5x.

    createdb -h 127.0.0.1 -U postgres iom_bench_api
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/iom_bench_api DEBUG=1 .venv/bin/python manage.py migrate
    ... load_reference_data && ... seed_demo --programmes 10000 --force
    .venv/bin/python bench/api.py [--database-url URL] [--port 8130] [--seconds 10] [--concurrency 4]
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
PY = str(ROOT / ".venv" / "bin" / "python")


def server_environment(database_url: str) -> dict[str, str]:
    """Production settings (DEBUG off), with the floor view routed and throttling out of the way."""
    return {
        **os.environ,
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DATABASE_URL": database_url,
        "SECURE_SSL_REDIRECT": "0",
        "STATICFILES_MANIFEST": "0",
        "BENCH_FLOOR": "1",
        "API_THROTTLE_USER": "1000000/minute",
        "API_THROTTLE_ANON": "1000000/minute",
        "LOG_LEVEL": "WARNING",
    }


def create_token(username: str, env: dict[str, str]) -> str:
    result = subprocess.run(
        [PY, "manage.py", "create_api_token", username, "--name", "bench"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip()


def vacuum_analyze(database_url: str) -> None:
    """What autovacuum does after a bulk load: planner statistics and visibility map (index-only scans)."""
    import psycopg2

    connection = psycopg2.connect(database_url)
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    connection.close()


def wait_until_up(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=10).status_code == 200:
                return
        except (requests.ConnectionError, requests.Timeout):
            pass
        time.sleep(0.3)
    raise SystemExit(f"server did not answer at {url}")


def measure(url: str, headers: dict[str, str], seconds: float, concurrency: int) -> dict:
    """Closed loop: `concurrency` clients each send the next request when the previous one is answered."""
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def client() -> None:
        nonlocal errors
        session = requests.Session()
        session.headers.update(headers)
        mine, bad = [], 0
        while time.monotonic() < stop:
            start = time.perf_counter()
            response = session.get(url, timeout=30)
            mine.append(time.perf_counter() - start)
            bad += response.status_code != 200
        with lock:
            latencies.extend(mine)
            errors += bad

    for session_warmup in range(3):
        requests.get(url, headers=headers, timeout=30)
        del session_warmup
    threads = [threading.Thread(target=client) for _ in range(concurrency)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    latencies.sort()
    return {
        "requests": len(latencies),
        "errors": errors,
        "rps": round(len(latencies) / elapsed, 1),
        "p50_ms": round(statistics.median(latencies) * 1000, 1),
        "p95_ms": round(latencies[int(len(latencies) * 0.95) - 1] * 1000, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/iom_bench_api")
    parser.add_argument("--port", type=int, default=8130)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--partner", default="partner.anltp")
    parser.add_argument("--staff", default="staff")
    args = parser.parse_args()

    env = server_environment(args.database_url)
    vacuum_analyze(args.database_url)
    base = f"http://127.0.0.1:{args.port}"
    tokens = {"partner": create_token(args.partner, env), "staff": create_token(args.staff, env)}
    server = subprocess.Popen(
        [str(ROOT / ".venv/bin/gunicorn"), "iom_portal.wsgi", "-b", f"127.0.0.1:{args.port}", "-w", str(args.workers)],
        cwd=ROOT,
        env=env,
    )
    try:
        wait_until_up(f"{base}/bench/floor.json")
        partner_auth = {"Authorization": f"Token {tokens['partner']}"}
        listing = requests.get(f"{base}/api/v1/programmes/", headers=partner_auth, timeout=30).json()
        code = listing["results"][0]["code"]
        counts = {
            who: requests.get(f"{base}/api/v1/programmes/", headers={"Authorization": f"Token {t}"}, timeout=30).json()[
                "count"
            ]
            for who, t in tokens.items()
        }
        results: dict[str, dict] = {"visible_programmes": counts, "detail_code": code}
        results["floor"] = measure(f"{base}/bench/floor.json", {}, args.seconds, args.concurrency)
        for who, token in tokens.items():
            auth = {"Authorization": f"Token {token}"}
            results[f"list_{who}"] = measure(f"{base}/api/v1/programmes/", auth, args.seconds, args.concurrency)
            results[f"detail_{who}"] = measure(
                f"{base}/api/v1/programmes/{code}/", auth, args.seconds, args.concurrency
            )
    finally:
        server.terminate()
        server.wait(timeout=30)

    floor = results["floor"]["rps"]
    print(f"{'endpoint':<16}{'req/s':>9}{'p50 ms':>9}{'p95 ms':>9}{'x floor':>9}{'errors':>8}")
    for name in ("floor", "list_partner", "list_staff", "detail_partner", "detail_staff"):
        r = results[name]
        print(f"{name:<16}{r['rps']:>9}{r['p50_ms']:>9}{r['p95_ms']:>9}{r['rps'] / floor:>9.2f}{r['errors']:>8}")
    checks = {
        "list_partner >= 0.10x floor": results["list_partner"]["rps"] >= 0.10 * floor,
        "list_staff >= 0.10x floor": results["list_staff"]["rps"] >= 0.10 * floor,
        # "No slower": throughput (mean cost per request); p95 is printed too but swings with machine load.
        "partner list req/s >= staff / 1.5": results["list_partner"]["rps"] >= results["list_staff"]["rps"] / 1.5,
        "partner detail req/s >= staff / 1.5": results["detail_partner"]["rps"] >= results["detail_staff"]["rps"] / 1.5,
        "no errors": all(
            results[k]["errors"] == 0 for k in results if isinstance(results[k], dict) and "errors" in results[k]
        ),
    }
    for label, ok in checks.items():
        print(f"{'PASS' if ok else 'FAIL'}  {label}")
    print(json.dumps(results))
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
