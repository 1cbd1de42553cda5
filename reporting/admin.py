"""Admin doors of results reporting: IOM's results reports (through the services, refusals next to the
fields), the period locks (read-only: made by approvals, lifted by validators on the report page) and
the administrators' "lock every period before a date". The validators' decisions (approve, return and
unlock with a reason) are actions of the reports' list, calling the same services as the report page."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.forms.models import BaseInlineFormSet
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _

from core.admin_doors import RefusalIsClientError
from programmes.models import LockBefore, PeriodLock

from . import services
from .forms import ReasonForm
from .models import ResultsReport, ResultsReportStep, ResultsReportValue


class ResultsReportAdminForm(forms.ModelForm):
    class Meta:
        model = ResultsReport
        fields = ["programme", "period_start", "period_end"]

    def clean(self):
        cleaned = super().clean()
        if self.instance.pk is None and cleaned.get("programme") and hasattr(self, "request"):
            try:
                organisation_id = services.reporter_of(self.request.user, cleaned["programme"])
            except PermissionDenied as refused:
                raise ValidationError(str(refused)) from None
            errors = services.open_errors(
                cleaned["programme"], organisation_id, cleaned.get("period_start"), cleaned.get("period_end")
            )
            for field, messages_ in errors.items():
                self.add_error(field if field in self.fields else None, messages_)
        return cleaned


class ValuesFormSet(BaseInlineFormSet):
    """The report's values, checked by the services as a whole (the messages of every door)."""

    def rows(self) -> list:
        return [
            form
            for form in self.forms
            if hasattr(form, "cleaned_data")
            and form.cleaned_data.get("indicator")
            and not self._should_delete_form(form)
        ]

    def reported(self) -> list[services.ReportedValue]:
        return [
            services.ReportedValue(
                indicator=form.cleaned_data["indicator"].pk,
                achieved=form.cleaned_data.get("achieved"),
                comment=form.cleaned_data.get("comment") or "",
                sex=form.cleaned_data.get("sex") or "all",
                age_group=form.cleaned_data.get("age_group") or "all",
                key=form,
            )
            for form in self.rows()
        ]

    def validate_unique(self) -> None:
        """One value per cell: the services say it."""

    def clean(self) -> None:
        super().clean()
        if self.instance.pk is None or any(form.errors for form in self.forms):
            return
        values = self.reported()
        errors = services.value_errors(self.instance, values)
        for key, found in errors.items():
            parts = key.split("-")
            form = values[int(parts[1])].key
            field = parts[2] if parts[2] in form.fields else None
            form.add_error(field, found)


class ValueInline(admin.TabularInline):
    model = ResultsReportValue
    formset = ValuesFormSet
    extra = 1
    fields = ["indicator", "sex", "age_group", "achieved", "comment"]
    autocomplete_fields = ["indicator"]

    def has_change_permission(self, request, obj=None) -> bool:
        # IOM's own reports while they are being prepared; a partner's report is its reporter's to write.
        return obj is None or (obj.is_editable and obj.organisation_id is None)

    has_add_permission = has_delete_permission = has_change_permission


class StepInline(admin.TabularInline):
    model = ResultsReportStep
    extra = 0
    fields = ["action", "by", "at", "reason"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ResultsReport)
class ResultsReportAdmin(RefusalIsClientError, admin.ModelAdmin):
    list_display = ["programme", "organisation", "period_start", "period_end", "state", "submitted_at"]
    list_filter = ["state", "period_start"]
    search_fields = ["programme__code", "organisation__acronym", "organisation__name_fr"]
    list_select_related = ["programme", "organisation"]
    autocomplete_fields = ["programme"]
    form = ResultsReportAdminForm
    readonly_fields = ["organisation", "state", "return_reason", "submitted_at", "decided_at"]
    actions = ["submit_reports", "approve_reports", "return_reports", "unlock_reports"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        return type(form.__name__, (form,), {"request": request})

    def get_readonly_fields(self, request, obj=None):
        if obj is not None:
            return [*self.readonly_fields, "programme", "period_start", "period_end"]
        return self.readonly_fields

    def get_inlines(self, request, obj):
        return [ValueInline, StepInline] if obj is not None else []

    def save_model(self, request, obj, form, change) -> None:
        if not change:
            opened = services.results_report_open(
                programme=obj.programme, user=request.user, period_start=obj.period_start, period_end=obj.period_end
            )
            obj.pk = opened.pk
            obj._state.adding = False

    def save_related(self, request, form, formsets, change) -> None:
        for formset in formsets:
            formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
            if isinstance(formset, ValuesFormSet) and change and form.instance.is_editable:
                services.results_report_save(report=form.instance, user=request.user, values=formset.reported())

    def _decide(self, request, queryset, act, done, *, title, reason: bool = False):
        """Apply a service to every selected report, all or nothing: a refusal (the service's message, the
        same as on the report page) shows this page again with 400 (403 without the right), nothing changed.
        A decision that needs a reason asks for it first on the same page."""
        reports = list(queryset.select_related("programme", "organisation"))
        confirmed = "confirmed" in request.POST or not reason
        form = ReasonForm(request.POST if confirmed else None)
        refusals: list[str] = []
        denied = False
        if form.is_bound and form.is_valid():
            with transaction.atomic():
                for report in reports:
                    try:
                        act(report, form.cleaned_data.get("reason", ""))
                    except PermissionDenied as refused:
                        denied = True
                        refusals.append(f"{report}: {refused}")
                    except ValidationError as refused:
                        refusals.append(f"{report}: {' '.join(refused.messages)}")
                if refusals:
                    transaction.set_rollback(True)
            if not refusals:
                self.message_user(request, done % {"count": len(reports)}, messages.SUCCESS)
                return None
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": title,
            "reports": reports,
            "form": form,
            "ask_reason": reason,
            "refusals": refusals,
            "action": request.POST.get("action", ""),
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        status = 403 if denied else 400 if refusals or form.errors else 200
        return TemplateResponse(request, "admin/reporting/decide.html", context, status=status)

    @admin.action(description=_("Submit the selected reports"))
    def submit_reports(self, request, queryset):
        return self._decide(
            request,
            queryset,
            lambda r, reason: services.results_report_submit(report=r, user=request.user),
            _("%(count)s report(s) submitted."),
            title=_("Submit the selected reports"),
        )

    @admin.action(description=_("Approve the selected reports (validators)"))
    def approve_reports(self, request, queryset):
        return self._decide(
            request,
            queryset,
            lambda r, reason: services.results_report_approve(report=r, user=request.user),
            _("%(count)s report(s) approved."),
            title=_("Approve the selected reports"),
        )

    @admin.action(description=_("Return the selected reports to their reporter, with a reason (validators)"))
    def return_reports(self, request, queryset):
        return self._decide(
            request,
            queryset,
            lambda r, reason: services.results_report_return(report=r, user=request.user, reason=reason),
            _("%(count)s report(s) returned to their reporter with your reason."),
            title=_("Return the selected reports to their reporter"),
            reason=True,
        )

    @admin.action(description=_("Unlock the periods of the selected approved reports, with a reason (validators)"))
    def unlock_reports(self, request, queryset):
        return self._decide(
            request,
            queryset,
            lambda r, reason: services.results_report_unlock(report=r, user=request.user, reason=reason),
            _("%(count)s period(s) unlocked and report(s) returned to their reporter."),
            title=_("Unlock the periods of the selected reports"),
            reason=True,
        )


@admin.register(PeriodLock)
class PeriodLockAdmin(admin.ModelAdmin):
    """Read-only: approvals make the locks; validators lift them with a reason on the report's page."""

    list_display = ["programme", "organisation", "period_start", "period_end", "locked_at", "lifted_at"]
    list_filter = ["lifted_at"]
    search_fields = ["programme__code"]
    list_select_related = ["programme", "organisation"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(LockBefore)
class LockBeforeAdmin(admin.ModelAdmin):
    """Administrators lock every period ending before a date, in every programme (the latest decision applies)."""

    list_display = ["before", "reason", "decided_by", "decided_at"]
    fields = ["before", "reason"]

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def has_add_permission(self, request) -> bool:
        return request.user.is_superuser

    def save_model(self, request, obj, form, change) -> None:
        saved = services.lock_periods_before(before=obj.before, user=request.user, reason=obj.reason)
        obj.pk, obj.decided_by, obj.decided_at = saved.pk, saved.decided_by, saved.decided_at
