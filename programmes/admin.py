"""Admin for sectors, programmes, their results and key figures.

The programme page of the admin is one more door to the services of programmes/services.py: it reads
the page, asks the services whether they accept it (refusals appear next to the fields, in the
language of the page) and saves through them; the status moves only through the lifecycle's actions.
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.widgets import AdminDateWidget
from django.core.exceptions import PermissionDenied, ValidationError
from django.forms.models import BaseInlineFormSet
from django.http import HttpResponseRedirect
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _

from core.admin_doors import RefusalIsClientError
from partners.models import User

from . import services
from .forms import FocalPointField, IndicatorValueForm, ValueSetMixin, show_refusal
from .models import (
    Document,
    ExchangeRate,
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
    RecipientCountry,
    RecipientRegion,
    Sector,
    Status,
    Transaction,
)
from .services import TransitionNotAllowed, programme_change_status, programme_record_agreement


@admin.register(Sector)
class SectorAdmin(admin.ModelAdmin):
    list_display = ["code", "name_fr", "name_en", "dac_code", "order"]
    search_fields = ["code", "name_fr", "name_en"]
    list_filter = ["dac_code"]
    list_select_related = True
    ordering = ["order"]


class DomainListFormSet(forms.BaseInlineFormSet):
    """An inline list the services replace as a whole: the page's rows, read, not validated or saved here."""

    def __init__(self, *args, lists: dict | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if lists is not None:
            lists[self.prefix] = self
        # Saved by the services (history in the programme's change log), not by the admin.
        self.new_objects, self.changed_objects, self.deleted_objects = [], [], []

    def validate_unique(self) -> None:
        """Duplicates are the services' to refuse, with the message of every door."""

    def kept_forms(self) -> list:
        return [
            form
            for form in self.forms
            if hasattr(form, "cleaned_data")
            and form.cleaned_data
            and not self._should_delete_form(form)
            and (form.has_changed() or form.instance.pk)
        ]


class ParticipationInline(admin.TabularInline):
    model = Participation
    formset = DomainListFormSet
    extra = 0
    autocomplete_fields = ["organisation"]


class LocationInline(admin.TabularInline):
    model = ProgrammeLocation
    formset = DomainListFormSet
    extra = 0
    autocomplete_fields = ["admin_unit"]


class RecipientCountryInline(admin.TabularInline):
    model = RecipientCountry
    formset = DomainListFormSet
    extra = 0
    fields = ["country", "percentage"]
    autocomplete_fields = ["country"]


class RecipientRegionInline(admin.TabularInline):
    model = RecipientRegion
    formset = DomainListFormSet
    extra = 0
    fields = ["region", "percentage"]


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
    """Programme documents are uploaded on the programme page (type checked, review lock respected)."""

    model = Document
    fk_name = "programme"
    extra = 0
    fields = ["title", "category", "visibility", "issuing_organisation", "uploaded_by", "uploaded_at"]
    readonly_fields = fields
    show_change_link = True

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class StatusChangeInline(admin.TabularInline):
    model = ProgrammeStatusChange
    extra = 0
    can_delete = False
    readonly_fields = ["from_status", "to_status", "changed_by", "changed_at", "reason"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class ProgrammeAdminForm(forms.ModelForm):
    """The programme's own fields, with the version the page was loaded at (no lost updates)."""

    iom_focal_point = FocalPointField(queryset=User.objects.none(), required=False, label=_("IOM focal point"))
    loaded_version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    lists: dict = {}  # the page's partner and place formsets, set per request by ProgrammeAdmin

    class Meta:
        model = Programme
        fields = [*services.EDITABLE_FIELDS, "secondary_sectors"]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["iom_focal_point"].queryset = User.objects.iom_staff()
        self.fields["iom_focal_point"].initial = self.instance.iom_focal_point_id
        if self.instance.pk:
            self.fields["loaded_version"].initial = self.instance.version

    def clean(self) -> dict:
        cleaned = super().clean()
        lists = {name: formset for name, formset in self.lists.items() if formset.is_valid()}
        if self.errors or len(lists) != len(self.lists):
            return cleaned  # the page's own errors first
        try:
            services.programme_check(programme=self.instance, **self.service_parts())
        except ValidationError as refused:
            show_refusal(refused, self, {name: (fs, fs.kept_forms()) for name, fs in lists.items()})
        return cleaned

    def service_parts(self) -> dict:
        cleaned = self.cleaned_data
        parts = {
            "expected_version": cleaned.get("loaded_version") if self.instance.pk else None,
            "fields": {name: cleaned[name] for name in services.EDITABLE_FIELDS if name in cleaned},
            "secondary_sectors": list(cleaned.get("secondary_sectors") or []),
        }
        if "participations" in self.lists:
            parts["participations"] = [
                {
                    key: form.cleaned_data.get(key)
                    for key in ("organisation", "role", "contribution", "notes", "reports_results")
                }
                for form in self.lists["participations"].kept_forms()
            ]
        if "locations" in self.lists:
            parts["locations"] = [form.cleaned_data["admin_unit"] for form in self.lists["locations"].kept_forms()]
        for name, key in (("recipient_countries", "country"), ("recipient_regions", "region")):
            if name in self.lists:
                parts[name] = [
                    {key: form.cleaned_data.get(key), "percentage": form.cleaned_data.get("percentage")}
                    for form in self.lists[name].kept_forms()
                ]
        return parts


DOMAIN_LISTS = (ParticipationInline, LocationInline, RecipientCountryInline, RecipientRegionInline)


@admin.register(Programme)
class ProgrammeAdmin(RefusalIsClientError, admin.ModelAdmin):
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
    list_filter = ["status", "scope", "modality", "primary_sector", "currency"]
    search_fields = ["code", "title_fr", "title_en", "search_text"]
    list_select_related = ["primary_sector"]
    autocomplete_fields = ["primary_sector"]
    filter_horizontal = ["secondary_sectors"]
    form = ProgrammeAdminForm
    date_hierarchy = "planned_start"
    readonly_fields = ["status", "status_action", "version", "created_by", "created_at", "updated_by", "updated_at"]
    inlines = [
        ParticipationInline,
        RecipientCountryInline,
        RecipientRegionInline,
        LocationInline,
        OutcomeInline,
        IndicatorInline,
        DocumentInline,
        StatusChangeInline,
    ]

    class Media:
        css = {"all": ["css/admin-fit.css"]}  # usable at 1,366 px

    fieldsets = [
        (None, {"fields": ["code", ("title_fr", "title_en"), ("summary_fr", "summary_en")]}),
        (
            _("Classification"),
            {"fields": ["primary_sector", "secondary_sectors", "scope", "modality", ("status", "status_action")]},
        ),
        (
            _("Dates and budget"),
            {"fields": [("planned_start", "planned_end"), ("actual_start", "actual_end"), ("budget", "currency")]},
        ),
        (_("IOM"), {"fields": ["iom_focal_point", "internal_notes"]}),
        (_("IATI publication"), {"fields": ["iati_publish", "iati_exclusion_reason"]}),
        (
            _("Record"),
            {"fields": ["version", "loaded_version", ("created_by", "created_at"), ("updated_by", "updated_at")]},
        ),
    ]

    @admin.display(description=_("status action"))
    def status_action(self, obj: Programme) -> str:
        if obj.pk is None:
            return "—"
        url = reverse("admin:programmes_programmestatuschange_add") + "?" + urlencode({"programme": obj.code})
        return format_html('<a href="{}">{}</a>', url, _("Change the status"))

    def get_readonly_fields(self, request, obj=None) -> list[str]:
        # The code names the programme in URLs, exports and IATI: fixed once created.
        return [*self.readonly_fields, "code"] if obj is not None else list(self.readonly_fields)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        if not hasattr(request, "programme_lists"):
            request.programme_lists = {}
        return type(form.__name__, (form,), {"lists": request.programme_lists})

    def get_formset_kwargs(self, request, obj, inline, prefix) -> dict:
        kwargs = super().get_formset_kwargs(request, obj, inline, prefix)
        if isinstance(inline, DOMAIN_LISTS):
            kwargs["lists"] = request.programme_lists
        return kwargs

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ValidationError as refused:  # changed by someone else between the check and the save
            for message in refused.messages:
                messages.error(request, message)
            return HttpResponseRedirect(request.get_full_path())

    def save_model(self, request, obj, form, change) -> None:
        """Saved by the services, with the page's partners and places (save_related saves the rest)."""
        parts = form.service_parts()
        if change:
            services.programme_update(programme=obj, user=request.user, **parts)
        else:
            parts.pop("expected_version")
            services.programme_create(user=request.user, programme=obj, **parts)

    def save_related(self, request, form, formsets, change) -> None:
        for formset in formsets:
            if not isinstance(formset, DomainListFormSet):
                self.save_formset(request, form, formset, change=change)


@admin.register(Participation)
class ParticipationAdmin(admin.ModelAdmin):
    """A list to search; partners are changed on their programme's page (its rules apply to the whole list)."""

    list_display = ["programme", "organisation", "role", "contribution", "reports_results"]
    list_filter = ["role", "reports_results", "organisation__category"]
    search_fields = ["programme__code", "organisation__acronym", "organisation__name_fr"]
    list_select_related = ["programme", "organisation"]
    autocomplete_fields = ["programme", "organisation"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


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
class IndicatorAdmin(RefusalIsClientError, admin.ModelAdmin):
    list_display = [
        "code",
        "name_fr",
        "programme",
        "measure",
        "frequency",
        "reporting_partner",
        "target",
        "key_indicator",
    ]
    list_filter = ["measure", "people", "cumulative", "frequency", "disaggregated", "key_indicator"]
    search_fields = ["code", "name_fr", "name_en", "programme__code"]
    list_select_related = ["programme", "reporting_partner"]
    autocomplete_fields = ["programme", "outcome", "output", "reporting_partner"]
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


# --- Money ------------------------------------------------------------------------------------------


class TransactionAdminForm(forms.ModelForm):
    class Meta:
        model = Transaction
        fields = ["programme", *services.TRANSACTION_FIELDS]

    def _post_clean(self) -> None:
        """Asks the services whether they accept the page: a refusal is shown next to its field."""
        programme = self.cleaned_data.get("programme") or getattr(self.instance, "programme", None)
        if self.errors or programme is None:
            return
        fields = {name: self.cleaned_data[name] for name in services.TRANSACTION_FIELDS if name in self.cleaned_data}
        try:
            services.transaction_check(
                programme=programme, fields=fields, record=self.instance if self.instance.pk else None
            )
        except ValidationError as refused:
            self._update_errors(refused)


@admin.register(Transaction)
class TransactionAdmin(admin.ModelAdmin):
    """Transactions recorded by staff, written through programmes/services.py like the programme page's."""

    form = TransactionAdminForm
    list_display = ["programme", "kind", "date", "value", "currency", "provider", "receiver"]
    list_filter = ["kind", "currency"]
    search_fields = ["programme__code", "reference", "description"]
    list_select_related = ["programme", "provider", "receiver"]
    autocomplete_fields = ["programme", "provider", "receiver"]
    date_hierarchy = "date"

    def get_readonly_fields(self, request, obj=None) -> list[str]:
        return ["programme"] if obj is not None else []

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ValidationError as refused:
            for message in refused.messages:
                messages.error(request, message)
            return HttpResponseRedirect(request.get_full_path())

    def save_model(self, request, obj, form, change) -> None:
        fields = {name: form.cleaned_data[name] for name in services.TRANSACTION_FIELDS if name in form.cleaned_data}
        if change:
            services.transaction_update(record=obj, user=request.user, fields=fields)
        else:
            created = services.transaction_add(
                programme=form.cleaned_data["programme"], user=request.user, fields=fields
            )
            for field in Transaction._meta.concrete_fields:  # the admin's messages and redirect use obj
                setattr(obj, field.attname, getattr(created, field.attname))

    def delete_model(self, request, obj) -> None:
        services.transaction_delete(record=obj, user=request.user)

    def delete_queryset(self, request, queryset) -> None:
        for record in queryset.select_related("programme"):
            services.transaction_delete(record=record, user=request.user)


@admin.register(ExchangeRate)
class ExchangeRateAdmin(admin.ModelAdmin):
    """The rates used for USD equivalents everywhere (programmes/money.py: the rate in force on a date)."""

    list_display = ["currency", "units_per_usd", "as_of", "source"]
    list_filter = ["currency"]
    search_fields = ["currency", "source"]
    list_select_related = True
    date_hierarchy = "as_of"
