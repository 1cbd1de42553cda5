"""A real Celery worker on the real Redis, killed with SIGKILL in the middle of a report job."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
import redis
from django.db import connection

from iom_portal.celery import app
from reports import services
from reports.models import JobStatus, ReportJob, ReportType

from .conftest import make_programme

pytestmark = [pytest.mark.redis, pytest.mark.xdist_group("redis-worker")]

ROOT = Path(__file__).resolve().parent.parent
_configured = os.environ.get("CELERY_BROKER_URL", "")
REDIS_URL = _configured if _configured.startswith("redis://") else "redis://127.0.0.1:6379/4"


def require_services() -> None:
    """Redis and a database the worker process can share; CI must have both, a laptop may not."""
    problem = None
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError:
        problem = f"no Redis at {REDIS_URL}"
    if connection.vendor != "postgresql":
        problem = "the worker process needs a shared PostgreSQL test database (set DATABASE_URL)"
    if problem and os.environ.get("CI_REQUIRE_SERVICES"):
        pytest.fail(f"required in CI: {problem}")
    if problem:
        pytest.skip(problem)


def test_database_url() -> str:
    s = connection.settings_dict
    credentials = quote(s["USER"] or "", safe="") + (f":{quote(s['PASSWORD'], safe='')}" if s["PASSWORD"] else "")
    return f"postgres://{credentials}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


test_database_url.__test__ = False  # a helper, not a test


def start_worker(name: str, media_root: Path, log: Path, **extra_env) -> subprocess.Popen:
    env = {
        **os.environ,
        "DEBUG": "1",
        "DATABASE_URL": test_database_url(),
        "CELERY_BROKER_URL": REDIS_URL,
        "CELERY_RESULT_BACKEND": "",
        "MEDIA_ROOT": str(media_root),
        "LOG_LEVEL": "INFO",
        **extra_env,
    }
    command = [sys.executable, "-m", "celery", "-A", "iom_portal", "worker", "--pool=solo", "--concurrency=1"]
    command += ["--without-gossip", "--without-mingle", "--without-heartbeat", "-n", f"{name}@%h"]
    command += ["--loglevel", "INFO"]  # received, succeeded and retried tasks appear in the log a failure prints
    with open(log, "ab") as out:
        # A session of its own, so SIGKILL reaches the worker and nothing else.
        return subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def wait_for(predicate, timeout: float, what: str, log: Path):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    jobs = list(ReportJob.objects.values("pk", "status", "attempts", "progress", "enqueued_at", "error_message"))
    pytest.fail(f"timed out waiting for {what}; jobs: {jobs}; worker log:\n{log.read_text()[-6000:]}")


def use_broker(**conf) -> None:
    """Point the app at another broker; Celery caches its connection pool and result backend on first use."""
    app.conf.update(**conf)
    app._pool = None
    app.amqp._producer_pool = None
    app._local.__dict__.pop("backend", None)


@pytest.fixture
def redis_app():
    previous = {key: app.conf[key] for key in ("broker_url", "result_backend", "task_always_eager")}
    use_broker(broker_url=REDIS_URL, result_backend=None, task_always_eager=False)
    app.control.purge()
    yield app
    use_broker(**previous)


def test_a_job_whose_worker_is_killed_mid_run_is_recovered_and_finishes(
    transactional_db, reference, staff, redis_app, settings, tmp_path
):
    require_services()
    media_root = tmp_path / "private"
    settings.MEDIA_ROOT = media_root
    for _ in range(8):
        make_programme()
    logs = tmp_path / "worker.log"

    # A slow worker: one programme per chunk and a second per chunk, so the kill lands mid-job.
    slow = start_worker("slow", media_root, logs, REPORTS_SLOW_DOWN_SECONDS="1", REPORTS_CHUNK_SIZE="1")
    try:
        job = services.report_job_create(user=staff, type=ReportType.MATRIX_3W_CSV, parameters={}, language="fr")

        def running_with_progress():
            job.refresh_from_db()
            return job.status == JobStatus.RUNNING and job.progress > 0

        wait_for(running_with_progress, 60, "the worker to start the job", logs)
    finally:
        os.killpg(slow.pid, signal.SIGKILL)
        slow.wait(timeout=30)
    assert slow.returncode == -signal.SIGKILL

    job.refresh_from_db()
    assert job.status == JobStatus.RUNNING and 0 < job.progress < 100 and job.attempts == 1
    assert not job.path.exists()  # only the temporary file was being written

    # Beat's stale-job recovery notices the silent heartbeat and sends the job again.
    settings.REPORTS_STALE_AFTER = 2  # the dead worker's last heartbeat is made older than that, not waited for
    ReportJob.objects.filter(pk=job.pk).update(heartbeat_at=job.heartbeat_at - timedelta(seconds=3))
    assert services.report_jobs_recover_stale() == {"requeued": 1, "failed": 0}
    job.refresh_from_db()
    assert job.status == JobStatus.QUEUED

    healthy = start_worker("healthy", media_root, logs)
    try:

        def finished():
            job.refresh_from_db()
            return job.is_finished

        wait_for(finished, 180, "the re-run to finish", logs)  # a safety net under CI load, not a speed check
    finally:
        healthy.send_signal(signal.SIGTERM)
        try:
            healthy.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(healthy.pid, signal.SIGKILL)
            healthy.wait()

    assert job.status == JobStatus.SUCCEEDED, job.error_message
    assert job.attempts == 2 and job.progress == 100 and job.row_count == 8
    files = [p for p in media_root.glob("reports/**/*") if p.is_file() and not p.name.endswith(".part")]
    assert files == [job.path]
    assert services._checksum(job.path) == (job.size, job.sha256)
    assert job.path.read_text(encoding="utf-8-sig").count("TEST-") == 8
