"""A results report: one reporter's values of a programme's indicators for one period, and its states.

The reporter is IOM (`organisation` None: the indicators no partner is assigned) or a partner whose
participation says it reports for the programme (the indicators assigned to it). Values wait here
while the report is a draft, submitted or returned; approving copies them into the programme's
indicator values (what every page, export and API shows) and locks the period (programmes.PeriodLock).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from partners.models import is_iom_staff, partner_organisation_id
from programmes.models import NON_NEGATIVE, AgeGroup, Indicator, InProgrammeHistory, Programme, Sex

VALIDATE_PERMISSION = "reporting.validate_resultsreport"
ONE_PER_PERIOD = _("There is already a report of this reporter for this period.")


class State(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Submitted")
    RETURNED = "returned", _("Returned")
    APPROVED = "approved", _("Approved")


def can_validate(user) -> bool:
    """IOM staff with the validation right (the group "IOM results validators", or given in the admin)."""
    return is_iom_staff(user) and user.has_perm(VALIDATE_PERMISSION)


def can_prepare_for_iom(user) -> bool:
    """IOM M&E officers (anyone who edits programmes) prepare IOM's own reports."""
    return is_iom_staff(user) and user.has_perm("programmes.change_indicatorvalue")


class ResultsReportQuerySet(models.QuerySet):
    def visible_to(self, user) -> ResultsReportQuerySet:
        """Validators see every report; an IOM preparer IOM's reports and approved ones; a partner user its
        organisation's reports and no other organisation's; approved reports of visible programmes for the rest
        of IOM staff."""
        if can_validate(user):
            return self.all()
        if is_iom_staff(user):
            if can_prepare_for_iom(user):
                return self.filter(Q(organisation__isnull=True) | Q(state=State.APPROVED))
            return self.filter(state=State.APPROVED)
        organisation_id = partner_organisation_id(user)
        if organisation_id is None:
            return self.none()
        return self.filter(
            organisation_id=organisation_id, programme__in=Programme.objects.visible_to(user).values("pk")
        )

    def editable_by(self, user) -> ResultsReportQuerySet:
        """Reports whose values this user may write (drafts and returned ones of its reporter)."""
        mine = self.filter(state__in=[State.DRAFT, State.RETURNED])
        if can_prepare_for_iom(user):
            return mine.filter(organisation__isnull=True)
        organisation_id = partner_organisation_id(user)
        if organisation_id is None:
            return self.none()
        return mine.filter(organisation_id=organisation_id)


class ResultsReport(InProgrammeHistory, models.Model):
    """The values of one reporter's indicators of a programme for one period."""

    programme = models.ForeignKey(
        Programme, verbose_name=_("programme"), on_delete=models.CASCADE, related_name="results_reports"
    )
    organisation = models.ForeignKey(
        "partners.Organisation",
        verbose_name=_("reported by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="results_reports",
        help_text=_("Empty: IOM's own report."),
    )
    period_start = models.DateField(_("period start"))
    period_end = models.DateField(_("period end"))
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.DRAFT)
    return_reason = models.TextField(_("reason for returning"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("prepared by"), on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("submitted by"), on_delete=models.SET_NULL, null=True, related_name="+"
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("decided by"), on_delete=models.SET_NULL, null=True, related_name="+"
    )
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = ResultsReportQuerySet.as_manager()

    class Meta:
        verbose_name = _("results report")
        verbose_name_plural = _("results reports")
        ordering = ["-period_start", "programme"]
        permissions = [("validate_resultsreport", _("Can approve or return results reports"))]
        constraints = [
            models.UniqueConstraint(
                fields=["programme", "organisation", "period_start"],
                condition=Q(organisation__isnull=False),
                name="results_report_one_per_partner_and_period",
                violation_error_message=ONE_PER_PERIOD,
            ),
            models.UniqueConstraint(
                fields=["programme", "period_start"],
                condition=Q(organisation__isnull=True),
                name="results_report_one_iom_per_period",
                violation_error_message=ONE_PER_PERIOD,
            ),
            models.CheckConstraint(
                condition=Q(period_end__gte=models.F("period_start")),
                name="results_report_period_end_after_start",
                violation_error_message=_("The period end cannot be before its start."),
            ),
            models.CheckConstraint(
                condition=~Q(state="returned") | ~Q(return_reason=""),
                name="results_report_returned_with_reason",
                violation_error_message=_("Say why the report is returned."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.programme.code} {self.period_start:%Y-%m-%d} – {self.period_end:%Y-%m-%d}"

    @property
    def reporter_label(self) -> str:
        return self.organisation.short_name if self.organisation_id else str(_("IOM"))

    def indicators(self) -> models.QuerySet[Indicator]:
        """The indicators this report covers: those assigned to its organisation (IOM: assigned to none)."""
        return Indicator.objects.filter(programme_id=self.programme_id, reporting_partner_id=self.organisation_id)

    @property
    def is_editable(self) -> bool:
        return self.state in (State.DRAFT, State.RETURNED)


class ResultsReportValue(models.Model):
    """One reported cell: an indicator's achieved value for the report's period, total or by sex/age."""

    report = models.ForeignKey(ResultsReport, verbose_name=_("report"), on_delete=models.CASCADE, related_name="values")
    indicator = models.ForeignKey(Indicator, verbose_name=_("indicator"), on_delete=models.CASCADE, related_name="+")
    sex = models.CharField(_("sex"), max_length=6, choices=Sex.choices, default=Sex.ALL)
    age_group = models.CharField(_("age group"), max_length=5, choices=AgeGroup.choices, default=AgeGroup.ALL)
    achieved = models.DecimalField(
        _("achieved"), max_digits=14, decimal_places=2, null=True, blank=True, validators=NON_NEGATIVE
    )
    comment = models.CharField(_("comment"), max_length=255, blank=True)

    class Meta:
        verbose_name = _("reported value")
        verbose_name_plural = _("reported values")
        ordering = ["report", "indicator__code", "sex", "age_group"]
        constraints = [
            models.UniqueConstraint(
                fields=["report", "indicator", "sex", "age_group"], name="results_report_value_one_per_cell"
            ),
            models.CheckConstraint(
                condition=Q(achieved__isnull=True) | Q(achieved__gte=0),
                name="results_report_value_non_negative",
                violation_error_message=_("Values cannot be negative."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.indicator.code} {self.sex}/{self.age_group}"


class ResultsReportStep(models.Model):
    """A step of a report's life, with its reason: submitted, returned, approved, unlocked."""

    class Action(models.TextChoices):
        SUBMIT = "submit", _("Submitted")
        RETURN = "return", _("Returned")
        APPROVE = "approve", _("Approved")
        UNLOCK = "unlock", _("Unlocked")

    report = models.ForeignKey(ResultsReport, verbose_name=_("report"), on_delete=models.CASCADE, related_name="steps")
    action = models.CharField(_("action"), max_length=10, choices=Action.choices)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("by"), on_delete=models.SET_NULL, null=True, related_name="+"
    )
    at = models.DateTimeField(_("at"), default=timezone.now)
    reason = models.TextField(_("reason"), blank=True)

    class Meta:
        verbose_name = _("report step")
        verbose_name_plural = _("report steps")
        ordering = ["report", "at", "pk"]

    def __str__(self) -> str:
        return f"{self.report} {self.get_action_display()}"
