"""Admin for sectors, programmes, their results and key figures."""

from django.contrib import admin
from django.forms.models import BaseInlineFormSet
from django.utils.translation import gettext_lazy as _

from .forms import IndicatorValueForm, ValueSetMixin
from .models import (
    Document,
    Indicator,
    IndicatorValue,
    KeyFigure,
    Outcome,
    Output,
    Participation,
    Programme,
    ProgrammeLocation,
    ProgrammeStatusChange,
    Sector,
)


@admin.register(Sector)
class SectorAdmin(admin.ModelAdmin):
    list_display = ["code", "name_fr", "name_en", "dac_code", "order"]
    search_fields = ["code", "name_fr", "name_en"]
    list_filter = ["dac_code"]
    list_select_related = True
    ordering = ["order"]


class ParticipationInline(admin.TabularInline):
    model = Participation
    extra = 0
    autocomplete_fields = ["organisation"]


class LocationInline(admin.TabularInline):
    model = ProgrammeLocation
    extra = 0
    autocomplete_fields = ["admin_unit"]


class OutcomeInline(admin.StackedInline):
    model = Outcome
    extra = 0
    show_change_link = True


class IndicatorInline(admin.TabularInline):
    model = Indicator
    extra = 0
    fields = ["code", "name_fr", "name_en", "outcome", "output", "measure", "baseline", "target", "key_indicator"]
    show_change_link = True

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        programme_id = request.resolver_match.kwargs.get("object_id")
        if db_field.name == "outcome":
            kwargs["queryset"] = Outcome.objects.filter(programme_id=programme_id)
        if db_field.name == "output":
            kwargs["queryset"] = Output.objects.filter(outcome__programme_id=programme_id)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class DocumentInline(admin.TabularInline):
    model = Document
    fk_name = "programme"
    extra = 0
    fields = ["title", "category", "visibility", "issuing_organisation", "file"]
    autocomplete_fields = ["issuing_organisation"]


class StatusChangeInline(admin.TabularInline):
    model = ProgrammeStatusChange
    extra = 0
    can_delete = False
    readonly_fields = ["from_status", "to_status", "changed_by", "changed_at", "reason"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Programme)
class ProgrammeAdmin(admin.ModelAdmin):
    list_display = [
        "code",
        "title_fr",
        "primary_sector",
        "scope",
        "status",
        "planned_start",
        "planned_end",
        "budget",
        "currency",
    ]
    list_filter = ["status", "scope", "primary_sector", "currency"]
    search_fields = ["code", "title_fr", "title_en", "search_text"]
    list_select_related = ["primary_sector"]
    autocomplete_fields = ["primary_sector", "iom_focal_point"]
    filter_horizontal = ["secondary_sectors"]
    date_hierarchy = "planned_start"
    readonly_fields = ["status", "version", "created_by", "created_at", "updated_by", "updated_at"]
    inlines = [ParticipationInline, LocationInline, OutcomeInline, IndicatorInline, DocumentInline, StatusChangeInline]
    fieldsets = [
        (None, {"fields": ["code", ("title_fr", "title_en"), ("summary_fr", "summary_en")]}),
        (_("Classification"), {"fields": ["primary_sector", "secondary_sectors", "scope", "status"]}),
        (
            _("Dates and budget"),
            {"fields": [("planned_start", "planned_end"), ("actual_start", "actual_end"), ("budget", "currency")]},
        ),
        (_("IOM"), {"fields": ["iom_focal_point", "internal_notes"]}),
        (_("Record"), {"fields": ["version", ("created_by", "created_at"), ("updated_by", "updated_at")]}),
    ]

    def save_model(self, request, obj, form, change) -> None:
        if not change:
            obj.created_by = request.user
        obj.updated_by = request.user
        obj.version = (obj.version or 0) + (1 if change else 0)
        super().save_model(request, obj, form, change)


@admin.register(Participation)
class ParticipationAdmin(admin.ModelAdmin):
    list_display = ["programme", "organisation", "role", "contribution"]
    list_filter = ["role", "organisation__category"]
    search_fields = ["programme__code", "organisation__acronym", "organisation__name_fr"]
    list_select_related = ["programme", "organisation"]
    autocomplete_fields = ["programme", "organisation"]


@admin.register(Outcome)
class OutcomeAdmin(admin.ModelAdmin):
    list_display = ["code", "programme", "statement_fr"]
    search_fields = ["code", "statement_fr", "statement_en", "programme__code"]
    list_filter = ["programme__primary_sector"]
    list_select_related = ["programme"]
    autocomplete_fields = ["programme"]


@admin.register(Output)
class OutputAdmin(admin.ModelAdmin):
    list_display = ["code", "outcome", "statement_fr"]
    search_fields = ["code", "statement_fr", "statement_en", "outcome__programme__code"]
    list_filter = ["outcome__programme__primary_sector"]
    list_select_related = ["outcome__programme"]
    autocomplete_fields = ["outcome"]


class IndicatorValueFormSet(ValueSetMixin, BaseInlineFormSet):
    """The values submitted together are checked as a set, with the rule of the model and the edit page."""


class IndicatorValueInline(admin.TabularInline):
    model = IndicatorValue
    form = IndicatorValueForm
    formset = IndicatorValueFormSet
    extra = 0


@admin.register(Indicator)
class IndicatorAdmin(admin.ModelAdmin):
    list_display = ["code", "name_fr", "programme", "measure", "baseline", "target", "key_indicator"]
    list_filter = ["measure", "cumulative", "disaggregated", "key_indicator"]
    search_fields = ["code", "name_fr", "name_en", "programme__code"]
    list_select_related = ["programme"]
    autocomplete_fields = ["programme", "outcome", "output"]
    inlines = [IndicatorValueInline]


@admin.register(IndicatorValue)
class IndicatorValueAdmin(admin.ModelAdmin):
    list_display = ["indicator", "period_start", "period_end", "sex", "age_group", "target", "achieved"]
    list_filter = ["sex", "age_group"]
    search_fields = ["indicator__code", "indicator__programme__code"]
    list_select_related = ["indicator__programme"]
    autocomplete_fields = ["indicator"]
    date_hierarchy = "period_start"


@admin.register(Document)
class DocumentAdmin(admin.ModelAdmin):
    list_display = ["title", "category", "visibility", "programme", "sector", "uploaded_at"]
    list_filter = ["category", "visibility", "sector"]
    search_fields = ["title", "programme__code", "original_filename"]
    list_select_related = ["programme", "sector"]
    autocomplete_fields = ["programme", "sector", "issuing_organisation"]
    readonly_fields = ["original_filename", "content_type", "size", "uploaded_by", "uploaded_at"]


@admin.register(KeyFigure)
class KeyFigureAdmin(admin.ModelAdmin):
    list_display = ["label_fr", "display_value", "value", "as_of", "source", "scope", "is_published"]
    list_filter = ["scope", "is_published", "sector"]
    search_fields = ["label_fr", "label_en", "source"]
    list_select_related = ["sector"]
    autocomplete_fields = ["sector"]


@admin.register(ProgrammeStatusChange)
class ProgrammeStatusChangeAdmin(admin.ModelAdmin):
    list_display = ["programme", "from_status", "to_status", "changed_by", "changed_at"]
    list_filter = ["to_status"]
    search_fields = ["programme__code", "reason"]
    list_select_related = ["programme", "changed_by"]
    date_hierarchy = "changed_at"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
