"""Import pages: upload a file, read its preview, confirm or reject it, follow the import."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from .forms import ImportConfirmForm, ImportRejectForm, ImportUploadForm
from .models import ImportJob
from .services import ImportRefused, import_job_confirm, import_job_create, import_job_reject
from .template import sheet_template_response


def _check_may_import(user) -> None:
    """IOM staff with edit rights and partner users import; read-only staff get a 403, others a 404."""
    if getattr(user, "is_partner", False):
        return
    if not getattr(user, "is_iom_staff", False):
        raise Http404
    if not user.can_edit_programmes:
        raise PermissionDenied(_("You may read programmes but not import them."))


def get_import_for_user(user, uuid) -> ImportJob:
    """The import if the user may see it (IOM staff: any; a partner: its organisation's); otherwise a 404."""
    return get_object_or_404(
        ImportJob.objects.visible_to(user).select_related("requested_by").prefetch_related("preview_items"), uuid=uuid
    )


def _decider(user) -> bool:
    return bool(getattr(user, "is_iom_staff", False) and user.can_edit_programmes)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def import_list(request: HttpRequest) -> HttpResponse:
    _check_may_import(request.user)
    status = 200
    form = ImportUploadForm(request.POST or None, request.FILES or None, initial={"language": get_language()})
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                job = import_job_create(
                    user=request.user,
                    upload=form.cleaned_data["file"],
                    language=form.cleaned_data["language"] or get_language(),
                )
            except ImportRefused as refused:
                form.add_error("file", refused.messages[0])
            else:
                messages.success(request, _("The file was received: its preview is being prepared."))
                return redirect(job)
    jobs = ImportJob.objects.visible_to(request.user).select_related("requested_by", "organisation")
    page = Paginator(jobs, 25).get_page(request.GET.get("page"))
    return render(request, "imports/import_list.html", {"form": form, "page": page}, status=status)


def _detail_context(request: HttpRequest, job: ImportJob, **extra) -> dict:
    return {
        "job": job,
        "can_decide": _decider(request.user) and job.status in ("previewed", "pending_review"),
        "confirm_form": extra.get("confirm_form") or ImportConfirmForm(),
        "reject_form": extra.get("reject_form") or ImportRejectForm(),
        "needs_organisations": job.needs_organisations,
    }


@login_required
@require_safe
def import_detail(request: HttpRequest, uuid) -> HttpResponse:
    job = get_import_for_user(request.user, uuid)
    return render(request, "imports/import_detail.html", _detail_context(request, job))


@login_required
@require_safe
def import_status(request: HttpRequest, uuid) -> HttpResponse:
    """The status card alone, polled while the preview or the import runs."""
    job = get_import_for_user(request.user, uuid)
    return render(request, "imports/_status.html", _detail_context(request, job))


@login_required
@require_POST
def import_confirm(request: HttpRequest, uuid) -> HttpResponse:
    job = get_import_for_user(request.user, uuid)
    if not _decider(request.user):
        raise Http404 if not getattr(request.user, "is_iom_staff", False) else PermissionDenied
    form = ImportConfirmForm(request.POST)
    form.is_valid()
    try:
        import_job_confirm(job=job, user=request.user, create_organisations=form.cleaned_data["create_organisations"])
    except ValidationError as refused:
        form.add_error(None, refused.messages[0])
        return render(
            request, "imports/import_detail.html", _detail_context(request, job, confirm_form=form), status=409
        )
    messages.success(request, _("The import is running."))
    return redirect(job)


@login_required
@require_POST
def import_reject(request: HttpRequest, uuid) -> HttpResponse:
    job = get_import_for_user(request.user, uuid)
    if not _decider(request.user):
        raise Http404 if not getattr(request.user, "is_iom_staff", False) else PermissionDenied
    form = ImportRejectForm(request.POST)
    if form.is_valid():
        try:
            import_job_reject(job=job, user=request.user, reason=form.cleaned_data["reason"])
        except ValidationError as refused:
            form.add_error(None, refused.messages[0])
        else:
            messages.success(request, _("The submission was rejected; the partner can read why."))
            return redirect(job)
    return render(request, "imports/import_detail.html", _detail_context(request, job, reject_form=form), status=400)


@login_required
@require_safe
def import_template(request: HttpRequest) -> HttpResponse:
    """The spreadsheet template: headers in the user's language, the HXL row, a sheet of allowed values."""
    _check_may_import(request.user)
    return sheet_template_response(request.user)
