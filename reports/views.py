"""Reports pages: ask for a report, watch it progress, download it, retry it."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from uuid import uuid4

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from programmes.exports import safe_row
from programmes.filters import ProgrammeFilter
from programmes.forms import PlaceInput
from programmes.models import Programme, Role
from programmes.views import programme_list_filter

from .builders.records import Lookups, ProgrammeRecord, iter_programmes
from .forms import ReportRequestForm
from .models import WAITING_MESSAGE, ReportJob
from .services import FILTER_FIELDS, report_job_create, report_job_file_response, report_job_retry


def get_job_for_user(user, uuid) -> ReportJob:
    """The job if the user may see it (their own; IOM staff: any); otherwise a 404, never a hint."""
    return get_object_or_404(ReportJob.objects.visible_to(user).select_related("requester"), uuid=uuid)


def _styled(form):
    """Bootstrap classes on the widgets of a form we do not own (the programme filters)."""
    for field in form.fields.values():
        widget = field.widget
        css = (
            "form-select"
            if getattr(widget, "input_type", "") == "select" or hasattr(widget, "choices")
            else "form-control"
        )
        widget.attrs.setdefault("class", css)
    return form


def _filter_form(request: HttpRequest, data=None):
    form = ProgrammeFilter(data, queryset=Programme.objects.none(), request=request).form
    # The place: the edit page's searchable "Région › Département › Commune" picker (a P-code box without
    # JavaScript), not a flat list where Agadez appears twice. Statuses: checkboxes, not Ctrl-click.
    form.fields["area"].widget = PlaceInput(attrs={"placeholder": _("Name or P-code, e.g. NE006012007")})
    form.fields["status"].widget = forms.CheckboxSelectMultiple(attrs={"class": "form-check-input"})
    form.fields["status"].widget.choices = form.fields["status"].choices
    return _styled(form)


def _status_context(request: HttpRequest, job: ReportJob) -> dict:
    return {"job": job, "can_retry": job.can_retry(request.user)}


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def report_list(request: HttpRequest) -> HttpResponse:
    status = 200
    if request.method == "POST":
        form, filter_form = _styled(ReportRequestForm(request.POST)), _filter_form(request, request.POST)
        if form.is_valid():
            parameters = {name: request.POST.getlist(name) for name in FILTER_FIELDS}
            parameters["programme"] = form.cleaned_data["programme"]
            try:
                job = report_job_create(
                    user=request.user,
                    type=form.cleaned_data["type"],
                    parameters=parameters,
                    language=form.cleaned_data["language"],
                    idempotency_key=form.cleaned_data["idempotency_key"],
                )
            except ValidationError as error:
                for field, errors in error.message_dict.items():
                    target = form if field in form.fields else filter_form
                    for message in errors:
                        target.add_error(field if field in target.fields else None, message)
            else:
                if job.replayed:
                    messages.info(request, _("This request was already sent: here is the report it asked for."))
                elif job.waiting_for_worker:
                    messages.warning(request, WAITING_MESSAGE)
                else:
                    messages.success(request, _("Your report is being prepared. You can keep working meanwhile."))
                return redirect(job)
        status = 400
    else:
        initial = {"language": get_language(), **request.GET.dict(), "idempotency_key": uuid4().hex}
        form, filter_form = _styled(ReportRequestForm(initial=initial)), _filter_form(request)
    jobs = ReportJob.objects.visible_to(request.user).select_related("requester")
    page = Paginator(jobs, 25).get_page(request.GET.get("page"))
    context = {"form": form, "filter_form": filter_form, "page": page}
    return render(request, "reports/report_list.html", context, status=status)


@login_required
@require_safe
def report_detail(request: HttpRequest, uuid) -> HttpResponse:
    job = get_job_for_user(request.user, uuid)
    return render(request, "reports/report_detail.html", _status_context(request, job))


@login_required
@require_safe
def report_status(request: HttpRequest, uuid) -> HttpResponse:
    """The status card alone, polled by htmx every two seconds until the job is finished."""
    job = get_job_for_user(request.user, uuid)
    return render(request, "reports/_status.html", _status_context(request, job))


@login_required
@require_safe
def report_download(request: HttpRequest, uuid) -> FileResponse:
    job = get_job_for_user(request.user, uuid)
    return report_job_file_response(job)


@login_required
@require_POST
def report_retry(request: HttpRequest, uuid) -> HttpResponse:
    job = get_job_for_user(request.user, uuid)
    if not job.can_retry(request.user):
        raise Http404
    try:
        new_job = report_job_retry(job=job, user=request.user)
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
        return redirect(job)
    messages.success(request, _("The report was asked for again."))
    return redirect(new_job)


# --- The programme list as CSV ------------------------------------------------------------------

CSV_CHUNK = 500
CSV_ROLES = list(Role)


class _Echo:
    """A write-only file whose write() returns the line, so csv.writer feeds the stream."""

    def write(self, value: str) -> str:
        return value


def programme_csv_headers() -> list[str]:
    return [
        _("code"),
        _("title (French)"),
        _("title (English)"),
        _("primary sector"),
        _("status"),
        _("scope"),
        _("planned start"),
        _("planned end"),
        _("budget"),
        _("currency"),
        *[str(role.label) for role in CSV_ROLES],
        _("locations (P-codes)"),
    ]


def programme_csv_row(record: ProgrammeRecord, lookups: Lookups) -> list:
    """One programme as the list's CSV gives it: codes (not labels), so that the file can be re-read."""
    by_role: dict[str, list[str]] = {}
    for org, role, _amount in record.partners:
        by_role.setdefault(role, []).append(lookups.orgs[org].acronym_local or lookups.orgs[org].name)
    return safe_row(
        [
            record.code,
            record.title_fr,
            record.title_en,
            lookups.sectors[record.primary_sector_id].code,
            record.status,
            record.scope,
            record.planned_start.isoformat(),
            record.planned_end.isoformat() if record.planned_end else "",
            record.budget,
            record.currency,
            *["; ".join(by_role.get(role.value, [])) for role in CSV_ROLES],
            " ".join(lookups.units[unit].pcode for unit in record.unit_ids),
        ]
    )


def _csv_lines(programmes) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield "\ufeff"  # so that spreadsheet software reads the accents as UTF-8
    yield writer.writerow(programme_csv_headers())
    lookups = Lookups.load()
    # The report builders' records: streamed in chunks, one query per relation and chunk (no N+1).
    for record in iter_programmes(programmes, lookups, chunk_size=CSV_CHUNK):
        yield writer.writerow(programme_csv_row(record, lookups))


@login_required
@require_safe
def programme_csv(request: HttpRequest) -> HttpResponse:
    """The filtered programme list as CSV, streamed: same filters and same access rule as the page."""
    filterset = programme_list_filter(request)
    if not filterset.is_valid():
        errors = "; ".join(f"{filterset.form.fields[f].label}: {' '.join(e)}" for f, e in filterset.errors.items())
        return HttpResponse(errors, status=400, content_type="text/plain; charset=utf-8")
    response = StreamingHttpResponse(_csv_lines(filterset.qs), content_type="text/csv; charset=utf-8")
    filename = f"programmes-{timezone.localdate():%Y%m%d}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
