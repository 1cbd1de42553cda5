"""The e-mail outbox: one row per message, kept until delivered (and afterwards, as a record)."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class EmailStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RETRYING = "retrying", _("Failed, will be retried")
    SENT = "sent", _("Sent")


class OutgoingEmailQuerySet(models.QuerySet):
    def due(self, now=None) -> OutgoingEmailQuerySet:
        """Messages not yet delivered whose next attempt is now or past."""
        return self.exclude(status=EmailStatus.SENT).filter(next_attempt_at__lte=now or timezone.now())

    def undelivered(self) -> OutgoingEmailQuerySet:
        return self.exclude(status=EmailStatus.SENT)


class OutgoingEmail(models.Model):
    """An e-mail the portal sends (review notices, reminders, password links), kept until delivered."""

    created_at = models.DateTimeField(_("queued at"), default=timezone.now, db_index=True)
    from_email = models.CharField(_("from"), max_length=254)
    recipients = models.JSONField(_("to"), help_text=_("The addresses of To, Cc and Bcc together."))
    subject = models.CharField(_("subject"), max_length=998)
    body = models.TextField(_("text"))
    parts = models.JSONField(
        _("addresses and parts"), default=dict, blank=True, help_text=_("To, Cc, Bcc, Reply-To, headers, HTML part.")
    )
    status = models.CharField(_("status"), max_length=10, choices=EmailStatus.choices, default=EmailStatus.QUEUED)
    attempts = models.PositiveIntegerField(_("delivery attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), default=timezone.now)
    last_error = models.TextField(_("last error"), blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    objects = OutgoingEmailQuerySet.as_manager()

    class Meta:
        verbose_name = _("outgoing e-mail")
        verbose_name_plural = _("outgoing e-mails")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="outbox_due_idx")]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(status="sent") | models.Q(sent_at__isnull=False), name="outbox_sent_has_date"
            )
        ]

    def __str__(self) -> str:
        return f"{self.subject} → {', '.join(self.recipients)}"
