"""A programme's history in words people read: every change to it and its parts, who made it and when.

The changes come from django-auditlog: each registered part (`register_history_part`, called by the
apps that own the models) records its programme's id in the entry's `additional_data`
(`models.InProgrammeHistory`), so one query finds them all, deleted rows included. Status changes come
from `ProgrammeStatusChange`, with their reasons. Partners see what changed but never who at IOM
changed it, the reasons, IOM-only fields, IOM-only documents, disaggregated cells or small counts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

from auditlog.models import LogEntry
from django.conf import settings
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.db.models import Q
from django.utils import formats, timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.text import Truncator, capfirst
from django.utils.translation import get_language, pgettext
from django.utils.translation import gettext as _

from regions.models import AdminUnit, places

from .models import ProgrammeStatusChange, Status
from .privacy import small_label

HISTORY_LIMIT = 40
# Fields whose changes partners never see (IOM-internal, or naming IOM staff).
IOM_ONLY_FIELDS = {
    "internal_notes",
    "created_by",
    "updated_by",
    "iom_focal_point",
    "uploaded_by",
    # obligations (obligations/): the IOM person responsible, who waived one and why
    "responsible_user",
    "waived_by",
    "waived_reason",
}
# Bookkeeping nobody needs to read in a history.
HIDDEN_FIELDS = {
    "id",
    "programme",
    "search_text",
    "place_codes",
    "version",
    "created_by",  # who made a change is the row's "who"
    "updated_by",
    "created_at",
    "updated_at",
    "uploaded_at",
    "file",
    "content_type",
    "size",
}
TEXT_SHOWN = 120  # characters of a long text shown in the history


@dataclass(frozen=True)
class HistoryPart:
    """A model whose changes appear in the programme's history, and how to name and filter its rows."""

    model: type[models.Model]
    identity: tuple[str, ...]  # fields that name the row: ("code", "name") → "IND1 Migrants assisted"
    partners_see: Callable[[dict], bool] | None  # given the row's values; None: always
    iom_only: bool  # partners never see this part's changes
    counts: tuple[str, ...]  # counts of people: small ones are masked for partners
    label: str | None


_PARTS: dict[type[models.Model], HistoryPart] = {}


def register_history_part(
    model: type[models.Model],
    *,
    identity: list[str] | tuple[str, ...] = (),
    partners_see: Callable[[dict], bool] | None = None,
    iom_only: bool = False,
    counts: list[str] | tuple[str, ...] = (),
    label=None,
) -> None:
    """Show `model`'s audit-log entries in its programme's history (the model mixes in InProgrammeHistory)."""
    _PARTS[model] = HistoryPart(model, tuple(identity), partners_see, iom_only, tuple(counts), label)


@dataclass
class HistoryRow:
    when: datetime  # in the portal's time zone (Africa/Niamey)
    who: object | None  # the user, or None when unknown or hidden (partners)
    what: str
    changes: list[tuple[str, str | None, str]] = field(default_factory=list)  # (label, before, after)
    reason: str = ""


def programme_history(programme, *, iom: bool, limit: int = HISTORY_LIMIT) -> list[HistoryRow]:
    """The programme's latest changes, newest first, in a constant number of queries whatever its length."""
    status_changes = (
        ProgrammeStatusChange.objects.filter(programme=programme)
        .select_related("changed_by")
        .order_by("-changed_at", "-pk")[:limit]
    )
    rows = [
        HistoryRow(
            when=timezone.localtime(change.changed_at),
            who=change.changed_by if iom else None,
            what=_("Status changed"),
            changes=[(capfirst(_("status")), _status(change.from_status), _status(change.to_status))],
            reason=change.reason if iom else "",
        )
        for change in status_changes
    ]
    # Content types by name (a join), not by id: no lookup that depends on what the process cached before.
    shown = [part.model._meta for part in _PARTS.values() if iom or not part.iom_only]
    of_parts = Q()
    for meta in shown:
        of_parts |= Q(content_type__app_label=meta.app_label, content_type__model=meta.model_name)
    entries = LogEntry.objects.filter(of_parts, additional_data__programme=programme.pk).select_related("content_type")
    entries = entries.order_by("-timestamp", "-pk")
    entries = list((entries.select_related("actor") if iom else entries)[:limit])
    described = _Describer(entries, iom=iom)
    rows += [row for row in map(described.row, entries) if row is not None]
    rows.sort(key=lambda row: row.when, reverse=True)
    return rows[:limit]


def _status(value: str) -> str:
    return Status(value).label if value in Status.values else value


def _field(model: type[models.Model], name: str):
    try:
        return model._meta.get_field(name)
    except FieldDoesNotExist:
        return None


def _is_empty(value) -> bool:
    return value is None or value in ("None", "")


class _Describer:
    """Turns audit-log entries into rows, fetching what they refer to in one query per model."""

    def __init__(self, entries: list[LogEntry], *, iom: bool) -> None:
        self.iom = iom
        self.current = self._current_rows(entries)
        self.snapshots = self._snapshots(entries)
        self.names = self._related_names(entries)
        # Names of rows deleted since, as last logged (an indicator removed with its values).
        self.removed = {(self._model(e), e.object_pk): e.object_repr for e in reversed(entries)}

    def _model(self, entry: LogEntry) -> type[models.Model]:
        return entry.content_type.model_class()

    def _current_rows(self, entries: list[LogEntry]) -> dict[tuple[type, str], dict]:
        """Today's values of the rows the entries are about (for the names of rows changed, not created)."""
        wanted: dict[type, set[str]] = {}
        for entry in entries:
            model = self._model(entry)
            if _PARTS[model].identity or _PARTS[model].partners_see:
                wanted.setdefault(model, set()).add(entry.object_pk)
        current = {}
        for model, pks in wanted.items():
            names = [f.name for f in model._meta.concrete_fields if f.name not in HIDDEN_FIELDS or f.primary_key]
            for values in model._default_manager.filter(pk__in=pks).values(*names):
                current[(model, str(values[model._meta.pk.name]))] = values
        return current

    def _snapshots(self, entries: list[LogEntry]) -> dict[tuple[type, str], dict]:
        """Every value of rows created or removed within these entries (what names a row deleted since)."""
        snapshots: dict[tuple[type, str], dict] = {}
        for entry in entries:
            if entry.action in (LogEntry.Action.CREATE, LogEntry.Action.DELETE):
                side = 0 if entry.action == LogEntry.Action.DELETE else 1
                logged = {n: c[side] for n, c in (entry.changes or {}).items() if isinstance(c, list) and len(c) == 2}
                snapshots.setdefault((self._model(entry), entry.object_pk), logged)
        return snapshots

    def _values(self, entry: LogEntry) -> dict:
        """The row's values as the entry knows them: today's (or the last logged), overlaid with its own."""
        model = self._model(entry)
        key = (model, entry.object_pk)
        values = dict(self.current.get(key) or self.snapshots.get(key, {}))
        side = 0 if entry.action == LogEntry.Action.DELETE else 1
        for name, change in (entry.changes or {}).items():
            if isinstance(change, list) and len(change) == 2:
                values[name] = change[side]
        return values

    def _related_names(self, entries: list[LogEntry]) -> dict[type, dict[str, str]]:
        wanted: dict[type, set[str]] = {}
        for entry in entries:
            model = self._model(entry)
            named = [(n, v) for n, change in (entry.changes or {}).items() if isinstance(change, list) for v in change]
            named += [(n, v) for n, v in self._values(entry).items() if n in _PARTS[model].identity]
            for name, value in named:
                if name in HIDDEN_FIELDS:
                    continue
                related = _field(model, name)
                if getattr(related, "many_to_one", False) and not _is_empty(value):
                    wanted.setdefault(related.related_model, set()).add(str(value))
        names: dict[type, dict[str, str]] = {}
        for related, pks in wanted.items():
            if related is AdminUnit:  # places carry their path: "Tillabéri › Ouallam › Simiri"
                labels = {place.pcode: place.label for place in places()}
                units = AdminUnit.objects.filter(pk__in=pks).values_list("pk", "pcode")
                names[related] = {str(pk): labels.get(pcode, pcode) for pk, pcode in units}
                continue
            objects = related._default_manager.filter(pk__in=[int(pk) for pk in pks if pk.isdigit()])
            names[related] = {str(obj.pk): _name(obj) for obj in objects}
        return names

    def row(self, entry: LogEntry) -> HistoryRow | None:
        model = self._model(entry)
        part = _PARTS[model]
        values = self._values(entry)
        if not self.iom and part.partners_see is not None and not part.partners_see(values):
            return None
        changes = self._changes(entry, model, part)
        if entry.action == LogEntry.Action.UPDATE and not changes:
            return None
        action = {
            LogEntry.Action.CREATE: pgettext("history", "Added"),
            LogEntry.Action.UPDATE: pgettext("history", "Changed"),
            LogEntry.Action.DELETE: pgettext("history", "Removed"),
        }.get(entry.action, pgettext("history", "Changed"))
        part_label = str(part.label or model._meta.verbose_name)
        subject = self._subject(model, part, values) or entry.object_repr
        if part.identity:
            what = _("%(action)s · %(part)s “%(subject)s”") % {"action": action, "part": part_label, "subject": subject}
        else:
            what = _("%(action)s · %(part)s") % {"action": action, "part": part_label}
        return HistoryRow(
            when=timezone.localtime(entry.timestamp), who=entry.actor if self.iom else None, what=what, changes=changes
        )

    def _subject(self, model, part: HistoryPart, values: dict) -> str:
        shown = []
        for name in part.identity:
            if name not in values and f"{name}_fr" in values:  # bilingual text: the page's language first
                english = values.get(f"{name}_en")
                value = english if get_language() == "en" and not _is_empty(english) else values.get(f"{name}_fr")
                shown.append(Truncator(str(value or "")).chars(TEXT_SHOWN))
                continue
            value = values.get(name)
            related = _field(model, name)
            if _is_empty(value) or (getattr(related, "choices", None) and str(value) in ("all", "")):
                continue
            shown.append(self.value(model, name, value))
        if model._meta.model_name == "indicatorvalue" and len(shown) >= 3:  # "IND1 … · 01/01/2025–31/12/2025"
            shown[1:3] = [f"{shown[1]}–{shown[2]}"]
        return " · ".join(s for s in shown if s)

    def _changes(self, entry: LogEntry, model, part: HistoryPart) -> list[tuple[str, str | None, str]]:
        if entry.action == LogEntry.Action.DELETE:
            return []
        creating = entry.action == LogEntry.Action.CREATE
        if creating and not part.identity:  # the programme itself: "added" says it all
            return []
        changes = []
        for name, change in (entry.changes or {}).items():
            if name in HIDDEN_FIELDS or (name in IOM_ONLY_FIELDS and not self.iom):
                continue
            if creating and name.removesuffix("_fr").removesuffix("_en") in part.identity:
                continue
            related = _field(model, name)
            if related is None or related.auto_created:  # reverse relations ("programmes.Indicator.None")
                continue
            label = capfirst(str(related.verbose_name))
            if isinstance(change, dict):  # many-to-many: {"type": "m2m", "operation": "add", "objects": [...]}
                objects = ", ".join(str(o) for o in change.get("objects", []))
                added = change.get("operation") == "add"
                changes.append((label, None if added else objects, objects if added else "—"))
                continue
            before, after = [*change, None, None][:2]
            if creating:
                if _is_empty(after):
                    continue
                changes.append((label, None, self.value(model, name, after)))
            else:
                shown = (self.value(model, name, before), self.value(model, name, after))
                if shown[0] != shown[1]:  # 800 and 800.00 are the same to a reader
                    changes.append((label, *shown))
        return changes

    def value(self, model, name: str, value) -> str:
        """A logged value as people read it: names, choice labels, local dates, grouped numbers."""
        if _is_empty(value):
            return "—"
        related = _field(model, name)
        if related is None:
            return str(value)
        if getattr(related, "many_to_one", False):
            name = self.names.get(related.related_model, {}).get(str(value))
            return name or self.removed.get((related.related_model, str(value)), "—")
        if related.choices:
            return str({str(key): label for key, label in related.flatchoices}.get(str(value), value))
        kind = related.get_internal_type()
        if kind == "BooleanField":
            return _("Yes") if str(value) == "True" else _("No")
        if kind == "DateField":
            parsed = parse_date(str(value)[:10])
            return formats.date_format(parsed, "SHORT_DATE_FORMAT") if parsed else str(value)
        if kind == "DateTimeField":
            parsed = parse_datetime(str(value))
            if parsed is None:
                return str(value)
            if timezone.is_naive(parsed):
                parsed = timezone.make_aware(parsed, UTC)
            return formats.date_format(timezone.localtime(parsed), "SHORT_DATETIME_FORMAT")
        if kind in ("DecimalField", "FloatField", "IntegerField", "PositiveIntegerField", "PositiveSmallIntegerField"):
            return self._number(model, name, value)
        return Truncator(str(value)).chars(TEXT_SHOWN)

    def _number(self, model, name: str, value) -> str:
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            return str(value)
        if not self.iom and name in _PARTS[model].counts and 0 < number < settings.SMALL_CELL_THRESHOLD:
            return str(small_label())
        places_shown = 0 if number == number.to_integral_value() else 2
        return formats.number_format(number, decimal_pos=places_shown, use_l10n=True, force_grouping=True)


def _name(obj: models.Model) -> str:
    if hasattr(obj, "get_full_name"):  # a user
        return obj.get_full_name() or obj.get_username()
    return str(obj)
