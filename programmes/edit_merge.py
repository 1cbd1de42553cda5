"""Concurrent edits of a programme: a three-way merge, so that nothing anyone typed is lost.

A door that edits a programme from a copy loaded earlier (the edit page, the API) describes three
states of the same shape: *base* (what the editor loaded, kept as a fingerprint), *theirs* (what is
stored now) and *mine* (what the editor submits). A state maps keys to cells:

    ("title_fr",)                              a field of the programme
    ("participations", "org-a")                a row is there (rows of every list: partners,
    ("participations", "org-a", "notes")       places, sectors, outcomes, outputs, indicators and
                                               their values) and one cell of it

Rows are matched by what identifies them: the organisation, the P-code, the sector code, a stored
result's id; a row the editor adds gets an id of its own (`new…`). For every key:

    unchanged by the editor (mine = base)  →  theirs
    unchanged since loaded (theirs = base) →  mine
    the same value on both sides           →  that value
    otherwise                              →  a conflict (the save is refused, both values shown)

Added and removed rows are keys like any other: a row removed on one side and changed on the other is
a conflict; a row removed on one side and left alone on the other is removed. The merged state goes
back through the door's own parsing and the services (programmes/services.py), so the same rules
apply; a conflict keeps the editor's values in the merged state and lists both values.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from django.core.cache import cache
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.db.models import prefetch_related_objects
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from . import rules
from .models import (
    Indicator,
    IndicatorValue,
    Outcome,
    Output,
    Participation,
    Programme,
    RecipientCountry,
    RecipientRegion,
)
from .results import result_code
from .rules import ParticipationRow
from .services import EDITABLE_FIELDS

Key = tuple[str, ...]
PRESENT = "1"
# The programme's own fields a door edits (the code never changes once created).
FIELDS = tuple(name for name in EDITABLE_FIELDS if name != "code")
# The parts of a programme: all of them on the edit page; the API writes the first four.
API_PARTS = ("fields", "secondary_sectors", "participations", "locations", "recipient_countries", "recipient_regions")
ALL_PARTS = (*API_PARTS, "results")

ROW_MODELS: dict[str, type[models.Model]] = {
    "participations": Participation,
    "recipient_countries": RecipientCountry,
    "recipient_regions": RecipientRegion,
    "outcomes": Outcome,
    "outputs": Output,
    "indicators": Indicator,
    "values": IndicatorValue,
}
ROW_FIELDS = {
    "participations": ("role", "contribution", "notes", "reports_results"),
    "locations": (),
    "recipient_countries": ("percentage",),
    "recipient_regions": ("percentage",),
    "secondary_sectors": (),
    "outcomes": ("order", "code", "statement_fr", "statement_en"),
    "outputs": ("outcome", "order", "code", "statement_fr", "statement_en"),
    "indicators": (
        "code",
        "name_fr",
        "name_en",
        "unit",
        "measure",
        "people",
        "cumulative",
        "frequency",
        "baseline",
        "target",
        "key_indicator",
        "reporting_partner",
        "result",
    ),
    "values": ("indicator", "period_start", "period_end", "sex", "age_group", "target", "achieved", "comment"),
}
# A row's cell naming the row it belongs to: (list, cell) → the parent's list.
# The recipient lists and the cell naming the country or region of a row.
RECIPIENT_KEYS = {"recipient_countries": "country", "recipient_regions": "region"}
PARENTS = {("outputs", "outcome"): "outcomes", ("values", "indicator"): "indicators"}
LIST_LABELS = {
    "secondary_sectors": gettext_lazy("Secondary sectors"),
    "participations": gettext_lazy("Partners"),
    "locations": gettext_lazy("Locations"),
    "recipient_countries": gettext_lazy("Recipient countries"),
    "recipient_regions": gettext_lazy("Recipient regions"),
    "outcomes": gettext_lazy("Outcomes"),
    "outputs": gettext_lazy("Outputs"),
    "indicators": gettext_lazy("Indicators"),
    "values": gettext_lazy("Indicator values"),
}
CELL_LABELS = {"result": gettext_lazy("Result measured")}
BASE_TIMEOUT = 60 * 60 * 24 * 30  # how long the API remembers what a version looked like


@dataclass(frozen=True)
class Cell:
    """One value: `text` is compared and fingerprinted, `value` goes to the services, `shown` to people."""

    text: str
    value: Any = None
    shown: str = ""
    pk: int | None = None  # a stored row's primary key (rows only)


State = dict[Key, Cell]


@dataclass(frozen=True)
class Conflict:
    key: Key
    theirs: Cell | None
    mine: Cell | None
    reason: str = ""

    @property
    def name(self) -> str:
        """Machine-readable: `title_fr`, `participations.org-a.notes`, `locations.NE001`."""
        return ".".join(self.key)


@dataclass
class Merge:
    state: State
    conflicts: list[Conflict] = field(default_factory=list)
    taken: list[Key] = field(default_factory=list)  # their changes brought into the editor's version
    theirs: State = field(default_factory=dict)
    mine: State = field(default_factory=dict)


# --- Values -------------------------------------------------------------------------------------


def canonical(value: Any) -> str:
    """The text a value is compared by, whichever door read it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, Decimal):
        return f"{value.normalize():f}"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, models.Model):
        return str(value.pk)
    if isinstance(value, str):
        return rules.normalise_text(value.replace("\r\n", "\n")).strip()
    return str(value)


def readable(value: Any) -> str:
    if isinstance(value, bool):
        return str(_("yes") if value else _("no"))
    if isinstance(value, models.Model):
        if hasattr(value, "get_full_name"):
            return value.get_full_name() or value.get_username()
        return str(value)
    return canonical(value)


def _cell(model: type[models.Model] | None, name: str, value: Any) -> Cell:
    shown = None
    if model is not None:
        try:
            model_field = model._meta.get_field(name)
        except FieldDoesNotExist:  # a cell that is not a model field (e.g. the result an indicator measures)
            model_field = None
        if model_field is not None and model_field.choices and value not in (None, ""):
            shown = str(dict(model_field.flatchoices).get(value, value))
    return Cell(canonical(value), value, shown if shown is not None else readable(value))


def add_field(state: State, name: str, value: Any) -> None:
    state[(name,)] = _cell(Programme, name, value)


def add_row(state: State, kind: str, rid: str, *, label: str, obj: Any = None, pk: int | None = None, **cells) -> str:
    """Add a row (its presence and its cells); an id met twice (a row typed twice) stays apart."""
    while (kind, rid) in state:
        rid += "+"
    state[(kind, rid)] = Cell(PRESENT, obj, label, pk)
    model = ROW_MODELS.get(kind)
    for name in ROW_FIELDS[kind]:
        value = cells.get(name)
        state[(kind, rid, name)] = (
            Cell(str(value or ""), value) if (kind, name) in PARENTS else _cell(model, name, value)
        )
    return rid


def add_participation(
    state: State, organisation, role, contribution, notes, reports_results=False, *, pk: int | None = None
) -> None:
    add_row(
        state,
        "participations",
        organisation.code,
        label=organisation.short_name,
        obj=organisation,
        pk=pk,
        role=role,
        contribution=contribution,
        notes=notes or "",
        reports_results=bool(reports_results),
    )


def add_location(state: State, unit, *, pk: int | None = None) -> None:
    add_row(state, "locations", unit.pcode, label=unit.pcode, obj=unit, pk=pk)


def add_recipient(state: State, kind: str, place, percentage, *, pk: int | None = None) -> None:
    """A recipient country or region (`kind` is the list) with its share, matched by its code."""
    code = str(getattr(place, "pk", place) or "").strip().upper()  # the API sends codes, the page instances
    add_row(state, kind, code, label=code, obj=place, pk=pk, percentage=percentage)


def add_sector(state: State, sector) -> None:
    add_row(state, "secondary_sectors", sector.code, label=sector.code, obj=sector)


def value_label(indicator_code: str, period_start, period_end, sex, age_group) -> str:
    label = f"{indicator_code} {canonical(period_start)} – {canonical(period_end)}"
    cells = [
        str(IndicatorValue(sex=sex).get_sex_display()),
        str(IndicatorValue(age_group=age_group).get_age_group_display()),
    ]
    return f"{label} ({', '.join(cells)})"


# --- States -------------------------------------------------------------------------------------


def stored_state(programme: Programme, parts: Iterable[str] = ALL_PARTS) -> State:
    """The programme as stored now (uses relations already prefetched, fetches the others)."""
    parts = set(parts)
    state: State = {}
    if "fields" in parts:
        for name in FIELDS:
            add_field(state, name, getattr(programme, name))
    lookups = [name for name in ("secondary_sectors", "participations__organisation") if name.split("__")[0] in parts]
    if "locations" in parts:
        lookups.append("locations__admin_unit")
    lookups += [f"{kind}__{key}" for kind, key in RECIPIENT_KEYS.items() if kind in parts]
    prefetch_related_objects([programme], *lookups)
    if "secondary_sectors" in parts:
        for sector in programme.secondary_sectors.all():
            add_sector(state, sector)
    if "participations" in parts:
        for p in programme.participations.all():
            add_participation(state, p.organisation, p.role, p.contribution, p.notes, p.reports_results, pk=p.pk)
    if "locations" in parts:
        for location in programme.locations.all():
            add_location(state, location.admin_unit, pk=location.pk)
    for kind, key in RECIPIENT_KEYS.items():
        if kind in parts:
            for row in getattr(programme, kind).all():
                add_recipient(state, kind, getattr(row, key), row.percentage, pk=row.pk)
    if "results" in parts:
        _stored_results(state, programme)
    return state


def _stored_results(state: State, programme: Programme) -> None:
    for outcome in Outcome.objects.filter(programme=programme):
        add_row(state, "outcomes", str(outcome.pk), label=outcome.code, pk=outcome.pk, **_row_values(outcome))
    for output in Output.objects.filter(outcome__programme=programme):
        values = {**_row_values(output), "outcome": str(output.outcome_id)}
        add_row(state, "outputs", str(output.pk), label=output.code, pk=output.pk, **values)
    indicators = Indicator.objects.filter(programme=programme).select_related("outcome", "output")
    codes = {}
    for indicator in indicators:
        codes[indicator.pk] = indicator.code
        values = {**_row_values(indicator), "result": result_code(indicator)}
        add_row(state, "indicators", str(indicator.pk), label=indicator.code, pk=indicator.pk, **values)
    for value in IndicatorValue.objects.filter(indicator__programme=programme):
        cells = {**_row_values(value), "indicator": str(value.indicator_id)}
        label = value_label(
            codes.get(value.indicator_id, ""), value.period_start, value.period_end, value.sex, value.age_group
        )
        add_row(state, "values", str(value.pk), label=label, pk=value.pk, **cells)


def _row_values(row: models.Model) -> dict:
    kind = next(k for k, model in ROW_MODELS.items() if isinstance(row, model))
    return {name: getattr(row, name) for name in ROW_FIELDS[kind] if (kind, name) not in PARENTS and name != "result"}


def rows(state: State, kind: str) -> dict[str, dict[str, Cell]]:
    """The rows of one list: id → {"": presence, cell name → cell}."""
    found: dict[str, dict[str, Cell]] = {}
    for key, cell in state.items():
        if key[0] == kind and len(key) == 2:
            found.setdefault(key[1], {})[""] = cell
    for key, cell in state.items():
        if key[0] == kind and len(key) == 3 and key[1] in found:
            found[key[1]][key[2]] = cell
    return found


def service_parts(state: State) -> dict:
    """A merged state as `services.programme_update` takes it (the API's parts)."""
    return {
        "fields": {name: state[(name,)].value for name in FIELDS if (name,) in state},
        "secondary_sectors": [row[""].value for row in rows(state, "secondary_sectors").values()],
        "participations": [
            ParticipationRow(
                row[""].value,
                row["role"].value,
                row["contribution"].value,
                row["notes"].value or "",
                row["reports_results"].value,
            )
            for row in rows(state, "participations").values()
        ],
        "locations": [row[""].value for row in rows(state, "locations").values()],
        **{
            kind: [{key: row[""].value, "percentage": row["percentage"].value} for row in rows(state, kind).values()]
            for kind, key in RECIPIENT_KEYS.items()
        },
    }


# --- Fingerprints: what the editor loaded -------------------------------------------------------


def _digest(key: Key, text: str) -> str:
    return hashlib.sha256("\x1f".join((*key, text)).encode()).hexdigest()[:12]


def fingerprint(state: State) -> str:
    """A compact record of a state: enough to tell, later, whether a key still has the value loaded."""
    return " ".join(sorted({_digest(key, cell.text) for key, cell in state.items()}))


def read_fingerprint(text: str | None) -> frozenset[str] | None:
    """The loaded state's record, or None if missing or unreadable (then every difference is a conflict)."""
    parts = (text or "").split()
    if not parts or any(len(p) != 12 or p.strip("0123456789abcdef") for p in parts):
        return None
    return frozenset(parts)


def _in_base(base: frozenset[str], key: Key, cell: Cell | None) -> bool:
    if cell is None:  # absent: the row was not there when loaded (a programme field is always there)
        return len(key) > 1 and _digest(key[:2], PRESENT) not in base
    return _digest(key, cell.text) in base


def _base_key(programme_pk: int, version: int) -> str:
    return f"programmes:edit-base:{programme_pk}:{version}"


def remember_base(programme: Programme, state: State) -> None:
    """Keep what a version looked like (the API's fields and lists), for merging a save based on it.

    In Django's cache: shared by every process when CACHE_URL points at Redis. Without it, a save based
    on an older version is refused (412) rather than merged blindly.
    """
    cache.set(_base_key(programme.pk, programme.version), fingerprint(state), BASE_TIMEOUT)


def recall_base(programme_pk: int, version: int) -> frozenset[str] | None:
    return read_fingerprint(cache.get(_base_key(programme_pk, version)))


# --- The merge ----------------------------------------------------------------------------------


def merge(
    base: frozenset[str] | None, theirs: State, mine: State, *, submitted: Callable[[Key], bool] | None = None
) -> Merge:
    """Merge `mine` into `theirs` against `base` (None: unknown, every difference is a conflict).

    `submitted`: the keys the editor sent (the API's partial updates); the others keep their value.
    """
    result = Merge(state={}, theirs=theirs, mine=mine)
    for key in sorted(theirs.keys() | mine.keys()):
        t = theirs.get(key)
        m = mine.get(key) if submitted is None or submitted(key) else t
        if _same(t, m):
            chosen = t if t is not None else m
        elif base is not None and _in_base(base, key, m):
            chosen = t
            result.taken.append(key)
        elif base is not None and _in_base(base, key, t):
            chosen = m
        else:
            result.conflicts.append(Conflict(key, t, m))
            chosen = m
        if chosen is not None:
            result.state[key] = chosen
    for conflict in list(result.conflicts):
        row = conflict.key[:2]
        if len(conflict.key) == 3 and row in mine and row not in result.state:
            # A row changed here and removed there is kept in the form, as the editor has it.
            for key, cell in mine.items():
                if key[:2] == row:
                    result.state[key] = cell
    result.state = {
        key: cell for key, cell in result.state.items() if len(key) < 3 or key[:2] in result.state
    }  # cells of removed rows go with them
    _orphans(result)
    return result


def _same(a: Cell | None, b: Cell | None) -> bool:
    return (a is None and b is None) or (a is not None and b is not None and a.text == b.text)


def _orphans(result: Merge) -> None:
    """A row added under a row removed meanwhile (an output under a removed outcome) is a conflict."""
    for (kind, cell_name), parent_kind in PARENTS.items():
        for rid, row in rows(result.state, kind).items():
            parent = row.get(cell_name)
            if parent is not None and (parent_kind, parent.text) not in result.state:
                reason = _("The row it belongs to was removed meanwhile.")
                result.conflicts.append(Conflict((kind, rid), None, row[""], reason))


# --- Explaining -----------------------------------------------------------------------------------


def key_label(key: Key, *states: State) -> str:
    """`Budget`, `Partners – ORG A – notes`, `Locations – NE001`."""
    if len(key) == 1:
        return str(Programme._meta.get_field(key[0]).verbose_name).capitalize()
    parts = [str(LIST_LABELS.get(key[0], key[0]))]
    presence = next((s[key[:2]] for s in states if key[:2] in s), None)
    parts.append(presence.shown if presence is not None and presence.shown else key[1])
    if len(key) == 3:
        parts.append(_cell_label(key[0], key[2]))
    return " – ".join(parts)


def _cell_label(kind: str, name: str) -> str:
    if name in CELL_LABELS:
        return str(CELL_LABELS[name])
    model = ROW_MODELS.get(kind)
    try:
        return str(model._meta.get_field(name).verbose_name)
    except (AttributeError, FieldDoesNotExist):
        return name


def shown(cell: Cell | None, key: Key) -> str:
    if cell is None:
        return str(_("(removed)")) if len(key) > 1 else ""
    if len(key) == 2:
        return str(_("(present)"))
    return cell.shown


def conflict_message(conflict: Conflict, who: str) -> str:
    """What the API says for one conflicting key (the edit page shows the same values in a table)."""
    if conflict.reason:
        return conflict.reason
    return _("%(who)s saved “%(theirs)s” meanwhile; you sent “%(mine)s”.") % {
        "who": who,
        "theirs": shown(conflict.theirs, conflict.key),
        "mine": shown(conflict.mine, conflict.key),
    }


def conflict_summary(merge_: Merge, *states: State) -> str:
    return ", ".join(key_label(c.key, *states) for c in merge_.conflicts)
