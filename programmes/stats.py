"""Aggregates over a (visibility-scoped) programme queryset: the dashboard's live key figures."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from django.db.models import Count, Max, QuerySet, Sum
from django.db.models.functions import ExtractYear

from .models import AgeGroup, IndicatorValue, KeyIndicator, Sector, Sex, Status


def programmes_by_status(programmes: QuerySet) -> list[dict]:
    counts = dict(programmes.order_by().values_list("status").annotate(n=Count("pk")))
    return [{"status": s, "label": s.label, "count": counts.get(s.value, 0)} for s in Status if counts.get(s.value)]


def programmes_by_sector(programmes: QuerySet) -> list[dict]:
    counts = dict(programmes.order_by().values_list("primary_sector").annotate(n=Count("pk")))
    return [{"sector": sector, "count": counts.get(sector.pk, 0)} for sector in Sector.objects.all()]


def budget_by_currency(programmes: QuerySet) -> list[dict]:
    rows = programmes.order_by("currency").values("currency").annotate(total=Sum("budget"), n=Count("pk"))
    return list(rows)


def key_indicator_totals(programmes: QuerySet) -> list[dict]:
    """Achieved values of the key indicators per year, from totals rows only (never a disaggregated cell).

    Incremental indicators add up their periods; a cumulative indicator counts its highest running
    total of the year, so that reporting the same people twice does not inflate the figure.
    """
    base = (
        IndicatorValue.objects.filter(
            indicator__programme__in=programmes, sex=Sex.ALL, age_group=AgeGroup.ALL, achieved__isnull=False
        )
        .exclude(indicator__key_indicator="")
        .annotate(year=ExtractYear("period_end"))
    )
    totals: dict[tuple[str, int], Decimal] = defaultdict(Decimal)
    incremental = base.filter(indicator__cumulative=False).values("indicator__key_indicator", "year")
    for row in incremental.annotate(value=Sum("achieved")).order_by():
        totals[(row["indicator__key_indicator"], row["year"])] += row["value"]
    per_indicator = base.filter(indicator__cumulative=True).values("indicator", "indicator__key_indicator", "year")
    for row in per_indicator.annotate(value=Max("achieved")).order_by():
        totals[(row["indicator__key_indicator"], row["year"])] += row["value"]
    labels = dict(KeyIndicator.choices)
    return [
        {"key": key, "label": labels[key], "year": year, "total": total}
        for (key, year), total in sorted(totals.items())
    ]


def live_figures(programmes: QuerySet) -> dict:
    return {
        "active_programmes": programmes.filter(status=Status.ACTIVE).count(),
        "total_programmes": programmes.count(),
        "budget_by_currency": budget_by_currency(programmes.filter(status=Status.ACTIVE)),
        "key_indicators": key_indicator_totals(programmes),
    }
