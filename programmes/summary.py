"""The aggregates the dashboard, place, sector, organisation and map pages show, kept per scope.

A scope is every programme ("all", what IOM staff see) or the programmes of one partner organisation
("org-<id>", what its users see). Each part of a scope's aggregates is a `Summary` row holding the
figures and `changes_seen`, the value of the one `SummaryCounter` its computation included.

Writes: every service that changes what is counted (programme_create/update and the lists they
replace, status changes, indicators and their totals, deletions) adds one to the counter inside its
own transaction (`programmes_changed`), so the counter and the data commit together. One row is
updated, never a log: nothing grows with the number of writes.

Reads: `summaries(user, parts)` reads the parts with the counter in one query. A part whose
`changes_seen` is behind the counter is stale: the page shows it as it is, marked stale with the time it
was computed, and never recomputes it itself (only a part never computed yet is computed in the request).
Refreshes run in the background (`refresh_stale`, the `programmes.refresh_summaries` task):

- after every committed write (`programmes_changed` sends one refresh per transaction, on commit);
- when a page reads a stale part nobody is refreshing: the page claims it (`refreshing_since`, one UPDATE)
  and sends a refresh; a page reading a stale part already claimed does nothing more than its one read;
- every few minutes from beat, for anything a lost message left stale.

Where the refresh runs is SUMMARY_REFRESH: "celery" (a worker; the default when a broker is set),
"thread" (a background thread of the web process, the default without a broker: never inside the
request), or "inline" (in the caller: the tests, and small sites that prefer exact figures to speed).
Without writes, a page reads its figures in one query whatever the number of programmes.
"""

from __future__ import annotations

import atexit
import logging
import queue
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, close_old_connections, connections, transaction
from django.db.models import Count, F, Q, Subquery
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
# A refresh catches up with writes committed while it computed, up to this many rounds (then beat does).
REFRESH_ROUNDS = 3
logger = logging.getLogger(__name__)


def programmes_changed() -> None:
    """Something the aggregates count has changed: call inside the writing transaction (one UPDATE)."""
    if not SummaryCounter.objects.filter(pk=COUNTER_ID).update(changes=F("changes") + 1):
        try:
            with transaction.atomic():
                SummaryCounter.objects.create(pk=COUNTER_ID, changes=1)
        except IntegrityError:  # created meanwhile by another writer
            SummaryCounter.objects.filter(pk=COUNTER_ID).update(changes=F("changes") + 1)
    _refresh_after_commit()


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
    # Computed before the latest change: newer figures are being computed in the background.
    stale: bool = False


def summaries(user, *parts: str) -> dict[str, Snapshot]:
    """The parts of the user's scope: one query when they are up to date, or stale and already being refreshed.

    A stale part is returned as stored (`stale=True`) and a background refresh is asked for (one more
    UPDATE claiming it); only in the "inline" mode is it recomputed here. A part never computed is computed
    here (once per scope and part: there is nothing to show before)."""
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
    inline = refresh_mode() == "inline"
    abandoned = now - timedelta(seconds=settings.SUMMARY_REFRESH_TIMEOUT)
    result, unclaimed = {}, []
    current = None
    for part in parts:
        row = rows.get(part)
        if row is not None and row.changes_seen == row.current:
            result[part] = Snapshot(row.data, row.computed_at, scope)
            continue
        if row is not None and not inline:
            result[part] = Snapshot(row.data, row.computed_at, scope, stale=True)
            if row.refreshing_since is None or row.refreshing_since < abandoned:
                unclaimed.append(row.pk)
            continue
        if current is None:
            # Read before computing: a write committed during the computation leaves the part stale.
            current = row.current if row is not None else _counter()
        data = _compute(part, programmes_of(scope), suppress=scope != ALL)
        _store(scope, part, row is not None, data=data, changes_seen=current, computed_at=now)
        result[part] = Snapshot(data, now, scope)
    if unclaimed and _claim(unclaimed, now):
        request_refresh(unclaimed)
    return result


def _claim(pks: list[int], now: datetime) -> int:
    """Mark the stale parts as being refreshed (one UPDATE); 0 when another request claimed them meanwhile."""
    abandoned = now - timedelta(seconds=settings.SUMMARY_REFRESH_TIMEOUT)
    return (
        Summary.objects.filter(pk__in=pks)
        .filter(Q(refreshing_since__isnull=True) | Q(refreshing_since__lt=abandoned))
        .update(refreshing_since=now)
    )


def _store(scope: str, part: str, exists: bool, **values) -> None:
    """One UPDATE when the row exists (the usual case); the first computation of a part inserts it."""
    values["refreshing_since"] = None
    if exists and Summary.objects.filter(scope=scope, part=part).update(**values):
        return
    try:
        with transaction.atomic():
            Summary.objects.create(scope=scope, part=part, **values)
    except IntegrityError:  # another request stored it meanwhile
        Summary.objects.filter(scope=scope, part=part).update(**values)


# --- Background refresh ---------------------------------------------------------------------------


def refresh_mode() -> str:
    """ "celery", "thread" or "inline" (SUMMARY_REFRESH; by default "celery" with a broker, else "thread")."""
    mode = settings.SUMMARY_REFRESH
    if mode:
        return mode
    from celery import current_app

    return "thread" if current_app.conf.task_always_eager else "celery"


def refresh_stale(claimed: list[int] | None = None) -> int:
    """Recompute the stale parts of every scope: those in `claimed` (claimed by the page that asked) and any
    other nobody is refreshing, each claimed just before it is computed. Returns how many parts were stored.
    What the task and the thread run. A part it fails to store is released for the next refresh."""
    claimed = set(claimed or ())
    with _in_hand_lock:
        _in_hand.update(claimed)
    stored = 0
    try:
        for _round in range(REFRESH_ROUNDS):
            current = _counter()  # read before computing: a write committed meanwhile leaves its parts stale
            stale = Summary.objects.filter(changes_seen__lt=current).only("pk", "scope", "part").order_by("pk")
            stored_now = 0
            for row in stale:
                if row.pk not in claimed and not _claim([row.pk], timezone.now()):
                    continue  # another worker (or a page's refresh) is computing it
                with _in_hand_lock:
                    _in_hand.add(row.pk)
                data = _compute(row.part, programmes_of(row.scope), suppress=row.scope != ALL)
                Summary.objects.filter(pk=row.pk).update(
                    data=data, changes_seen=current, computed_at=timezone.now(), refreshing_since=None
                )
                with _in_hand_lock:
                    _in_hand.discard(row.pk)
                stored_now += 1
            claimed = set()
            stored += stored_now
            if not stored_now:
                break
    finally:
        release_claims()
    return stored


# The parts of the staff pages: what `manage.py refresh_summaries` computes ahead of the first page view.
STAFF_PARTS = ("dashboard", "places", "sectors", "organisations")


def compute_missing(scope: str = ALL, parts: tuple[str, ...] = STAFF_PARTS) -> int:
    """Compute the parts of `scope` never computed yet (a new database, after `seed_demo`)."""
    have = set(Summary.objects.filter(scope=scope, part__in=parts).values_list("part", flat=True))
    missing = [part for part in parts if part not in have]
    current = _counter()
    for part in missing:
        data = _compute(part, programmes_of(scope), suppress=scope != ALL)
        _store(scope, part, False, data=data, changes_seen=current, computed_at=timezone.now())
    return len(missing)


# Parts this process has claimed and not yet stored: released on failure and at exit, so that pages do not
# wait SUMMARY_REFRESH_TIMEOUT for a refresh that will never come (a command ending, a worker stopping).
_in_hand: set[int] = set()
_in_hand_lock = threading.Lock()


def release_claims() -> None:
    with _in_hand_lock:
        pks = list(_in_hand)
        _in_hand.clear()
    if pks:
        Summary.objects.filter(pk__in=pks).update(refreshing_since=None)


def request_refresh(claimed: list[int] | None = None) -> None:
    """Have the stale parts recomputed outside the request, where SUMMARY_REFRESH says."""
    mode = refresh_mode()
    if mode == "thread":
        _background.submit(claimed)
        return
    from .tasks import refresh_summaries

    if mode == "inline":
        refresh_summaries.apply(args=[claimed])
        return
    try:
        refresh_summaries.apply_async(args=[claimed], retry=False)
    except Exception:  # broker unreachable: pages show the stored figures; beat catches up
        logger.warning("Could not send the summaries refresh; beat will catch up", exc_info=True)
        if claimed:  # let the next page view ask again
            Summary.objects.filter(pk__in=claimed).update(refreshing_since=None)


def _refresh_after_commit() -> None:
    """One refresh per writing transaction, sent once it has committed (never for a rolled back one)."""
    connection = transaction.get_connection()
    if connection.in_atomic_block and any(entry[1] is _after_write for entry in connection.run_on_commit):
        return
    transaction.on_commit(_after_write)


def _after_write() -> None:
    request_refresh(None)


class _BackgroundRefresh:
    """The embedded default without a broker: one daemon thread of the web process refreshes the stale
    parts after the request that asked has answered. Requests arriving meanwhile join the next run."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._claimed: set[int] = set()
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._queued = False
        self._thread: threading.Thread | None = None

    def submit(self, claimed: list[int] | None) -> None:
        with self._lock:
            self._claimed.update(claimed or ())
            if self._queued:
                return
            self._queued = True
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="summaries-refresh", daemon=True)
                self._thread.start()
                atexit.register(self._release_at_exit)
        self._queue.put(True)

    def _release_at_exit(self) -> None:
        """The daemon thread dies with the process: what it had claimed or was asked for is released."""
        with self._lock:
            pks = list(self._claimed)
        with _in_hand_lock:
            _in_hand.update(pks)
        try:
            release_claims()
        except Exception:  # the database may already be gone
            logger.warning("Could not release the summaries claimed by this process", exc_info=True)

    def _run(self) -> None:
        while True:
            self._queue.get()
            with self._lock:
                claimed, self._claimed, self._queued = list(self._claimed), set(), False
            try:
                close_old_connections()
                refresh_stale(claimed)
            except Exception:  # a failed refresh leaves the parts stale; the next write retries
                logger.exception("Refreshing the summaries failed")
            finally:
                connections.close_all()


_background = _BackgroundRefresh()


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
