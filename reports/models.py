"""Report jobs: the database row is the truth about a background report, its file and its outcome."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from partners.models import is_iom_staff, partner_organisation_id


class ReportType(models.TextChoices):
    PORTFOLIO_XLSX = "portfolio_xlsx", _("Portfolio workbook (XLSX)")
    FACTSHEET_PDF = "factsheet_pdf", _("Programme factsheet (PDF)")
    MATRIX_3W_CSV = "matrix_3w_csv", _("3W/4W matrix with HXL hashtags (CSV)")
    MATRIX_3W_XLSX = "matrix_3w_xlsx", _("3W/4W matrix with HXL hashtags (XLSX)")
    IATI_XML = "iati_xml", _("IATI 2.03 activity file (XML)")
    KEY_FIGURES = "key_figures", _("Key figures summary (XLSX)")


# File extension and content type of each report type.
REPORT_FORMATS: dict[str, tuple[str, str]] = {
    ReportType.PORTFOLIO_XLSX: ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    ReportType.FACTSHEET_PDF: ("pdf", "application/pdf"),
    ReportType.MATRIX_3W_CSV: ("csv", "text/csv; charset=utf-8"),
    ReportType.MATRIX_3W_XLSX: ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    ReportType.IATI_XML: ("xml", "application/xml"),
    ReportType.KEY_FIGURES: ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
}


WAITING_MESSAGE = _(
    "Waiting for a worker: the task queue cannot be reached right now. Your request is recorded and the "
    "report will start as soon as the queue is back; there is no need to ask again."
)


class JobStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    SUCCEEDED = "succeeded", _("Ready")
    FAILED = "failed", _("Failed")
    EXPIRED = "expired", _("Expired")


class ReportJobQuerySet(models.QuerySet):
    def visible_to(self, user) -> ReportJobQuerySet:
        """A user sees the jobs they asked for; IOM staff also see everyone's (and the scheduled ones)."""
        if is_iom_staff(user):
            return self.all()
        if partner_organisation_id(user) is None:
            return self.none()
        # Never a file built with IOM scope, even for its requester (e.g. staff who later joined a partner).
        return self.filter(requester=user, requested_as_staff=False)

    def unfinished(self) -> ReportJobQuerySet:
        return self.filter(status__in=[JobStatus.QUEUED, JobStatus.RUNNING])

    def stale(self, now=None) -> ReportJobQuerySet:
        """Running jobs whose worker stopped writing its heartbeat: it died or was killed."""
        cutoff = (now or timezone.now()) - timedelta(seconds=settings.REPORTS_STALE_AFTER)
        return self.filter(status=JobStatus.RUNNING, heartbeat_at__lt=cutoff)

    def lost_in_queue(self, now=None) -> ReportJobQuerySet:
        """Queued jobs sent to the broker long ago and never picked up (e.g. the broker lost the message)."""
        cutoff = (now or timezone.now()) - timedelta(seconds=settings.REPORTS_STALE_AFTER)
        return self.filter(status=JobStatus.QUEUED, enqueued_at__lt=cutoff)

    def expired(self, now=None) -> ReportJobQuerySet:
        return self.filter(status=JobStatus.SUCCEEDED, expires_at__lte=now or timezone.now())


class ReportJob(models.Model):
    """A report somebody asked for (or the monthly schedule did): what, for whom, and how it went."""

    uuid = models.UUIDField(_("public identifier"), default=uuid.uuid4, unique=True, editable=False)
    type = models.CharField(_("report"), max_length=20, choices=ReportType.choices)
    parameters = models.JSONField(
        _("parameters"), default=dict, blank=True, help_text=_("The programme list filters, or a programme code.")
    )
    requested_as_staff = models.BooleanField(
        _("requested as IOM staff"),
        default=False,
        editable=False,
        help_text=_("Built with IOM staff scope: only IOM staff may ever see it."),
    )
    requester = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="report_jobs",
    )
    scheduled = models.BooleanField(
        _("scheduled"), default=False, help_text=_("Made by the monthly schedule for IOM staff, not by a person.")
    )
    language = models.CharField(_("language"), max_length=5, choices=settings.LANGUAGES, default="fr")
    status = models.CharField(_("status"), max_length=10, choices=JobStatus.choices, default=JobStatus.QUEUED)
    progress = models.PositiveSmallIntegerField(_("progress (%)"), default=0)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    claim_token = models.UUIDField(_("claim token"), null=True, blank=True, editable=False)
    heartbeat_at = models.DateTimeField(_("last heartbeat"), null=True, blank=True)
    enqueued_at = models.DateTimeField(_("last sent to the workers"), null=True, blank=True)
    idempotency_key = models.CharField(
        _("idempotency key"),
        max_length=64,
        blank=True,
        editable=False,
        help_text=_(
            "Sent by the client (Idempotency-Key header, or the form's hidden token): a retry returns this job."
        ),
    )
    error_message = models.TextField(_("error message"), blank=True)
    validation_messages = models.JSONField(
        _("validation messages"),
        default=list,
        blank=True,
        help_text=_("Schema validation errors per IATI activity: [{activity, errors}]."),
    )
    file = models.FileField(_("file"), max_length=255, blank=True)
    row_count = models.PositiveIntegerField(_("programmes"), default=0)
    size = models.PositiveBigIntegerField(_("size (bytes)"), default=0)
    sha256 = models.CharField(_("SHA-256 checksum"), max_length=64, blank=True)
    created_at = models.DateTimeField(_("requested at"), default=timezone.now)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)

    objects = ReportJobQuerySet.as_manager()

    class Meta:
        verbose_name = _("report job")
        verbose_name_plural = _("report jobs")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["status", "heartbeat_at"]), models.Index(fields=["requester", "-created_at"])]
        constraints = [
            models.CheckConstraint(condition=Q(type__in=ReportType.values), name="report_job_type_valid"),
            models.UniqueConstraint(
                fields=["requester", "idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="report_job_idempotency_key_unique_per_requester",
            ),
            models.CheckConstraint(condition=Q(status__in=JobStatus.values), name="report_job_status_valid"),
            models.CheckConstraint(condition=Q(progress__lte=100), name="report_job_progress_0_100"),
            models.CheckConstraint(
                condition=Q(requester__isnull=False) | Q(scheduled=True),
                name="report_job_has_requester_or_is_scheduled",
            ),
            models.CheckConstraint(
                condition=~Q(status="succeeded") | (~Q(file="") & Q(sha256__regex=r"^[0-9a-f]{64}$")),
                name="report_job_succeeded_has_file",
            ),
            models.CheckConstraint(
                condition=~Q(status="failed") | ~Q(error_message=""), name="report_job_failed_has_message"
            ),
            models.CheckConstraint(
                condition=~Q(status="running") | Q(heartbeat_at__isnull=False, claim_token__isnull=False),
                name="report_job_running_has_heartbeat",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_type_display()} #{self.pk}"

    def get_absolute_url(self) -> str:
        return reverse("reports:detail", args=[self.uuid])

    def get_download_url(self) -> str:
        return reverse("reports:download", args=[self.uuid])

    @property
    def notes(self) -> list[str]:
        """What the file says about itself (e.g. how many programmes the IATI file leaves out and why)."""
        return [item["note"] for item in self.validation_messages or [] if "note" in item]

    @property
    def problems(self) -> list[dict]:
        """Values cleaned or left out, or schema errors, per programme or activity."""
        return [item for item in self.validation_messages or [] if "note" not in item]

    @property
    def extension(self) -> str:
        return REPORT_FORMATS[ReportType(self.type)][0]

    @property
    def content_type(self) -> str:
        return REPORT_FORMATS[ReportType(self.type)][1]

    @property
    def storage_name(self) -> str:
        """Where the file lives under MEDIA_ROOT: fixed per job, so a second run replaces, never adds."""
        return f"reports/{self.created_at:%Y/%m}/{self.uuid.hex}.{self.extension}"

    @property
    def download_name(self) -> str:
        subject = self.parameters.get("programme") or "portfolio"
        return f"iom-niger-{self.type.replace('_', '-')}-{subject}-{self.created_at:%Y%m%d}-{self.pk}.{self.extension}"

    @property
    def is_finished(self) -> bool:
        return self.status in (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.EXPIRED)

    @property
    def waiting_for_worker(self) -> bool:
        """Recorded, but not yet handed to the task queue (the broker was unreachable): the dispatcher
        sends it as soon as the broker is back."""
        return self.status == JobStatus.QUEUED and self.enqueued_at is None

    @property
    def is_ready(self) -> bool:
        return self.status == JobStatus.SUCCEEDED and bool(self.file)

    @property
    def path(self) -> Path:
        return Path(settings.MEDIA_ROOT) / self.storage_name

    def can_retry(self, user) -> bool:
        return self.status in (JobStatus.FAILED, JobStatus.EXPIRED) and (
            user == self.requester or getattr(user, "is_iom_staff", False)
        )
