"""Partner organisation pages."""

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_safe

from programmes.models import Participation, Programme

from .models import Organisation


@login_required
@require_safe
def organisation_list(request: HttpRequest) -> HttpResponse:
    organisations = Organisation.objects.visible_to(request.user).select_related("parent", "admin_unit")
    page = Paginator(organisations, 50).get_page(request.GET.get("page"))
    return render(request, "partners/organisation_list.html", {"page": page})


@login_required
@require_safe
def organisation_detail(request: HttpRequest, code: str) -> HttpResponse:
    organisation = get_object_or_404(Organisation.objects.visible_to(request.user), code=code)
    participations = (
        Participation.objects.filter(
            organisation=organisation, programme__in=Programme.objects.visible_to(request.user)
        )
        .select_related("programme")
        .order_by("role", "programme__code")
    )
    context = {
        "organisation": organisation,
        "participations": participations,
        "agreements": organisation.agreements.all(),
        "focal_points": organisation.focal_points.all(),
    }
    return render(request, "partners/organisation_detail.html", context)
