"""Pages of Niger's regions, departments and communes."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_safe

from programmes.models import Programme

from .models import AdminUnit, Office


@login_required
@require_safe
def region_list(request: HttpRequest) -> HttpResponse:
    regions = AdminUnit.objects.regions().without_boundary()
    return render(request, "regions/region_list.html", {"regions": regions})


@login_required
@require_safe
def admin_unit_detail(request: HttpRequest, pcode: str) -> HttpResponse:
    unit = get_object_or_404(AdminUnit.objects.without_boundary().select_related("parent__parent"), pcode=pcode)
    programmes = Programme.objects.visible_to(request.user).in_admin_unit(unit).for_list()[:50]
    offices = Office.objects.filter(commune__pcode__startswith=unit.pcode, is_active=True).select_related("commune")
    context = {
        "unit": unit,
        "children": unit.children.without_boundary(),
        "programmes": programmes,
        "offices": offices,
    }
    return render(request, "regions/admin_unit_detail.html", context)
