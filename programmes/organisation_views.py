"""Programmes by organisation: the pages of partner organisations and their part in programmes."""

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_safe

from partners.models import Organisation, OrganisationCategory

from . import summary
from .models import Participation, Programme, Role

PAGE_SIZE = 50
PROGRAMMES_SHOWN_PER_ROLE = 50


@login_required
@require_safe
def organisation_list(request: HttpRequest) -> HttpResponse:
    organisations = Organisation.objects.visible_to(request.user).select_related("parent").order_by("name_fr", "pk")
    query = request.GET.get("q", "").strip()
    if query:
        organisations = organisations.filter(
            Q(name_fr__icontains=query) | Q(name_en__icontains=query) | Q(acronym__icontains=query)
        )
    category = request.GET.get("category", "")
    if category in OrganisationCategory.values:
        organisations = organisations.filter(category=category)
    page = Paginator(organisations, PAGE_SIZE).get_page(request.GET.get("page"))
    counts = summary.summaries(request.user, "organisations")["organisations"]
    for organisation in page:
        organisation.programme_count = sum(counts.data.get(str(organisation.pk), {}).values())
    params = request.GET.copy()
    params.pop("page", None)
    context = {
        "page": page,
        "query": query,
        "category": category,
        "categories": OrganisationCategory.choices,
        "querystring": params.urlencode(),
    }
    return render(request, "partners/organisation_list.html", context)


@login_required
@require_safe
def organisation_detail(request: HttpRequest, code: str) -> HttpResponse:
    organisation = get_object_or_404(
        Organisation.objects.visible_to(request.user)
        .select_related("parent", "admin_unit")
        .defer("admin_unit__boundary"),
        code=code,
    )
    # Per role, the count (from the scope's summary) and the first programmes; the list links to the rest.
    counts = summary.summaries(request.user, "organisations")["organisations"].data.get(str(organisation.pk), {})
    visible = Programme.objects.visible_to(request.user)
    groups = []
    for role in Role:
        if not counts.get(role.value):
            continue
        shown = list(
            Participation.objects.filter(organisation=organisation, role=role, programme__in=visible)
            .select_related("programme")
            .only("programme__code", "programme__title_fr", "programme__title_en", "programme__status")
            # The most recently recorded first: read backwards on the (organisation, programme) index, 50 rows
            # whatever the organisation's size (ordered by code, PostgreSQL walked up to 10⁵ programmes: 0.24 s).
            .order_by("-programme_id")[:PROGRAMMES_SHOWN_PER_ROLE]
        )
        groups.append({"role": role.label, "code": role.value, "count": counts[role.value], "participations": shown})
    context = {
        "organisation": organisation,
        "is_iom": request.user.is_iom_staff,
        "programmes_by_role": groups,
        "agreements": organisation.agreements.all(),
        "focal_points": organisation.focal_points.all(),
        "children": organisation.children.all() if request.user.is_iom_staff else [],
    }
    return render(request, "partners/organisation_detail.html", context)
