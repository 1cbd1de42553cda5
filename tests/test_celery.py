"""Celery: in-process without a broker, and a real round-trip through the local Redis."""

import os

import pytest
import redis
from celery.contrib.testing.worker import start_worker

from iom_portal.celery import app, ping

_configured = os.environ.get("CELERY_BROKER_URL", "")
# Without a configured broker (a newcomer's `make test`), db 15: CI's broker is db 14, and a run here must not
# consume or purge the queue of a CI run on the same machine.
REDIS_URL = _configured if _configured.startswith("redis://") else "redis://127.0.0.1:6379/15"


def redis_available() -> bool:
    try:
        return redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError:
        return False


def test_without_a_broker_tasks_run_in_process(settings):
    if not os.environ.get("CELERY_BROKER_URL"):
        assert app.conf.task_always_eager
    assert ping.apply().get() == "pong"


@pytest.mark.redis
@pytest.mark.xdist_group("redis-worker")
def test_a_task_round_trips_through_a_real_redis_worker():
    if not redis_available():
        if os.environ.get("CI_REQUIRE_SERVICES"):
            pytest.fail(f"Redis is required in CI but not reachable at {REDIS_URL}")
        pytest.skip(f"no Redis at {REDIS_URL}")
    previous = {key: app.conf[key] for key in ("broker_url", "result_backend", "task_always_eager")}
    use_broker(broker_url=REDIS_URL, result_backend=REDIS_URL, task_always_eager=False)
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
            result = ping.delay()
            assert result.get(timeout=20) == "pong"
            assert result.successful()
    finally:
        use_broker(**previous)


def use_broker(**conf) -> None:
    """Point the app at another broker; Celery caches its connection pool and result backend on first use."""
    app.conf.update(**conf)
    app._pool = None
    app.amqp._producer_pool = None
    app._local.__dict__.pop("backend", None)
