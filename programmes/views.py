"""Programme and sector pages."""

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_safe

from .filters import ProgrammeFilter
from .models import Document, Participation, Programme, ProgrammeLocation, Sector


def get_programme_for_user(user, code: str) -> Programme:
    """The programme with this code if the user may see it; otherwise a 404, never a hint."""
    queryset = Programme.objects.visible_to(user).select_related("primary_sector", "iom_focal_point")
    return get_object_or_404(queryset, code=code)


@login_required
@require_safe
def programme_list(request: HttpRequest) -> HttpResponse:
    filterset = ProgrammeFilter(
        request.GET, queryset=Programme.objects.visible_to(request.user).for_list(), request=request
    )
    page = Paginator(filterset.qs, 25).get_page(request.GET.get("page"))
    query = request.GET.get("q", "").strip()
    return render(request, "programmes/programme_list.html", {"page": page, "query": query, "filter": filterset})


@login_required
@require_safe
def programme_detail(request: HttpRequest, code: str) -> HttpResponse:
    programme = get_programme_for_user(request.user, code)
    participations = Participation.objects.filter(programme=programme).select_related("organisation")
    locations = ProgrammeLocation.objects.filter(programme=programme).select_related("admin_unit__parent__parent")
    documents = Document.objects.visible_to(request.user).filter(programme=programme)
    context = {
        "programme": programme,
        "secondary_sectors": programme.secondary_sectors.all(),
        "participations": participations,
        "locations": locations,
        "documents": documents,
        "outcomes": programme.outcomes.prefetch_related(Prefetch("indicators"), Prefetch("outputs__indicators")),
    }
    return render(request, "programmes/programme_detail.html", context)


@login_required
@require_safe
def sector_list(request: HttpRequest) -> HttpResponse:
    return render(request, "programmes/sector_list.html", {"sectors": Sector.objects.all()})


@login_required
@require_safe
def sector_detail(request: HttpRequest, code: str) -> HttpResponse:
    sector = Sector.objects.filter(code=code).first()
    if sector is None:
        raise Http404
    programmes = Programme.objects.visible_to(request.user).in_sector(sector).for_list()[:50]
    context = {
        "sector": sector,
        "programmes": programmes,
        "documents": Document.objects.visible_to(request.user).filter(sector=sector),
        "key_figures": sector.key_figures.filter(is_published=True),
    }
    return render(request, "programmes/sector_detail.html", context)
