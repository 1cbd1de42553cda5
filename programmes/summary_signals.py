"""Writes that reach a programme's parts through any door (services, edit page, API, admin, importer, a plain
ORM call): the place codes, the search words and the pages' aggregates follow them here, inside the writing
transaction (programmes/search.py, programmes/summary.py). The services also rebuild the whole search text.

Renaming what the search text shows (an organisation's name or acronym, a place's name or P-code, a sector,
an indicator's title) through any door rebuilds, in batches, the search text of the programmes it reaches."""

from __future__ import annotations

import logging
import threading
import weakref

from django.db import connections, transaction
from django.db.models import Q, QuerySet
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_save

from partners.models import Organisation
from regions.models import AdminUnit

from .models import AgeGroup, Indicator, IndicatorValue, Participation, Programme, ProgrammeLocation, Sector, Sex
from .search import indicator_titles_added, rebuild, refresh_place_codes, refresh_search
from .summary import programmes_changed, refresh_mode

logger = logging.getLogger(__name__)

# A deletion of many rows (a queryset, or a programme with its parts) changes the counter once.
_counted_origins: weakref.WeakSet = weakref.WeakSet()


def _changed_once(origin=None) -> None:
    if origin is not None:
        try:
            if origin in _counted_origins:
                return
            _counted_origins.add(origin)
        except TypeError:  # not weakly referenceable: count every time
            pass
    programmes_changed()


def _inside_programme_deletion(origin) -> bool:
    return isinstance(origin, Programme) or (isinstance(origin, QuerySet) and origin.model is Programme)


def _programme_saved(sender, instance: Programme, raw: bool = False, **kwargs) -> None:
    if not raw:
        programmes_changed()


def _programme_deleted(sender, instance: Programme, origin=None, **kwargs) -> None:
    _changed_once(origin)


def _location_changed(sender, instance: ProgrammeLocation, raw: bool = False, origin=None, **kwargs) -> None:
    if raw or _inside_programme_deletion(origin):
        return
    refresh_place_codes(instance.programme_id)
    _changed_once(origin)


def _participation_changed(sender, instance: Participation, raw: bool = False, origin=None, **kwargs) -> None:
    if not raw and not _inside_programme_deletion(origin):
        _changed_once(origin)


def _sectors_changed(sender, action: str, **kwargs) -> None:
    if action in ("post_add", "post_remove", "post_clear"):
        programmes_changed()


def _indicator_saved(sender, instance: Indicator, raw: bool = False, **kwargs) -> None:
    if raw:  # loaddata
        return
    if indicator_titles_added(instance) and not kwargs.get("created"):
        # A title not yet in the search text on an existing indicator: renamed. Its old title goes too.
        refresh_search(instance.programme)
    if instance.key_indicator or not kwargs.get("created"):
        programmes_changed()


def _indicator_deleted(sender, instance: Indicator, origin=None, **kwargs) -> None:
    if instance.key_indicator and not _inside_programme_deletion(origin):
        _changed_once(origin)


def _value_changed(sender, instance: IndicatorValue, raw: bool = False, origin=None, **kwargs) -> None:
    # Only totals rows enter the aggregates (key figures); a disaggregated cell changes nothing counted.
    if raw or _inside_programme_deletion(origin) or isinstance(origin, Indicator):
        return
    if instance.sex == Sex.ALL and instance.age_group == AgeGroup.ALL:
        _changed_once(origin)


# --- Renames of what the search text shows --------------------------------------------------------

# The fields of each model that the search text (or the place codes) repeats.
SEARCHED_FIELDS = {
    Organisation: ("acronym", "acronym_en", "name_fr", "name_en"),
    AdminUnit: ("pcode", "parent_id", "name_fr", "name_en", "name_alt"),
    Sector: ("code", "name_fr", "name_en"),
}


def _words_before(sender, instance, raw: bool = False, **kwargs) -> None:
    """Before an existing row is saved: its searched words as stored (one query; these rows change rarely)."""
    if raw or instance._state.adding or instance.pk is None:
        return
    instance._searched_words_before = (
        sender._default_manager.filter(pk=instance.pk).values_list(*SEARCHED_FIELDS[sender]).first()
    )


# Up to this many programmes a rename rebuilds them in its own transaction (about a second per 1,000 on
# the shared machine); beyond, a background rebuild starts once it has committed (the search finds the
# programmes by the new name a little later), so that no admin request waits for tens of thousands.
RENAME_INLINE_LIMIT = 1000


def programmes_showing(model_label: str, pk: int, old_pcode: str = ""):
    """The programmes whose search text repeats the words of the organisation, place or sector `pk`."""
    if model_label == Organisation._meta.label_lower:
        return Programme.objects.filter(pk__in=Participation.objects.filter(organisation_id=pk).values("programme_id"))
    if model_label == AdminUnit._meta.label_lower:  # its programmes and those below: place codes hold every level
        return Programme.objects.filter(place_codes__contains=f" {old_pcode} ")
    return Programme.objects.filter(Q(primary_sector_id=pk) | Q(secondary_sectors=pk)).distinct()


def rebuild_programmes_showing(model_label: str, pk: int, old_pcode: str = "") -> int:
    """Rebuild the search text of the programmes a rename reaches, in batches; the number rebuilt."""
    ids = list(programmes_showing(model_label, pk, old_pcode).order_by().values_list("pk", flat=True))
    for _done in rebuild(ids=ids):  # batches of search.BATCH programmes, a few queries each
        pass
    return len(ids)


def _words_renamed(sender, instance, raw: bool = False, created: bool = False, **kwargs) -> None:
    before = instance.__dict__.pop("_searched_words_before", None)
    if raw or created or before is None:
        return
    after = tuple(getattr(instance, field) for field in SEARCHED_FIELDS[sender])
    if after == before:
        return
    label = sender._meta.label_lower
    old_pcode = before[0] if sender is AdminUnit else ""
    reached = programmes_showing(label, instance.pk, old_pcode)
    if refresh_mode() == "inline" or reached.count() <= RENAME_INLINE_LIMIT:
        rebuild_programmes_showing(label, instance.pk, old_pcode)
    else:
        transaction.on_commit(lambda: rebuild_in_background(label, instance.pk, old_pcode))
    if sender is AdminUnit and after[:2] != before[:2]:
        programmes_changed()  # the place counts are keyed by P-code


def rebuild_in_background(label: str, pk: int, old_pcode: str) -> None:
    """A large rename's rebuild: the Celery task with a broker, else a thread of this process."""
    from .tasks import rebuild_search_text_after_rename

    if refresh_mode() == "celery":
        try:
            rebuild_search_text_after_rename.apply_async(args=[label, pk, old_pcode], retry=False)
            return
        except Exception:  # broker unreachable: rebuild here rather than not at all
            logger.warning("Could not send the search text rebuild; running it in this process", exc_info=True)

    def run() -> None:
        try:
            rebuild_programmes_showing(label, pk, old_pcode)
        except Exception:
            logger.exception("Rebuilding the search text after a rename failed: run rebuild_search_text")
        finally:
            connections.close_all()

    threading.Thread(target=run, name="search-text-rebuild", daemon=True).start()


def connect_signals() -> None:
    for model in SEARCHED_FIELDS:
        label = model._meta.label_lower
        pre_save.connect(_words_before, sender=model, dispatch_uid=f"programmes-search-words-before-{label}")
        post_save.connect(_words_renamed, sender=model, dispatch_uid=f"programmes-search-words-renamed-{label}")
    post_save.connect(_programme_saved, sender=Programme, dispatch_uid="programmes-programme-saved")
    post_delete.connect(_programme_deleted, sender=Programme, dispatch_uid="programmes-programme-deleted")
    post_save.connect(_location_changed, sender=ProgrammeLocation, dispatch_uid="programmes-location-saved")
    post_delete.connect(_location_changed, sender=ProgrammeLocation, dispatch_uid="programmes-location-deleted")
    post_save.connect(_participation_changed, sender=Participation, dispatch_uid="programmes-participation-saved")
    post_delete.connect(_participation_changed, sender=Participation, dispatch_uid="programmes-participation-deleted")
    m2m_changed.connect(
        _sectors_changed, sender=Programme.secondary_sectors.through, dispatch_uid="programmes-sectors-changed"
    )
    post_save.connect(_indicator_saved, sender=Indicator, dispatch_uid="programmes-indicator-saved")
    post_delete.connect(_indicator_deleted, sender=Indicator, dispatch_uid="programmes-indicator-deleted")
    post_save.connect(_value_changed, sender=IndicatorValue, dispatch_uid="programmes-value-saved")
    post_delete.connect(_value_changed, sender=IndicatorValue, dispatch_uid="programmes-value-deleted")
