"""Admin for sectors, programmes, their results and key figures."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.widgets import AdminDateWidget
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _

from .models import (
    Document,
    Indicator,
    IndicatorValue,
    KeyFigure,
    Outcome,
    Output,
    Participation,
    Programme,
    ProgrammeAgreement,
    ProgrammeLocation,
    ProgrammeStatusChange,
    Sector,
    Status,
)
from .services import TransitionNotAllowed, programme_change_status, programme_record_agreement


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
    readonly_fields = ["status", "status_action", "version", "created_by", "created_at", "updated_by", "updated_at"]
    inlines = [ParticipationInline, LocationInline, OutcomeInline, IndicatorInline, DocumentInline, StatusChangeInline]
    fieldsets = [
        (None, {"fields": ["code", ("title_fr", "title_en"), ("summary_fr", "summary_en")]}),
        (
            _("Classification"),
            {"fields": ["primary_sector", "secondary_sectors", "scope", ("status", "status_action")]},
        ),
        (
            _("Dates and budget"),
            {"fields": [("planned_start", "planned_end"), ("actual_start", "actual_end"), ("budget", "currency")]},
        ),
        (_("IOM"), {"fields": ["iom_focal_point", "internal_notes"]}),
        (_("Record"), {"fields": ["version", ("created_by", "created_at"), ("updated_by", "updated_at")]}),
    ]

    @admin.display(description=_("status action"))
    def status_action(self, obj: Programme) -> str:
        if obj.pk is None:
            return "—"
        url = reverse("admin:programmes_programmestatuschange_add") + "?" + urlencode({"programme": obj.code})
        return format_html('<a href="{}">{}</a>', url, _("Change the status"))

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


class IndicatorValueInline(admin.TabularInline):
    model = IndicatorValue
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


@admin.register(ProgrammeAgreement)
class ProgrammeAgreementAdmin(admin.ModelAdmin):
    """Signed agreements, recorded through the same service as the programme's status page."""

    list_display = ["programme", "reference", "signed_on", "recorded_by", "recorded_at"]
    search_fields = ["programme__code", "reference"]
    list_select_related = ["programme", "recorded_by"]
    list_filter = ["signed_on"]
    autocomplete_fields = ["programme", "document"]
    readonly_fields = ["recorded_by", "recorded_at"]

    def save_model(self, request, obj, form, change) -> None:
        programme_record_agreement(
            programme=obj.programme,
            user=request.user,
            reference=obj.reference,
            signed_on=obj.signed_on,
            document=obj.document,
        )


class AdminStatusChangeForm(forms.Form):
    """The admin's status action: parses the step; `programme_change_status` decides."""

    programme = forms.ModelChoiceField(
        label=_("programme code"), queryset=Programme.objects.all(), to_field_name="code", widget=forms.TextInput
    )
    to_status = forms.ChoiceField(label=_("New status"), choices=Status.choices)
    reason = forms.CharField(
        label=_("Reason"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
    )
    actual_end = forms.DateField(
        label=_("Actual end"),
        required=False,
        widget=AdminDateWidget,
        help_text=_("Completed and closed: when the programme actually ended (today if left empty)."),
    )


@admin.register(ProgrammeStatusChange)
class ProgrammeStatusChangeAdmin(admin.ModelAdmin):
    """Status changes are history: never edited. "Add" moves a programme through the status service."""

    list_display = ["programme", "from_status", "to_status", "changed_by", "changed_at"]
    list_filter = ["to_status"]
    search_fields = ["programme__code", "reason"]
    list_select_related = ["programme", "changed_by"]
    date_hierarchy = "changed_at"

    def has_add_permission(self, request) -> bool:
        return request.user.has_perm("programmes.change_programme")

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def add_view(self, request, form_url="", extra_context=None):
        if not self.has_add_permission(request):
            raise PermissionDenied
        initial = {"programme": request.GET.get("programme", "")[:32]} if request.method == "GET" else None
        form = AdminStatusChangeForm(request.POST or None, initial=initial)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                programme_change_status(
                    programme=data["programme"],
                    to_status=data["to_status"],
                    user=request.user,
                    reason=data["reason"],
                    actual_end=data["actual_end"],
                )
            except TransitionNotAllowed as refused:
                for key, errors in refused.error_dict.items():
                    form.add_error({"status": "to_status"}.get(key, key), errors)
            else:
                self.message_user(
                    request,
                    _("Status changed to “%(status)s”.") % {"status": data["programme"].get_status_display()},
                    messages.SUCCESS,
                )
                return redirect("admin:programmes_programme_change", data["programme"].pk)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Change the status of a programme"),
            "opts": self.opts,
            "form": form,
            "media": self.media + form.media,
        }
        status = 400 if form.errors else 200
        return TemplateResponse(request, "admin/programmes/status_change_form.html", context, status=status)
