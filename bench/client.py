"""A small load client for the benchmarks: log in, then time N requests per URL on loopback."""

from __future__ import annotations

import http.client
import os
import re
import statistics
import threading
import time
import urllib.parse
from dataclasses import dataclass

BASE_URL = os.environ.get("BENCH_URL", "http://127.0.0.1:8110")
REQUESTS = int(os.environ.get("BENCH_REQUESTS", "300"))
CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", "4"))
WARMUP = int(os.environ.get("BENCH_WARMUP", "20"))


@dataclass
class Result:
    name: str
    url: str
    p50: float  # milliseconds
    p95: float
    rps: float
    errors: int


class Session:
    """Cookies by hand: the production cookies are `Secure`, and the harness talks plain HTTP to 127.0.0.1."""

    def __init__(self, base_url: str = BASE_URL) -> None:
        parts = urllib.parse.urlsplit(base_url)
        if parts.hostname not in ("127.0.0.1", "localhost"):
            raise SystemExit("The benchmarks only run against the loopback interface.")
        self.host, self.port = parts.hostname, parts.port or 80
        self.cookies: dict[str, str] = {}

    def connection(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection(self.host, self.port, timeout=60)

    def request(self, conn, method: str, path: str, body: str | None = None, headers: dict | None = None):
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items()), **(headers or {})}
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        data = response.read()
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                self.cookies[name] = rest.split(";", 1)[0]
        return response.status, data

    def login(self, username: str, password: str, path: str = "/fr/accounts/login/") -> None:
        conn = self.connection()
        status, page = self.request(conn, "GET", path)
        token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        if status != 200 or not token:
            raise SystemExit(f"login page: HTTP {status}")
        form = urllib.parse.urlencode(
            {"username": username, "password": password, "csrfmiddlewaretoken": token.group(1).decode()}
        )
        status, _ = self.request(
            conn, "POST", path, form, {"Content-Type": "application/x-www-form-urlencoded", "Referer": BASE_URL + path}
        )
        if status != 302 or "sessionid" not in self.cookies:
            raise SystemExit(f"login as {username} failed: HTTP {status}")

    def get(self, path: str) -> tuple[int, bytes]:
        conn = self.connection()
        try:
            return self.request(conn, "GET", path)
        finally:
            conn.close()


def measure_interleaved(
    session: Session | None, endpoints: list[tuple], requests: int = REQUESTS, rounds: int = 10
) -> list[Result]:
    """Measure every endpoint in turn, `rounds` times, so that each one (the floor included) sees
    the same background load on a shared machine; `requests` per endpoint in total.

    An endpoint is (name, path) measured with `session`, or (name, path, session) with its own
    (e.g. staff and partner pages interleaved in one run); names must be unique."""
    endpoints = [(e[0], e[1], e[2] if len(e) > 2 else session) for e in endpoints]
    for _, path, own in endpoints:
        for _ in range(WARMUP):
            own.get(path)
    batches: dict[str, list[Result]] = {name: [] for name, _, _ in endpoints}
    for _ in range(rounds):
        for name, path, own in endpoints:
            batches[name].append(_timed(own, name, path, max(1, requests // rounds), CONCURRENCY))
    results = []
    for name, path, _own in endpoints:
        latencies = sorted(lat for batch in batches[name] for lat in batch.latencies)
        wall = sum(batch.wall for batch in batches[name])
        results.append(_result(name, path, latencies, wall, sum(b.errors for b in batches[name])))
    return results


@dataclass
class _Batch:
    latencies: list[float]
    wall: float
    errors: int


def _result(name: str, path: str, latencies: list[float], wall: float, errors: int) -> Result:
    latencies = sorted(latencies)
    return Result(
        name=name,
        url=path,
        p50=statistics.median(latencies),
        p95=latencies[min(len(latencies) - 1, int(len(latencies) * 0.95))],
        rps=len(latencies) / wall,
        errors=errors,
    )


def measure(session: Session, name: str, path: str, requests: int = REQUESTS, concurrency: int = CONCURRENCY) -> Result:
    """Time `requests` GETs of `path` over `concurrency` keep-alive connections."""
    for _ in range(WARMUP):
        session.get(path)
    batch = _timed(session, name, path, requests, concurrency)
    return _result(name, path, batch.latencies, batch.wall, batch.errors)


def _timed(session: Session, name: str, path: str, requests: int, concurrency: int) -> _Batch:
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    remaining = [requests]

    def worker() -> None:
        nonlocal errors
        conn = session.connection()
        cookie = "; ".join(f"{k}={v}" for k, v in session.cookies.items())
        while True:
            with lock:
                if remaining[0] == 0:
                    break
                remaining[0] -= 1
            start = time.perf_counter()
            conn.request("GET", path, headers={"Cookie": cookie, "Accept-Encoding": "gzip"})
            response = conn.getresponse()
            response.read()
            elapsed = (time.perf_counter() - start) * 1000
            with lock:
                latencies.append(elapsed)
                if response.status != 200:
                    errors += 1
        conn.close()

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return _Batch(latencies, time.perf_counter() - started, errors)
