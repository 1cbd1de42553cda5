"""Admin of the review workflow: fund rules, exchange rates, criteria, reviewers and the proposals' records.

Workflow fields (status, decision, round, dates) are read-only here: they move only through services.py,
so that every step is in the timeline.
"""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from .models import (
    BudgetLine,
    ExchangeRate,
    FundRule,
    Proposal,
    Review,
    ReviewAssignment,
    ReviewCriterion,
    ReviewerProfile,
    ReviewScore,
    TimelineEvent,
)


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(FundRule)
class FundRuleAdmin(admin.ModelAdmin):
    list_display = ["scope", "min_usd", "max_usd", "max_staff_office_percent", "min_endorsing_governments", "is_active"]
    list_filter = ["is_active", "scope"]
    search_fields = ["scope"]
    list_select_related = True


@admin.register(ExchangeRate)
class ExchangeRateAdmin(admin.ModelAdmin):
    list_display = ["currency", "units_per_usd", "as_of", "source"]
    list_filter = ["currency"]
    search_fields = ["currency", "source"]
    list_select_related = True
    date_hierarchy = "as_of"


@admin.register(ReviewCriterion)
class ReviewCriterionAdmin(admin.ModelAdmin):
    list_display = ["code", "name_fr", "name_en", "weight", "order", "is_active"]
    list_editable = ["weight", "order", "is_active"]
    list_filter = ["is_active"]
    search_fields = ["code", "name_fr", "name_en"]
    list_select_related = True


@admin.register(ReviewerProfile)
class ReviewerProfileAdmin(admin.ModelAdmin):
    list_display = ["user", "sector_codes", "is_available"]
    list_filter = ["is_available", "sectors"]
    search_fields = ["user__username", "user__first_name", "user__last_name", "sectors__code"]
    list_select_related = ["user"]
    autocomplete_fields = ["user"]
    filter_horizontal = ["sectors"]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("sectors")

    @admin.display(description=_("sectors of expertise"))
    def sector_codes(self, obj: ReviewerProfile) -> str:
        return ", ".join(s.code for s in obj.sectors.all())


@admin.register(BudgetLine)
class BudgetLineAdmin(admin.ModelAdmin):
    """A list to search; lines are changed on the programme's budget page (review lock, history)."""

    list_display = ["programme", "category", "description", "amount"]
    list_filter = ["category", "programme__currency"]
    search_fields = ["programme__code", "description"]
    list_select_related = ["programme"]
    autocomplete_fields = ["programme"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class AssignmentInline(ReadOnlyInline):
    model = ReviewAssignment
    fields = ["reviewer", "round", "due_date", "conflict_declared_at", "declined_at", "assigned_by"]
    readonly_fields = fields


class TimelineInline(ReadOnlyInline):
    model = TimelineEvent
    fields = ["at", "kind", "actor", "assignment", "message"]
    readonly_fields = fields


@admin.register(Proposal)
class ProposalAdmin(admin.ModelAdmin):
    list_display = ["programme", "kind", "programme_status", "review_manager", "approver", "submitted_at", "decision"]
    list_filter = ["kind", "decision", "programme__status"]
    search_fields = ["programme__code", "programme__title_fr", "programme__title_en"]
    list_select_related = ["programme", "review_manager", "approver"]
    autocomplete_fields = ["programme", "review_manager", "approver"]
    readonly_fields = ["round", "submitted_at", "decided_at", "decision", "decision_reason", "created_at"]
    inlines = [AssignmentInline, TimelineInline]
    date_hierarchy = "submitted_at"

    def has_add_permission(self, request) -> bool:
        return False  # a proposal starts when its focal point submits it (timeline, status, e-mails)

    @admin.display(description=_("status"), ordering="programme__status")
    def programme_status(self, obj: Proposal) -> str:
        return obj.programme.get_status_display()


@admin.register(ReviewAssignment)
class ReviewAssignmentAdmin(admin.ModelAdmin):
    list_display = [
        "proposal",
        "reviewer",
        "round",
        "due_date",
        "conflict_declared_at",
        "declined_at",
        "last_reminded_at",
    ]
    list_filter = ["round", "due_date", "proposal__kind"]
    search_fields = ["proposal__programme__code", "reviewer__username", "reviewer__last_name"]
    list_select_related = ["proposal__programme", "reviewer"]
    autocomplete_fields = ["proposal", "reviewer", "assigned_by"]
    readonly_fields = [
        "conflict_declared_at",
        "conflict_statement",
        "declined_at",
        "decline_reason",
        "last_reminded_at",
    ]

    def has_add_permission(self, request) -> bool:
        return False  # the review manager assigns on the portal, so that the reviewer is notified


class ScoreInline(ReadOnlyInline):
    model = ReviewScore
    fields = ["criterion", "score"]
    readonly_fields = fields


@admin.register(Review)
class ReviewAdmin(admin.ModelAdmin):
    list_display = ["assignment", "recommendation", "submitted_at"]
    list_filter = ["recommendation", "assignment__proposal__kind"]
    search_fields = ["assignment__proposal__programme__code", "assignment__reviewer__username", "comments"]
    list_select_related = ["assignment__proposal__programme", "assignment__reviewer"]
    autocomplete_fields = ["assignment"]
    readonly_fields = ["assignment", "comments", "recommendation", "submitted_at"]
    inlines = [ScoreInline]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(TimelineEvent)
class TimelineEventAdmin(admin.ModelAdmin):
    list_display = ["proposal", "at", "kind", "actor"]
    list_filter = ["kind"]
    search_fields = ["proposal__programme__code", "message", "actor__username"]
    list_select_related = ["proposal__programme", "actor"]
    autocomplete_fields = ["proposal", "actor", "assignment"]
    date_hierarchy = "at"

    # The history is kept whole: nobody adds, edits or deletes a step by hand.
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ReviewScore)
class ReviewScoreAdmin(admin.ModelAdmin):
    list_display = ["review", "criterion", "score"]
    list_filter = ["criterion", "score"]
    search_fields = ["review__assignment__proposal__programme__code", "review__assignment__reviewer__username"]
    list_select_related = ["review__assignment__proposal__programme", "review__assignment__reviewer", "criterion"]
    autocomplete_fields = ["review", "criterion"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
