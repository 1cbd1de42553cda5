"""The obligation calendar: rules attached to a funder or an agreement, and the dated obligations they give a programme.

A rule set (e.g. the IOM Development Fund's) lists what is due and when, relative to the programme's start,
its end or the end of each reporting period. calendar.py turns the rules into a programme's obligations,
services.py keeps them up to date and fulfils them with real evidence (a document of the right category,
the recorded agreement); the state (upcoming, due, overdue, fulfilled, waived) is read from the dates.
"""

from __future__ import annotations

from datetime import date, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from partners.models import is_iom_staff, partner_organisation_id
from programmes.models import BilingualMixin, DocumentCategory, InProgrammeHistory, Participation, Programme


class ObligationKind(models.TextChoices):
    RESULTS_FRAMEWORK = "results_framework", _("Results framework and workplan")
    NARRATIVE_REPORT = "narrative_report", _("Interim narrative report")
    FINANCIAL_REPORT = "financial_report", _("Interim financial report")
    FINAL_REPORT = "final_report", _("Final report")
    EXTENSION_REQUEST = "extension_request", _("Extension request")


class Anchor(models.TextChoices):
    START = "start", _("Programme start")
    END = "end", _("Programme end")
    PERIOD_END = "period_end", _("End of each reporting period")


class Evidence(models.TextChoices):
    """What fulfils an obligation: something recorded in the portal, never a box ticked by hand."""

    DOCUMENT = "document", _("A document of the programme in the given category")
    AGREEMENT = "agreement", _("The programme's recorded signed agreement")
    RESULTS_REPORT = "results_report", _("A submitted results report for the period (or a document of the category)")


# Results reports that fulfil an obligation: submitted to IOM, or approved.
FULFILLING_REPORT_STATES = ("submitted", "approved")


class Responsible(models.TextChoices):
    FOCAL_POINT = "focal_point", _("The programme's IOM focal point")
    PARTNER = "partner", _("The implementing partner (else the IOM focal point)")


# What each kind of obligation is fulfilled by, unless the rule says otherwise.
DEFAULT_CATEGORY = {
    ObligationKind.RESULTS_FRAMEWORK: DocumentCategory.WORKPLAN,
    ObligationKind.NARRATIVE_REPORT: DocumentCategory.PROGRESS_REPORT,
    ObligationKind.FINANCIAL_REPORT: DocumentCategory.FINANCIAL_REPORT,
    ObligationKind.FINAL_REPORT: DocumentCategory.FINAL_REPORT,
    ObligationKind.EXTENSION_REQUEST: DocumentCategory.EXTENSION_REQUEST,
}


class ObligationRuleSet(BilingualMixin, models.Model):
    """The reporting obligations of one funding source (a funder organisation) or of one programme's agreement."""

    name_fr = models.CharField(_("name (French)"), max_length=150)
    name_en = models.CharField(_("name (English)"), max_length=150, blank=True)
    funder = models.ForeignKey(
        "partners.Organisation",
        verbose_name=_("funding source"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="obligation_rule_sets",
        help_text=_("Every programme this organisation funds follows these rules."),
    )
    agreement = models.ForeignKey(
        "programmes.ProgrammeAgreement",
        verbose_name=_("signed agreement"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="obligation_rule_sets",
        help_text=_("Only the programme of this agreement follows these rules."),
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("obligation rule set")
        verbose_name_plural = _("obligation rule sets")
        ordering = ["name_fr"]
        constraints = [
            models.CheckConstraint(
                condition=Q(funder__isnull=False, agreement__isnull=True)
                | Q(funder__isnull=True, agreement__isnull=False),
                name="obligation_rule_set_one_source",
                violation_error_message=_("Attach the rule set either to a funding source or to an agreement."),
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        return self.localized("name")


class ObligationRule(models.Model):
    """One line of a rule set: a kind of obligation, due `offset` after (or before, if negative) its anchor."""

    rule_set = models.ForeignKey(
        ObligationRuleSet, verbose_name=_("rule set"), on_delete=models.CASCADE, related_name="rules"
    )
    kind = models.CharField(_("kind"), max_length=30, choices=ObligationKind.choices)
    anchor = models.CharField(_("counted from"), max_length=20, choices=Anchor.choices)
    period_months = models.PositiveSmallIntegerField(
        _("reporting period (months)"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(24)],
        help_text=_("For “end of each reporting period”: 3 quarterly, 6 half-yearly, 12 yearly."),
    )
    offset_months = models.SmallIntegerField(
        _("offset (months)"), default=0, help_text=_("Negative: before the anchor, e.g. −1 for a month before the end.")
    )
    offset_days = models.SmallIntegerField(_("offset (days)"), default=0, help_text=_("e.g. 42 for six weeks."))
    evidence = models.CharField(_("fulfilled by"), max_length=20, choices=Evidence.choices, default=Evidence.DOCUMENT)
    document_category = models.CharField(
        _("document category"),
        max_length=30,
        choices=DocumentCategory.choices,
        blank=True,
        help_text=_("For “a document”: the category that fulfils it (empty: the usual one for the kind)."),
    )
    responsible = models.CharField(
        _("responsible"), max_length=20, choices=Responsible.choices, default=Responsible.FOCAL_POINT
    )
    order = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        verbose_name = _("obligation rule")
        verbose_name_plural = _("obligation rules")
        ordering = ["rule_set", "order", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(anchor="period_end") | Q(period_months__isnull=False),
                name="obligation_rule_period_given",
                violation_error_message=_("A rule counted from the end of each period needs the period's length."),
            )
        ]

    def __str__(self) -> str:
        return f"{self.rule_set}: {self.get_kind_display()}"

    def clean(self) -> None:
        if self.anchor == Anchor.PERIOD_END and not self.period_months:
            raise ValidationError(
                {"period_months": _("A rule counted from the end of each period needs the period's length.")}
            )

    @property
    def category(self) -> str:
        if self.evidence == Evidence.AGREEMENT:
            return ""
        return self.document_category or DEFAULT_CATEGORY[ObligationKind(self.kind)]


class State(models.TextChoices):
    UPCOMING = "upcoming", _("Upcoming")
    DUE = "due", _("Due soon")
    OVERDUE = "overdue", _("Overdue")
    FULFILLED = "fulfilled", _("Fulfilled")
    WAIVED = "waived", _("Waived")


def due_soon_days() -> int:
    return settings.OBLIGATION_DUE_SOON_DAYS


class ObligationQuerySet(models.QuerySet):
    def visible_to(self, user) -> ObligationQuerySet:
        """IOM staff see every obligation; a partner those of its joint programmes; others none."""
        if is_iom_staff(user):
            return self.all()
        if partner_organisation_id(user) is None:
            return self.none()
        return self.filter(programme__in=Programme.objects.visible_to(user))

    def open(self) -> ObligationQuerySet:
        """Neither fulfilled nor waived."""
        return self.filter(fulfilled_at__isnull=True, waived_at__isnull=True)

    def overdue(self, today: date | None = None) -> ObligationQuerySet:
        return self.open().filter(due_date__lt=today or timezone.localdate())

    def due_within(self, days: int, today: date | None = None) -> ObligationQuerySet:
        today = today or timezone.localdate()
        return self.open().filter(due_date__gte=today, due_date__lte=today + timedelta(days=days))

    def in_state(self, state: str, today: date | None = None) -> ObligationQuerySet:
        today = today or timezone.localdate()
        soon = today + timedelta(days=due_soon_days())
        return {
            State.WAIVED: self.filter(waived_at__isnull=False),
            State.FULFILLED: self.filter(fulfilled_at__isnull=False, waived_at__isnull=True),
            State.OVERDUE: self.open().filter(due_date__lt=today),
            State.DUE: self.open().filter(due_date__gte=today, due_date__lte=soon),
            State.UPCOMING: self.open().filter(due_date__gt=soon),
        }[State(state)]

    def for_user(self, user) -> ObligationQuerySet:
        """The obligations a person answers for: named, of their organisation, or of programmes they manage."""
        mine = Q(responsible_user=user)
        organisation_id = partner_organisation_id(user)
        if organisation_id is not None:
            mine |= Q(responsible_organisation_id=organisation_id)
        if is_iom_staff(user):
            mine |= Q(programme__iom_focal_point=user)
        return self.visible_to(user).filter(mine)

    def of_partner(self, organisation) -> ObligationQuerySet:
        return self.filter(
            Exists(Participation.objects.filter(programme=OuterRef("programme"), organisation=organisation))
        )

    def for_list(self) -> ObligationQuerySet:
        return self.select_related(
            "programme", "responsible_user", "responsible_organisation", "fulfilled_document", "fulfilled_report"
        ).order_by("due_date", "programme__code", "pk")


class Obligation(InProgrammeHistory, models.Model):
    """Something a programme owes its funder by a date: a report, a workplan, a request."""

    programme = models.ForeignKey(
        Programme, verbose_name=_("programme"), on_delete=models.CASCADE, related_name="obligations"
    )
    rule = models.ForeignKey(
        ObligationRule,
        verbose_name=_("rule"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="obligations",
    )
    key = models.CharField(
        _("key"), max_length=80, editable=False, help_text=_("Which rule and which period it comes from.")
    )
    kind = models.CharField(_("kind"), max_length=30, choices=ObligationKind.choices)
    period_start = models.DateField(_("period start"), null=True, blank=True)
    period_end = models.DateField(_("period end"), null=True, blank=True)
    opens_on = models.DateField(
        _("evidence counted from"), null=True, blank=True, help_text=_("Evidence recorded before this day is not it.")
    )
    due_date = models.DateField(_("due date"), db_index=True)
    evidence = models.CharField(_("fulfilled by"), max_length=20, choices=Evidence.choices)
    document_category = models.CharField(
        _("document category"), max_length=30, choices=DocumentCategory.choices, blank=True
    )
    responsible_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("responsible person"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="obligations",
    )
    responsible_organisation = models.ForeignKey(
        "partners.Organisation",
        verbose_name=_("responsible partner"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="obligations",
    )
    fulfilled_at = models.DateTimeField(_("fulfilled at"), null=True, blank=True)
    fulfilled_document = models.ForeignKey(
        "programmes.Document",
        verbose_name=_("fulfilled by document"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="obligations",
    )
    fulfilled_agreement = models.ForeignKey(
        "programmes.ProgrammeAgreement",
        verbose_name=_("fulfilled by agreement"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="obligations",
    )
    fulfilled_report = models.ForeignKey(
        "reporting.ResultsReport",
        verbose_name=_("fulfilled by results report"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="obligations",
    )
    waived_at = models.DateTimeField(_("waived at"), null=True, blank=True)
    waived_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("waived by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    waived_reason = models.TextField(_("reason for waiving"), blank=True)
    # Reminders: each is sent once (the row is claimed by an UPDATE ... WHERE … IS NULL before the e-mail).
    reminded_at = models.DateTimeField(_("reminded before the due date at"), null=True, blank=True, editable=False)
    overdue_reminded_at = models.DateTimeField(_("reminded when overdue at"), null=True, blank=True, editable=False)
    escalated_at = models.DateTimeField(_("escalated at"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    objects = ObligationQuerySet.as_manager()

    class Meta:
        verbose_name = _("obligation")
        verbose_name_plural = _("obligations")
        ordering = ["due_date", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["programme", "key"], name="obligation_one_per_rule_and_period"),
            models.CheckConstraint(
                condition=Q(waived_at__isnull=True) | ~Q(waived_reason=""),
                name="obligation_waived_has_reason",
                violation_error_message=_("Give the reason for waiving this obligation."),
            ),
        ]
        indexes = [models.Index(fields=["programme", "due_date"], name="obligation_programme_due_idx")]

    def __str__(self) -> str:
        return f"{self.programme.code}: {self.title} ({self.due_date:%Y-%m-%d})"

    @property
    def title(self) -> str:
        label = self.get_kind_display()
        if self.period_start and self.period_end:
            return f"{label} ({self.period_start:%d/%m/%Y} – {self.period_end:%d/%m/%Y})"
        return str(label)

    def state_on(self, today: date) -> str:
        if self.waived_at:
            return State.WAIVED
        if self.fulfilled_at:
            return State.FULFILLED
        if self.due_date < today:
            return State.OVERDUE
        if self.due_date <= today + timedelta(days=due_soon_days()):
            return State.DUE
        return State.UPCOMING

    @property
    def state(self) -> str:
        return self.state_on(timezone.localdate())

    @property
    def state_label(self) -> str:
        return State(self.state).label

    @property
    def is_open(self) -> bool:
        return self.fulfilled_at is None and self.waived_at is None

    @property
    def responsible_name(self) -> str:
        if self.responsible_organisation_id:
            return self.responsible_organisation.short_name
        if self.responsible_user_id:
            return self.responsible_user.get_full_name() or self.responsible_user.username
        return ""
