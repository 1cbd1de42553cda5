"""The reporting pages: my reports (to do, returned with their reason, to validate), open a report,
fill and submit it, and the validators' decisions. Another organisation's report is a 404."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from programmes.models import FREQUENCY_MONTHS, Frequency, Indicator, Programme

from . import services
from .forms import PeriodForm, ReasonForm, ReportValuesForm, default_period
from .models import ResultsReport, State, can_validate
from .todo import report_tasks

PAGE_SIZE = 50


@login_required
@require_http_methods(["GET", "HEAD"])
def report_list(request: HttpRequest) -> HttpResponse:
    reports = (
        ResultsReport.objects.visible_to(request.user)
        .select_related("programme", "organisation")
        .order_by("-period_start", "programme__code", "pk")
    )
    page = Paginator(reports, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "reporting/report_list.html", {**report_tasks(request.user), "page": page})


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def report_new(request: HttpRequest, code: str) -> HttpResponse:
    programme = get_object_or_404(Programme.objects.visible_to(request.user), code=code)
    organisation_id = services.reporter_of(request.user, programme)  # PermissionDenied: 403
    frequencies = set(
        Indicator.objects.filter(programme=programme, reporting_partner_id=organisation_id).values_list(
            "frequency", flat=True
        )
    )
    frequency = min(frequencies, key=lambda f: FREQUENCY_MONTHS[Frequency(f)], default=None)
    if request.method == "POST":
        form = PeriodForm(request.POST)
        if form.is_valid():
            try:
                report = services.results_report_open(
                    programme=programme,
                    user=request.user,
                    period_start=form.cleaned_data["period_start"],
                    period_end=form.cleaned_data["period_end"],
                )
            except ValidationError as refused:
                for field, errors in refused.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                return redirect("reporting:detail", pk=report.pk)
    else:
        start, end = default_period(frequency)
        form = PeriodForm(
            initial={"period_start": request.GET.get("start", start), "period_end": request.GET.get("end", end)}
        )
    context = {"programme": programme, "form": form}
    return render(request, "reporting/report_new.html", context, status=400 if form.errors else 200)


def _detail_context(request, report: ResultsReport, values_form=None, reason_form=None) -> dict:
    editable = ResultsReport.objects.editable_by(request.user).filter(pk=report.pk).exists()
    indicators = list(report.indicators().order_by("code"))
    if values_form is None and editable:
        values_form = ReportValuesForm(report=report, indicators=indicators)
    stored = list(report.values.select_related("indicator").order_by("indicator__code", "sex", "age_group"))
    return {
        "report": report,
        "programme": report.programme,
        "editable": editable,
        "form": values_form,
        "stored_values": stored,
        "validator": can_validate(request.user),
        "reason_form": reason_form or ReasonForm(),
        "steps": report.steps.all(),
        "State": State,
    }


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def report_detail(request: HttpRequest, pk: int) -> HttpResponse:
    report = get_object_or_404(
        ResultsReport.objects.visible_to(request.user).select_related("programme", "organisation"), pk=pk
    )
    if request.method != "POST":
        return render(request, "reporting/report_detail.html", _detail_context(request, report))
    if not ResultsReport.objects.editable_by(request.user).filter(pk=report.pk).exists():
        raise PermissionDenied
    form = ReportValuesForm(request.POST, report=report, indicators=list(report.indicators().order_by("code")))
    if form.is_valid():
        values = form.values()
        submit = request.POST.get("action") == "submit"
        try:
            with transaction.atomic():  # a refused submission keeps nothing of the save either
                services.results_report_save(
                    report=report, user=request.user, values=values, expected_version=form.cleaned_data.get("version")
                )
                if submit:
                    services.results_report_submit(report=report, user=request.user)
        except ValidationError as refused:
            form.show_refusal(refused, values)
            if isinstance(refused, services.StaleReport):
                report.refresh_from_db()
                return render(
                    request,
                    "reporting/report_detail.html",
                    _detail_context(request, report, values_form=form),
                    status=409,
                )
        else:
            if submit:
                messages.success(request, _("The report was submitted to IOM for validation."))
            else:
                messages.success(request, _("The report was saved as a draft."))
            return redirect("reporting:detail", pk=report.pk)
    return render(
        request, "reporting/report_detail.html", _detail_context(request, report, values_form=form), status=400
    )


DECISIONS = {
    "approve": lambda report, user, reason: services.results_report_approve(report=report, user=user),
    "return": lambda report, user, reason: services.results_report_return(report=report, user=user, reason=reason),
    "unlock": lambda report, user, reason: services.results_report_unlock(report=report, user=user, reason=reason),
}
DONE = {
    "approve": gettext_lazy("The report was approved: its values are published and the period is locked."),
    "return": gettext_lazy("The report was returned to its reporter with your reason."),
    "unlock": gettext_lazy("The period was unlocked and the report returned to its reporter."),
}


@login_required
@require_POST
def report_decide(request: HttpRequest, pk: int) -> HttpResponse:
    report = get_object_or_404(
        ResultsReport.objects.visible_to(request.user).select_related("programme", "organisation"), pk=pk
    )
    services.must_validate(request.user)  # PermissionDenied with the services' message: 403
    action = request.POST.get("action", "")
    form = ReasonForm(request.POST)
    if action not in DECISIONS or not form.is_valid():
        form.add_error(None, _("Choose approve, return or unlock."))
    else:
        try:
            DECISIONS[action](report, request.user, form.cleaned_data["reason"])
        except ValidationError as refused:
            if hasattr(refused, "error_dict"):
                for field, errors in refused.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                form.add_error(None, refused.messages)
        else:
            messages.success(request, str(DONE[action]))
            return redirect("reporting:detail", pk=report.pk)
    report.refresh_from_db()
    return render(
        request, "reporting/report_detail.html", _detail_context(request, report, reason_form=form), status=400
    )
