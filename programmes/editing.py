"""Views that change programmes: create, edit (with no lost updates), status actions, and the place picker."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_safe

from regions.models import AdminLevel

from . import edit_merge, services
from .forms import (
    AgreementForm,
    IndicatorFormSet,
    LocationFormSet,
    ParticipationFormSet,
    ProgrammeForm,
    RecipientCountryFormSet,
    RecipientRegionFormSet,
    StatusChangeForm,
    find_places,
    form_edit_state,
    live_forms,
    merged_form_data,
    only_vanished_rows,
    show_refusal,
)
from .models import ApprovalRoad, Participation, Programme, ProgrammeLocation, Status
from .result_forms import OutcomeFormSet
from .results import ResultsInvalid
from .services import (
    ProgrammeLocked,
    StaleProgramme,
    TransitionNotAllowed,
    programme_change_status,
    programme_record_agreement,
)
from .views import get_programme_for_user

# The lists whose rows the services' rules name (`<list>-<index>-<field>`, programmes/rules.py).
RULED_LISTS = ("participations", "locations", "recipient_countries", "recipient_regions")


def edit_rights_required(view: Callable) -> Callable:
    """IOM staff with edit rights only: partners get a 404 (no hint), read-only staff a 403."""

    @wraps(view)
    @login_required
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not request.user.is_iom_staff:
            raise Http404
        if not request.user.can_edit_programmes:
            raise PermissionDenied(_("You may read programmes but not change them."))
        return view(request, *args, **kwargs)

    return wrapper


@edit_rights_required
@require_http_methods(["GET", "HEAD", "POST"])
def programme_create(request: HttpRequest) -> HttpResponse:
    return _programme_form_page(request, Programme())


@edit_rights_required
@require_http_methods(["GET", "HEAD", "POST"])
def programme_edit(request: HttpRequest, code: str) -> HttpResponse:
    programme = get_programme_for_user(request.user, code)
    if programme.is_locked_for_review:
        # Under review: only a request for revision reopens the programme for editing.
        message = ProgrammeLocked().message
        if request.method != "POST":
            messages.error(request, message)
            return redirect(programme)
        form, formsets = _bind(request.POST, programme, request.user)
        form.is_valid()
        form.add_error(None, message)
        return _render_form(request, programme, form, formsets, status=409)
    return _programme_form_page(request, programme)


def _programme_form_page(request: HttpRequest, programme: Programme) -> HttpResponse:
    data = request.POST if request.method == "POST" else None
    form, formsets = _bind(data, programme, request.user)
    if data is None:
        if programme.pk:
            form.initial["loaded_state"] = edit_merge.fingerprint(edit_merge.stored_state(programme))
        return _render_form(request, programme, form, formsets)
    valid = all([form.is_valid(), *(fs.is_valid() for fs in formsets.values())])
    outdated = bool(programme.pk) and form.cleaned_data.get("version") not in (None, programme.version)
    if not valid and not (outdated and only_vanished_rows(form, formsets)):
        if outdated:
            # Outdated and invalid: the errors first; once corrected, the save is merged with theirs.
            return _render_outdated(request, programme, form, formsets)
        return _render_form(request, programme, form, formsets, status=400)
    merged = None
    try:
        with transaction.atomic():
            if programme.pk:
                # Locked until the end of the save: nobody saves between the merge and the save.
                current = services.programme_lock(programme=programme, expected_version=None)
                if current.version != form.cleaned_data.get("version"):
                    merged, form, formsets = _merge(request.user, current, form, formsets)
                    programme, merged_with = current, _who(current)
                    if merged.conflicts:
                        return _render_conflict(request, current, form, formsets, merged)
                    if not all([form.is_valid(), *(fs.is_valid() for fs in formsets.values())]):
                        return _render_merged_invalid(request, current, form, formsets, merged)
            saved = _save(request.user, programme, form, formsets)
            # The results framework first: the indicators point into it.
            indicators = formsets["indicators"]
            indicators.resolved = formsets["outcomes"].save_results(
                programme=saved, user=request.user, links=indicators.links()
            )
            indicators.instance = saved
            indicators.save()
    except StaleProgramme as stale:  # only if the page's version was changed by hand
        form.add_error(None, stale.message)
        return _render_form(request, stale.current, form, formsets, status=409)
    except ProgrammeLocked as locked:  # put under review while the page was open
        form.add_error(None, locked.message)
        return _render_form(request, programme, form, formsets, status=409)
    except ResultsInvalid as refused:  # the framework changed meanwhile (e.g. in the admin)
        for problem in refused.problems:
            problem.key.add_error(problem.field, problem.message)
        if merged is not None:
            return _render_merged_invalid(request, programme, form, formsets, merged)
        return _render_form(request, programme, form, formsets, status=400)
    except ValidationError as refused:
        lists = {name: (formsets[name], live_forms(formsets[name])) for name in RULED_LISTS}
        show_refusal(refused, form, lists)
        if merged is not None:
            return _render_merged_invalid(request, programme, form, formsets, merged)
        return _render_form(request, programme, form, formsets, status=400)
    except IntegrityError:
        # Only reachable when someone changes the same rows outside this form (e.g. in the admin).
        form.add_error(None, _("Your changes clash with data saved meanwhile. Check the form and save again."))
        return _render_form(request, programme, form, formsets, status=409)
    if merged is not None and merged.taken:
        changes = [edit_merge.key_label(key, merged.state) for key in merged.taken]
        message = _("Programme %(code)s saved, with the changes %(who)s saved meanwhile: %(changes)s.") % {
            "code": saved.code,
            "who": merged_with,
            "changes": ", ".join(changes[:10]) + (" …" if len(changes) > 10 else ""),
        }
        messages.success(request, message)
    else:
        messages.success(request, _("Programme %(code)s saved.") % {"code": saved.code})
    return redirect(saved)


def _merge(
    user, current: Programme, form: ProgrammeForm, formsets: dict
) -> tuple[edit_merge.Merge, ProgrammeForm, dict]:
    """Three-way merge of the page (mine) with the programme as saved meanwhile (theirs), against what
    the editor loaded (the page's fingerprint); the page bound again to the merged values."""
    theirs = edit_merge.stored_state(current)
    mine = form_edit_state(form, formsets)
    base = edit_merge.read_fingerprint(form.cleaned_data.get("loaded_state"))
    merged = edit_merge.merge(base, theirs, mine)
    form, formsets = _bind(merged_form_data(merged.state, theirs, current), current, user)
    return merged, form, formsets


def _save(user, programme: Programme, form: ProgrammeForm, formsets: dict) -> Programme:
    """Hand what the page read to the services, which decide (programmes/services.py)."""
    parts = {
        "fields": form.service_fields(),
        "secondary_sectors": list(form.cleaned_data.get("secondary_sectors") or []),
        "participations": formsets["participations"].service_rows(),
        "locations": formsets["locations"].service_units(),
        "recipient_countries": formsets["recipient_countries"].service_rows(),
        "recipient_regions": formsets["recipient_regions"].service_rows(),
    }
    if programme.pk is None:
        return services.programme_create(user=user, **parts)
    return services.programme_update(
        programme=programme, user=user, expected_version=form.cleaned_data.get("version"), **parts
    )


def _bind(data, programme: Programme, user) -> tuple[ProgrammeForm, dict]:
    form = ProgrammeForm(data, instance=programme)
    participations = Participation.objects.select_related("organisation")
    locations = ProgrammeLocation.objects.select_related("admin_unit__parent__parent")
    formsets = {
        "participations": ParticipationFormSet(
            data, instance=programme, queryset=participations, prefix="participations", user=user
        ),
        "locations": LocationFormSet(data, instance=programme, queryset=locations, prefix="locations"),
        "recipient_countries": RecipientCountryFormSet(data, instance=programme, prefix="recipient_countries"),
        "recipient_regions": RecipientRegionFormSet(data, instance=programme, prefix="recipient_regions"),
    }
    formsets["outcomes"] = OutcomeFormSet(data, instance=programme, prefix="outcomes")
    formsets["indicators"] = IndicatorFormSet(
        data, instance=programme, prefix="indicators", results=formsets["outcomes"]
    )
    return form, formsets


def _who(programme: Programme) -> str:
    by = programme.updated_by
    return (by.get_full_name() or by.username) if by else _("someone")


def _conflict_box(current: Programme, message: str, merged: edit_merge.Merge | None = None) -> dict:
    """What the page says above the form: who saved, what clashes (both values), what was merged."""
    changes = []
    if merged is not None:
        states = (merged.theirs, merged.mine)
        for conflict in merged.conflicts:
            changes.append(
                {
                    "key": conflict.name,
                    "label": edit_merge.key_label(conflict.key, *states),
                    "theirs": edit_merge.shown(conflict.theirs, conflict.key),
                    "yours": conflict.reason or edit_merge.shown(conflict.mine, conflict.key),
                    "clash": True,
                }
            )
        for key in merged.taken:
            value = edit_merge.shown(merged.theirs.get(key), key)
            label = edit_merge.key_label(key, *states)
            changes.append({"key": ".".join(key), "label": label, "theirs": value, "yours": value, "merged": True})
    return {
        "message": message,
        "changes": changes,
        "who": _who(current),
        "at": current.updated_at,
        "clashes": bool(merged and merged.conflicts),
        "pending": merged is None,
    }


def _render_conflict(request, current: Programme, form, formsets, merged: edit_merge.Merge) -> HttpResponse:
    """Refuse the save: both values of each clash, the editor's input kept, their other changes merged in."""
    form.is_valid()  # shows the page's values as bound (nothing is saved)
    for formset in formsets.values():
        formset.is_valid()
    message = _(
        "%(who)s saved this programme while you were editing it (now version %(version)s), and changed "
        "some of the same things as you: %(fields)s. Nothing was saved. Your input is in the form; "
        "choose the values to keep and save again."
    ) % {
        "who": _who(current),
        "version": current.version,
        "fields": edit_merge.conflict_summary(merged, merged.theirs, merged.mine),
    }
    conflict = _conflict_box(current, message, merged)
    return _render_form(request, current, form, formsets, status=409, conflict=conflict)


def _render_merged_invalid(request, current: Programme, form, formsets, merged: edit_merge.Merge) -> HttpResponse:
    """Merged without clashes, but the two edits together break a rule: both kept, the rule explained."""
    message = _(
        "%(who)s saved this programme while you were editing it; your changes were merged with theirs, "
        "but together they break a rule below. Nothing was saved: correct the fields marked in red and save again."
    ) % {"who": _who(current)}
    conflict = _conflict_box(current, message, merged)
    return _render_form(request, current, form, formsets, status=409, conflict=conflict, has_errors=True)


def _render_outdated(request, programme: Programme, form, formsets) -> HttpResponse:
    """Invalid and outdated: the page keeps the version the editor loaded, so that the corrected save
    is merged with the changes saved meanwhile (rather than overwriting them)."""
    current = Programme.objects.select_related("updated_by").get(pk=programme.pk)
    message = _(
        "%(who)s saved this programme while you were editing it (now version %(version)s). Correct the "
        "fields marked in red and save again: your changes will then be merged with theirs."
    ) % {"who": _who(current), "version": current.version}
    conflict = _conflict_box(current, message)
    return _render_form(request, programme, form, formsets, status=409, conflict=conflict, has_errors=True)


def _render_form(
    request, programme, form, formsets, status: int = 200, conflict: dict | None = None, has_errors: bool = False
):
    context = {
        "programme": programme,
        "form": form,
        "formsets": formsets,
        "has_errors": status == 400 or has_errors,
        "conflict": conflict,
        "statuses": Status,
    }
    return render(request, "programmes/programme_form.html", context, status=status)


# Service error keys → status form fields.
STATUS_ERROR_FIELDS = {"status": "to_status", "reason": "reason", "actual_end": "actual_end"}


def add_service_errors(form, error: ValidationError, fields: dict[str, str]) -> None:
    """Put a service's refusal on the form fields it concerns (the rest above the form)."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for key, errors in error.error_dict.items():
        form.add_error(fields.get(key), errors)


@edit_rights_required
@require_http_methods(["GET", "HEAD", "POST"])
def programme_status(request: HttpRequest, code: str) -> HttpResponse:
    """Status actions; a step that cannot be undone first asks for confirmation, a reason and the end date."""
    programme = get_programme_for_user(request.user, code)
    if request.method != "POST":
        step = next((s for s in programme.status_steps() if s.status == request.GET.get("to") and s.available), None)
        initial = {"to_status": step.status, "actual_end": programme.actual_end or timezone.localdate()} if step else {}
        form = StatusChangeForm(initial=initial, programme=programme)
        return _render_status(request, programme, form, confirm_step=step if step and step.irreversible else None)
    form = StatusChangeForm(request.POST, programme=programme)
    if not form.is_valid():
        return _render_status(request, programme, form, status=400)
    to_status = form.cleaned_data["to_status"]
    step = next((s for s in programme.status_steps() if s.status == to_status), None)
    if step is not None and step.available and step.irreversible and not form.cleaned_data["confirmed"]:
        return _render_status(request, programme, form, confirm_step=step)  # asks first, changes nothing
    try:
        programme_change_status(
            programme=programme,
            to_status=to_status,
            user=request.user,
            reason=form.cleaned_data["reason"],
            actual_end=form.cleaned_data["actual_end"],
        )
    except TransitionNotAllowed as refused:
        add_service_errors(form, refused, STATUS_ERROR_FIELDS)
        confirm = step if step is not None and step.available and step.irreversible else None
        return _render_status(request, programme, form, confirm_step=confirm, status=400)
    messages.success(request, _("Status changed to “%(status)s”.") % {"status": programme.get_status_display()})
    return redirect(programme)


def _render_status(request, programme, form, *, confirm_step=None, status: int = 200) -> HttpResponse:
    context = {"programme": programme, "status_form": form, "confirm_step": confirm_step}
    if programme.approval_road == ApprovalRoad.AGREEMENT and request.user.can_edit_programmes:
        context["agreement_form"] = _agreement_form(programme)
    return render(request, "programmes/programme_status.html", context, status=status)


def _agreement_form(programme: Programme, data=None) -> AgreementForm:
    agreement = programme.recorded_agreement()
    initial = {}
    if agreement is not None:
        initial = {"reference": agreement.reference, "signed_on": agreement.signed_on, "document": agreement.document}
    return AgreementForm(data, initial=initial, programme=programme)


@edit_rights_required
@require_http_methods(["POST"])
def programme_agreement(request: HttpRequest, code: str) -> HttpResponse:
    """Record the signed agreement or donor contract a programme on the agreement road is approved on."""
    programme = get_programme_for_user(request.user, code)
    form = _agreement_form(programme, request.POST)
    if form.is_valid():
        try:
            programme_record_agreement(programme=programme, user=request.user, **form.cleaned_data)
        except ValidationError as refused:
            add_service_errors(
                form, refused, {"reference": "reference", "signed_on": "signed_on", "document": "document"}
            )
        else:
            messages.success(request, _("The signed agreement was recorded."))
            return redirect("programmes:status", programme.code)
    context = {
        "programme": programme,
        "status_form": StatusChangeForm(programme=programme),
        "agreement_form": form,
    }
    return render(request, "programmes/programme_status.html", context, status=400)


@edit_rights_required
@require_safe
def place_search(request: HttpRequest) -> JsonResponse:
    """The location picker's search: `?q=tillab` → places with their P-code and path label."""
    query = request.GET.get("q", "")[:100]
    results = [
        {"pcode": p.pcode, "label": p.label, "level": str(AdminLevel(p.level).label)} for p in find_places(query)
    ]
    return JsonResponse({"results": results})
