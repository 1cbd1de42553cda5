"""The aggregates the dashboard, place, sector, organisation and map pages show, kept per scope.

A scope is every programme ("all", what IOM staff see) or the programmes of one partner organisation
("org-<id>", what its users see). Each part of a scope's aggregates is a `Summary` row holding the
figures and `changes_seen`, the value of the one `SummaryCounter` its computation included.

Writes: every service that changes what is counted (programme_create/update and the lists they
replace, status changes, indicators and their totals, deletions) adds one to the counter inside its
own transaction (`programmes_changed`), so the counter and the data commit together. One row is
updated, never a log: nothing grows with the number of writes.

Reads: `summaries(user, parts)` reads the parts with the counter in one query. A part whose
`changes_seen` is behind the counter is recomputed from the programmes (reading the counter first,
so that a write committed meanwhile makes it stale again, never lost) and stored; the page then
shows when its figures were computed (`computed_at`). Without writes, a page reads its figures in
one query whatever the number of programmes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Count, F, Subquery
from django.db.models.functions import Coalesce, Substr
from django.utils import timezone

from partners.models import is_iom_staff, partner_organisation_id

from . import stats
from .models import (
    KeyIndicator,
    Participation,
    Programme,
    ProgrammeLocation,
    Sector,
    Status,
    Summary,
    SummaryCounter,
)

ALL = "all"
COUNTER_ID = 1
PCODE_LENGTHS = {1: 5, 2: 8, 3: 11}  # P-code length of a region, a department, a commune


def programmes_changed() -> None:
    """Something the aggregates count has changed: call inside the writing transaction (one UPDATE)."""
    if not SummaryCounter.objects.filter(pk=COUNTER_ID).update(changes=F("changes") + 1):
        try:
            with transaction.atomic():
                SummaryCounter.objects.create(pk=COUNTER_ID, changes=1)
        except IntegrityError:  # created meanwhile by another writer
            SummaryCounter.objects.filter(pk=COUNTER_ID).update(changes=F("changes") + 1)


def scope_of(user) -> str | None:
    if is_iom_staff(user):
        return ALL
    organisation_id = partner_organisation_id(user)
    return None if organisation_id is None else f"org-{organisation_id}"


def programmes_of(scope: str | None):
    if scope == ALL:
        return Programme.objects.all()
    if scope is None:
        return Programme.objects.none()
    organisation_id = int(scope.removeprefix("org-"))
    return Programme.objects.filter(
        pk__in=Participation.objects.filter(organisation_id=organisation_id).values("programme_id")
    )


@dataclass
class Snapshot:
    data: dict
    computed_at: datetime
    scope: str | None


def summaries(user, *parts: str) -> dict[str, Snapshot]:
    """The parts of the user's scope, up to date: one query when nothing changed since they were computed."""
    scope = scope_of(user)
    now = timezone.now()
    if scope is None:  # sees no programme: nothing worth storing
        none = Programme.objects.none()
        return {part: Snapshot(_compute(part, none, suppress=True), now, None) for part in parts}
    counter = SummaryCounter.objects.filter(pk=COUNTER_ID).values("changes")[:1]
    rows = {
        row.part: row
        for row in Summary.objects.filter(scope=scope, part__in=parts).annotate(current=Coalesce(Subquery(counter), 0))
    }
    result = {}
    current = None
    for part in parts:
        row = rows.get(part)
        if row is not None and row.changes_seen == row.current:
            result[part] = Snapshot(row.data, row.computed_at, scope)
            continue
        if current is None:
            # Read before computing: a write committed during the computation leaves the part stale.
            current = row.current if row is not None else _counter()
        data = _compute(part, programmes_of(scope), suppress=scope != ALL)
        _store(scope, part, row is not None, data=data, changes_seen=current, computed_at=now)
        result[part] = Snapshot(data, now, scope)
    return result


def _store(scope: str, part: str, exists: bool, **values) -> None:
    """One UPDATE when the row exists (the usual case); the first computation of a part inserts it."""
    if exists and Summary.objects.filter(scope=scope, part=part).update(**values):
        return
    try:
        with transaction.atomic():
            Summary.objects.create(scope=scope, part=part, **values)
    except IntegrityError:  # another request stored it meanwhile
        Summary.objects.filter(scope=scope, part=part).update(**values)


def _counter() -> int:
    return SummaryCounter.objects.filter(pk=COUNTER_ID).values_list("changes", flat=True).first() or 0


# --- Computations (each a few grouped queries over the scope, whatever its size) -----------------


def _compute(part: str, programmes, *, suppress: bool) -> dict:
    if part == "dashboard":
        return _dashboard(programmes, suppress)
    if part == "places":
        return _places(programmes)
    if part == "sectors":
        return {str(k): v for k, v in programmes.counts_by_sector().items()}
    if part == "organisations":
        return _organisations(programmes)
    if part.startswith("sector:"):
        sector = Sector.objects.filter(code=part.removeprefix("sector:")).first()
        if sector is None:
            return {"key_indicators": []}
        rows = stats.key_indicator_totals(programmes.in_sector(sector), suppress_small=suppress)
        return {"key_indicators": _key_rows(rows)}
    raise ValueError(part)


def _key_rows(rows: list[dict]) -> list[dict]:
    return [
        {
            "key": r["key"],
            "year": r["year"],
            "total": None if r["total"] is None else str(r["total"]),
            "suppressed": r["suppressed"],
            "partial": r["partial"],
        }
        for r in rows
    ]


def key_rows(stored: list[dict]) -> list[dict]:
    """Stored key indicator rows as `stats.key_indicator_totals` returns them (labels in today's language)."""
    labels = dict(KeyIndicator.choices)
    return [
        {**r, "label": labels.get(r["key"], r["key"]), "total": None if r["total"] is None else Decimal(r["total"])}
        for r in stored
    ]


def _dashboard(programmes, suppress: bool) -> dict:
    by_status = dict(programmes.order_by().values_list("status").annotate(n=Count("pk")))
    by_sector = dict(programmes.order_by().values_list("primary_sector").annotate(n=Count("pk")))
    budget = stats.budget_by_region(programmes)
    return {
        "by_status": by_status,
        "by_sector": {str(k): v for k, v in by_sector.items()},
        "budget_by_currency": [
            {"currency": r["currency"], "total": str(r["total"] or 0), "n": r["n"]}
            for r in stats.budget_by_currency(programmes.filter(status=Status.ACTIVE))
        ],
        "key_indicators": _key_rows(stats.key_indicator_totals(programmes, suppress_small=suppress)),
        "budget_by_region": {
            "currencies": budget["currencies"],
            "rows": {row["region"].pcode: [str(t) for t in row["totals"]] for row in budget["rows"]},
        },
    }


def _places(programmes) -> dict:
    """{P-code: [active programmes, all programmes]} for every unit at every level, three queries."""
    counts: dict[str, list[int]] = {}
    ids = programmes.order_by().values("pk")
    for level, length in PCODE_LENGTHS.items():
        rows = (
            ProgrammeLocation.objects.filter(programme__in=ids, admin_unit__level__gte=level)
            .annotate(unit=Substr("admin_unit__pcode", 1, length))
            .values("unit", "programme__status")
            .annotate(n=Count("programme", distinct=True))
            .order_by()
        )
        for row in rows:
            pair = counts.setdefault(row["unit"], [0, 0])
            pair[1] += row["n"]
            if row["programme__status"] == Status.ACTIVE:
                pair[0] += row["n"]
    return counts


def _organisations(programmes) -> dict:
    """{organisation id: {role: participations in the scope's programmes}}, one query."""
    rows = (
        Participation.objects.filter(programme__in=programmes.order_by().values("pk"))
        .values("organisation", "role")
        .annotate(n=Count("pk"))
        .order_by()
    )
    result: dict[str, dict[str, int]] = {}
    for row in rows:
        result.setdefault(str(row["organisation"]), {})[row["role"]] = row["n"]
    return result


def active_in(places: Snapshot, pcode: str) -> int:
    return places.data.get(pcode, [0, 0])[0]


def programmes_in(places: Snapshot, pcode: str) -> int:
    return places.data.get(pcode, [0, 0])[1]


# --- Readers: the stored figures in the shapes the pages (and programmes/stats.py) use ----------------


def live_figures(dashboard: Snapshot) -> dict:
    data = dashboard.data
    return {
        "active_programmes": data["by_status"].get(Status.ACTIVE, 0),
        "total_programmes": sum(data["by_status"].values()),
        "budget_by_currency": [{**r, "total": Decimal(r["total"])} for r in data["budget_by_currency"]],
        "key_indicators": key_rows(data["key_indicators"]),
    }


def by_status(dashboard: Snapshot) -> list[dict]:
    counts = dashboard.data["by_status"]
    return [{"status": s, "label": s.label, "count": counts[s.value]} for s in Status if counts.get(s.value)]


def by_sector(dashboard: Snapshot, sectors: list[Sector]) -> list[dict]:
    counts = dashboard.data["by_sector"]
    return [{"sector": sector, "count": counts.get(str(sector.pk), 0)} for sector in sectors]


def budget_by_region(dashboard: Snapshot, regions: list) -> dict:
    stored = dashboard.data["budget_by_region"]
    currencies = stored["currencies"]
    zero = ["0"] * len(currencies)
    return {
        "currencies": currencies,
        "rows": [
            {"region": region, "totals": [Decimal(t) for t in stored["rows"].get(region.pcode, zero)]}
            for region in regions
        ],
    }


def total_programmes(dashboard: Snapshot) -> int:
    return sum(dashboard.data["by_status"].values())
