"""Project-wide views: the root redirect, the dashboard and the health check."""

from django.contrib.auth.decorators import login_required
from django.db import connection, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import get_language_from_request
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from programmes import summary
from programmes.models import KeyFigure, Sector
from programmes.place_views import map_config, region_rows
from programmes.stats import budget_by_region_chart, budget_usd, programmes_by_sector_chart, programmes_by_status_chart
from regions.models import AdminUnit

from .celery import app as celery_app


@require_safe
def root_redirect(request: HttpRequest) -> HttpResponse:
    """`/` sends visitors to the dashboard in their language (French unless they prefer English)."""
    language = get_language_from_request(request) or "fr"
    return redirect(f"/{language}/")


@login_required
@require_safe
def dashboard(request: HttpRequest) -> HttpResponse:
    """Headline figures, live figures, charts and the map — all over the programmes the user may see.

    The figures are the user's scope's summaries (programmes/summary.py): read in one query, recomputed
    only after a change; the page says when they were computed."""
    parts = summary.summaries(request.user, "dashboard", "places")
    dashboard, places = parts["dashboard"], parts["places"]
    regions = list(AdminUnit.objects.regions().without_boundary())
    by_sector = summary.by_sector(dashboard, list(Sector.objects.all()))
    by_status = summary.by_status(dashboard)
    budget = summary.budget_by_region(dashboard, regions)
    live = summary.live_figures(dashboard)
    live["budget_usd"] = budget_usd(live)  # at today's rates, whenever the summary was computed
    context = {
        "headline_figures": KeyFigure.objects.filter(is_published=True),
        "live": live,
        "computed_at": dashboard.computed_at,
        "figures_stale": dashboard.stale or places.stale,
        "by_sector": by_sector,
        "by_status": by_status,
        "budget_by_region": budget,
        "charts": {
            "sector": programmes_by_sector_chart(by_sector),
            "status": programmes_by_status_chart(by_status),
            "region": budget_by_region_chart(budget),
        },
        "region_counts": region_rows(regions, places),
        "map_config": map_config(layer="regions", drill=True, offices=True),
    }
    return render(request, "dashboard.html", context)


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
