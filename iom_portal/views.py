"""Project-wide views: the root redirect, the dashboard and the health check."""

import hashlib

from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.db import connection, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import get_language, get_language_from_request
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from programmes import money, summary
from programmes.models import KeyFigure, Sector
from programmes.place_views import map_config, region_rows
from programmes.stats import budget_by_region_chart, budget_usd, programmes_by_sector_chart, programmes_by_status_chart
from regions.models import AdminUnit, cached_reference, reference_version

from .celery import app as celery_app


@require_safe
def root_redirect(request: HttpRequest) -> HttpResponse:
    """`/` sends visitors to the dashboard in their language (French unless they prefer English)."""
    language = get_language_from_request(request) or "fr"
    return redirect(f"/{language}/")


# How long a rendered set of dashboard figures is kept. Its key changes whenever what it shows can change, so
# this only bounds how long unused versions stay in the cache.
FIGURES_CACHE_SECONDS = 3600


@login_required
@require_safe
def dashboard(request: HttpRequest) -> HttpResponse:
    """Headline figures, live figures, charts and the map — all over the programmes the user may see.

    The figures are the user's scope's summaries (programmes/summary.py): read in one query, recomputed
    only after a change; the page says when they were computed. Their HTML is rendered once per version of
    the summaries (see `_figures_html`), not on every view."""
    parts = summary.summaries(request.user, "dashboard", "places")
    live_html, where_html = _figures_html(request, parts, money.RateTable.load())
    context = {
        "headline_figures": KeyFigure.objects.filter(is_published=True),
        "live_html": live_html,
        "where_html": where_html,
    }
    return render(request, "dashboard.html", context)


def _figures_html(request: HttpRequest, parts: dict, rates: money.RateTable) -> tuple[str, str]:
    """The live figures and the map and charts, as HTML. Cached under a key made of everything they show
    besides the summaries' data: the scope (every programme, or one partner organisation's: a partner never
    gets another organisation's figures), the language, the summaries' computation time and staleness (a new
    computation is a new key), the reference data (regions, sectors), the exchange rates and today's date (the
    US dollar equivalents). A user with no scope is not cached."""
    dashboard, places = parts["dashboard"], parts["places"]
    if dashboard.scope is None:
        return _render_figures(request, parts, rates)
    version = "|".join(
        str(v)
        for v in (
            dashboard.scope,
            get_language(),
            timezone.get_current_timezone_name(),
            reference_version(),
            dashboard.computed_at.isoformat(),
            dashboard.stale,
            places.computed_at.isoformat(),
            places.stale,
            rates.fingerprint(),
            timezone.localdate().isoformat(),
        )
    )
    key = "dashboard-figures:" + hashlib.sha256(version.encode()).hexdigest()
    cached = cache.get(key)
    if cached is None:
        cached = _render_figures(request, parts, rates)
        cache.set(key, cached, FIGURES_CACHE_SECONDS)
    return mark_safe(cached[0]), mark_safe(cached[1])  # noqa: S308 — rendered by the templates below


def _render_figures(request: HttpRequest, parts: dict, rates: money.RateTable) -> tuple[str, str]:
    """Rendering reads nothing more than a cached view does: regions and sectors are cached reference lists, the
    rates are the ones read for the key."""
    dashboard, places = parts["dashboard"], parts["places"]
    regions = cached_reference("region-units", lambda: list(AdminUnit.objects.regions().without_boundary()))
    by_sector = summary.by_sector(dashboard, cached_reference("sectors", lambda: list(Sector.objects.all())))
    by_status = summary.by_status(dashboard)
    budget = summary.budget_by_region(dashboard, regions)
    live = summary.live_figures(dashboard)
    live["budget_usd"] = budget_usd(live, rates)  # at today's rates, whenever the summary was computed
    live_html = render_to_string("includes/dashboard_live.html", {"live": live}, request=request)
    context = {
        "computed_at": dashboard.computed_at,
        "figures_stale": dashboard.stale or places.stale,
        "charts": {
            "sector": programmes_by_sector_chart(by_sector),
            "status": programmes_by_status_chart(by_status),
            "region": budget_by_region_chart(budget, rates),
        },
        "region_counts": region_rows(regions, places),
        "map_config": map_config(layer="regions", drill=True, offices=True),
    }
    return live_html, render_to_string("includes/dashboard_where.html", context, request=request)


def bench_floor(request: HttpRequest) -> HttpResponse:
    """The framework floor of the benchmarks: the full middleware stack and nothing else (BENCH_FLOOR only)."""
    return HttpResponse(b"ok", content_type="text/plain")


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except Exception:  # noqa: BLE001 — any failure means "not reachable"
        return False


def _broker_ok() -> bool:
    if celery_app.conf.task_always_eager:
        return True  # tasks run in-process: there is no broker to reach
    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return True
    except Exception:  # noqa: BLE001
        return False


@transaction.non_atomic_requests
@never_cache
@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    checks = {"database": _database_ok(), "broker": _broker_ok()}
    healthy = all(checks.values())
    return JsonResponse({"status": "ok" if healthy else "unavailable", **checks}, status=200 if healthy else 503)
