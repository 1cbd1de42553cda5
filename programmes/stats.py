"""Aggregates over a (visibility-scoped) programme queryset: live key figures, charts, map counts, results."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import Case, Count, Prefetch, Q, QuerySet, Sum, Value, When
from django.db.models.functions import ExtractYear, Substr

from regions.models import AdminUnit

from . import money
from .models import (
    AgeGroup,
    Currency,
    Indicator,
    IndicatorValue,
    KeyIndicator,
    Measure,
    Outcome,
    Output,
    Programme,
    ProgrammeLocation,
    Sector,
    Sex,
    Status,
    total_over_periods,
)
from .privacy import HIDDEN_MARK, partner_hidden_total_q, small_label, suppress_small_cells


def programmes_by_status(programmes: QuerySet) -> list[dict]:
    counts = dict(programmes.order_by().values_list("status").annotate(n=Count("pk")))
    return [{"status": s, "label": s.label, "count": counts.get(s.value, 0)} for s in Status if counts.get(s.value)]


def programmes_by_sector(programmes: QuerySet) -> list[dict]:
    counts = dict(programmes.order_by().values_list("primary_sector").annotate(n=Count("pk")))
    return [{"sector": sector, "count": counts.get(sector.pk, 0)} for sector in Sector.objects.all()]


def budget_by_currency(programmes: QuerySet) -> list[dict]:
    rows = programmes.order_by("currency").values("currency").annotate(total=Sum("budget"), n=Count("pk"))
    return list(rows)


def key_indicator_totals(programmes: QuerySet, *, suppress_small: bool = False) -> list[dict]:
    """Achieved values of the key indicators per year, from totals rows only (never a disaggregated cell).

    Incremental indicators add up their periods; a cumulative indicator counts its latest running
    total of the year, so that reporting the same people twice does not inflate the figure
    (models.total_over_periods, the one aggregation rule).

    With `suppress_small` (partners) every total is built from the figures partners can see and
    nothing else: a period total hidden from them (a count of 1 to SMALL_CELL_THRESHOLD-1 people)
    adds nothing to any total they see, so no difference between two outputs gives it back (see
    programmes/privacy.py). `partial` says a total left such counts out; a total made only of
    hidden counts is itself hidden (`total` None, `suppressed` the "< N" label or "•").
    """
    base = (
        IndicatorValue.objects.filter(
            indicator__programme__in=programmes, sex=Sex.ALL, age_group=AgeGroup.ALL, achieved__isnull=False
        )
        .exclude(indicator__key_indicator="")
        .annotate(year=ExtractYear("period_end"))
    )
    # Partners: the period totals hidden from them add nothing; they are only counted (same queries).
    hidden_q = partner_hidden_total_q()
    totals: dict[tuple[str, int], Decimal] = defaultdict(Decimal)
    hidden_counts: dict[tuple[str, int], int] = defaultdict(int)
    # The one aggregation rule (models.total_over_periods): incremental numbers add up (in SQL); for the
    # others each indicator counts its latest value of the year (never a sum of running totals).
    summed = Q(indicator__measure=Measure.UNIT, indicator__cumulative=False)
    incremental = base.filter(summed).values("indicator__key_indicator", "year")
    if suppress_small:
        incremental = incremental.annotate(value=Sum("achieved", filter=~hidden_q), hidden=Count("pk", filter=hidden_q))
    else:
        incremental = incremental.annotate(value=Sum("achieved"))
    for row in incremental.order_by():
        key = (row["indicator__key_indicator"], row["year"])
        if row["value"] is not None:
            totals[key] += row["value"]
        if row.get("hidden"):
            hidden_counts[key] += row["hidden"]
    latest = base.exclude(summed)
    if suppress_small:
        latest = latest.annotate(hidden=Case(When(hidden_q, then=Value(True)), default=Value(False)))
    else:
        latest = latest.annotate(hidden=Value(False))
    series: dict[tuple[int, str, int], list] = {}
    for row in latest.order_by("indicator", "period_end", "period_start").values(
        "indicator",
        "indicator__key_indicator",
        "indicator__measure",
        "indicator__cumulative",
        "year",
        "achieved",
        "hidden",
    ):
        series.setdefault((row["indicator"], row["indicator__key_indicator"], row["year"]), []).append(row)
    for (_indicator, key_indicator, year), rows in series.items():
        last = rows[-1]
        key = (key_indicator, year)
        if last["hidden"]:
            hidden_counts[key] += 1
            continue
        value = total_over_periods(
            last["indicator__measure"], last["indicator__cumulative"], [r["achieved"] for r in rows]
        )
        if value is not None:
            totals[key] += value
    for key in hidden_counts:
        totals.setdefault(key, Decimal(0))
    labels = dict(KeyIndicator.choices)
    rows = []
    for (key, year), total in sorted(totals.items()):
        shown: str | Decimal = suppress_small_cells(total, {})[0] if suppress_small else total
        hidden_here = hidden_counts.get((key, year), 0)
        if hidden_here and not total:
            # Only hidden counts: one is "< N" by definition; several are not summed (their sum is hidden).
            shown = small_label() if hidden_here == 1 else HIDDEN_MARK
        hidden = isinstance(shown, str)
        rows.append(
            {
                "key": key,
                "label": labels[key],
                "year": year,
                "total": None if hidden else total,
                "suppressed": shown if hidden else "",
                "partial": bool(hidden_here) and not hidden,
            }
        )
    return rows


def live_figures(programmes: QuerySet, *, suppress_small: bool = False) -> dict:
    return {
        "active_programmes": programmes.filter(status=Status.ACTIVE).count(),
        "total_programmes": programmes.count(),
        "budget_by_currency": budget_by_currency(programmes.filter(status=Status.ACTIVE)),
        "key_indicators": key_indicator_totals(programmes, suppress_small=suppress_small),
    }


def budget_usd(live: dict, table: money.RateTable | None = None) -> money.Totals:
    """The live figures' budgets in US dollars at the rates in force today, with the rates used."""
    return money.totals(((row["currency"], row["total"]) for row in live["budget_by_currency"]), table=table)


def active_counts_by_unit(programmes: QuerySet, pcodes: list[str]) -> dict[str, int]:
    """Active programmes working in each unit or below it, keyed by P-code, in one query.

    The units must be of one level (same P-code length). A programme counts once per unit even
    when it works in several communes of that unit.
    """
    if not pcodes:
        return {}
    length = len(pcodes[0])
    prefix = pcodes[0][: length - 3]  # the parent's P-code ("" for regions): narrows the scan
    rows = (
        ProgrammeLocation.objects.filter(
            programme__in=programmes.filter(status=Status.ACTIVE).order_by().values("pk"),
            admin_unit__pcode__startswith=prefix,
        )
        .annotate(unit=Substr("admin_unit__pcode", 1, length))
        .values("unit")
        .annotate(n=Count("programme", distinct=True))
        .order_by()
    )
    wanted = set(pcodes)
    return {row["unit"]: row["n"] for row in rows if row["unit"] in wanted}


def budget_by_region(programmes: QuerySet) -> dict:
    """Budget of active programmes per region and currency, in one query.

    Budgets are not split between places: a programme working in two regions counts in both, so
    the regional totals may add up to more than the national total. Currencies are never mixed.
    """
    regions = list(AdminUnit.objects.regions().without_boundary())
    totals: dict[tuple[str, str], Decimal] = {}
    try:
        active_sql, params = programmes.filter(status=Status.ACTIVE).order_by().values("pk").query.sql_with_params()
    except EmptyResultSet:  # a user who may see no programme at all
        active_sql = None
    # Distinct (programme, region) pairs first, so a programme in two communes of a region counts once.
    sql = f"""
        SELECT pairs.region, p.currency, SUM(p.budget)
        FROM (
            SELECT DISTINCT pl.programme_id AS programme_id, SUBSTR(u.pcode, 1, 5) AS region
            FROM {ProgrammeLocation._meta.db_table} pl
            JOIN {AdminUnit._meta.db_table} u ON u.id = pl.admin_unit_id
            WHERE pl.programme_id IN ({active_sql})
        ) pairs
        JOIN {Programme._meta.db_table} p ON p.id = pairs.programme_id
        GROUP BY pairs.region, p.currency
    """  # noqa: S608 — table names from model meta, values as parameters
    if active_sql is not None:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            for region, currency, total in cursor.fetchall():
                totals[(region, currency)] = Decimal(total or 0)
    currencies = [c for c in Currency.values if any(key[1] == c for key in totals)]
    return {
        "currencies": currencies,
        "rows": [
            {"region": region, "totals": [totals.get((region.pcode, c), Decimal("0")) for c in currencies]}
            for region in regions
        ],
    }


def _bar_width(value, largest) -> int:
    """A bar's length in whole percent of the largest bar (0 for nothing, at least 1 for anything)."""
    if not value or not largest:
        return 0
    return max(1, round(Decimal(value) * 100 / Decimal(largest)))


def programmes_by_sector_chart(rows: list[dict]) -> list[dict]:
    """The sector rows with the length of their bar (HTML bar chart: no chart library to download)."""
    largest = max((r["count"] for r in rows), default=0)
    return [{**r, "width": _bar_width(r["count"], largest)} for r in rows]


def programmes_by_status_chart(rows: list[dict]) -> list[dict]:
    largest = max((r["count"] for r in rows), default=0)
    return [{**r, "width": _bar_width(r["count"], largest)} for r in rows]


def budget_by_region_chart(budget: dict, table: money.RateTable | None = None) -> dict:
    """Per region, each currency's total with a bar relative to that currency's largest region, and the
    region's US dollar equivalent at today's rates (None when a currency has no rate in force)."""
    largest = [max((row["totals"][i] for row in budget["rows"]), default=0) for i in range(len(budget["currencies"]))]
    table = table if table is not None else money.RateTable.load()
    usd = {}
    for row in budget["rows"]:
        converted = money.totals(zip(budget["currencies"], row["totals"], strict=True), table=table)
        usd[row["region"].pcode] = converted.usd if converted.complete else None
    every = ((c, row["totals"][i]) for row in budget["rows"] for i, c in enumerate(budget["currencies"]))
    return {
        "currencies": budget["currencies"],
        "usd": money.totals(every, table=table),  # for the rates used
        "rows": [
            {
                "region": row["region"],
                "usd": usd[row["region"].pcode],
                "cells": [
                    {"currency": currency, "total": row["totals"][i], "width": _bar_width(row["totals"][i], largest[i])}
                    for i, currency in enumerate(budget["currencies"])
                ],
            }
            for row in budget["rows"]
        ],
    }


def _percent(achieved: Decimal | None, target: Decimal | None) -> int | None:
    if achieved is None or not target:
        return None
    return int(min(Decimal(100), achieved * 100 / target))


def _indicator_progress(indicator: Indicator, values: list[IndicatorValue], disaggregated: bool) -> dict:
    """Per period: target, achieved and percentage from the totals row; the sex/age cells if asked."""
    periods: dict[tuple, dict] = {}
    for value in values:
        key = (value.period_start, value.period_end)
        period = periods.setdefault(
            key, {"start": value.period_start, "end": value.period_end, "total": None, "cells": []}
        )
        if value.is_total:
            period["total"] = value
        elif disaggregated:
            period["cells"].append(value)
    rows = []
    for period in sorted(periods.values(), key=lambda p: p["start"]):
        total = period["total"]
        if total is None and not period["cells"]:
            continue
        rows.append(
            {
                **period,
                "target": total.target if total else None,
                "achieved": total.achieved if total else None,
                "percent": _percent(total.achieved, total.target) if total else None,
                "suppressed": "",
            }
        )
    overall = indicator.total_over_periods([r["achieved"] for r in rows])
    result = {
        "indicator": indicator,
        "periods": rows,
        "achieved": overall,
        "percent": _percent(overall, indicator.target),
        "suppressed": "",
    }
    if not disaggregated and indicator.measure == Measure.UNIT:
        # Partners: a count of fewer than SMALL_CELL_THRESHOLD people is shown as "< N".
        for row in [*rows, result]:
            shown, _cells = suppress_small_cells(row["achieved"], {})
            if isinstance(shown, str):
                row.update(achieved=None, percent=None, suppressed=shown)
        if not result["suppressed"] and any(row["suppressed"] for row in rows):
            # The overall minus the shown periods would give the hidden one back.
            result.update(achieved=None, percent=None, suppressed=HIDDEN_MARK)
    return result


def results_framework(programme, *, disaggregated: bool) -> list[dict]:
    """Outcomes with their indicators and outputs (each with indicators), and progress per period.

    Four queries whatever the size. Disaggregated (sex/age) cells are fetched only when asked
    for; otherwise only totals rows leave the database.
    """
    values = IndicatorValue.objects.order_by("period_start", "sex", "age_group")
    if not disaggregated:
        values = values.filter(sex=Sex.ALL, age_group=AgeGroup.ALL)
    indicators = list(
        Indicator.objects.filter(programme=programme)
        .order_by("code")
        .prefetch_related(Prefetch("values", queryset=values))
    )
    progress = {i.pk: _indicator_progress(i, list(i.values.all()), disaggregated) for i in indicators}
    # Outputs in their Meta order within each outcome, without joining the outcomes and the programme back.
    outputs = Prefetch("outputs", queryset=Output.objects.order_by("order", "code"))
    outcomes = list(Outcome.objects.filter(programme=programme).order_by("order", "code").prefetch_related(outputs))
    framework = []
    for outcome in outcomes:
        framework.append(
            {
                "outcome": outcome,
                "indicators": [progress[i.pk] for i in indicators if i.outcome_id == outcome.pk],
                "outputs": [
                    {
                        "output": output,
                        "indicators": [progress[i.pk] for i in indicators if i.output_id == output.pk],
                    }
                    for output in outcome.outputs.all()
                ],
            }
        )
    loose = [progress[i.pk] for i in indicators if i.outcome_id is None and i.output_id is None]
    if loose:
        framework.append({"outcome": None, "indicators": loose, "outputs": []})
    return framework
