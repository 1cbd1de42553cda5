"""Niger's administrative units (OCHA COD-AB P-codes and boundaries) and IOM's offices in them."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar
from uuid import uuid4

from django.core.cache import cache
from django.core.validators import RegexValidator
from django.db import models, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

PCODE_REGEX = r"^NE[0-9]{3}([0-9]{3}){0,2}$"
pcode_validator = RegexValidator(
    PCODE_REGEX,
    _("A Niger P-code is NE followed by 3, 6 or 9 digits (region, department, commune), e.g. NE006012006."),
)


class AdminLevel(models.IntegerChoices):
    REGION = 1, _("Region")
    DEPARTMENT = 2, _("Department")
    COMMUNE = 3, _("Commune")


PCODE_LENGTH = {AdminLevel.REGION: 5, AdminLevel.DEPARTMENT: 8, AdminLevel.COMMUNE: 11}


class AdminUnitQuerySet(models.QuerySet):
    def regions(self) -> AdminUnitQuerySet:
        return self.filter(level=AdminLevel.REGION)

    def departments(self) -> AdminUnitQuerySet:
        return self.filter(level=AdminLevel.DEPARTMENT)

    def communes(self) -> AdminUnitQuerySet:
        return self.filter(level=AdminLevel.COMMUNE)

    def within(self, unit: AdminUnit) -> AdminUnitQuerySet:
        """The unit itself and every unit below it (P-codes are hierarchical)."""
        return self.filter(pcode__startswith=unit.pcode)

    def without_boundary(self) -> AdminUnitQuerySet:
        return self.defer("boundary")


class AdminUnit(models.Model):
    """A region, department or commune of Niger, identified by its OCHA P-code."""

    pcode = models.CharField(_("P-code"), max_length=11, unique=True, validators=[pcode_validator])
    name_fr = models.CharField(_("official name (French)"), max_length=120)
    name_en = models.CharField(
        _("name (English)"), max_length=120, blank=True, help_text=_("Only where it differs from the French name.")
    )
    name_alt = models.CharField(
        _("alternative spelling"), max_length=120, blank=True, help_text=_("e.g. Tillaberi for Tillabéri.")
    )
    level = models.PositiveSmallIntegerField(_("level"), choices=AdminLevel.choices)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent unit"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
    )
    boundary = models.JSONField(
        _("boundary"), null=True, blank=True, help_text=_("GeoJSON geometry (WGS 84), from OCHA COD-AB.")
    )
    centroid_lat = models.FloatField(_("centre latitude"), null=True, blank=True)
    centroid_lon = models.FloatField(_("centre longitude"), null=True, blank=True)

    objects = AdminUnitQuerySet.as_manager()

    class Meta:
        verbose_name = _("administrative unit")
        verbose_name_plural = _("administrative units")
        ordering = ["pcode"]
        constraints = [
            models.CheckConstraint(
                condition=Q(pcode__regex=PCODE_REGEX),
                name="admin_unit_pcode_format",
                violation_error_message=pcode_validator.message,
            ),
            models.CheckConstraint(
                condition=(Q(level=1) & Q(parent__isnull=True)) | (Q(level__in=[2, 3]) & Q(parent__isnull=False)),
                name="admin_unit_parent_matches_level",
                violation_error_message=_("Regions have no parent; departments and communes must have one."),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("regions:detail", args=[self.pcode])

    @property
    def name(self) -> str:
        if get_language() == "en" and self.name_en:
            return self.name_en
        return self.name_fr

    def ancestors(self) -> list[AdminUnit]:
        """Region first, then department, for a commune (empty for a region)."""
        chain: list[AdminUnit] = []
        unit = self.parent
        while unit is not None:
            chain.insert(0, unit)
            unit = unit.parent
        return chain

    @property
    def path_label(self) -> str:
        """'Tillabéri › Kollo › Namaro' — the label shown in pickers."""
        return " › ".join(u.name for u in [*self.ancestors(), self])


@dataclass(frozen=True)
class Place:
    """A unit as pickers show it: "Tillabéri › Kollo › Namaro", with every spelling of its name."""

    pcode: str
    label: str
    level: int
    names: str


# --- Reference data cache -----------------------------------------------------------------------
# Lists built from reference data (the labelled places, the area picker's HTML) live in Django's cache
# under a key that carries a version. Reloading the reference data or editing a unit in the admin
# bumps the version, so every process (with a shared cache such as Redis, see CACHE_URL) rebuilds on
# its next request instead of serving old names until a restart.

REFERENCE_VERSION_KEY = "reference-data:version"
REFERENCE_CACHE_SECONDS = 24 * 60 * 60
T = TypeVar("T")


def reference_version() -> str:
    """The current version of the reference data; a new random one if the cache lost it."""
    version = cache.get(REFERENCE_VERSION_KEY)
    if version is None:
        cache.add(REFERENCE_VERSION_KEY, uuid4().hex, timeout=None)
        version = cache.get(REFERENCE_VERSION_KEY)
    return version


def bump_reference_version() -> None:
    """Forget every cached list built from reference data, now and again once the transaction commits
    (so that no other process keeps a list it rebuilt from the rows before the commit)."""

    def bump() -> None:
        cache.set(REFERENCE_VERSION_KEY, uuid4().hex, timeout=None)

    bump()
    transaction.on_commit(bump)


def cached_reference(name: str, build: Callable[[], T]) -> T:
    """`build()` for the active language, cached until the reference data changes."""
    key = f"reference-data:{reference_version()}:{name}:{get_language()}"
    value = cache.get(key)
    if value is None:
        value = build()
        cache.set(key, value, REFERENCE_CACHE_SECONDS)
    return value


def places() -> list[Place]:
    """Every region, department and commune in P-code order (each right after its parent), labelled in
    the active language. One query per language until the units change (see `cached_reference`)."""
    return cached_reference("places", _build_places)


def _build_places() -> list[Place]:
    labels: dict[int, str] = {}
    result = []
    units = AdminUnit.objects.only("pcode", "name_fr", "name_en", "name_alt", "level", "parent_id")
    for unit in units.order_by("pcode"):
        labels[unit.pk] = f"{labels[unit.parent_id]} › {unit.name}" if unit.parent_id in labels else unit.name
        result.append(Place(unit.pcode, labels[unit.pk], unit.level, f"{unit.name_fr} {unit.name_en} {unit.name_alt}"))
    return result


class OfficeKind(models.TextChoices):
    COUNTRY_OFFICE = "country_office", _("Country office")
    SUB_OFFICE = "sub_office", _("Sub-office")
    TRANSIT_CENTRE = "transit_centre", _("Transit centre")
    FIELD_PRESENCE = "field_presence", _("Field presence")


class Office(models.Model):
    """An IOM office, sub-office, transit centre or field presence in a commune of Niger."""

    name_fr = models.CharField(_("name (French)"), max_length=150)
    name_en = models.CharField(_("name (English)"), max_length=150, blank=True)
    kind = models.CharField(_("kind"), max_length=20, choices=OfficeKind.choices)
    commune = models.ForeignKey(
        AdminUnit,
        verbose_name=_("commune"),
        on_delete=models.PROTECT,
        related_name="offices",
        limit_choices_to={"level": AdminLevel.COMMUNE},
    )
    address = models.CharField(_("address"), max_length=255, blank=True)
    latitude = models.FloatField(_("latitude"), null=True, blank=True)
    longitude = models.FloatField(_("longitude"), null=True, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("IOM office")
        verbose_name_plural = _("IOM offices")
        ordering = ["kind", "name_fr"]
        constraints = [
            models.UniqueConstraint(fields=["name_fr"], name="office_unique_name"),
            models.CheckConstraint(
                condition=Q(latitude__isnull=True) | Q(latitude__gte=11, latitude__lte=24),
                name="office_latitude_in_niger",
                violation_error_message=_("The latitude must lie within Niger (11° to 24° N)."),
            ),
            models.CheckConstraint(
                condition=Q(longitude__isnull=True) | Q(longitude__gte=0, longitude__lte=16.5),
                name="office_longitude_in_niger",
                violation_error_message=_("The longitude must lie within Niger (0° to 16.5° E)."),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        """The name in the active language, falling back to French."""
        if get_language() == "en" and self.name_en:
            return self.name_en
        return self.name_fr

    @property
    def lat(self) -> float | None:
        return self.latitude if self.latitude is not None else self.commune.centroid_lat

    @property
    def lon(self) -> float | None:
        return self.longitude if self.longitude is not None else self.commune.centroid_lon


# --- Recipient countries and regions (IATI codelists) -------------------------------------------

NIGER = "NE"  # the country of IOM Niger: the default recipient of a national programme, the only one with P-codes


class CodelistStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class CodelistItem(models.Model):
    """An item of an IATI codelist, named in French and English (see regions/data/iati/README.md)."""

    name_fr = models.CharField(_("name (French)"), max_length=120)
    name_en = models.CharField(_("name (English)"), max_length=120)
    status = models.CharField(_("status"), max_length=10, choices=CodelistStatus.choices, default=CodelistStatus.ACTIVE)

    class Meta:
        abstract = True
        ordering = ["name_fr"]

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        if get_language() == "en" and self.name_en:
            return self.name_en
        return self.name_fr


class Country(CodelistItem):
    """A recipient country: ISO 3166-1 alpha-2, from the IATI `Country` codelist."""

    code = models.CharField(_("code"), max_length=2, primary_key=True)
    iati_name = models.CharField(_("name in the IATI codelist"), max_length=120, blank=True)

    class Meta(CodelistItem.Meta):
        verbose_name = _("country")
        verbose_name_plural = _("countries")


class Region(CodelistItem):
    """A recipient region: the IATI `Region` codelist (OECD DAC regions, vocabulary 1), e.g. 289."""

    code = models.CharField(_("code"), max_length=4, primary_key=True)

    class Meta(CodelistItem.Meta):
        verbose_name = _("recipient region")
        verbose_name_plural = _("recipient regions")


def country_choices() -> list[tuple[str, str]]:
    """(code, name) of every active country, sorted by name in the active language (cached)."""
    return cached_reference("countries", lambda: _codelist_choices(Country))


def region_choices() -> list[tuple[str, str]]:
    """(code, name) of every active recipient region, sorted by name in the active language (cached)."""
    return cached_reference("world-regions", lambda: _codelist_choices(Region))


def _codelist_choices(model) -> list[tuple[str, str]]:
    items = [(item.code, item.name) for item in model.objects.filter(status=CodelistStatus.ACTIVE)]
    return sorted(items, key=lambda item: unicodedata.normalize("NFKD", item[1]).casefold())
