"""The programme's money page: transactions recorded by IOM staff, and spent against budget."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from . import services
from .editing import add_service_errors, edit_rights_required
from .forms import TransactionForm
from .models import Transaction
from .money import RateTable, spending, to_usd
from .views import get_programme_for_user

FIELDS = {name: name for name in services.TRANSACTION_FIELDS}


def _record(programme, pk: int) -> Transaction:
    record = Transaction.objects.filter(programme=programme, pk=pk).first()
    if record is None:
        raise Http404
    return record


def _page(request: HttpRequest, programme, form: TransactionForm, *, editing: Transaction | None = None, status=200):
    table = RateTable.load()
    rows = []
    for record in programme.transactions.select_related("provider", "receiver"):
        usd, used = to_usd(record.value, record.currency, record.date, table)
        rows.append({"record": record, "usd": usd, "rate": used})
    context = {
        "programme": programme,
        "rows": rows,
        "form": form,
        "editing": editing,
        "spending": spending([programme], table)[programme.pk],
    }
    return render(request, "programmes/programme_transactions.html", context, status=status)


def _save(request: HttpRequest, programme, form: TransactionForm, record: Transaction | None) -> bool:
    if not form.is_valid():
        return False
    try:
        if record is None:
            services.transaction_add(programme=programme, user=request.user, fields=form.service_fields())
        else:
            services.transaction_update(record=record, user=request.user, fields=form.service_fields())
    except ValidationError as refused:
        add_service_errors(form, refused, FIELDS)
        return False
    return True


@edit_rights_required
@require_http_methods(["GET", "HEAD", "POST"])
def programme_transactions(request: HttpRequest, code: str) -> HttpResponse:
    """The list of transactions with a form to record one more."""
    programme = get_programme_for_user(request.user, code)
    if request.method != "POST":
        return _page(request, programme, TransactionForm(initial={"currency": programme.currency}))
    form = TransactionForm(request.POST)
    if _save(request, programme, form, None):
        messages.success(request, _("The transaction was recorded."))
        return redirect("programmes:transactions", programme.code)
    return _page(request, programme, form, status=400)


@edit_rights_required
@require_http_methods(["GET", "HEAD", "POST"])
def transaction_edit(request: HttpRequest, code: str, pk: int) -> HttpResponse:
    programme = get_programme_for_user(request.user, code)
    record = _record(programme, pk)
    if request.method != "POST":
        return _page(request, programme, TransactionForm(instance=record), editing=record)
    form = TransactionForm(request.POST, instance=record)
    if _save(request, programme, form, record):
        messages.success(request, _("The transaction was corrected."))
        return redirect("programmes:transactions", programme.code)
    return _page(request, programme, form, editing=record, status=400)


@edit_rights_required
@require_POST
def transaction_delete(request: HttpRequest, code: str, pk: int) -> HttpResponse:
    programme = get_programme_for_user(request.user, code)
    record = _record(programme, pk)
    try:
        services.transaction_delete(record=record, user=request.user)
    except ValidationError as refused:
        for message in refused.messages:
            messages.error(request, message)
    else:
        messages.success(request, _("The transaction was deleted."))
    return redirect("programmes:transactions", programme.code)
