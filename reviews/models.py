"""Proposals under review, their budget lines, the fund rules, reviewers, reviews and the timeline."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Avg, Count, Exists, F, OuterRef, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from partners.models import is_iom_staff
from programmes.models import (
    NON_NEGATIVE,
    BilingualMixin,
    Currency,
    InProgrammeHistory,
    Programme,
    Scope,
    Sector,
    Status,
)

EXPERTS_GROUP = "Technical experts"
REVIEW_MANAGERS_GROUP = "Review managers"
APPROVERS_GROUP = "Approvers"

# Programme statuses in which a proposal is in the reviewers' hands: nobody edits it then.
# Programme statuses in which the focal point prepares the proposal (budget lines, documents).
PREPARATION_STATUSES = (Status.PIPELINE, Status.REVISION_REQUESTED)


class ProposalKind(models.TextChoices):
    IDF = "idf", _("IOM Development Fund")
    MULTI_REGIONAL = "multi_regional", _("Multi-regional project")
    GLOBAL = "global", _("Global project")


class Decision(models.TextChoices):
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")


def default_kind(programme: Programme) -> str:
    """Multi-regional and global projects are reviewed as such; national and regional ones go to the IDF."""
    return {Scope.MULTI_REGIONAL: ProposalKind.MULTI_REGIONAL, Scope.GLOBAL: ProposalKind.GLOBAL}.get(
        programme.scope, ProposalKind.IDF
    )


# --- Fund rules and exchange rates ------------------------------------------------------------


class FundRule(models.Model):
    """The IOM Development Fund's rule for one project scope: budget range in USD and staff/office cap."""

    scope = models.CharField(_("scope"), max_length=20, choices=Scope.choices, unique=True)
    min_usd = models.DecimalField(_("minimum budget (USD)"), max_digits=15, decimal_places=2, validators=NON_NEGATIVE)
    max_usd = models.DecimalField(_("maximum budget (USD)"), max_digits=15, decimal_places=2, validators=NON_NEGATIVE)
    max_staff_office_percent = models.DecimalField(
        _("maximum staff and office share (%)"),
        max_digits=5,
        decimal_places=2,
        default=Decimal("30"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
        help_text=_(
            "Staff plus office budget lines may not exceed this share of the budget (the limit itself passes)."
        ),
    )
    min_endorsing_governments = models.PositiveSmallIntegerField(
        _("endorsing governments required"),
        default=0,
        help_text=_(
            "How many governments of the recipient countries must endorse the proposal, each with an "
            "endorsement letter (IDF: at least two for a regional project; 0: no such check)."
        ),
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("IOM Development Fund rule")
        verbose_name_plural = _("IOM Development Fund rules")
        ordering = ["min_usd", "scope"]
        constraints = [
            models.CheckConstraint(
                condition=Q(min_usd__gte=0) & Q(max_usd__gte=models.F("min_usd")),
                name="fund_rule_range_valid",
                violation_error_message=_("The maximum cannot be below the minimum."),
            ),
            models.CheckConstraint(
                condition=Q(max_staff_office_percent__gte=0, max_staff_office_percent__lte=100),
                name="fund_rule_percent_valid",
                violation_error_message=_("A share lies between 0 and 100%."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_scope_display()}: USD {self.min_usd:,.0f}–{self.max_usd:,.0f}"


class ExchangeRateQuerySet(models.QuerySet):
    def in_effect(self, currency: str, on: date) -> ExchangeRate | None:
        """The rate of `currency` with the latest `as_of` not after `on` (None when there is none)."""
        return self.filter(currency=currency, as_of__lte=on).order_by("-as_of").first()


class ExchangeRate(models.Model):
    """A rate used to convert budgets to US dollars: units of the currency for one USD, as of a date."""

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

    objects = ExchangeRateQuerySet.as_manager()

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

    def to_usd(self, amount: Decimal) -> Decimal:
        """The amount in USD, rounded half-up to the cent."""
        return (amount / self.units_per_usd).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


# --- Budget lines -----------------------------------------------------------------------------


class BudgetCategory(models.TextChoices):
    STAFF = "staff", _("Staff")
    OFFICE = "office", _("Office")
    ACTIVITIES = "activities", _("Activities")
    EQUIPMENT = "equipment", _("Equipment")
    TRAVEL = "travel", _("Travel")
    EVALUATION = "evaluation", _("Monitoring and evaluation")
    OTHER = "other", _("Other")


STAFF_AND_OFFICE = (BudgetCategory.STAFF, BudgetCategory.OFFICE)


class BudgetLine(InProgrammeHistory, models.Model):
    """One line of a programme's budget by category, in the programme's currency."""

    programme = models.ForeignKey(
        Programme, verbose_name=_("programme"), on_delete=models.CASCADE, related_name="budget_lines"
    )
    category = models.CharField(_("category"), max_length=20, choices=BudgetCategory.choices)
    description = models.CharField(_("description"), max_length=255, blank=True)
    amount = models.DecimalField(_("amount"), max_digits=15, decimal_places=2, validators=NON_NEGATIVE)

    class Meta:
        verbose_name = _("budget line")
        verbose_name_plural = _("budget lines")
        ordering = ["programme", "category", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gte=0),
                name="budget_line_amount_non_negative",
                violation_error_message=_("An amount cannot be negative."),
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_category_display()}: {self.amount:,.2f}"


# --- Criteria and reviewers -------------------------------------------------------------------


class ReviewCriterion(BilingualMixin, models.Model):
    """A criterion reviewers score from 1 to 5 (relevance, feasibility, sustainability…)."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name_fr = models.CharField(_("name (French)"), max_length=150)
    name_en = models.CharField(_("name (English)"), max_length=150)
    description_fr = models.TextField(_("guidance (French)"), blank=True)
    description_en = models.TextField(_("guidance (English)"), blank=True)
    weight = models.PositiveSmallIntegerField(
        _("weight"), default=1, validators=[MinValueValidator(1)], help_text=_("Weight in the overall score.")
    )
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    is_active = models.BooleanField(
        _("active"), default=True, help_text=_("Only active criteria appear in new reviews.")
    )

    class Meta:
        verbose_name = _("review criterion")
        verbose_name_plural = _("review criteria")
        ordering = ["order", "code"]
        constraints = [models.CheckConstraint(condition=Q(weight__gte=1), name="review_criterion_weight_positive")]

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        return self.localized("name")

    @property
    def description(self) -> str:
        return self.localized("description")


class ReviewerProfile(models.Model):
    """A technical expert's sectors of expertise, used to suggest reviewers for a proposal."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, verbose_name=_("expert"), on_delete=models.CASCADE, related_name="reviewer_profile"
    )
    sectors = models.ManyToManyField(Sector, verbose_name=_("sectors of expertise"), related_name="reviewer_profiles")
    is_available = models.BooleanField(_("available for reviews"), default=True)

    class Meta:
        verbose_name = _("reviewer profile")
        verbose_name_plural = _("reviewer profiles")
        ordering = ["user__last_name", "user__username"]

    def __str__(self) -> str:
        return self.user.get_full_name() or self.user.username


# --- Proposals --------------------------------------------------------------------------------


class ProposalQuerySet(models.QuerySet):
    def visible_to(self, user) -> ProposalQuerySet:
        """Only the review manager, the approver, the focal point and non-declined reviewers; never partners."""
        if not is_iom_staff(user):
            return self.none()
        reviewing = ReviewAssignment.objects.filter(proposal=OuterRef("pk"), reviewer=user, declined_at__isnull=True)
        return self.filter(
            Q(review_manager=user) | Q(approver=user) | Q(programme__iom_focal_point=user) | Exists(reviewing)
        )

    def in_status(self, *statuses: str) -> ProposalQuerySet:
        return self.filter(programme__status__in=statuses)

    def awaiting_decision_by(self, user) -> ProposalQuerySet:
        return self.filter(approver=user).in_status(Status.UNDER_REVIEW)

    def needing_reviewers_from(self, user) -> ProposalQuerySet:
        """Proposals this review manager still has to staff: fewer active reviewers in the current round
        than required reviews."""
        active = Count(
            "assignments",
            filter=Q(assignments__declined_at__isnull=True, assignments__round=F("round")),
            distinct=True,
        )
        return (
            self.filter(review_manager=user)
            .in_status(Status.SUBMITTED, Status.UNDER_REVIEW)
            .annotate(active_count=active)
            .filter(active_count__lt=F("required_reviews"))
        )

    def revision_requested_of(self, user) -> ProposalQuerySet:
        return self.filter(programme__iom_focal_point=user).in_status(Status.REVISION_REQUESTED)

    def with_review_counts(self) -> ProposalQuerySet:
        return self.annotate(
            completed_count=Count("assignments__review", filter=Q(assignments__round=F("round")), distinct=True),
        )

    def for_list(self) -> ProposalQuerySet:
        return self.select_related("programme__primary_sector", "programme__iom_focal_point").with_review_counts()


class Proposal(models.Model):
    """A programme submitted for technical review and an approval decision (IDF, multi-regional, global)."""

    programme = models.OneToOneField(
        Programme, verbose_name=_("programme"), on_delete=models.CASCADE, related_name="proposal"
    )
    kind = models.CharField(_("kind"), max_length=20, choices=ProposalKind.choices)
    review_manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("review manager"),
        on_delete=models.PROTECT,
        related_name="managed_proposals",
    )
    approver = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("approver"),
        on_delete=models.PROTECT,
        related_name="proposals_to_decide",
    )
    required_reviews = models.PositiveSmallIntegerField(
        _("required completed reviews"),
        default=2,
        validators=[MinValueValidator(1), MaxValueValidator(10)],
        help_text=_("The approver cannot approve before this many reviews are completed."),
    )
    round = models.PositiveSmallIntegerField(
        _("round"), default=1, help_text=_("1 at the first submission, +1 per resubmission.")
    )
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision = models.CharField(_("decision"), max_length=10, choices=Decision.choices, blank=True)
    decision_reason = models.TextField(_("reason for the decision"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    objects = ProposalQuerySet.as_manager()

    class Meta:
        verbose_name = _("proposal")
        verbose_name_plural = _("proposals")
        ordering = ["-submitted_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(required_reviews__gte=1, required_reviews__lte=10), name="proposal_required_reviews_range"
            ),
            models.CheckConstraint(
                condition=Q(decision="", decided_at__isnull=True) | (~Q(decision="") & Q(decided_at__isnull=False)),
                name="proposal_decision_has_date",
            ),
            models.CheckConstraint(
                condition=~Q(decision=Decision.REJECTED) | ~Q(decision_reason=""), name="proposal_rejection_has_reason"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.programme.code} ({self.get_kind_display()})"

    def get_absolute_url(self) -> str:
        return reverse("reviews:proposal", args=[self.programme.code])

    @property
    def status(self) -> str:
        return self.programme.status

    @property
    def is_decided(self) -> bool:
        return bool(self.decision)

    def completed_reviews(self) -> models.QuerySet[Review]:
        """The completed reviews of the current round: the only ones a decision rests on."""
        return Review.objects.filter(assignment__proposal=self, assignment__round=self.round)

    def completed_review_count(self) -> int:
        return self.completed_reviews().count()

    def score_summary(self) -> dict:
        """Average score per criterion over the current round's completed reviews, and the weighted overall average."""
        rows = list(
            ReviewScore.objects.filter(review__assignment__proposal=self, review__assignment__round=self.round)
            .values("criterion_id")
            .annotate(average=Avg("score"), count=Count("pk"))
        )
        criteria = {c.pk: c for c in ReviewCriterion.objects.filter(pk__in=[r["criterion_id"] for r in rows])}
        per_criterion = [
            {
                "criterion": criteria[r["criterion_id"]],
                "average": Decimal(str(r["average"])).quantize(Decimal("0.01")),
                "count": r["count"],
            }
            for r in rows
        ]
        per_criterion.sort(key=lambda r: (r["criterion"].order, r["criterion"].code))
        overall = weighted_average([(r["average"], r["criterion"].weight) for r in per_criterion])
        return {"per_criterion": per_criterion, "overall": overall}


def weighted_average(pairs: list[tuple[Decimal, int]]) -> Decimal | None:
    total_weight = sum(w for _, w in pairs)
    if not total_weight:
        return None
    return (sum(Decimal(v) * w for v, w in pairs) / total_weight).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


# --- Assignments and reviews ------------------------------------------------------------------


class AssignmentQuerySet(models.QuerySet):
    def active(self) -> AssignmentQuerySet:
        return self.filter(declined_at__isnull=True)

    def current(self) -> AssignmentQuerySet:
        """Assignments of the proposal's current round (earlier rounds are history)."""
        return self.filter(round=F("proposal__round"))

    def pending(self) -> AssignmentQuerySet:
        """Assigned in the current round, not declined, no review submitted yet."""
        return self.current().active().filter(review__isnull=True)

    def for_reviewer(self, user) -> AssignmentQuerySet:
        return self.filter(reviewer=user)

    def overdue_by(self, days: int, today: date | None = None) -> AssignmentQuerySet:
        """Pending reviews of proposals under review whose due date is at least `days` days past."""
        today = today or timezone.localdate()
        return self.pending().filter(
            proposal__programme__status=Status.UNDER_REVIEW, due_date__lte=today - timedelta(days=days)
        )


class ReviewAssignment(models.Model):
    """A technical expert asked by the review manager to review a proposal by a due date."""

    proposal = models.ForeignKey(
        Proposal, verbose_name=_("proposal"), on_delete=models.CASCADE, related_name="assignments"
    )
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reviewer"),
        on_delete=models.PROTECT,
        related_name="review_assignments",
    )
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("assigned by"), on_delete=models.PROTECT, related_name="+"
    )
    round = models.PositiveSmallIntegerField(_("round"), default=1)
    assigned_at = models.DateTimeField(_("assigned at"), default=timezone.now)
    due_date = models.DateField(_("due date"))
    conflict_declared_at = models.DateTimeField(_("no conflict of interest declared at"), null=True, blank=True)
    conflict_statement = models.TextField(_("declaration"), blank=True)
    declined_at = models.DateTimeField(_("declined (conflict of interest) at"), null=True, blank=True)
    decline_reason = models.TextField(_("conflict of interest"), blank=True)
    last_reminded_at = models.DateTimeField(_("last reminded at"), null=True, blank=True)

    objects = AssignmentQuerySet.as_manager()

    class Meta:
        verbose_name = _("review assignment")
        verbose_name_plural = _("review assignments")
        ordering = ["proposal", "round", "assigned_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["proposal", "reviewer", "round"],
                name="review_assignment_once_per_round",
                violation_error_message=_("This expert is already assigned to this proposal."),
            ),
            models.CheckConstraint(
                condition=Q(conflict_declared_at__isnull=True) | Q(declined_at__isnull=True),
                name="review_assignment_declared_or_declined",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.proposal.programme.code} — {self.reviewer.get_full_name() or self.reviewer.username}"

    @property
    def has_declared_no_conflict(self) -> bool:
        return self.conflict_declared_at is not None

    @property
    def is_declined(self) -> bool:
        return self.declined_at is not None

    def is_overdue(self, today: date | None = None) -> bool:
        return self.due_date < (today or timezone.localdate())


class Recommendation(models.TextChoices):
    APPROVE = "approve", _("Approve")
    REVISE = "revise", _("Revise")
    REJECT = "reject", _("Reject")


class Review(models.Model):
    """A submitted technical review: scores per criterion, comments and a recommendation."""

    assignment = models.OneToOneField(
        ReviewAssignment, verbose_name=_("assignment"), on_delete=models.CASCADE, related_name="review"
    )
    comments = models.TextField(_("comments"))
    recommendation = models.CharField(_("recommendation"), max_length=10, choices=Recommendation.choices)
    submitted_at = models.DateTimeField(_("submitted at"), default=timezone.now)

    class Meta:
        verbose_name = _("review")
        verbose_name_plural = _("reviews")
        ordering = ["submitted_at", "pk"]

    def __str__(self) -> str:
        return str(self.assignment)

    def overall_score(self) -> Decimal | None:
        """The review's weighted average over the criteria it scored."""
        return weighted_average([(Decimal(s.score), s.criterion.weight) for s in self.scores.all()])


class ReviewScore(models.Model):
    """The score (1 to 5) a review gives on one criterion."""

    review = models.ForeignKey(Review, verbose_name=_("review"), on_delete=models.CASCADE, related_name="scores")
    criterion = models.ForeignKey(
        ReviewCriterion, verbose_name=_("criterion"), on_delete=models.PROTECT, related_name="+"
    )
    score = models.PositiveSmallIntegerField(_("score"), validators=[MinValueValidator(1), MaxValueValidator(5)])

    class Meta:
        verbose_name = _("score")
        verbose_name_plural = _("scores")
        ordering = ["criterion__order", "criterion__code"]
        constraints = [
            models.UniqueConstraint(fields=["review", "criterion"], name="review_score_once_per_criterion"),
            models.CheckConstraint(condition=Q(score__gte=1, score__lte=5), name="review_score_1_to_5"),
        ]

    def __str__(self) -> str:
        return f"{self.criterion}: {self.score}"


# --- Timeline ---------------------------------------------------------------------------------


class EventKind(models.TextChoices):
    SUBMITTED = "submitted", _("Submitted for review")
    RESUBMITTED = "resubmitted", _("Resubmitted after revision")
    REVIEWER_ASSIGNED = "reviewer_assigned", _("Reviewer assigned")
    REVIEWER_REASSIGNED = "reviewer_again", _("Reviewer asked to review the revised proposal")
    NO_CONFLICT_DECLARED = "no_conflict", _("No conflict of interest declared")
    CONFLICT_REPORTED = "conflict", _("Conflict of interest reported")
    REVIEW_SUBMITTED = "review_submitted", _("Review submitted")
    REVISION_REQUESTED = "revision_requested", _("Revision requested")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    REMINDER_SENT = "reminder_sent", _("Overdue reminder sent")


class TimelineEvent(models.Model):
    """One step in a proposal's history: who did what, when and why. Never edited, never deleted."""

    proposal = models.ForeignKey(Proposal, verbose_name=_("proposal"), on_delete=models.CASCADE, related_name="events")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    at = models.DateTimeField(_("when"), default=timezone.now)
    kind = models.CharField(_("what"), max_length=20, choices=EventKind.choices)
    assignment = models.ForeignKey(
        ReviewAssignment,
        verbose_name=_("assignment"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="events",
    )
    message = models.TextField(_("reason / message"), blank=True)
    round = models.PositiveSmallIntegerField(_("round"), default=1)

    class Meta:
        verbose_name = _("timeline event")
        verbose_name_plural = _("timeline events")
        ordering = ["at", "pk"]
        indexes = [models.Index(fields=["proposal", "at"])]

    def __str__(self) -> str:
        return f"{self.proposal.programme.code}: {self.get_kind_display()}"

    def describe(self) -> str:
        """The event as a sentence in the current language (who is named, never what a review said)."""
        actor = (self.actor.get_full_name() or self.actor.username) if self.actor else gettext("the portal")
        reviewer = ""
        if self.assignment is not None:
            reviewer = self.assignment.reviewer.get_full_name() or self.assignment.reviewer.username
        sentences = {
            EventKind.SUBMITTED: gettext("%(actor)s submitted the proposal for review."),
            EventKind.RESUBMITTED: gettext("%(actor)s resubmitted the revised proposal: round %(round)s opens."),
            EventKind.REVIEWER_ASSIGNED: gettext("%(actor)s assigned %(reviewer)s as reviewer."),
            EventKind.REVIEWER_REASSIGNED: gettext("%(reviewer)s was asked to review the revised proposal."),
            EventKind.NO_CONFLICT_DECLARED: gettext("%(actor)s declared no conflict of interest."),
            EventKind.CONFLICT_REPORTED: gettext("%(actor)s reported a conflict of interest and will not review."),
            EventKind.REVIEW_SUBMITTED: gettext("%(actor)s submitted a review."),
            EventKind.REVISION_REQUESTED: gettext("%(actor)s requested a revision."),
            EventKind.APPROVED: gettext("%(actor)s approved the proposal."),
            EventKind.REJECTED: gettext("%(actor)s rejected the proposal."),
            EventKind.REMINDER_SENT: gettext("The portal reminded %(reviewer)s of an overdue review."),
        }
        return sentences[EventKind(self.kind)] % {"actor": actor, "reviewer": reviewer, "round": self.round}


# --- Who is who on a proposal -----------------------------------------------------------------


@dataclass(frozen=True)
class Roles:
    """A user's roles on one proposal, and what follows from them for reading reviews."""

    is_manager: bool
    is_approver: bool
    is_focal_point: bool
    assignment: ReviewAssignment | None  # the user's assignment of the current round, if any
    has_reviewed: bool  # in the current round
    reviewed_rounds: frozenset[int] = frozenset()

    @property
    def is_reviewer(self) -> bool:
        return self.assignment is not None

    @property
    def only_reviewer(self) -> bool:
        return self.is_reviewer and not (self.is_manager or self.is_approver or self.is_focal_point)


def roles_of(proposal: Proposal, user) -> Roles:
    assignments = list(
        ReviewAssignment.objects.filter(proposal=proposal, reviewer=user)
        .active()
        .select_related("review")
        .order_by("-round")
    )
    current = next((a for a in assignments if a.round == proposal.round), None)
    return Roles(
        is_manager=proposal.review_manager_id == user.pk,
        is_approver=proposal.approver_id == user.pk,
        is_focal_point=proposal.programme.iom_focal_point_id == user.pk,
        assignment=current,
        has_reviewed=current is not None and hasattr(current, "review"),
        reviewed_rounds=frozenset(a.round for a in assignments if hasattr(a, "review")),
    )


def reviews_visible(proposal: Proposal, roles: Roles) -> models.QuerySet[Review]:
    """Reviews of every round, newest round first. Manager and approver read them all; a reviewer reads a
    round's reviews once they submitted their own in it; the focal point reads a round's reviews once the
    approver has sent the proposal back or decided (so every earlier round, and the current one then)."""
    reviews = (
        Review.objects.filter(assignment__proposal=proposal)
        .select_related("assignment__reviewer")
        .prefetch_related("scores__criterion")
        .order_by("-assignment__round", "submitted_at", "pk")
    )
    if roles.is_manager or roles.is_approver:
        return reviews
    rounds = set(roles.reviewed_rounds)
    if roles.is_focal_point:
        rounds |= set(range(1, proposal.round))
        if proposal.status in (Status.REVISION_REQUESTED, Status.APPROVED, Status.REJECTED):
            rounds.add(proposal.round)
    return reviews.filter(assignment__round__in=rounds)
