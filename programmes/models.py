"""Thematic sectors, programmes, participations, locations, documents, results and key figures."""

from __future__ import annotations

import re
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import PurePath
from typing import ClassVar

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Count, Exists, F, OuterRef, Q, Value
from django.db.models.functions import StrIndex
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format, number_format
from django.utils.translation import get_language, gettext
from django.utils.translation import gettext_lazy as _

from partners.models import is_iom_staff, partner_organisation_id
from regions.models import AdminUnit, Country, Region

NON_NEGATIVE = [MinValueValidator(Decimal("0"))]


def fold_text(text: str) -> str:
    """Lower-case and strip accents, so that 'Tillabéri' and 'tillaberi' compare equal."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


# Between the programme's own words (code, titles, summaries: rebuilt on every save) and the words of its
# parts (sectors, places, partners, indicators: rebuilt by programmes/search.py), in `search_text`.
SEARCH_PARTS_SEPARATOR = " \x1e "


def search_words(text: str) -> list[str]:
    """The words of a search as they are matched: folded, without the separator, at most 8."""
    return [w for w in fold_text(text).replace("\x1e", " ").split() if w][:8]


class BilingualMixin:
    """Picks the `<field>_en` value in English when present, otherwise `<field>_fr`."""

    def localized(self, field: str) -> str:
        if get_language() == "en":
            value = getattr(self, f"{field}_en", "")
            if value:
                return value
        return getattr(self, f"{field}_fr", "")


class InProgrammeHistory:
    """Audit-log entries of this row carry the id of its programme (`additional_data["programme"]`), so the
    programme's history (programmes/history.py) finds every part in one query, even once deleted."""

    history_programme = "programme_id"  # attribute path from the row to its programme's id

    def get_additional_data(self) -> dict:
        target = self
        try:
            for name in self.history_programme.split("."):
                target = getattr(target, name)
        except ObjectDoesNotExist:  # the parent went first (a cascade): the entry is simply not linked
            return {}
        return {} if target is None else {"programme": target}


# --- Sectors ----------------------------------------------------------------------------------


class Sector(BilingualMixin, models.Model):
    """One of IOM's migration-management thematic sectors (e.g. counter-trafficking)."""

    code = models.CharField(_("code"), max_length=10, unique=True)
    name_fr = models.CharField(_("name (French)"), max_length=150)
    name_en = models.CharField(_("name (English)"), max_length=150)
    description_fr = models.TextField(_("description (French)"), blank=True)
    description_en = models.TextField(_("description (English)"), blank=True)
    dac_code = models.CharField(
        _("DAC sector code"),
        max_length=5,
        validators=[RegexValidator(r"^[0-9]{5}$", _("A DAC sector code has five digits."))],
        help_text=_("OECD DAC 5-digit purpose code used in IATI exports, e.g. 15190."),
    )
    order = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        verbose_name = _("thematic sector")
        verbose_name_plural = _("thematic sectors")
        ordering = ["order", "code"]
        constraints = [
            models.CheckConstraint(condition=Q(dac_code__regex=r"^[0-9]{5}$"), name="sector_dac_code_format"),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("programmes:sector_detail", args=[self.code])

    @property
    def name(self) -> str:
        return self.localized("name")

    @property
    def description(self) -> str:
        return self.localized("description")


# --- Programmes -------------------------------------------------------------------------------


class Scope(models.TextChoices):
    NATIONAL = "national", _("National")
    REGIONAL = "regional", _("Regional")
    MULTI_REGIONAL = "multi_regional", _("Multi-regional")
    GLOBAL = "global", _("Global")


class Modality(models.TextChoices):
    """How the programme delivers its aid, in IOM's words: the values of the 3W/4W `#modality` column
    (HXL: "the means by which an aid activity is accomplished", e.g. cash, vouchers, in-kind)."""

    IN_KIND = "in-kind", _("In-kind assistance")
    CASH = "cash", _("Cash-based assistance")
    VOUCHER = "voucher", _("Vouchers")
    SERVICES = "services", _("Direct services")
    CAPACITY_BUILDING = "capacity-building", _("Capacity building")
    INFRASTRUCTURE = "infrastructure", _("Infrastructure")


class Status(models.TextChoices):
    PIPELINE = "pipeline", _("Pipeline")
    SUBMITTED = "submitted", _("Submitted")
    UNDER_REVIEW = "under_review", _("Under review")
    REVISION_REQUESTED = "revision_requested", _("Revision requested")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    ACTIVE = "active", _("Active")
    SUSPENDED = "suspended", _("Suspended")
    COMPLETED = "completed", _("Completed")
    CLOSED = "closed", _("Closed")
    CANCELLED = "cancelled", _("Cancelled")


# The programme lifecycle: the only status changes the portal allows. From the pipeline a programme
# takes one of two roads (see `Programme.approval_road`): the department's review (submitted → under
# review → approved) or its signed agreement (approved directly, once the basis is recorded).
TRANSITIONS: dict[str, tuple[str, ...]] = {
    Status.PIPELINE: (Status.SUBMITTED, Status.APPROVED, Status.CANCELLED),
    Status.SUBMITTED: (Status.UNDER_REVIEW, Status.REVISION_REQUESTED, Status.CANCELLED),
    Status.UNDER_REVIEW: (Status.APPROVED, Status.REVISION_REQUESTED, Status.REJECTED),
    Status.REVISION_REQUESTED: (Status.SUBMITTED, Status.CANCELLED),
    Status.APPROVED: (Status.ACTIVE, Status.CANCELLED),
    Status.ACTIVE: (Status.COMPLETED, Status.SUSPENDED),
    Status.SUSPENDED: (Status.ACTIVE, Status.CANCELLED),
    Status.COMPLETED: (Status.CLOSED,),
    Status.REJECTED: (),
    Status.CLOSED: (),
    Status.CANCELLED: (),
}

# Steps of the lifecycle that only the review workflow takes (the reviews app: submission,
# technical review, decision); a plain status action never does, so nothing skips the review.
REVIEW_STEPS: frozenset[tuple[str, str]] = frozenset(
    {
        (Status.PIPELINE, Status.SUBMITTED),
        (Status.SUBMITTED, Status.UNDER_REVIEW),
        (Status.SUBMITTED, Status.REVISION_REQUESTED),
        (Status.UNDER_REVIEW, Status.APPROVED),
        (Status.UNDER_REVIEW, Status.REVISION_REQUESTED),
        (Status.UNDER_REVIEW, Status.REJECTED),
        (Status.REVISION_REQUESTED, Status.SUBMITTED),
    }
)

# While a proposal is with reviewers or the approver, the programme cannot be edited.
REVIEW_LOCKED_STATUSES = (Status.SUBMITTED, Status.UNDER_REVIEW)

# Steps that cannot be undone: they ask for a confirmation and a reason.
IRREVERSIBLE_STATUSES = frozenset({Status.COMPLETED, Status.CLOSED, Status.CANCELLED, Status.REJECTED})
# Steps that need a reason in the history: the irreversible ones, a suspension, a request for revision.
REASON_REQUIRED = IRREVERSIBLE_STATUSES | {Status.SUSPENDED, Status.REVISION_REQUESTED}
# Steps that need the actual end date (given, or already recorded), never in the future.
ENDING_STATUSES = frozenset({Status.COMPLETED, Status.CLOSED})

# The IOM Development Fund, as loaded by `load_reference_data` (partners/data/organisations.csv).
IDF_ORGANISATION_CODE = "iom-idf"
# Scopes whose programmes the department reviews whoever funds them.
DEPARTMENT_REVIEW_SCOPES = (Scope.MULTI_REGIONAL, Scope.GLOBAL)


class ApprovalRoad(models.TextChoices):
    """How a programme gets from the pipeline to approved."""

    DEPARTMENT_REVIEW = "department_review", _("Department review")
    AGREEMENT = "agreement", _("Signed agreement and government endorsement")


@dataclass(frozen=True)
class StatusStep:
    """One next status of a programme: whether the status action may take it now, and why not."""

    status: str
    available: bool
    why_not: str = ""

    @property
    def label(self) -> str:
        return Status(self.status).label

    @property
    def needs_reason(self) -> bool:
        return self.status in REASON_REQUIRED

    @property
    def irreversible(self) -> bool:
        return self.status in IRREVERSIBLE_STATUSES

    @property
    def needs_actual_end(self) -> bool:
        return self.status in ENDING_STATUSES


# IATI ActivityStatus code for each status (1 pipeline, 2 implementation, 3 finalisation, 4 closed,
# 5 cancelled, 6 suspended).
IATI_ACTIVITY_STATUS = {
    Status.PIPELINE: "1",
    Status.SUBMITTED: "1",
    Status.UNDER_REVIEW: "1",
    Status.REVISION_REQUESTED: "1",
    Status.APPROVED: "1",
    Status.REJECTED: "5",
    Status.ACTIVE: "2",
    Status.SUSPENDED: "6",
    Status.COMPLETED: "3",
    Status.CLOSED: "4",
    Status.CANCELLED: "5",
}


class Currency(models.TextChoices):
    XOF = "XOF", _("West African CFA franc (XOF)")
    USD = "USD", _("US dollar (USD)")
    EUR = "EUR", _("Euro (EUR)")


# Statuses whose programmes IOM publishes to IATI (the rest are internal proposals or were never
# approved); a cancelled programme is published only if it had been approved before (see
# ProgrammeQuerySet.iati_published).
IATI_PUBLISHED_STATUSES = (Status.APPROVED, Status.ACTIVE, Status.SUSPENDED, Status.COMPLETED, Status.CLOSED)


class ProgrammeQuerySet(models.QuerySet):
    def visible_to(self, user) -> ProgrammeQuerySet:
        """The single access rule: IOM staff see all; a partner sees its joint programmes; others none."""
        if is_iom_staff(user):
            return self.all()
        organisation_id = partner_organisation_id(user)
        if organisation_id is None:
            return self.none()
        return self.filter(
            Exists(Participation.objects.filter(programme=OuterRef("pk"), organisation_id=organisation_id))
        )

    def active(self) -> ProgrammeQuerySet:
        return self.filter(status=Status.ACTIVE)

    def with_status(self, *statuses: str) -> ProgrammeQuerySet:
        return self.filter(status__in=statuses)

    def in_sector(self, sector: Sector) -> ProgrammeQuerySet:
        """Primary or secondary sector. An uncorrelated IN subquery (PostgreSQL hashes it once), and no
        DISTINCT over the whole row as a join through the secondary sectors would need."""
        secondary = Programme.secondary_sectors.through.objects.filter(sector=sector).values("programme_id")
        return self.filter(Q(primary_sector=sector) | Q(pk__in=secondary))

    def counts_by_sector(self) -> dict[int, dict[str, int]]:
        """{sector id: {"all": n, "active": n}} with the definition of `in_sector` (primary or secondary
        sector, each programme once per sector), in two grouped queries whatever the number of sectors."""
        counts: dict[int, dict[str, int]] = {}
        ids = self.order_by().values("pk")
        primary = Programme.objects.filter(pk__in=ids).values_list("primary_sector", "status")
        through = Programme.secondary_sectors.through.objects.filter(programme__in=ids).exclude(
            sector=F("programme__primary_sector")
        )
        for query in (primary, through.values_list("sector", "programme__status")):
            for sector_id, status, n in query.annotate(n=Count("pk")).order_by():
                row = counts.setdefault(sector_id, {"all": 0, "active": 0})
                row["all"] += n
                if status == Status.ACTIVE:
                    row["active"] += n
        return counts

    def in_admin_unit(self, unit: AdminUnit) -> ProgrammeQuerySet:
        """Programmes working in the unit or anywhere below it (a commune counts for its region).

        Reads `place_codes` (the P-codes of every unit the programme touches, at every level, kept by
        the services): no join of locations and units; on PostgreSQL a trigram index serves it.
        """
        return self.filter(place_codes__contains=f" {unit.pcode} ")

    def for_country(self, country: Country) -> ProgrammeQuerySet:
        """Programmes with this recipient country."""
        return self.filter(Exists(RecipientCountry.objects.filter(programme=OuterRef("pk"), country=country)))

    def for_region(self, region: Region) -> ProgrammeQuerySet:
        """Programmes with this recipient region."""
        return self.filter(Exists(RecipientRegion.objects.filter(programme=OuterRef("pk"), region=region)))

    def with_partner(self, organisation, role: str | None = None) -> ProgrammeQuerySet:
        participations = Participation.objects.filter(programme=OuterRef("pk"), organisation=organisation)
        if role:
            participations = participations.filter(role=role)
        return self.filter(Exists(participations))

    def with_role(self, role: str) -> ProgrammeQuerySet:
        return self.filter(Exists(Participation.objects.filter(programme=OuterRef("pk"), role=role)))

    def funded_by(self, organisation) -> ProgrammeQuerySet:
        return self.with_partner(organisation, role=Role.FUNDING)

    def active_between(self, start, end) -> ProgrammeQuerySet:
        """Programmes whose planned period overlaps [start, end] (either bound may be None)."""
        qs = self
        if start:
            qs = qs.filter(Q(planned_end__isnull=True) | Q(planned_end__gte=start))
        if end:
            qs = qs.filter(planned_start__lte=end)
        return qs

    def search(self, text: str) -> ProgrammeQuerySet:
        """Accent- and case-insensitive search: code, titles, summaries, sectors, places at every level (names
        and P-codes), partners (acronyms and names) and indicator titles; see programmes/search.py."""
        qs = self
        for word in search_words(text):
            qs = qs.filter(search_text__contains=word)
        return qs

    @staticmethod
    def _iati_published_q() -> Q:
        was_approved = Exists(ProgrammeStatusChange.objects.filter(programme=OuterRef("pk"), to_status=Status.APPROVED))
        return Q(iati_publish=True) & (
            Q(status__in=IATI_PUBLISHED_STATUSES) | (Q(status=Status.CANCELLED) & was_approved)
        )

    def iati_published(self) -> ProgrammeQuerySet:
        """What goes out in the IATI file: approved and later (a cancellation after approval included),
        unless staff unticked "publish to IATI"."""
        return self.filter(self._iati_published_q())

    def iati_left_out(self) -> dict[str, int]:
        """How many programmes of this queryset the IATI file leaves out, by reason: "flag" (unticked by
        staff) and one key per internal status (submitted, under review, rejected...). One grouped query."""
        counts: dict[str, int] = {}
        rows = self.order_by().exclude(self._iati_published_q()).values_list("status", "iati_publish")
        for status, publish, n in rows.annotate(n=Count("pk")):
            key = "flag" if not publish else status
            counts[key] = counts.get(key, 0) + n
        return counts

    def ranked(self, text: str) -> ProgrammeQuerySet:
        """Best matches first: the words found early in the search text (code and titles come first, then
        summaries, sectors, places, partners and indicators), then the newest."""
        words = search_words(text)
        if not words:
            return self
        position = sum((StrIndex("search_text", Value(word)) for word in words), Value(0))
        return self.alias(search_rank=position).order_by("search_rank", "-planned_start", "code")

    def for_list(self) -> ProgrammeQuerySet:
        return self.select_related("primary_sector").only(
            "code",
            "title_fr",
            "title_en",
            "status",
            "scope",
            "planned_start",
            "planned_end",
            "budget",
            "currency",
            "primary_sector__code",
            "primary_sector__name_fr",
            "primary_sector__name_en",
        )


class Programme(BilingualMixin, InProgrammeHistory, models.Model):
    """A migration-management programme or project of IOM Niger."""

    history_programme = "pk"

    code = models.CharField(
        _("code"),
        max_length=32,
        unique=True,
        error_messages={"unique": _("Another programme already uses this code.")},
        validators=[
            RegexValidator(
                r"^[A-Z0-9][A-Z0-9.\-]{2,31}$",
                _("Use 3 to 32 capital letters, digits, dots or hyphens, e.g. NE-CT-2026-001."),
            )
        ],
    )
    title_fr = models.CharField(_("title (French)"), max_length=255)
    title_en = models.CharField(_("title (English)"), max_length=255, blank=True)
    summary_fr = models.TextField(_("summary (French)"), blank=True)
    summary_en = models.TextField(_("summary (English)"), blank=True)
    primary_sector = models.ForeignKey(
        Sector, verbose_name=_("primary sector"), on_delete=models.PROTECT, related_name="primary_programmes"
    )
    secondary_sectors = models.ManyToManyField(
        Sector, verbose_name=_("secondary sectors"), blank=True, related_name="secondary_programmes"
    )
    scope = models.CharField(_("scope"), max_length=20, choices=Scope.choices, default=Scope.NATIONAL)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.PIPELINE)
    planned_start = models.DateField(_("planned start"))
    planned_end = models.DateField(_("planned end"), null=True, blank=True)
    actual_start = models.DateField(_("actual start"), null=True, blank=True)
    actual_end = models.DateField(_("actual end"), null=True, blank=True)
    budget = models.DecimalField(
        _("budget"),
        max_digits=15,
        decimal_places=2,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0"), _("The budget cannot be negative."))],
    )
    currency = models.CharField(_("currency"), max_length=3, choices=Currency.choices, default=Currency.USD)
    modality = models.CharField(
        _("modality"),
        max_length=20,
        choices=Modality.choices,
        blank=True,
        help_text=_("How the programme mainly delivers its aid (the 3W/4W modality); empty when not stated."),
    )
    iom_focal_point = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("IOM focal point"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="focal_programmes",
        help_text=_("Active IOM staff only."),
    )
    internal_notes = models.TextField(_("internal notes (IOM only)"), blank=True)
    iati_publish = models.BooleanField(
        _("publish to IATI"),
        default=True,
        help_text=_(
            "Approved and later programmes are published in the IATI file unless this is unticked "
            "(proposals never are)."
        ),
    )
    iati_exclusion_reason = models.CharField(
        _("reason for not publishing to IATI"),
        max_length=255,
        blank=True,
        help_text=_("Required when the programme is kept out of the IATI file, e.g. a confidential donor agreement."),
    )
    search_text = models.TextField(editable=False, default="")
    # " NE006 NE006012 NE006012007 ": every unit the programme works in, with the units above (services).
    place_codes = models.TextField(editable=False, default="")
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("last updated by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = ProgrammeQuerySet.as_manager()

    class Meta:
        verbose_name = _("programme")
        verbose_name_plural = _("programmes")
        ordering = ["-planned_start", "code"]
        indexes = [
            models.Index(fields=["status"]),
            models.Index(fields=["planned_start"]),
            # The list sorted by budget, either way (ORDERING in programmes/filters.py), without sorting every row.
            models.Index(fields=["-budget", "code"], name="programme_budget_desc"),
            models.Index(fields=["budget", "code"], name="programme_budget_asc"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(code__regex=r"^[A-Z0-9][A-Z0-9.\-]{2,31}$"),
                name="programme_code_format",
            ),
            models.CheckConstraint(
                condition=Q(planned_end__isnull=True) | Q(planned_end__gte=models.F("planned_start")),
                name="programme_planned_end_after_start",
                violation_error_message=_("The planned end cannot be before the planned start."),
            ),
            models.CheckConstraint(
                condition=Q(actual_end__isnull=True)
                | Q(actual_start__isnull=True)
                | Q(actual_end__gte=models.F("actual_start")),
                name="programme_actual_end_after_start",
                violation_error_message=_("The actual end cannot be before the actual start."),
            ),
            models.CheckConstraint(
                condition=Q(budget__gte=0),
                name="programme_budget_non_negative",
                violation_error_message=_("The budget cannot be negative."),
            ),
            models.CheckConstraint(condition=Q(status__in=Status.values), name="programme_status_valid"),
            models.CheckConstraint(condition=Q(modality__in=["", *Modality.values]), name="programme_modality_valid"),
        ]

    # The focal point as read from the database: rules.programme_field_errors checks only a new choice.
    loaded_focal_point_id: int | None = None

    def __str__(self) -> str:
        return f"{self.code} — {self.title}"

    def save(self, *args, **kwargs) -> None:
        # The programme's own words are rebuilt here; the words of its parts are kept (programmes/search.py).
        _own, _sep, parts = (self.search_text or "").partition(SEARCH_PARTS_SEPARATOR)
        self.search_text = self.build_search_text() + (SEARCH_PARTS_SEPARATOR + parts if parts else "")
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return reverse("programmes:detail", args=[self.code])

    @classmethod
    def from_db(cls, db, field_names, values) -> Programme:
        programme = super().from_db(db, field_names, values)
        programme.loaded_focal_point_id = programme.__dict__.get("iom_focal_point_id")
        return programme

    def clean(self) -> None:
        """The rules on the programme's own fields (dates, focal point); see programmes/rules.py."""
        from .rules import programme_field_errors, raise_if

        raise_if(programme_field_errors(self))

    @property
    def title(self) -> str:
        return self.localized("title")

    @property
    def summary(self) -> str:
        return self.localized("summary")

    def build_search_text(self) -> str:
        parts = [self.code, self.title_fr, self.title_en, self.summary_fr, self.summary_en]
        return fold_text(" ".join(p for p in parts if p))

    def allowed_transitions(self) -> tuple[str, ...]:
        return TRANSITIONS[Status(self.status)]

    def can_transition_to(self, status: str) -> bool:
        return status in self.allowed_transitions()

    @property
    def has_ended(self) -> bool:
        """Completed or closed: its actual end must be recorded and not in the future."""
        return self.status in ENDING_STATUSES

    # --- The two roads through the lifecycle ---------------------------------------------------

    @property
    def is_idf_funded(self) -> bool:
        """The IOM Development Fund takes part as funder (or prospective funder of a proposal)."""
        if self.pk is None:
            return False
        prefetched = getattr(self, "_prefetched_objects_cache", {}).get("participations")
        if prefetched is not None:  # the API detail and the programme page load them anyway
            return any(p.role == Role.FUNDING and p.organisation.code == IDF_ORGANISATION_CODE for p in prefetched)
        return self.participations.filter(role=Role.FUNDING, organisation__code=IDF_ORGANISATION_CODE).exists()

    @property
    def approval_road(self) -> str:
        """The one rule: IDF-funded, multi-regional and global programmes go through the department's
        review; every other programme is approved on its signed agreement and government endorsement."""
        if self.scope in DEPARTMENT_REVIEW_SCOPES or self.is_idf_funded:
            return ApprovalRoad.DEPARTMENT_REVIEW
        return ApprovalRoad.AGREEMENT

    @property
    def needs_department_review(self) -> bool:
        return self.approval_road == ApprovalRoad.DEPARTMENT_REVIEW

    def remember_approval_basis(self) -> None:
        """Read the basis of an approval once for this instance (a page showing it and the steps it allows);
        without this call, `recorded_agreement` and `endorsement_letter` read it afresh every time."""
        self._approval_basis = None  # read afresh below
        self._approval_basis = (self.recorded_agreement(), self.endorsement_letter())

    def recorded_agreement(self) -> ProgrammeAgreement | None:
        """The signed agreement recorded as basis, read afresh (the reverse accessor caches a miss)."""
        if self.pk is None:
            return None
        if getattr(self, "_approval_basis", None) is not None:
            return self._approval_basis[0]
        return ProgrammeAgreement.objects.filter(programme=self).select_related("document").first()

    def endorsement_letter(self) -> Document | None:
        """The government endorsement: an endorsement letter issued by an endorsing authority of the
        programme (the same evidence the IOM Development Fund checklist asks for)."""
        if self.pk is None:
            return None
        if getattr(self, "_approval_basis", None) is not None:
            return self._approval_basis[1]
        endorsing = Participation.objects.filter(programme=self, role=Role.ENDORSING_AUTHORITY).values(
            "organisation_id"
        )
        return (
            self.documents.filter(category=DocumentCategory.ENDORSEMENT_LETTER, issuing_organisation_id__in=endorsing)
            .select_related("issuing_organisation")
            .order_by("uploaded_at", "pk")
            .first()
        )

    def missing_approval_basis(self) -> list[str]:
        """What the agreement road still needs before the programme can be approved (empty: nothing)."""
        missing = []
        if self.recorded_agreement() is None:
            missing.append(gettext("the signed agreement or donor contract (reference, date signed, document)"))
        if self.endorsement_letter() is None:
            missing.append(gettext("an endorsement letter issued by an endorsing authority of the programme"))
        return missing

    def transition_refusal(self, to_status: str, *, via_review: bool = False) -> tuple[str, str] | None:
        """Why the programme cannot take this step now, as (code, message); None when it can.

        The only place that says which step the state of the programme allows: the status service
        enforces it and the status actions offer exactly the steps it accepts.
        """
        label = Status(to_status).label if to_status in Status.values else to_status
        if not self.can_transition_to(to_status):
            message = gettext("A programme cannot go from “%(from)s” to “%(to)s”.") % {
                "from": Status(self.status).label,
                "to": label,
            }
            return "transition", message
        if (self.status, to_status) in REVIEW_STEPS and not via_review:
            return "review_step", gettext(
                "This step goes through the review: use the proposal page (submission, review, decision)."
            )
        if (self.status, to_status) == (Status.PIPELINE, Status.SUBMITTED) and not self.needs_department_review:
            return "road", gettext(
                "This programme is approved on its signed agreement and government endorsement, not by the "
                "department's review (which is for the IOM Development Fund, multi-regional and global projects)."
            )
        if (self.status, to_status) == (Status.PIPELINE, Status.APPROVED):
            if self.needs_department_review:
                return "road", gettext(
                    "This programme goes through the department's review (IOM Development Fund, multi-regional "
                    "or global project): submit it for review from the proposal page."
                )
            missing = self.missing_approval_basis()
            if missing:
                return "basis", gettext("Record the basis of the approval first: %(missing)s.") % {
                    "missing": "; ".join(missing)
                }
        return None

    def status_steps(self) -> list[StatusStep]:
        """The next statuses a status action could take, each available or with the reason it is not."""
        steps = []
        for status in self.allowed_transitions():
            if (self.status, status) in REVIEW_STEPS:
                continue
            refusal = self.transition_refusal(status)
            steps.append(StatusStep(status, refusal is None, refusal[1] if refusal else ""))
        return steps

    def manual_transitions(self) -> tuple[str, ...]:
        """The status actions offered on the programme page: exactly the steps the service accepts."""
        return tuple(step.status for step in self.status_steps() if step.available)

    @staticmethod
    def actual_end_problem(actual_end: date | None, *, actual_start: date | None = None) -> str:
        """Why this actual end cannot close a programme ("" when it can): missing or in the future."""
        if actual_end is None:
            return gettext("Give the date the programme actually ended.")
        if actual_end > timezone.localdate():
            return gettext(
                "The actual end (%(date)s) is in the future: give the date the programme actually ended."
            ) % {"date": actual_end.isoformat()}
        if actual_start is not None and actual_end < actual_start:
            return gettext("The actual end cannot be before the actual start.")
        return ""

    @property
    def iati_activity_status(self) -> str:
        return IATI_ACTIVITY_STATUS[Status(self.status)]

    @property
    def is_draft(self) -> bool:
        return self.status == Status.PIPELINE

    @property
    def is_locked_for_review(self) -> bool:
        """Submitted or under review: nobody edits it until a revision is requested."""
        return self.status in REVIEW_LOCKED_STATUSES


class ProgrammeStatusChange(models.Model):
    """One step in a programme's lifecycle: who moved it from which status to which, when and why."""

    programme = models.ForeignKey(
        Programme, verbose_name=_("programme"), on_delete=models.CASCADE, related_name="status_changes"
    )
    from_status = models.CharField(_("from"), max_length=20, choices=Status.choices)
    to_status = models.CharField(_("to"), max_length=20, choices=Status.choices)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("changed by"), on_delete=models.SET_NULL, null=True, related_name="+"
    )
    changed_at = models.DateTimeField(_("changed at"), default=timezone.now)
    reason = models.TextField(_("reason"), blank=True)

    class Meta:
        verbose_name = _("status change")
        verbose_name_plural = _("status changes")
        ordering = ["-changed_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.programme.code}: {self.from_status} → {self.to_status}"


# --- Participations ---------------------------------------------------------------------------


class Role(models.TextChoices):
    GOVERNMENT_COUNTERPART = "government_counterpart", _("Government counterpart")
    ENDORSING_AUTHORITY = "endorsing_authority", _("Endorsing authority")
    IMPLEMENTING_PARTNER = "implementing_partner", _("Implementing partner")
    FUNDING = "funding", _("Funding")
    BENEFICIARY_INSTITUTION = "beneficiary_institution", _("Beneficiary institution")


# IATI OrganisationRole (1 Funding: provides the funds; 2 Accountable: oversight of the activity and its
# outcomes; 3 Extending: manages the budget on behalf of the funder; 4 Implementing: physically carries
# out the activity). IOM itself is Accountable and Implementing. A beneficiary institution has no
# OrganisationRole (it neither funds, oversees, manages nor carries out): it is named in the activity's
# "target groups" description (DescriptionType 3) instead. See README "IATI export".
# IATI has one code (2, accountable) for the government counterpart and the endorsing authority: the
# portal's IATI export also writes its own role in an attribute of its namespace (IATI allows attributes
# of other namespaces), so that an export imported again keeps each organisation's role.
IATI_PORTAL_NAMESPACE = "urn:x-iom-niger-portal:iati:1"
IATI_PORTAL_ROLE = f"{{{IATI_PORTAL_NAMESPACE}}}role"
# Likewise the portal's code of a result (outcome, output) and of an indicator.
IATI_PORTAL_CODE = f"{{{IATI_PORTAL_NAMESPACE}}}code"
# A beneficiary institution (no IATI OrganisationRole): named in the activity's target-groups description
# (type 3) and, as data, in this element of the portal's namespace inside that description.
IATI_PORTAL_ORGANISATION = f"{{{IATI_PORTAL_NAMESPACE}}}organisation"

IATI_ORGANISATION_ROLE: dict[str, str | None] = {
    Role.GOVERNMENT_COUNTERPART: "2",
    Role.ENDORSING_AUTHORITY: "2",
    Role.IMPLEMENTING_PARTNER: "4",
    Role.FUNDING: "1",
    Role.BENEFICIARY_INSTITUTION: None,
}


class Participation(InProgrammeHistory, models.Model):
    """An organisation's part in a programme, in one role; funders carry their contribution."""

    programme = models.ForeignKey(
        Programme, verbose_name=_("programme"), on_delete=models.CASCADE, related_name="participations"
    )
    organisation = models.ForeignKey(
        "partners.Organisation",
        verbose_name=_("organisation"),
        on_delete=models.PROTECT,
        related_name="participations",
    )
    role = models.CharField(_("role"), max_length=30, choices=Role.choices)
    contribution = models.DecimalField(
        _("contribution"),
        max_digits=15,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0"), _("This amount cannot be negative."))],
        help_text=_("For funders: the amount committed, in the programme's currency."),
    )
    notes = models.CharField(_("notes"), max_length=255, blank=True)
    reports_results = models.BooleanField(
        _("reports for this programme"),
        default=False,
        help_text=_("Its users prepare results reports for the indicators assigned to it."),
    )

    class Meta:
        verbose_name = _("participation")
        verbose_name_plural = _("participations")
        ordering = ["role", "organisation__name_fr"]
        constraints = [
            models.UniqueConstraint(
                fields=["programme", "organisation"],
                name="participation_one_role_per_organisation",
                violation_error_message=_("This organisation already takes part in the programme."),
            ),
            models.CheckConstraint(
                condition=Q(contribution__isnull=True) | Q(contribution__gte=0, role="funding"),
                name="participation_contribution_only_for_funders",
                violation_error_message=_("Only a funding partner has a contribution, and it cannot be negative."),
            ),
        ]
        indexes = [models.Index(fields=["organisation", "programme"])]

    def __str__(self) -> str:
        return f"{self.organisation} — {self.get_role_display()}"

    def clean(self) -> None:
        from .rules import contribution_errors, raise_if

        raise_if(contribution_errors(role=self.role, contribution=self.contribution))


class ProgrammeLocation(InProgrammeHistory, models.Model):
    """A place in Niger where a programme works: a region, a department or a commune."""

    programme = models.ForeignKey(
        Programme, verbose_name=_("programme"), on_delete=models.CASCADE, related_name="locations"
    )
    admin_unit = models.ForeignKey(
        AdminUnit, verbose_name=_("administrative unit"), on_delete=models.PROTECT, related_name="programme_locations"
    )

    class Meta:
        verbose_name = _("programme location")
        verbose_name_plural = _("programme locations")
        ordering = ["admin_unit__pcode"]
        constraints = [
            models.UniqueConstraint(
                fields=["programme", "admin_unit"],
                name="programme_location_unique",
                violation_error_message=_("This place is already listed for the programme."),
            )
        ]

    def __str__(self) -> str:
        return f"{self.programme.code} @ {self.admin_unit.pcode}"


# --- Recipient countries and regions -------------------------------------------------------------

PERCENTAGE_FIELD = {
    "max_digits": 5,
    "decimal_places": 2,
    "validators": [
        MinValueValidator(Decimal("0.01"), _("A percentage lies between 0.01 and 100.")),
        MaxValueValidator(Decimal("100"), _("A percentage lies between 0.01 and 100.")),
    ],
}


class RecipientShare(InProgrammeHistory, models.Model):
    """What a recipient country and a recipient region share: a place (the subclass's `place_field`) with its
    share of the programme, in percent (each kind's rows sum to 100: programmes/rules.py).

    Abstract: each kind keeps its own table, its foreign keys (the programme's `recipient_countries` and
    `recipient_regions`) and its constraint names, so this base changed no table (no migration)."""

    place_field: ClassVar[str]

    percentage = models.DecimalField(_("percentage"), **PERCENTAGE_FIELD)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{getattr(self, f'{self.place_field}_id')} {self.percentage.normalize():f} %"

    @property
    def place(self) -> models.Model:
        return getattr(self, self.place_field)

    @staticmethod
    def constraints_of(place_field: str, listed_twice: str) -> list[models.BaseConstraint]:
        """One row per programme and place, a percentage in (0, 100] (named `recipient_<place>_…`)."""
        return [
            models.UniqueConstraint(
                fields=["programme", place_field],
                name=f"recipient_{place_field}_unique",
                violation_error_message=listed_twice,
            ),
            models.CheckConstraint(
                condition=Q(percentage__gt=0, percentage__lte=100),
                name=f"recipient_{place_field}_percentage_range",
                violation_error_message=_("A percentage lies between 0.01 and 100."),
            ),
        ]


class RecipientCountry(RecipientShare):
    """A country a programme works for, with its share of the programme (IATI recipient-country)."""

    place_field = "country"

    programme = models.ForeignKey(
        Programme, verbose_name=_("programme"), on_delete=models.CASCADE, related_name="recipient_countries"
    )
    country = models.ForeignKey(
        Country, verbose_name=_("country"), on_delete=models.PROTECT, related_name="recipient_of"
    )

    class Meta:
        verbose_name = _("recipient country")
        verbose_name_plural = _("recipient countries")
        ordering = ["-percentage", "country_id"]
        constraints = RecipientShare.constraints_of("country", _("This country is already listed for the programme."))
        indexes = [models.Index(fields=["country", "programme"])]


class RecipientRegion(RecipientShare):
    """A region a programme works for, with its share of the programme (IATI recipient-region)."""

    place_field = "region"

    programme = models.ForeignKey(
        Programme, verbose_name=_("programme"), on_delete=models.CASCADE, related_name="recipient_regions"
    )
    region = models.ForeignKey(Region, verbose_name=_("region"), on_delete=models.PROTECT, related_name="recipient_of")

    class Meta:
        verbose_name = _("recipient region")
        verbose_name_plural = _("recipient regions")
        ordering = ["-percentage", "region_id"]
        constraints = RecipientShare.constraints_of("region", _("This region is already listed for the programme."))
        indexes = [models.Index(fields=["region", "programme"])]


# --- Documents --------------------------------------------------------------------------------


class DocumentCategory(models.TextChoices):
    PROPOSAL = "proposal", _("Project proposal")
    ENDORSEMENT_LETTER = "endorsement_letter", _("Endorsement letter")
    AGREEMENT = "agreement", _("Agreement")
    PROGRESS_REPORT = "progress_report", _("Progress report")
    FINANCIAL_REPORT = "financial_report", _("Financial report")
    WORKPLAN = "workplan", _("Results framework and workplan")
    EXTENSION_REQUEST = "extension_request", _("Extension request")
    FINAL_REPORT = "final_report", _("Final report")
    GUIDANCE = "guidance", _("Guidance")
    STANDARD = "standard", _("Standard")
    OTHER = "other", _("Other")


class Visibility(models.TextChoices):
    IOM_ONLY = "iom_only", _("IOM only")
    PARTNERS = "partners", _("Shared with partners")


def document_upload_to(instance: Document, filename: str) -> str:
    """A generated storage name: never the uploader's file name, never under the static root."""
    suffix = PurePath(filename).suffix.lower()[:10]
    return f"documents/{timezone.now():%Y/%m}/{uuid.uuid4().hex}{suffix}"


class DocumentLanguage(models.TextChoices):
    FRENCH = "fr", _("French")
    ENGLISH = "en", _("English")
    BOTH = "fr+en", _("French and English")


class DocumentQuerySet(models.QuerySet):
    def current(self) -> DocumentQuerySet:
        """Neither retired nor replaced by a newer version."""
        return self.filter(retired_at__isnull=True, replaced_by__isnull=True)

    def visible_to(self, user) -> DocumentQuerySet:
        """IOM staff see all; a partner sees shared documents of its joint programmes and sectors."""
        if is_iom_staff(user):
            return self.all()
        organisation_id = partner_organisation_id(user)
        if organisation_id is None:
            return self.none()
        # The partner's programmes as `Programme.visible_to` defines them, read from the participations alone
        # (an index-only scan) rather than from the programme table.
        joint = Participation.objects.filter(organisation_id=organisation_id).values("programme_id")
        return self.filter(visibility=Visibility.PARTNERS).filter(Q(programme__isnull=True) | Q(programme__in=joint))


class Document(InProgrammeHistory, models.Model):
    """A file attached to a programme (proposal, endorsement, report) or a sector (guidance, standard)."""

    programme = models.ForeignKey(
        Programme,
        verbose_name=_("programme"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="documents",
    )
    sector = models.ForeignKey(
        Sector, verbose_name=_("sector"), on_delete=models.CASCADE, null=True, blank=True, related_name="documents"
    )
    title = models.CharField(_("title"), max_length=255)
    category = models.CharField(_("category"), max_length=30, choices=DocumentCategory.choices)
    visibility = models.CharField(
        _("visibility"), max_length=20, choices=Visibility.choices, default=Visibility.IOM_ONLY
    )
    issuing_organisation = models.ForeignKey(
        "partners.Organisation",
        verbose_name=_("issued by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="issued_documents",
        help_text=_("For endorsement letters: the government partner that signed it."),
    )
    file = models.FileField(_("file"), upload_to=document_upload_to, blank=True)
    link = models.URLField(
        _("link"), max_length=500, blank=True, help_text=_("The address of a public document, instead of a file.")
    )
    language = models.CharField(
        _("language of the document"), max_length=5, choices=DocumentLanguage.choices, blank=True
    )
    version = models.PositiveSmallIntegerField(_("version"), default=1)
    replaces = models.OneToOneField(
        "self",
        verbose_name=_("replaces"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="replaced_by",
    )
    retired_at = models.DateTimeField(_("retired on"), null=True, blank=True)
    original_filename = models.CharField(_("original file name"), max_length=255, blank=True)
    content_type = models.CharField(_("content type"), max_length=100, blank=True)
    size = models.PositiveIntegerField(_("size (bytes)"), default=0)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("uploaded by"), on_delete=models.SET_NULL, null=True, related_name="+"
    )
    uploaded_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)

    objects = DocumentQuerySet.as_manager()

    class Meta:
        verbose_name = _("document")
        verbose_name_plural = _("documents")
        ordering = ["-uploaded_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(programme__isnull=False, sector__isnull=True)
                | Q(programme__isnull=True, sector__isnull=False),
                name="document_belongs_to_programme_or_sector",
                violation_error_message=_("A document belongs either to a programme or to a sector."),
            ),
            models.CheckConstraint(
                condition=(~Q(file="") & Q(link="")) | (Q(file="") & ~Q(link="")),
                name="document_file_or_link",
                violation_error_message=_("Give either a file or a link, not both."),
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def address(self) -> str:
        """Where the document is read: its link, or the portal's download URL of its file."""
        return self.link or reverse("programmes:document_download", args=[self.pk])


class ProgrammeAgreement(models.Model):
    """The signed agreement or donor contract on which a programme outside the department's review is approved."""

    programme = models.OneToOneField(
        Programme, verbose_name=_("programme"), on_delete=models.CASCADE, related_name="agreement"
    )
    reference = models.CharField(
        _("agreement reference"), max_length=100, help_text=_("The donor's or the government's reference.")
    )
    signed_on = models.DateField(_("date signed"))
    document = models.ForeignKey(
        Document,
        verbose_name=_("signed agreement"),
        on_delete=models.RESTRICT,  # deleted with its programme, never alone while it is the basis
        related_name="+",
        help_text=_("A document of the programme in the category “Agreement”."),
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("recorded by"), on_delete=models.SET_NULL, null=True, related_name="+"
    )
    recorded_at = models.DateTimeField(_("recorded at"), default=timezone.now)

    class Meta:
        verbose_name = _("signed agreement")
        verbose_name_plural = _("signed agreements")
        ordering = ["programme"]

    def __str__(self) -> str:
        return f"{self.programme.code}: {self.reference} ({self.signed_on:%Y-%m-%d})"

    def clean(self) -> None:
        super().clean()
        errors = {}
        if not (self.reference or "").strip():
            errors["reference"] = gettext("Give the agreement's reference.")
        if self.signed_on and self.signed_on > timezone.localdate():
            errors["signed_on"] = gettext("The agreement cannot be signed in the future.")
        if self.document_id is not None and (
            self.document.programme_id != self.programme_id or self.document.category != DocumentCategory.AGREEMENT
        ):
            errors["document"] = gettext("Choose a document of this programme in the category “Agreement”.")
        if errors:
            raise ValidationError(errors)


# --- Results framework ------------------------------------------------------------------------

RESULT_CODE_TAKEN = _("Another outcome or output of this programme already uses this code.")
WHOLE_NUMBER = _("A count of people is a whole number.")
PERCENTAGE_RANGE = _("A percentage must lie between 0 and 100.")
YES_NO_VALUE = _("A yes/no indicator takes 1 (yes) or 0 (no).")
TEXT_HAS_NO_NUMBER = _("A text indicator has no number: write the result in the comment.")
PEOPLE_ARE_NUMBERS = _("Only a number can count people.")
NOT_A_REPORTING_PARTNER = _(
    "This organisation does not report for this programme: tick “reports for this programme” on its participation first."
)


def measure_value_problem(measure: str, value: Decimal | None, *, people: bool) -> str:
    """The message for a value an indicator of this measure cannot take ("" if it can)."""
    if value is None:
        return ""
    if measure == Measure.PERCENTAGE and value > 100:
        return str(PERCENTAGE_RANGE)
    if measure == Measure.YES_NO and value not in (0, 1):
        return str(YES_NO_VALUE)
    if measure == Measure.TEXT:
        return str(TEXT_HAS_NO_NUMBER)
    if people and not _is_whole(value):
        return str(WHOLE_NUMBER)
    return ""


OUTPUT_OF_OTHER_OUTCOME = _("This output belongs to another outcome.")
# Units that say an indicator counts people (compared without accents or case).
PEOPLE_UNITS = frozenset(
    {"personnes", "personne", "persons", "person", "people", "individus", "individuals", "beneficiaires"}
    | {"beneficiaries", "migrants", "victimes", "victims", "participants", "menages", "households"}
)


def result_code_taken(programme_id: int | None, code: str, *, outcome_pk=None, output_pk=None) -> bool:
    """Outcome and output codes name one result each within a programme (indicators refer to them)."""
    if not programme_id or not code:
        return False
    outcomes = Outcome.objects.filter(programme_id=programme_id, code=code).exclude(pk=outcome_pk)
    outputs = Output.objects.filter(outcome__programme_id=programme_id, code=code).exclude(pk=output_pk)
    return outcomes.exists() or outputs.exists()


class Outcome(BilingualMixin, InProgrammeHistory, models.Model):
    """An expected outcome of a programme (top of its results framework)."""

    programme = models.ForeignKey(
        Programme, verbose_name=_("programme"), on_delete=models.CASCADE, related_name="outcomes"
    )
    code = models.CharField(_("code"), max_length=20, help_text=_("e.g. OC1"))
    statement_fr = models.TextField(_("statement (French)"))
    statement_en = models.TextField(_("statement (English)"), blank=True)
    order = models.PositiveSmallIntegerField(_("order"), default=0, help_text=_("Smaller numbers come first."))

    class Meta:
        verbose_name = _("outcome")
        verbose_name_plural = _("outcomes")
        ordering = ["programme", "order", "code"]
        constraints = [
            models.UniqueConstraint(
                fields=["programme", "code"], name="outcome_code_unique", violation_error_message=RESULT_CODE_TAKEN
            )
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.statement}"

    @property
    def statement(self) -> str:
        return self.localized("statement")

    def validate_constraints(self, exclude=None) -> None:
        super().validate_constraints(exclude)
        # Like Django's unique checks: skipped when the programme is excluded from the validation (the
        # edit page, whose submitted framework the results service checks as a whole).
        exclude = exclude or ()
        if (
            "programme" not in exclude
            and "code" not in exclude
            and result_code_taken(self.programme_id, self.code, outcome_pk=self.pk)
        ):
            raise ValidationError({"code": RESULT_CODE_TAKEN})


class Output(BilingualMixin, InProgrammeHistory, models.Model):
    """An output contributing to an outcome."""

    history_programme = "outcome.programme_id"

    outcome = models.ForeignKey(Outcome, verbose_name=_("outcome"), on_delete=models.CASCADE, related_name="outputs")
    code = models.CharField(_("code"), max_length=20, help_text=_("e.g. OP1.1"))
    statement_fr = models.TextField(_("statement (French)"))
    statement_en = models.TextField(_("statement (English)"), blank=True)
    order = models.PositiveSmallIntegerField(_("order"), default=0, help_text=_("Smaller numbers come first."))

    class Meta:
        verbose_name = _("output")
        verbose_name_plural = _("outputs")
        ordering = ["outcome", "order", "code"]
        constraints = [
            models.UniqueConstraint(
                fields=["outcome", "code"], name="output_code_unique", violation_error_message=RESULT_CODE_TAKEN
            )
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.statement}"

    @property
    def statement(self) -> str:
        return self.localized("statement")

    def validate_constraints(self, exclude=None) -> None:
        super().validate_constraints(exclude)
        exclude = exclude or ()
        if "outcome" in exclude or "code" in exclude or not self.outcome_id:
            return
        if result_code_taken(self.outcome.programme_id, self.code, output_pk=self.pk):
            raise ValidationError({"code": RESULT_CODE_TAKEN})


class Measure(models.TextChoices):
    """What an indicator's values are; with `Indicator.people`, a number counts people."""

    UNIT = "unit", _("Number")
    PERCENTAGE = "percentage", _("Percentage")
    YES_NO = "yes_no", _("Yes/no (1 or 0)")
    TEXT = "text", _("Text (in the comment)")


class Frequency(models.TextChoices):
    """How often an indicator is reported; a period of each frequency follows the calendar."""

    MONTHLY = "monthly", _("Monthly")
    QUARTERLY = "quarterly", _("Quarterly")
    HALF_YEARLY = "half_yearly", _("Half-yearly")
    YEARLY = "yearly", _("Yearly")


FREQUENCY_MONTHS = {Frequency.MONTHLY: 1, Frequency.QUARTERLY: 3, Frequency.HALF_YEARLY: 6, Frequency.YEARLY: 12}


def period_of(day: date, frequency: str) -> tuple[date, date]:
    """The calendar period of this frequency that contains `day`: (first day, last day)."""
    months = FREQUENCY_MONTHS[Frequency(frequency)]
    first_month = (day.month - 1) // months * months + 1
    start = date(day.year, first_month, 1)
    end_month = first_month + months
    end = date(day.year + (end_month - 1) // 12, (end_month - 1) % 12 + 1, 1) - timedelta(days=1)
    return start, end


def last_ended_period(today: date, frequency: str) -> tuple[date, date]:
    """The latest calendar period of this frequency that has ended by `today` (the one to report now)."""
    start, end = period_of(today, frequency)
    if end <= today:
        return start, end
    return period_of(start - timedelta(days=1), frequency)


def counts_people(measure: str, people: bool, disaggregated: bool, key_indicator: str, unit: str) -> bool:
    """A number of people: declared so, disaggregated by sex and age, a key figure, or a unit such as "personnes"."""
    if measure != Measure.UNIT:
        return False
    return people or disaggregated or bool(key_indicator) or fold_text(unit).strip() in PEOPLE_UNITS


def adds_up_by_sum(measure: str, cumulative: bool) -> bool:
    """Totals over periods: a sum for incremental numbers; otherwise the latest value (never a sum of
    cumulative values, percentages or yes/no answers)."""
    return measure == Measure.UNIT and not cumulative


def total_over_periods(measure: str, cumulative: bool, achieved_in_order) -> Decimal | None:
    """THE aggregation of an indicator's achieved period totals (oldest first), used by every figure:
    the programme page, the dashboard's key figures, the reports, IATI and the 3W `#reached`.

    Incremental numbers add up; cumulative numbers, percentages and yes/no take the latest value;
    a text indicator has no total. Empty periods (None) are skipped.
    """
    if measure == Measure.TEXT:
        return None
    values = [v for v in achieved_in_order if v is not None]
    if not values:
        return None
    if adds_up_by_sum(measure, cumulative):
        return sum(values, Decimal(0))
    return values[-1]


class KeyIndicator(models.TextChoices):
    """Indicators whose values feed the live key figures of the dashboard."""

    NONE = "", _("—")
    MIGRANTS_RETURNED = "migrants_returned", _("Migrants assisted to return voluntarily")
    TRAFFICKED_ASSISTED = "trafficked_assisted", _("Trafficked persons assisted")
    MIGRANTS_ASSISTED = "migrants_assisted", _("Vulnerable migrants assisted")
    OFFICIALS_TRAINED = "officials_trained", _("Officials trained")


def _related(instance, name: str):
    """A foreign key's object if it is set or already attached (possibly unsaved), else None."""
    if getattr(instance, f"{name}_id") is not None or name in instance._state.fields_cache:
        return getattr(instance, name)
    return None


def _is_whole(value: Decimal | None) -> bool:
    return value is None or value == value.to_integral_value()


NOT_READ = object()


class Indicator(BilingualMixin, InProgrammeHistory, models.Model):
    """A results indicator of a programme, at outcome or output level (aggregate counts only)."""

    programme = models.ForeignKey(
        Programme, verbose_name=_("programme"), on_delete=models.CASCADE, related_name="indicators"
    )
    # RESTRICT: removing a result that still has indicators is refused (the programme's own deletion,
    # which removes the indicators too, is not).
    outcome = models.ForeignKey(
        Outcome, verbose_name=_("outcome"), on_delete=models.RESTRICT, null=True, blank=True, related_name="indicators"
    )
    output = models.ForeignKey(
        Output, verbose_name=_("output"), on_delete=models.RESTRICT, null=True, blank=True, related_name="indicators"
    )
    code = models.CharField(_("code"), max_length=20)
    name_fr = models.CharField(_("name (French)"), max_length=255)
    name_en = models.CharField(_("name (English)"), max_length=255, blank=True)
    unit = models.CharField(_("unit"), max_length=50, default="", blank=True, help_text=_("In French, e.g. personnes"))
    unit_en = models.CharField(_("unit (English)"), max_length=50, default="", blank=True, help_text=_("e.g. persons"))
    measure = models.CharField(_("measure"), max_length=12, choices=Measure.choices, default=Measure.UNIT)
    people = models.BooleanField(
        _("counts people"),
        default=False,
        help_text=_("A number of people: whole numbers, by sex and age, small counts hidden from partners."),
    )
    cumulative = models.BooleanField(
        _("cumulative"),
        default=False,
        help_text=_("Cumulative: each period reports the running total. Incremental: periods are summed."),
    )
    frequency = models.CharField(
        _("reporting frequency"), max_length=12, choices=Frequency.choices, default=Frequency.QUARTERLY
    )
    reporting_partner = models.ForeignKey(
        "partners.Organisation",
        verbose_name=_("reported by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reported_indicators",
        help_text=_("A partner that reports for this programme; empty: IOM reports this indicator."),
    )
    baseline = models.DecimalField(
        _("baseline"), max_digits=14, decimal_places=2, default=Decimal("0"), validators=NON_NEGATIVE
    )
    baseline_year = models.PositiveSmallIntegerField(_("baseline year"), null=True, blank=True)
    target = models.DecimalField(
        _("target"), max_digits=14, decimal_places=2, null=True, blank=True, validators=NON_NEGATIVE
    )
    disaggregated = models.BooleanField(_("disaggregated by sex and age"), default=False)
    key_indicator = models.CharField(
        _("key figure"), max_length=30, choices=KeyIndicator.choices, blank=True, default=""
    )

    # The reporter this indicator had when read from the database (NOT_READ: new, or the field not read).
    loaded_reporter: int | object | None = NOT_READ

    class Meta:
        verbose_name = _("indicator")
        verbose_name_plural = _("indicators")
        ordering = ["programme", "code"]
        constraints = [
            models.UniqueConstraint(fields=["programme", "code"], name="indicator_code_unique"),
            models.CheckConstraint(
                condition=Q(baseline__gte=0) & (Q(target__isnull=True) | Q(target__gte=0)),
                name="indicator_values_non_negative",
                violation_error_message=_("Baseline and target cannot be negative."),
            ),
            models.CheckConstraint(
                condition=~Q(measure="percentage")
                | (Q(baseline__lte=100) & (Q(target__isnull=True) | Q(target__lte=100))),
                name="indicator_percentage_within_0_100",
                violation_error_message=PERCENTAGE_RANGE,
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    def save(self, *args, **kwargs) -> None:
        super().save(*args, **kwargs)
        self.loaded_reporter = self.reporting_partner_id

    @classmethod
    def from_db(cls, db, field_names, values) -> Indicator:
        indicator = super().from_db(db, field_names, values)
        indicator.loaded_reporter = indicator.__dict__.get("reporting_partner_id", NOT_READ)
        return indicator

    @property
    def unit_label(self) -> str:
        """The unit in the active language (`unit` is French), falling back to French."""
        return self.unit_en if get_language() == "en" and self.unit_en else self.unit

    @property
    def name(self) -> str:
        return self.localized("name")

    @property
    def counts_people(self) -> bool:
        return counts_people(self.measure, self.people, self.disaggregated, self.key_indicator, self.unit)

    @property
    def adds_up_by_sum(self) -> bool:
        return adds_up_by_sum(self.measure, self.cumulative)

    def total_over_periods(self, achieved_in_order) -> Decimal | None:
        return total_over_periods(self.measure, self.cumulative, achieved_in_order)

    def clean(self) -> None:
        errors: dict[str, list] = {}
        for name in ("baseline", "target"):
            value = getattr(self, name)
            if value is None:
                continue
            message = measure_value_problem(self.measure, value, people=self.counts_people)
            if message and not (self.measure == Measure.TEXT and name == "baseline" and not value):
                errors.setdefault(name, []).append(message)
        if self.people and self.measure != Measure.UNIT:
            errors.setdefault("people", []).append(PEOPLE_ARE_NUMBERS)
        if self.outcome_id and self.output_id and self.output.outcome_id != self.outcome_id:
            errors.setdefault("output", []).append(OUTPUT_OF_OTHER_OUTCOME)
        if self.reporting_partner_id and self.programme_id:
            reports = Participation.objects.filter(
                programme_id=self.programme_id, organisation_id=self.reporting_partner_id, reports_results=True
            )
            if not reports.exists():
                errors.setdefault("reporting_partner", []).append(NOT_A_REPORTING_PARTNER)
        if self.pk and self.loaded_reporter is not NOT_READ and self.loaded_reporter != self.reporting_partner_id:
            from .rules import reassign_indicator_errors

            for message in reassign_indicator_errors(self, self.loaded_reporter):
                errors.setdefault("reporting_partner", []).append(message)
        if errors:
            raise ValidationError(errors)


class Sex(models.TextChoices):
    ALL = "all", _("All")
    FEMALE = "female", _("Female")
    MALE = "male", _("Male")


class AgeGroup(models.TextChoices):
    ALL = "all", _("All ages")
    CHILDREN = "0-17", _("0–17 years")
    ADULTS = "18-59", _("18–59 years")
    OLDER = "60+", _("60 years and over")


SAME_CELL = _("There is already a value for this period, sex and age group.")
# What a breakdown of one period's total adds up to, by kind of breakdown.
BREAKDOWN_TOO_LARGE = {
    "sex": _("The values by sex add up to %(sum)s, more than this period's total of %(total)s."),
    "age": _("The values by age group add up to %(sum)s, more than this period's total of %(total)s."),
    "both": _("The values by sex and age group add up to %(sum)s, more than this period's total of %(total)s."),
}


def _number(value: Decimal) -> str:
    return f"{value.normalize():f}"


def indicator_value_set_errors(values) -> dict[int, dict[str, list[str]]]:
    """Errors of a set of one indicator's values taken together, by position in `values`.

    One value per period, sex and age group; and for each period and each of target and achieved,
    the values by sex, by age group, and by sex and age group each add up to no more than the total.
    """
    values = list(values)
    errors: dict[int, dict[str, list[str]]] = {}
    seen: set[tuple] = set()
    periods: dict = {}
    for index, value in enumerate(values):
        if value.period_start is None:
            continue
        key = (value.period_start, value.sex, value.age_group)
        if key in seen:
            errors.setdefault(index, {}).setdefault("period_start", []).append(str(SAME_CELL))
        seen.add(key)
        periods.setdefault(value.period_start, []).append(index)
    for indexes in periods.values():
        totals = [values[i] for i in indexes if values[i].is_total]
        if not totals:
            continue
        for name in ("target", "achieved"):
            total = getattr(totals[0], name)
            if total is None:
                continue
            for kind in ("sex", "age", "both"):
                members = [i for i in indexes if values[i].breakdown == kind and getattr(values[i], name) is not None]
                added = sum((getattr(values[i], name) for i in members), Decimal("0"))
                if added > total:
                    message = BREAKDOWN_TOO_LARGE[kind] % {"sum": _number(added), "total": _number(total)}
                    for i in members:
                        errors.setdefault(i, {}).setdefault(name, []).append(message)
    return errors


class IndicatorValue(InProgrammeHistory, models.Model):
    """Target and achieved value of an indicator for one reporting period and one sex/age cell."""

    history_programme = "indicator.programme_id"

    indicator = models.ForeignKey(
        Indicator, verbose_name=_("indicator"), on_delete=models.CASCADE, related_name="values"
    )
    period_start = models.DateField(_("period start"))
    period_end = models.DateField(_("period end"))
    sex = models.CharField(_("sex"), max_length=6, choices=Sex.choices, default=Sex.ALL)
    age_group = models.CharField(_("age group"), max_length=5, choices=AgeGroup.choices, default=AgeGroup.ALL)
    target = models.DecimalField(
        _("target"), max_digits=14, decimal_places=2, null=True, blank=True, validators=NON_NEGATIVE
    )
    achieved = models.DecimalField(
        _("achieved"), max_digits=14, decimal_places=2, null=True, blank=True, validators=NON_NEGATIVE
    )
    comment = models.CharField(
        _("comment"),
        max_length=255,
        blank=True,
        help_text=_("Required to explain a period outside the programme's dates."),
    )

    class Meta:
        verbose_name = _("indicator value")
        verbose_name_plural = _("indicator values")
        ordering = ["indicator", "period_start", "sex", "age_group"]
        constraints = [
            models.UniqueConstraint(
                fields=["indicator", "period_start", "sex", "age_group"],
                name="indicator_value_one_per_period_and_cell",
                violation_error_message=SAME_CELL,
            ),
            models.CheckConstraint(
                condition=Q(period_end__gte=models.F("period_start")),
                name="indicator_value_period_end_after_start",
                violation_error_message=_("The period end cannot be before its start."),
            ),
            models.CheckConstraint(
                condition=(Q(target__isnull=True) | Q(target__gte=0)) & (Q(achieved__isnull=True) | Q(achieved__gte=0)),
                name="indicator_value_non_negative",
                violation_error_message=_("Values cannot be negative."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.indicator.code} {self.period_start:%Y-%m}–{self.period_end:%Y-%m}"

    @property
    def is_total(self) -> bool:
        return self.sex == Sex.ALL and self.age_group == AgeGroup.ALL

    @property
    def breakdown(self) -> str:
        """ "" for a total, else which breakdown the cell belongs to: "sex", "age" or "both"."""
        if self.is_total:
            return ""
        if self.age_group == AgeGroup.ALL:
            return "sex"
        return "age" if self.sex == Sex.ALL else "both"

    def clean(self) -> None:
        errors: dict[str, list] = {}
        start, end = self.period_start, self.period_end
        if start and end and end < start:
            errors.setdefault("period_end", []).append(_("The period end cannot be before its start."))
        indicator = _related(self, "indicator")
        programme = _related(indicator, "programme") if indicator is not None else None
        if indicator is not None:
            people = indicator.counts_people or (indicator.measure == Measure.UNIT and not self.is_total)
            for name in ("target", "achieved"):
                value = getattr(self, name)
                if value is None:
                    continue
                message = measure_value_problem(indicator.measure, value, people=people)
                if message:
                    errors.setdefault(name, []).append(message)
        if programme is not None and indicator is not None and not getattr(self, "approving", False):
            locked = self.lock_problem(indicator, programme)
            if locked:
                errors.setdefault("period_start", []).append(locked)
        if programme is not None:
            outside = self.outside_programme_dates(programme)
            if outside and not self.comment.strip():
                errors.setdefault("period_start" if outside == "start" else "period_end", []).append(
                    _(
                        "This period lies outside the programme's dates (%(start)s – %(end)s): correct it, or explain why in the comment."
                    )
                    % programme_dates(programme)
                )
        if errors:
            raise ValidationError(errors)

    @classmethod
    def from_db(cls, db, field_names, values) -> IndicatorValue:
        value = super().from_db(db, field_names, values)
        value.loaded = value.cell_state()
        return value

    def cell_state(self) -> tuple:
        return (
            self.period_start, self.period_end, self.sex, self.age_group, self.target, self.achieved, self.comment
        )  # fmt: skip

    def lock_problem(self, indicator: Indicator, programme: Programme) -> str:
        """The lock message if this value is new or changed in a locked period (or moved out of one)."""
        if getattr(self, "loaded", None) == self.cell_state():
            return ""
        locks = period_locks_for(programme)
        problem = locks.problem(self.period_start, self.period_end, indicator.reporting_partner_id)
        loaded = getattr(self, "loaded", None)
        if not problem and loaded is not None:
            problem = locks.problem(loaded[0], loaded[1], indicator.reporting_partner_id)
        return problem

    def outside_programme_dates(self, programme: Programme) -> str:
        """ "start" or "end" when the period begins before or ends after the programme, else ""."""
        first, last = programme_span(programme)
        if first and self.period_start and self.period_start < first:
            return "start"
        if last and self.period_end and self.period_end > last:
            return "end"
        return ""

    def validate_constraints(self, exclude=None) -> None:
        super().validate_constraints(exclude)
        # The values already stored for the indicator, with this one in place of its stored self.
        # Skipped when the indicator is not part of the validation (an inline formset): the formset
        # then checks the submitted set with the same function.
        if "indicator" in (exclude or ()) or not self.indicator_id:
            return
        siblings = list(IndicatorValue.objects.filter(indicator_id=self.indicator_id).exclude(pk=self.pk))
        found = indicator_value_set_errors([self, *siblings])
        errors = found.get(0, {})
        if self.is_total:  # a total lowered below its breakdown: the cells' messages are this value's
            for index, fields in found.items():
                if index and siblings[index - 1].period_start == self.period_start:
                    for name in ("target", "achieved"):
                        for message in fields.get(name, []):
                            if message not in errors.get(name, []):
                                errors.setdefault(name, []).append(message)
        if errors:
            raise ValidationError(errors)


def programme_span(programme: Programme) -> tuple:
    """The first and last day of a programme: planned dates, widened by the actual ones."""
    starts = [d for d in (programme.planned_start, programme.actual_start) if d]
    ends = [d for d in (programme.planned_end, programme.actual_end) if d]
    if programme.planned_end is None:  # open-ended: no last day
        ends = []
    return (min(starts) if starts else None, max(ends) if ends else None)


def programme_dates(programme: Programme) -> dict[str, str]:
    first, last = programme_span(programme)
    return {
        "start": date_format(first, "SHORT_DATE_FORMAT") if first else "…",
        "end": date_format(last, "SHORT_DATE_FORMAT") if last else "…",
    }


# --- Period locks -----------------------------------------------------------------------------


class PeriodLock(InProgrammeHistory, models.Model):
    """The values of a programme's period, for the indicators one reporter reports, are frozen.

    Made when a validator approves a results report (`organisation` is the reporting partner, None for
    IOM's own indicators); lifted by a validator with a reason (the row is kept: the history shows who
    lifted it and why).
    """

    programme = models.ForeignKey(
        Programme, verbose_name=_("programme"), on_delete=models.CASCADE, related_name="period_locks"
    )
    organisation = models.ForeignKey(
        "partners.Organisation",
        verbose_name=_("reported by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    period_start = models.DateField(_("period start"))
    period_end = models.DateField(_("period end"))
    locked_at = models.DateTimeField(_("locked at"), default=timezone.now)
    locked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("locked by"), on_delete=models.SET_NULL, null=True, related_name="+"
    )
    lifted_at = models.DateTimeField(_("unlocked at"), null=True, blank=True)
    lifted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("unlocked by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    lift_reason = models.TextField(_("reason for unlocking"), blank=True)

    class Meta:
        verbose_name = _("period lock")
        verbose_name_plural = _("period locks")
        ordering = ["programme", "period_start"]
        indexes = [models.Index(fields=["programme", "period_start"])]

    def __str__(self) -> str:
        return f"{self.period_start:%Y-%m-%d} – {self.period_end:%Y-%m-%d}"


class LockBefore(models.Model):
    """An administrator's decision: every period that ends before `before` is locked, in every programme.

    The latest decision applies (an earlier date unlocks the periods in between)."""

    before = models.DateField(_("lock all periods ending before"))
    reason = models.CharField(_("reason"), max_length=255, blank=True)
    decided_at = models.DateTimeField(_("decided at"), default=timezone.now)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("decided by"), on_delete=models.SET_NULL, null=True, related_name="+"
    )

    class Meta:
        verbose_name = _("lock of all periods before a date")
        verbose_name_plural = _("locks of all periods before a date")
        ordering = ["-decided_at", "-pk"]

    def __str__(self) -> str:
        return gettext("Periods ending before %(date)s") % {"date": date_format(self.before, "SHORT_DATE_FORMAT")}


PERIOD_LOCKED = _("The values of this period are locked (approved): ask a validator to unlock the period first.")
PERIOD_LOCKED_BEFORE = _("Every period ending before %(date)s is locked by an administrator.")


def lock_date() -> date | None:
    """The date before which every period is locked (the administrators' latest decision), or None."""
    return LockBefore.objects.order_by("-decided_at", "-pk").values_list("before", flat=True).first()


@dataclass
class PeriodLocks:
    """The active locks of one programme, loaded once; answers for any period and reporter."""

    before: date | None
    locks: list[tuple[int | None, date, date]]

    @classmethod
    def of(cls, programme_id: int | None) -> PeriodLocks:
        rows = []
        if programme_id:
            rows = list(
                PeriodLock.objects.filter(programme_id=programme_id, lifted_at__isnull=True).values_list(
                    "organisation_id", "period_start", "period_end"
                )
            )
        return cls(lock_date(), rows)

    def problem(self, period_start: date | None, period_end: date | None, organisation_id: int | None) -> str:
        """The message if values of this period, reported by this organisation (None: IOM), are locked."""
        if period_start is None or period_end is None:
            return ""
        if self.before and period_end < self.before:
            return str(PERIOD_LOCKED_BEFORE) % {"date": date_format(self.before, "SHORT_DATE_FORMAT")}
        for organisation, start, end in self.locks:
            if organisation == organisation_id and start <= period_end and period_start <= end:
                return str(PERIOD_LOCKED)
        return ""


def period_locks_for(programme) -> PeriodLocks:
    """The programme's locks, cached on the instance for one request's validation (one query each)."""
    cached = programme.__dict__.get("_period_locks")
    if cached is None:
        cached = programme.__dict__["_period_locks"] = PeriodLocks.of(programme.pk)
    return cached


# --- Key figures ------------------------------------------------------------------------------


class FigureScope(models.TextChoices):
    GLOBAL = "global", _("IOM worldwide")
    NIGER = "niger", _("Niger")


class KeyFigure(BilingualMixin, models.Model):
    """A headline figure IOM publishes ("chiffre clé"), kept with its source and date."""

    label_fr = models.CharField(_("label (French)"), max_length=255)
    label_en = models.CharField(_("label (English)"), max_length=255)
    value = models.DecimalField(_("value"), max_digits=16, decimal_places=2, validators=NON_NEGATIVE)
    display_value = models.CharField(
        _("display value"), max_length=30, blank=True, help_text=_("How the figure is published, e.g. 1.7 M.")
    )
    unit = models.CharField(_("unit"), max_length=50, blank=True)
    as_of = models.DateField(_("as of"))
    source = models.CharField(_("source"), max_length=255)
    source_en = models.CharField(_("source (English)"), max_length=255, blank=True)
    source_url = models.URLField(_("source URL"), blank=True)
    scope = models.CharField(_("scope"), max_length=10, choices=FigureScope.choices, default=FigureScope.GLOBAL)
    sector = models.ForeignKey(
        Sector, verbose_name=_("sector"), on_delete=models.SET_NULL, null=True, blank=True, related_name="key_figures"
    )
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    is_published = models.BooleanField(_("published"), default=True)

    class Meta:
        verbose_name = _("key figure")
        verbose_name_plural = _("key figures")
        ordering = ["order", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(value__gte=0), name="key_figure_value_non_negative"),
            models.UniqueConstraint(fields=["label_en", "scope"], name="key_figure_unique_label"),
        ]

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        return self.localized("label")

    @property
    def shown_value(self) -> str:
        """The published value, written the way the active language writes numbers: "1.7 M" → "1,7 M" in
        French, "100 000" → "100,000" in English. A display value that is not a number is shown as it is."""
        text = (self.display_value or "").strip()
        if not text:
            return number_format(self.value, 0, force_grouping=True)
        match = re.fullmatch(r"(\d[\d\s\u00a0\u202f]*(?:[.,]\d+)?)\s*([A-Za-z%]*)", text)
        if not match:
            return text
        digits = re.sub(r"[\s\u00a0\u202f]", "", match.group(1)).replace(",", ".")
        decimals = len(digits.split(".")[1]) if "." in digits else 0
        number = number_format(Decimal(digits), decimals, force_grouping=True)
        return f"{number}\u00a0{match.group(2)}" if match.group(2) else number

    @property
    def source_label(self) -> str:
        """The source in the active language (`source` is French), falling back to French."""
        return self.source_en if get_language() == "en" and self.source_en else self.source


# --- Money: transactions and exchange rates ----------------------------------------------------


class TransactionKind(models.TextChoices):
    """What a programme's money did, with its IATI TransactionType code (see IATI_TRANSACTION_TYPE)."""

    INCOMING_COMMITMENT = "incoming_commitment", _("Incoming commitment")
    INCOMING_FUNDS = "incoming_funds", _("Incoming funds")
    COMMITMENT = "commitment", _("Commitment")
    DISBURSEMENT = "disbursement", _("Disbursement")
    EXPENDITURE = "expenditure", _("Expenditure")


# IATI TransactionType: 11 Incoming Commitment, 1 Incoming Funds, 2 Outgoing Commitment, 3 Disbursement,
# 4 Expenditure.
IATI_TRANSACTION_TYPE = {
    TransactionKind.INCOMING_COMMITMENT: "11",
    TransactionKind.INCOMING_FUNDS: "1",
    TransactionKind.COMMITMENT: "2",
    TransactionKind.DISBURSEMENT: "3",
    TransactionKind.EXPENDITURE: "4",
}
INCOMING_KINDS = (TransactionKind.INCOMING_COMMITMENT, TransactionKind.INCOMING_FUNDS)
# What counts as "spent" against the budget.
SPENDING_KINDS = (TransactionKind.DISBURSEMENT, TransactionKind.EXPENDITURE)


class Transaction(InProgrammeHistory, models.Model):
    """Money committed to, received, passed on or spent by a programme (written by programmes/services.py)."""

    programme = models.ForeignKey(
        Programme, verbose_name=_("programme"), on_delete=models.CASCADE, related_name="transactions"
    )
    kind = models.CharField(_("type"), max_length=30, choices=TransactionKind.choices)
    date = models.DateField(_("date"))
    value = models.DecimalField(
        _("amount"),
        max_digits=15,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0.01"), _("The amount must be more than zero."))],
    )
    currency = models.CharField(_("currency"), max_length=3, choices=Currency.choices)
    provider = models.ForeignKey(
        "partners.Organisation",
        verbose_name=_("provider organisation"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("Who the money comes from (required for incoming money: the funder)."),
    )
    receiver = models.ForeignKey(
        "partners.Organisation",
        verbose_name=_("receiver organisation"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("Who receives it (empty: IOM)."),
    )
    description = models.CharField(_("description"), max_length=255, blank=True)
    reference = models.CharField(
        _("reference"), max_length=100, blank=True, help_text=_("The accounting or imported transaction reference.")
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("transaction")
        verbose_name_plural = _("transactions")
        ordering = ["date", "pk"]
        indexes = [models.Index(fields=["programme", "kind"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(value__gt=0),
                name="transaction_value_positive",
                violation_error_message=_("The amount must be more than zero."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.programme.code}: {self.get_kind_display()} {self.value} {self.currency} ({self.date})"

    def clean(self) -> None:
        from .rules import raise_if, transaction_errors

        raise_if(transaction_errors(self))

    @property
    def iati_type(self) -> str:
        return IATI_TRANSACTION_TYPE[TransactionKind(self.kind)]


class ExchangeRate(models.Model):
    """A rate used to convert amounts to US dollars: units of the currency for one USD, as of a date.

    Managed in the admin. The rate in force on a day is the latest one not after it (programmes/money.py).
    """

    currency = models.CharField(
        _("currency"), max_length=3, choices=[c for c in Currency.choices if c[0] != Currency.USD]
    )
    units_per_usd = models.DecimalField(
        _("units per US dollar"),
        max_digits=18,
        decimal_places=6,
        validators=[MinValueValidator(Decimal("0.000001"))],
        help_text=_("How many units of the currency buy one US dollar, e.g. 565.00 for XOF or 0.86 for EUR."),
    )
    as_of = models.DateField(_("as of"), help_text=_("The rate applies from this date until a newer one."))
    source = models.CharField(
        _("source"), max_length=255, blank=True, help_text=_("e.g. UN operational rate of exchange")
    )

    class Meta:
        verbose_name = _("exchange rate")
        verbose_name_plural = _("exchange rates")
        ordering = ["currency", "-as_of"]
        constraints = [
            models.UniqueConstraint(
                fields=["currency", "as_of"],
                name="exchange_rate_one_per_day",
                violation_error_message=_("There is already a rate for this currency on this date."),
            ),
            models.CheckConstraint(condition=Q(units_per_usd__gt=0), name="exchange_rate_positive"),
        ]

    def __str__(self) -> str:
        return f"1 USD = {self.units_per_usd} {self.currency} ({self.as_of:%Y-%m-%d})"


# --- Aggregates kept for the pages (programmes/summary.py) -------------------------------------


class SummaryCounter(models.Model):
    """One row: how many committed writes changed what the aggregates count. The services add one in
    their transaction, so a summary computed from a snapshot knows which writes it includes."""

    changes = models.BigIntegerField(default=0)

    class Meta:
        verbose_name = _("aggregate change counter")
        verbose_name_plural = _("aggregate change counters")

    def __str__(self) -> str:
        return str(self.changes)


class Summary(models.Model):
    """Aggregates a page shows (counts, budgets, key figures) for one scope: every programme ("all") or the
    programmes of one partner organisation ("org-<id>"). Recomputed when the counter has moved on."""

    scope = models.CharField(_("scope"), max_length=40)
    part = models.CharField(_("part"), max_length=40)
    data = models.JSONField(_("data"), default=dict)
    changes_seen = models.BigIntegerField(_("changes included"), default=0)
    computed_at = models.DateTimeField(_("computed at"))
    # Set while a background refresh computes newer figures (cleared when they are stored); a claim older
    # than SUMMARY_REFRESH_TIMEOUT seconds is taken as abandoned (its worker died).
    refreshing_since = models.DateTimeField(_("being refreshed since"), null=True, blank=True)

    class Meta:
        verbose_name = _("summary")
        verbose_name_plural = _("summaries")
        constraints = [models.UniqueConstraint(fields=["scope", "part"], name="summary_one_per_scope_and_part")]

    def __str__(self) -> str:
        return f"{self.scope} {self.part}"
