"""Writes that reach a programme's parts through any door (services, edit page, API, admin, importer, a plain
ORM call): the place codes, the search words and the pages' aggregates follow them here, inside the writing
transaction (programmes/search.py, programmes/summary.py). The services also rebuild the whole search text."""

from __future__ import annotations

import weakref

from django.db.models import QuerySet
from django.db.models.signals import m2m_changed, post_delete, post_save

from .models import AgeGroup, Indicator, IndicatorValue, Participation, Programme, ProgrammeLocation, Sex
from .search import indicator_titles_added, refresh_place_codes
from .summary import programmes_changed

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
    indicator_titles_added(instance)
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


def connect_signals() -> None:
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
