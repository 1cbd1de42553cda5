"""Obligation pages: a programme's calendar (and waiving), the staff calendar, the overdue board, the .ics feed."""

from __future__ import annotations

from datetime import date, timedelta
from itertools import groupby

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from partners.models import OrganisationCategory, User
from programmes.models import Participation, Role
from programmes.views import get_programme_for_user

from . import ical
from .models import Obligation
from .services import obligation_waive

BOARD_GROUPINGS = ("programme", "partner", "ministry")
CALENDAR_MONTHS = 6


def _staff_only(user) -> None:
    if not user.is_iom_staff:
        raise Http404


@login_required
@require_safe
def programme_calendar(request: HttpRequest, code: str) -> HttpResponse:
    """The programme's whole calendar, for everyone who may see the programme."""
    programme = get_programme_for_user(request.user, code)
    return _programme_page(request, programme)


def _programme_page(request: HttpRequest, programme, *, waive_errors: dict | None = None, status: int = 200):
    today = timezone.localdate()
    obligations = list(Obligation.objects.filter(programme=programme).for_list())
    for obligation in obligations:
        obligation.current_state = obligation.state_on(today)
    context = {
        "programme": programme,
        "obligations": obligations,
        "today": today,
        "can_waive": request.user.can_edit_programmes,
        "is_iom": request.user.is_iom_staff,
        "waive_errors": waive_errors or {},
        "feed_url": feed_url(request, request.user),
    }
    return render(request, "obligations/programme_calendar.html", context, status=status)


@login_required
@require_POST
def waive(request: HttpRequest, pk: int) -> HttpResponse:
    """IOM staff with edit rights waive an open obligation, with a reason."""
    obligation = get_object_or_404(Obligation.objects.visible_to(request.user).select_related("programme"), pk=pk)
    if not request.user.can_edit_programmes:
        raise Http404
    try:
        obligation_waive(obligation=obligation, user=request.user, reason=request.POST.get("reason", ""))
    except ValidationError as refused:
        errors = {"pk": obligation.pk, "messages": refused.messages, "reason": request.POST.get("reason", "")}
        return _programme_page(request, obligation.programme, waive_errors=errors, status=400)
    messages.success(request, _("The obligation is waived; the reason is kept in the programme's history."))
    return redirect("obligations:programme", obligation.programme.code)


@login_required
@require_safe
def staff_calendar(request: HttpRequest) -> HttpResponse:
    """Every open obligation of the coming months, by month (IOM staff)."""
    _staff_only(request.user)
    today = timezone.localdate()
    until = today + timedelta(days=31 * CALENDAR_MONTHS)
    obligations = list(Obligation.objects.open().filter(due_date__lte=until).for_list())
    for obligation in obligations:
        obligation.current_state = obligation.state_on(today)
    months = [
        (month, list(items))
        for month, items in groupby(obligations, key=lambda o: date(o.due_date.year, o.due_date.month, 1))
    ]
    context = {"months": months, "today": today, "until": until, "feed_url": feed_url(request, request.user)}
    return render(request, "obligations/calendar.html", context)


@login_required
@require_safe
def overdue_board(request: HttpRequest) -> HttpResponse:
    """Overdue obligations grouped by programme, by partner or by ministry (IOM staff)."""
    _staff_only(request.user)
    by = request.GET.get("by", "programme")
    if by not in BOARD_GROUPINGS:
        by = "programme"
    today = timezone.localdate()
    overdue = Obligation.objects.overdue(today).for_list()
    if by == "programme":
        groups = [
            (programme, list(items))
            for programme, items in groupby(
                sorted(overdue, key=lambda o: (o.programme.code, o.due_date)), key=lambda o: o.programme
            )
        ]
        groups = [(g.code + " — " + g.title, g.get_absolute_url(), items) for g, items in groups]
    else:
        roles = [Role.GOVERNMENT_COUNTERPART, Role.ENDORSING_AUTHORITY] if by == "ministry" else None
        groups = _by_organisation(list(overdue), roles=roles)
    for _label, _url, items in groups:
        for obligation in items:
            obligation.days_late = (today - obligation.due_date).days
    context = {"groups": groups, "by": by, "groupings": BOARD_GROUPINGS, "today": today}
    return render(request, "obligations/overdue.html", context)


def _by_organisation(obligations: list[Obligation], *, roles) -> list[tuple]:
    """Each organisation taking part (ministries: national government counterparts) with its programmes' overdue items."""
    participations = Participation.objects.filter(programme__in={o.programme_id for o in obligations}).select_related(
        "organisation"
    )
    if roles:
        participations = participations.filter(
            role__in=roles, organisation__category=OrganisationCategory.NATIONAL_GOVERNMENT
        )
    else:
        participations = participations.exclude(role=Role.FUNDING)
    of_programme: dict[int, list] = {}
    for participation in participations:
        of_programme.setdefault(participation.programme_id, []).append(participation.organisation)
    groups: dict[int, tuple] = {}
    for obligation in obligations:
        for organisation in of_programme.get(obligation.programme_id, []):
            group = groups.setdefault(
                organisation.pk, (organisation.short_name, reverse("partners:detail", args=[organisation.code]), [])
            )
            group[2].append(obligation)
    return sorted(groups.values(), key=lambda g: (-len(g[2]), g[0]))


# --- The iCalendar feed -------------------------------------------------------------------------


def feed_token(user) -> str:
    """The private token of the user's feed; changing the password (or deactivating) ends it."""
    return salted_hmac(
        "obligations.ics", f"{user.pk}:{user.password}:{user.is_active}", algorithm="sha256"
    ).hexdigest()[:40]


def feed_url(request: HttpRequest, user) -> str:
    path = reverse("obligations:feed", args=[user.pk, feed_token(user)])
    return request.build_absolute_uri(path)


@require_safe
def feed(request: HttpRequest, uid: int, token: str) -> HttpResponse:
    """The user's deadlines as an iCalendar feed (Outlook, Thunderbird...): no login, the token is the key."""
    user = User.objects.filter(pk=uid, is_active=True).select_related("organisation").first()
    if user is None or not constant_time_compare(token, feed_token(user)):
        raise Http404
    with translation.override(user.preferred_language or settings.LANGUAGE_CODE):
        obligations = Obligation.objects.for_user(user).open().for_list()
        body = ical.calendar(
            obligations,
            stamp=timezone.now(),
            base_url=settings.SITE_URL.rstrip("/"),
            name=_("IOM Niger — obligations"),
            show_people=user.is_iom_staff,
        )
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="obligations.ics"'
    response["Cache-Control"] = "private, no-store"
    return response
