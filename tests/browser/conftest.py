"""Browser fixtures: Debian's Chromium driven by Playwright against Django's live server."""

from __future__ import annotations

import os

import pytest
from django.contrib.staticfiles import handlers as staticfiles_handlers
from django.contrib.staticfiles.handlers import StaticFilesHandler

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


class _StaticThroughTheMiddleware(StaticFilesHandler):
    """The live server hands /static/ to the portal's middleware (WhiteNoise, compression) like `make run`
    and production do, instead of Django's plain, uncompressed test handler."""

    def _should_handle(self, path: str) -> bool:
        return False


# pytest-django's live server looks the handler up in this module when it starts.
staticfiles_handlers.StaticFilesHandler = _StaticThroughTheMiddleware

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def chromium():
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI_REQUIRE_SERVICES"):
            pytest.fail("Chromium is required in CI (apt-get install chromium)")
        pytest.skip("Debian's chromium is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium, live_server):
    """A fresh browser context per test; console errors are collected and must stay empty."""
    context = chromium.new_context(base_url=live_server.url, locale="fr-FR")
    page = context.new_page()
    page.console_errors = []
    page.on("console", lambda msg: msg.type == "error" and page.console_errors.append(msg.text))
    page.on("pageerror", lambda exc: page.console_errors.append(str(exc)))
    page.set_default_timeout(15000)
    yield page
    context.close()


@pytest.fixture
def login(page):
    """Log in through the real login form: `login("staff")`, password `demo-pass-2026` by default."""

    def _login(username: str, password: str = "demo-pass-2026", language: str = "fr") -> None:
        page.goto(f"/{language}/accounts/login/")
        page.fill("#id_username", username)
        page.fill("#id_password", password)
        page.click("button[type=submit]")
        page.wait_for_load_state("networkidle")

    return _login


# The demo data set, seeded once per test process and copied back before each browser test that asks for it
# (SQLite's online backup: a fraction of a second instead of loading the reference data and seeding again).
_demo_snapshot: dict[str, object] = {}


def _seed_demo_data():
    from programmes.demo import seed_demo
    from programmes.reference import load_reference_data

    load_reference_data()
    return seed_demo(programmes=30, seed=2026)


@pytest.fixture
def demo_data(transactional_db):
    """The demo data set (reference data, demo accounts and 30 programmes) in the live server's database.

    Each test starts from the same freshly seeded data, whatever the previous test changed: on SQLite the
    database seeded by the first test is kept in memory and copied back page by page (the live server's
    request threads close their connections after each request, so nothing else writes meanwhile); on
    PostgreSQL (CI) the data is seeded again after the previous test's flush."""
    import sqlite3

    from django.contrib.contenttypes.models import ContentType
    from django.db import connection

    if connection.vendor != "sqlite":
        return _seed_demo_data()
    connection.ensure_connection()
    live = connection.connection
    if "database" not in _demo_snapshot:
        summary = _seed_demo_data()
        copy = sqlite3.connect(":memory:", check_same_thread=False)
        live.backup(copy)
        _demo_snapshot.update(database=copy, summary=summary)
    else:
        _demo_snapshot["database"].backup(live)
    ContentType.objects.clear_cache()  # the restored content types' ids, not those of the flush in between
    return _demo_snapshot["summary"]
