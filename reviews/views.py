"""Review pages: proposal and checklist, budget lines, assignment, declaration, review, decision, my tasks."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from programmes.models import Programme, Status
from programmes.rules import row_key
from programmes.views import get_programme_for_user
from reporting.todo import report_tasks

from . import services
from .eligibility import all_pass, eligibility_checklist
from .forms import AssignForm, BudgetLineFormSet, DecisionForm, DeclarationForm, ResubmitForm, ReviewForm, SubmitForm
from .models import (
    PREPARATION_STATUSES,
    BudgetLine,
    Decision,
    Proposal,
    ProposalKind,
    Review,
    ReviewAssignment,
    default_kind,
    reviews_visible,
    roles_of,
)
from .services import Action, proposal_actions


def get_proposal_for_user(user, code: str) -> Proposal:
    """The proposal of this programme if the user has a role on it; otherwise a 404, never a hint."""
    queryset = Proposal.objects.visible_to(user).select_related(
        "programme__primary_sector", "programme__iom_focal_point", "review_manager", "approver"
    )
    return get_object_or_404(queryset, programme__code=code)


def get_assignment_for_reviewer(user, pk: int) -> ReviewAssignment:
    queryset = ReviewAssignment.objects.filter(reviewer=user, declined_at__isnull=True).select_related(
        "proposal__programme__primary_sector", "proposal__programme__iom_focal_point"
    )
    if not user.is_iom_staff:
        raise Http404
    return get_object_or_404(queryset, pk=pk)


def _refuse(form, error: ValidationError) -> None:
    form.add_error(None, error.messages)


def _budget_lines(programme: Programme):
    return BudgetLine.objects.filter(programme=programme)


# --- Proposal page ----------------------------------------------------------------------------


def _proposal_context(request: HttpRequest, programme: Programme, proposal: Proposal | None, **forms) -> dict:
    user = request.user
    is_focal_point = programme.iom_focal_point_id == user.pk
    kind = proposal.kind if proposal else request.GET.get("kind") or default_kind(programme)
    if kind not in ProposalKind.values:
        kind = default_kind(programme)
    actions = proposal_actions(programme, user, proposal=proposal)
    context = {
        "programme": programme,
        "proposal": proposal,
        "kind": kind,
        "kinds": ProposalKind.choices,
        "actions": actions,
    }
    if is_focal_point and programme.status in PREPARATION_STATUSES:
        checklist = eligibility_checklist(programme, kind)
        context.update(checklist=checklist, eligible=all_pass(checklist))
        if actions[Action.SUBMIT]:
            context["submit_form"] = forms.get("submit_form") or SubmitForm(initial={"kind": kind})
        elif programme.status == Status.PIPELINE:
            context["submit_refusal"] = actions[Action.SUBMIT].message
        if actions[Action.RESUBMIT]:
            context["resubmit_form"] = forms.get("resubmit_form") or ResubmitForm()
    context["budget_lines"] = _budget_lines(programme)
    if proposal is not None:
        roles = roles_of(proposal, user)
        context.update(
            roles=roles,
            reviews=reviews_visible(proposal, roles),
            events=proposal.events.select_related("actor", "assignment__reviewer"),
            completed=proposal.completed_review_count(),
        )
        if roles.is_manager or roles.is_approver:
            context["summary"] = proposal.score_summary()
    return context


@login_required
@require_safe
def proposal_detail(request: HttpRequest, code: str) -> HttpResponse:
    programme = get_programme_for_user(request.user, code)
    proposal = Proposal.objects.filter(programme=programme).first()
    if proposal is not None:
        proposal = get_proposal_for_user(request.user, code)
        roles = roles_of(proposal, request.user)
        if roles.only_reviewer and not roles.assignment.has_declared_no_conflict:
            return redirect("reviews:declare", roles.assignment.pk)
    elif programme.iom_focal_point_id != request.user.pk or programme.status != Status.PIPELINE:
        raise Http404
    return render(request, "reviews/proposal.html", _proposal_context(request, programme, proposal))


@login_required
@require_POST
def proposal_submit(request: HttpRequest, code: str) -> HttpResponse:
    programme = get_programme_for_user(request.user, code)
    if programme.iom_focal_point_id != request.user.pk:
        raise Http404
    form = SubmitForm(request.POST)
    if form.is_valid():
        try:
            with transaction.atomic():
                services.proposal_submit(
                    programme=programme,
                    user=request.user,
                    kind=form.cleaned_data["kind"],
                    review_manager=form.cleaned_data["review_manager"],
                    approver=form.cleaned_data["approver"],
                )
        except ValidationError as error:
            _refuse(form, error)
        else:
            messages.success(request, _("The proposal was submitted for review."))
            return redirect("reviews:proposal", programme.code)
    proposal = Proposal.objects.visible_to(request.user).filter(programme=programme).first()
    return render(
        request, "reviews/proposal.html", _proposal_context(request, programme, proposal, submit_form=form), status=400
    )


@login_required
@require_POST
def proposal_resubmit(request: HttpRequest, code: str) -> HttpResponse:
    proposal = get_proposal_for_user(request.user, code)
    form = ResubmitForm(request.POST)
    if form.is_valid():
        try:
            with transaction.atomic():
                services.proposal_resubmit(proposal=proposal, user=request.user, message=form.cleaned_data["message"])
        except ValidationError as error:
            _refuse(form, error)
        else:
            messages.success(request, _("The revised proposal was resubmitted."))
            return redirect("reviews:proposal", code)
    context = _proposal_context(request, proposal.programme, proposal, resubmit_form=form)
    context.setdefault("resubmit_form", form)
    return render(request, "reviews/proposal.html", context, status=400)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def budget_lines(request: HttpRequest, code: str) -> HttpResponse:
    programme = get_programme_for_user(request.user, code)
    if not (programme.iom_focal_point_id == request.user.pk or request.user.can_edit_programmes):
        raise Http404
    if request.method == "POST":
        # Lock the programme row (the request is one transaction) so that a submission running at the
        # same time sees either the old budget or the new one, never a budget changed after its checks.
        programme = Programme.objects.select_for_update(of=("self",)).get(pk=programme.pk)
    editable = programme.status in PREPARATION_STATUSES
    formset = BudgetLineFormSet(request.POST or None, instance=programme, prefix="lines")
    if request.method == "POST":
        if not editable:
            messages.error(request, _("The budget cannot be changed while the proposal is under review or decided."))
            return render(
                request,
                "reviews/budget.html",
                {"programme": programme, "formset": formset, "editable": False},
                status=409,
            )
        if formset.is_valid():
            kept = [f for f in formset.forms if f.has_changed() or f.instance.pk]
            kept = [f for f in kept if f.cleaned_data and not formset._should_delete_form(f)]
            lines = [{"id": f.instance.pk, **{k: f.cleaned_data[k] for k in LINE_FIELDS}} for f in kept]
            delete = [f.instance.pk for f in formset.deleted_forms if f.instance.pk]
            try:
                services.budget_lines_update(programme=programme, user=request.user, lines=lines, delete=delete)
            except ValidationError as refused:
                _show_line_errors(refused, formset, kept)
            else:
                messages.success(request, _("The budget lines were saved."))
                return redirect("reviews:budget", programme.code)
        return render(
            request, "reviews/budget.html", {"programme": programme, "formset": formset, "editable": True}, status=400
        )
    return render(request, "reviews/budget.html", {"programme": programme, "formset": formset, "editable": editable})


LINE_FIELDS = ("category", "description", "amount")


def _show_line_errors(refused: ValidationError, formset, kept: list) -> None:
    """The service's refusal next to the line it names (`lines-<index>-<field>`), or above the lines."""
    errors = refused.message_dict if hasattr(refused, "error_dict") else {"lines": refused.messages}
    for key, messages_ in errors.items():
        found = row_key(key)
        if found and found[1] < len(kept):
            form = kept[found[1]]
            form.add_error(found[2] if found[2] in form.fields else None, messages_)
        else:
            formset.non_form_errors().extend(messages_)


# --- Review manager ---------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def assign_reviewers(request: HttpRequest, code: str) -> HttpResponse:
    proposal = get_proposal_for_user(request.user, code)
    if proposal.review_manager_id != request.user.pk:
        raise Http404
    assignments = proposal.assignments.select_related("reviewer", "review").order_by("round", "assigned_at")
    taken = [a.reviewer_id for a in assignments if a.round == proposal.round]
    exclude = [*taken, proposal.programme.iom_focal_point_id, proposal.approver_id]
    form = AssignForm(request.POST or None, programme=proposal.programme, exclude_ids=exclude)
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():
                services.proposal_assign_reviewer(
                    proposal=proposal,
                    reviewer=form.cleaned_data["reviewer"],
                    user=request.user,
                    due_date=form.cleaned_data["due_date"],
                )
        except ValidationError as error:
            _refuse(form, error)
        else:
            messages.success(request, _("The reviewer was assigned and notified."))
            return redirect("reviews:assign", code)
    context = {"proposal": proposal, "programme": proposal.programme, "assignments": assignments, "form": form}
    context["can_assign"] = proposal_actions(proposal.programme, request.user, proposal=proposal)[Action.ASSIGN]
    return render(request, "reviews/assign.html", context, status=400 if form.errors else 200)


# --- Reviewer ---------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def declare(request: HttpRequest, pk: int) -> HttpResponse:
    assignment = get_assignment_for_reviewer(request.user, pk)
    if assignment.has_declared_no_conflict:
        return redirect("reviews:review", assignment.pk)
    form = DeclarationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():
                if form.cleaned_data["action"] == DeclarationForm.DECLARE:
                    services.review_declare_no_conflict(
                        assignment=assignment, user=request.user, statement=form.statement
                    )
                else:
                    services.review_report_conflict(
                        assignment=assignment, user=request.user, reason=form.cleaned_data["reason"]
                    )
        except ValidationError as error:
            _refuse(form, error)
        else:
            if form.cleaned_data["action"] == DeclarationForm.DECLARE:
                return redirect("reviews:review", assignment.pk)
            messages.info(
                request, _("Your conflict of interest was recorded; the review manager will assign someone else.")
            )
            return redirect("reviews:tasks")
    programme = assignment.proposal.programme
    context = {
        "assignment": assignment,
        "proposal": assignment.proposal,
        "programme": programme,
        "partners": programme.participations.select_related("organisation"),
        "form": form,
    }
    return render(request, "reviews/declare.html", context, status=400 if form.errors else 200)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def review(request: HttpRequest, pk: int) -> HttpResponse:
    assignment = get_assignment_for_reviewer(request.user, pk)
    if not assignment.has_declared_no_conflict:
        return redirect("reviews:declare", assignment.pk)
    proposal = assignment.proposal
    existing = Review.objects.filter(assignment=assignment).first()
    form = ReviewForm(request.POST or None)
    if request.method == "POST" and existing is None and form.is_valid():
        try:
            with transaction.atomic():
                services.review_submit(
                    assignment=assignment,
                    user=request.user,
                    scores=form.scores,
                    comments=form.cleaned_data["comments"],
                    recommendation=form.cleaned_data["recommendation"],
                )
        except ValidationError as error:
            _refuse(form, error)
        else:
            messages.success(request, _("Your review was submitted. You can now read the other reviews."))
            return redirect("reviews:proposal", proposal.programme.code)
    context = {
        "assignment": assignment,
        "proposal": proposal,
        "programme": proposal.programme,
        "budget_lines": _budget_lines(proposal.programme),
        "checklist": eligibility_checklist(proposal.programme, proposal.kind),
        "existing": existing,
        "can_review": proposal_actions(proposal.programme, request.user, proposal=proposal, assignment=assignment)[
            Action.REVIEW
        ],
        "form": form,
    }
    return render(request, "reviews/review_form.html", context, status=400 if form.errors else 200)


# --- Approver ---------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def decide(request: HttpRequest, code: str) -> HttpResponse:
    proposal = get_proposal_for_user(request.user, code)
    if proposal.approver_id != request.user.pk:
        raise Http404
    actions = proposal_actions(proposal.programme, request.user, proposal=proposal)
    choices = {DecisionForm.APPROVE: Action.APPROVE, DecisionForm.REVISE: Action.REQUEST_REVISION}
    choices[DecisionForm.REJECT] = Action.REJECT
    allowed = {choice for choice, action in choices.items() if actions[action]}
    # A posted decision is checked by the service (same message), not hidden by the form's choices.
    form = DecisionForm(request.POST or None, allowed=None if request.method == "POST" else allowed)
    if request.method == "POST" and form.is_valid():
        decision, reason = form.cleaned_data["decision"], form.cleaned_data["reason"]
        try:
            with transaction.atomic():
                if decision == DecisionForm.REVISE:
                    services.proposal_request_revision(proposal=proposal, user=request.user, reason=reason)
                else:
                    chosen = Decision.APPROVED if decision == DecisionForm.APPROVE else Decision.REJECTED
                    services.proposal_decide(proposal=proposal, user=request.user, decision=chosen, reason=reason)
        except ValidationError as error:
            _refuse(form, error)
        else:
            messages.success(request, _("Your decision was recorded and the focal point notified."))
            return redirect("reviews:proposal", code)
    roles = roles_of(proposal, request.user)
    context = {
        "proposal": proposal,
        "programme": proposal.programme,
        "reviews": reviews_visible(proposal, roles),
        "summary": proposal.score_summary(),
        "completed": proposal.completed_review_count(),
        "can_decide": bool(allowed),
        "unavailable": [actions[action] for action in choices.values() if not actions[action]],
        "form": form,
    }
    return render(request, "reviews/decide.html", context, status=400 if form.errors else 200)


# --- My tasks ---------------------------------------------------------------------------------


@login_required
@require_safe
def my_tasks(request: HttpRequest) -> HttpResponse:
    user = request.user
    if not user.is_iom_staff:
        raise Http404
    proposals = Proposal.objects.for_list()
    context = {
        "assignments": ReviewAssignment.objects.for_reviewer(user)
        .pending()
        .filter(proposal__programme__status__in=[Status.SUBMITTED, Status.UNDER_REVIEW])
        .select_related("proposal__programme")
        .order_by("due_date"),
        "to_decide": proposals.awaiting_decision_by(user),
        "to_staff": proposals.needing_reviewers_from(user),
        "revisions": proposals.revision_requested_of(user),
        "today": timezone.localdate(),
    }
    context.update(report_tasks(user))  # results reports to prepare and to validate
    return render(request, "reviews/tasks.html", context)
