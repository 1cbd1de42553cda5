"""Imports of IATI activity files and spreadsheets: the job row, sector mappings, and what the portal keeps raw."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from partners.models import is_iom_staff, partner_organisation_id


class ImportFormat(models.TextChoices):
    IATI_XML = "iati_xml", _("IATI 2.03 activity file (XML)")
    SHEET = "sheet", _("Spreadsheet (XLSX or CSV)")


class ImportStatus(models.TextChoices):
    QUEUED = "queued", _("Waiting for the preview")
    PREVIEWED = "previewed", _("Preview ready: waiting for confirmation")
    APPLYING = "applying", _("Importing")
    APPLIED = "applied", _("Imported")
    FAILED = "failed", _("Could not be read")
    PENDING_REVIEW = "pending_review", _("Submitted by a partner: waiting for IOM")
    REJECTED = "rejected", _("Rejected by IOM")
    DISCARDED = "discarded", _("Discarded")


class ImportJobQuerySet(models.QuerySet):
    def visible_to(self, user) -> ImportJobQuerySet:
        """IOM staff see every import; a partner user sees the sheets its organisation submitted."""
        if is_iom_staff(user):
            return self.all()
        organisation_id = partner_organisation_id(user)
        if organisation_id is None:
            return self.none()
        return self.filter(organisation_id=organisation_id, submitted_as_staff=False)


class ImportJob(models.Model):
    """One uploaded file: its preview (what would change, activity by activity) and, once confirmed, the outcome."""

    uuid = models.UUIDField(_("public identifier"), default=uuid.uuid4, unique=True, editable=False)
    format = models.CharField(_("format"), max_length=10, choices=ImportFormat.choices)
    file = models.FileField(_("file"), max_length=255)
    original_filename = models.CharField(_("original file name"), max_length=255, blank=True)
    size = models.PositiveBigIntegerField(_("size (bytes)"), default=0)
    sha256 = models.CharField(_("SHA-256 checksum"), max_length=64)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("uploaded by"), on_delete=models.PROTECT, related_name="import_jobs"
    )
    submitted_as_staff = models.BooleanField(_("uploaded by IOM staff"), default=False, editable=False)
    organisation = models.ForeignKey(
        "partners.Organisation",
        verbose_name=_("submitted for"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="import_jobs",
        help_text=_("The partner organisation that submitted the sheet; empty for IOM staff imports."),
    )
    create_organisations = models.BooleanField(
        _("create unknown organisations"),
        default=False,
        help_text=_("Confirmed by the user: organisations the file names and the portal does not know are created."),
    )
    language = models.CharField(_("language"), max_length=5, choices=settings.LANGUAGES, default="fr")
    status = models.CharField(_("status"), max_length=20, choices=ImportStatus.choices, default=ImportStatus.QUEUED)
    progress = models.PositiveSmallIntegerField(_("progress (%)"), default=0)
    item_count = models.PositiveIntegerField(
        _("activities in the file"),
        default=0,
        help_text=_("Counted by the preview; the import's progress is measured on it."),
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    error_message = models.TextField(_("error message"), blank=True)
    result = models.JSONField(_("result"), default=dict, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    decision_reason = models.TextField(_("reason"), blank=True)
    created_at = models.DateTimeField(_("uploaded at"), default=timezone.now)
    previewed_at = models.DateTimeField(_("previewed at"), null=True, blank=True)
    applied_at = models.DateTimeField(_("imported at"), null=True, blank=True)

    objects = ImportJobQuerySet.as_manager()

    class Meta:
        verbose_name = _("import")
        verbose_name_plural = _("imports")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(condition=Q(format__in=ImportFormat.values), name="import_job_format_valid"),
            models.CheckConstraint(condition=Q(status__in=ImportStatus.values), name="import_job_status_valid"),
            models.CheckConstraint(condition=Q(progress__lte=100), name="import_job_progress_0_100"),
            models.CheckConstraint(
                condition=~Q(status="failed") | ~Q(error_message=""), name="import_job_failed_has_message"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_format_display()} #{self.pk} ({self.original_filename})"

    def get_absolute_url(self) -> str:
        return reverse("imports:detail", args=[self.uuid])

    @property
    def storage_name(self) -> str:
        suffix = {"iati_xml": "xml"}.get(self.format, "bin")
        return f"imports/{self.created_at:%Y/%m}/{self.uuid.hex}.{suffix}"

    def _prefetched_preview(self) -> list[ImportPreviewItem] | None:
        return getattr(self, "_prefetched_objects_cache", {}).get("preview_items")

    @property
    def preview(self) -> list[dict]:
        """Per activity (or programme of a sheet), in the file's order: what the import would do.

        Stored one row per activity (ImportPreviewItem), written batch by batch while the file is read, so that
        no process ever holds a large file's whole preview; read here whole, for the pages and the API.
        """
        prefetched = self._prefetched_preview()
        if prefetched is not None:
            return [item.data for item in prefetched]
        if self.pk is None:
            return []
        return list(self.preview_items.order_by("position").values_list("data", flat=True))

    def iter_preview(self, chunk_size: int = 500):
        """The preview's items one by one, read from the database in chunks (for a whole file's listing)."""
        rows = self.preview_items.order_by("position").values_list("data", flat=True)
        return iter(self.preview) if self._prefetched_preview() is not None else rows.iterator(chunk_size=chunk_size)

    @property
    def counts(self) -> dict[str, int]:
        """How many activities (or programmes of a sheet) the preview found per action (in the order met)."""
        prefetched = self._prefetched_preview()
        if prefetched is not None:
            counts: dict[str, int] = {}
            for item in prefetched:
                counts[item.action] = counts.get(item.action, 0) + 1
            return counts
        if self.pk is None:
            return {}
        rows = (
            self.preview_items.order_by()
            .values("action")
            .annotate(count=models.Count("pk"), first=models.Min("position"))
            .order_by("first")
        )
        return {row["action"]: row["count"] for row in rows}

    @property
    def needs_organisations(self) -> bool:
        """Whether the preview names organisations the portal does not know (created only if the user says so)."""
        prefetched = self._prefetched_preview()
        if prefetched is not None:
            return any(item.names_new_organisations for item in prefetched)
        return self.pk is not None and self.preview_items.filter(names_new_organisations=True).exists()


class ImportPreviewItem(models.Model):
    """One activity (or programme of a sheet) of an import's preview: new, update, unchanged or error, with its
    field-by-field difference, warnings and errors (`data`, as the pages and the API show it)."""

    job = models.ForeignKey(ImportJob, verbose_name=_("import"), on_delete=models.CASCADE, related_name="preview_items")
    position = models.PositiveIntegerField(_("position in the file"))
    action = models.CharField(_("action"), max_length=10)
    names_new_organisations = models.BooleanField(_("names organisations not in the portal"), default=False)
    data = models.JSONField(_("preview"), default=dict)

    class Meta:
        verbose_name = _("preview of an activity")
        verbose_name_plural = _("previews of activities")
        ordering = ["job", "position"]
        constraints = [
            models.UniqueConstraint(fields=["job", "position"], name="import_preview_item_position_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.job_id} #{self.position}: {self.data.get('identifier', '')}"


class SectorMapping(models.Model):
    """How a sector code of an IATI vocabulary (DAC, IOM's own 98/99…) maps to one of the portal's sectors."""

    vocabulary = models.CharField(
        _("vocabulary"),
        max_length=3,
        help_text=_("IATI SectorVocabulary code: 1 DAC 5-digit, 2 DAC 3-digit, 98/99 reporting organisation."),
    )
    vocabulary_uri = models.URLField(
        _("vocabulary URI"), blank=True, help_text=_("For vocabularies 98 and 99: the publisher's codelist, if any.")
    )
    code = models.CharField(_("code"), max_length=20)
    sector = models.ForeignKey(
        "programmes.Sector", verbose_name=_("portal sector"), on_delete=models.CASCADE, related_name="iati_mappings"
    )
    note = models.CharField(_("note"), max_length=255, blank=True)

    class Meta:
        verbose_name = _("sector mapping")
        verbose_name_plural = _("sector mappings")
        ordering = ["vocabulary", "code"]
        constraints = [
            models.UniqueConstraint(
                fields=["vocabulary", "vocabulary_uri", "code"],
                name="sector_mapping_unique",
                violation_error_message=_("This code of this vocabulary is already mapped."),
            )
        ]

    def __str__(self) -> str:
        return f"{self.vocabulary}:{self.code} → {self.sector.code}"


class ImportedActivity(models.Model):
    """What an IATI import brought for one programme: the identifier and the activity as published.

    The portal has no field for everything IATI can say (transactions' flow types, contacts, extensions):
    the raw fragment keeps it, so that nothing the publisher said is dropped.
    """

    programme = models.OneToOneField(
        "programmes.Programme", verbose_name=_("programme"), on_delete=models.CASCADE, related_name="imported_activity"
    )
    iati_identifier = models.CharField(_("IATI identifier"), max_length=150, unique=True)
    raw_xml = models.TextField(_("activity as published (XML)"))
    content_hash = models.CharField(_("content checksum"), max_length=64)
    last_job = models.ForeignKey(
        ImportJob, verbose_name=_("last import"), on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    imported_at = models.DateTimeField(_("imported at"), default=timezone.now)

    class Meta:
        verbose_name = _("imported IATI activity")
        verbose_name_plural = _("imported IATI activities")
        ordering = ["iati_identifier"]

    def __str__(self) -> str:
        return self.iati_identifier
