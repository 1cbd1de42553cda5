"""Two web processes side by side on one PostgreSQL database and one Redis: a login made on one is
valid on the other, throttling counts across both, a report asked for on one downloads from the
other, and an edit conflict is detected across them."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
import requests
from django.contrib.auth.hashers import make_password
from django.db import connection

from partners.models import ApiToken

from .conftest import make_programme

pytestmark = [pytest.mark.redis, pytest.mark.xdist_group("two-servers"), pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parent.parent
CACHE_URL = os.environ.get("TWO_SERVERS_CACHE_URL", "redis://127.0.0.1:6379/13")
PASSWORD = "two-servers-password-2026"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _database_url() -> str:
    conf = connection.settings_dict
    auth = conf["USER"] + (f":{conf['PASSWORD']}" if conf["PASSWORD"] else "")
    return f"postgres://{auth}@{conf['HOST'] or '127.0.0.1'}:{conf['PORT'] or 5432}/{conf['NAME']}"


@pytest.fixture
def services_available():
    problem = None
    try:
        redis.Redis.from_url(CACHE_URL, socket_connect_timeout=1).flushdb()
    except redis.RedisError:
        problem = f"no Redis at {CACHE_URL}"
    if connection.vendor != "postgresql":
        problem = "two processes need a shared PostgreSQL test database (set DATABASE_URL)"
    if problem:
        if os.environ.get("CI_REQUIRE_SERVICES"):
            pytest.fail(f"required in CI: {problem}")
        pytest.skip(problem)


@pytest.fixture
def two_servers(services_available, tmp_path):
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PYTEST")},
        "DEBUG": "1",
        "DATABASE_URL": _database_url(),
        "CACHE_URL": CACHE_URL,
        "CELERY_BROKER_URL": "",  # reports build in-process, into the shared MEDIA_ROOT
        "MEDIA_ROOT": str(tmp_path / "shared-private"),
        "API_THROTTLE_USER": "6/minute",
        "CONN_MAX_AGE": "0",
    }
    servers, logs = [], []
    try:
        for _ in range(2):
            port = _free_port()
            log = open(tmp_path / f"server-{port}.log", "w")  # noqa: SIM115 — closed below
            logs.append(log)
            process = subprocess.Popen(
                [sys.executable, "manage.py", "runserver", "--noreload", "--skip-checks", f"127.0.0.1:{port}"],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            servers.append((process, f"http://127.0.0.1:{port}"))
        deadline = time.monotonic() + 60
        for process, base in servers:
            while True:
                try:
                    if requests.get(f"{base}/healthz", timeout=10).status_code in (200, 503):
                        break
                except requests.RequestException:
                    pass
                assert process.poll() is None, f"a web process exited: see its log in {tmp_path}"
                assert time.monotonic() < deadline, "a web process did not start"
                time.sleep(0.3)
        yield [base for _process, base in servers]
    finally:
        for process, _base in servers:
            process.terminate()
            process.wait(timeout=10)
        for log in logs:
            log.close()


def test_two_web_processes_share_sessions_throttles_files_and_edit_versions(two_servers, staff, org_a, settings):
    a, b = two_servers
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]
    staff.password = make_password(PASSWORD)
    staff.save()
    programme = make_programme(org_a)

    # A login on A is valid on B.
    browser = requests.Session()
    form = browser.get(f"{a}/fr/accounts/login/", timeout=10).text
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form).group(1)
    login = browser.post(
        f"{a}/fr/accounts/login/",
        data={"username": staff.username, "password": PASSWORD, "csrfmiddlewaretoken": token},
        headers={"Referer": f"{a}/fr/accounts/login/"},
        allow_redirects=False,
        timeout=30,
    )
    assert login.status_code == 302, login.text[:500]
    page = browser.get(f"{b}/fr/programmes/{programme.code}/", allow_redirects=False, timeout=10)
    assert page.status_code == 200 and programme.code in page.text

    # Throttling counts across both: 6 requests a minute in all, whichever server answers.
    _token, secret = ApiToken.create_for(staff, "two servers")
    api = {"Authorization": f"Token {secret}", "Accept-Language": "en"}
    statuses = [
        requests.get(f"{(a, b)[i % 2]}/api/v1/programmes/{programme.code}/", headers=api, timeout=10).status_code
        for i in range(6)
    ]
    assert statuses == [200] * 6
    throttled = requests.get(f"{b}/api/v1/programmes/{programme.code}/", headers=api, timeout=10)
    assert throttled.status_code == 429 and throttled.json()["code"] == "throttled"
    redis.Redis.from_url(CACHE_URL).flushdb()  # a new minute, for the rest of the test

    # A report asked for on A downloads from B.
    job = requests.post(f"{a}/api/v1/reports/", json={"type": "matrix_3w_csv"}, headers=api, timeout=60).json()
    assert job["status"] in ("queued", "running", "succeeded")
    deadline = time.monotonic() + 120  # a bound for a loaded machine, not a measure: it ends as soon as the job does
    while True:
        polled = requests.get(f"{b}/api/v1/reports/{job['uuid']}/", headers=api, timeout=10).json()
        if polled["status"] in ("succeeded", "failed") or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert polled["status"] == "succeeded", polled
    download = requests.get(f"{b}/api/v1/reports/{job['uuid']}/download/", headers=api, timeout=10)
    assert download.status_code == 200 and programme.code in download.text

    # An edit conflict across them: B saves first, A's save of the same field from the same version is refused.
    etag = requests.get(f"{a}/api/v1/programmes/{programme.code}/", headers=api, timeout=10).headers["ETag"]
    first = requests.patch(
        f"{b}/api/v1/programmes/{programme.code}/",
        json={"title_en": "Saved on B"},
        headers={**api, "If-Match": etag},
        timeout=10,
    )
    assert first.status_code == 200, first.text
    second = requests.patch(
        f"{a}/api/v1/programmes/{programme.code}/",
        json={"title_en": "Saved on A"},
        headers={**api, "If-Match": etag},
        timeout=10,
    )
    # The version A read is known to B through the shared cache: a real conflict, explained (409).
    assert second.status_code == 409 and second.json()["code"] == "edit_conflict", second.text
    assert list(second.json()["errors"]) == ["title_en"]
    programme.refresh_from_db()
    assert programme.title_en == "Saved on B"
