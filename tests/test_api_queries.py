"""The API's list endpoints cost the same number of queries with 10 and with 1,000 programmes."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from programmes.models import Participation, Programme, ProgrammeLocation, Role, Sector
from regions.models import AdminUnit

from . import api_support
from .api_support import add_results

as_persona = api_support.as_persona  # the fixture

ENDPOINTS = [
    "/api/v1/programmes/",
    "/api/v1/programmes/?q=programme&status=active&area=NE006&ordering=-budget",
    "/api/v1/programmes/?partner=org-a&role=implementing_partner",
    "/api/v1/partners/",
    "/api/v1/regions/?level=3",
    "/api/v1/regions/geojson/?level=1",
    "/api/v1/sectors/",
    "/api/v1/key-figures/",
    "/api/v1/key-figures/live/",
]


def add_programmes(count: int, *organisations) -> None:
    """Programmes shared with each organisation, in a commune, with results."""
    sector = Sector.objects.order_by("order").first()
    start = Programme.objects.count()
    programmes = Programme.objects.bulk_create(
        Programme(
            code=f"LOAD-{start + n:05d}",
            title_fr=f"Programme de charge {n}",
            search_text=f"load-{n} programme de charge",
            primary_sector=sector,
            planned_start="2025-01-01",
            status="active",
        )
        for n in range(count)
    )
    commune = AdminUnit.objects.get(pcode="NE006012007")
    Participation.objects.bulk_create(
        Participation(programme=p, organisation=o, role=Role.IMPLEMENTING_PARTNER)
        for p in programmes
        for o in organisations
    )
    ProgrammeLocation.objects.bulk_create(ProgrammeLocation(programme=p, admin_unit=commune) for p in programmes)


def query_counts(client, urls) -> dict[str, int]:
    client.get("/api/v1/sectors/")  # the token's first use writes last_used_at once
    counts = {}
    for url in urls:
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        assert response.status_code == 200, (url, response.content[:200])
        counts[url] = len(queries)
    return counts


@pytest.mark.parametrize("persona", ["staff", "partner_a"])
def test_list_endpoints_cost_the_same_queries_with_10_and_1000_programmes(as_persona, persona, org_a, org_b):
    client = as_persona(persona)
    query_counts(client, ENDPOINTS)  # the live figures' summary is computed once (programmes/summary.py)
    add_programmes(10, org_a, org_b)
    small = query_counts(client, ENDPOINTS)
    add_programmes(990, org_a, org_b)
    assert Programme.objects.count() == 1000
    large = query_counts(client, ENDPOINTS)
    assert small == large
    assert max(large.values()) <= 8


@pytest.mark.parametrize("persona", ["staff", "partner_a"])
def test_programme_detail_costs_the_same_queries_however_many_results(as_persona, persona, programme_a, org_b):
    client = as_persona(persona)
    url = f"/api/v1/programmes/{programme_a.code}/"
    add_results(programme_a)
    small = query_counts(client, [url])
    second = Programme.objects.create(
        code="OTHER-1", title_fr="Autre", primary_sector=programme_a.primary_sector, planned_start="2025-01-01"
    )
    add_results(second).__class__.objects.filter(programme=second).update(programme=programme_a, code="IND2")
    second.outcomes.update(programme=programme_a, code="OC2")
    Participation.objects.create(programme=programme_a, organisation=org_b, role=Role.FUNDING)
    ProgrammeLocation.objects.create(programme=programme_a, admin_unit=AdminUnit.objects.get(pcode="NE001"))
    programme_a.secondary_sectors.set(Sector.objects.all()[:3])
    large = query_counts(client, [url])
    assert small == large


def test_the_fast_list_rendering_matches_the_declared_fields(rf, programme_a, programme_b, staff):
    from rest_framework import serializers
    from rest_framework.request import Request

    from programmes.api import ProgrammeListSerializer

    Programme.objects.filter(pk=programme_b.pk).update(planned_end=None, title_en="")
    request = Request(rf.get("/api/v1/programmes/"))
    request.user = staff
    programmes = list(Programme.objects.for_list().filter(pk__in=[programme_a.pk, programme_b.pk]))
    fast = ProgrammeListSerializer(programmes, many=True, context={"request": request}).data
    generic = [
        serializers.ModelSerializer.to_representation(ProgrammeListSerializer(context={"request": request}), p)
        for p in programmes
    ]
    assert [dict(row) for row in fast] == [dict(row) for row in generic]


@pytest.mark.parametrize("persona", ["staff", "partner_a"])
@pytest.mark.parametrize("language", ["fr", "en"])
def test_the_fast_detail_rendering_matches_the_declared_fields(rf, request, persona, language, programme_a, org_b):
    """`ProgrammeSerializer.to_representation` (built directly) gives what DRF's declared fields give: nested
    results with a suppressed cell for partners, empty and null values, recipients, places, IOM-only fields."""
    from django.utils import translation
    from rest_framework import serializers
    from rest_framework.request import Request

    from programmes.api import DETAIL_PREFETCH, ProgrammeSerializer
    from regions.models import Country

    indicator = add_results(programme_a)
    indicator.reporting_partner = org_b
    indicator.baseline_year = 2024
    indicator.save()
    Participation.objects.create(
        programme=programme_a, organisation=org_b, role=Role.FUNDING, contribution=Decimal("1234.5")
    )
    ProgrammeLocation.objects.create(programme=programme_a, admin_unit=AdminUnit.objects.get(pcode="NE001"))
    programme_a.secondary_sectors.set(Sector.objects.exclude(pk=programme_a.primary_sector_id)[:2])
    programme_a.recipient_countries.all().delete()
    programme_a.recipient_countries.create(country=Country.objects.get(code="NE"), percentage=Decimal("60"))
    programme_a.recipient_countries.create(country=Country.objects.get(code="ML"), percentage=Decimal("40.5"))
    Programme.objects.filter(pk=programme_a.pk).update(planned_end=None, title_en="", internal_notes="Note")
    user = request.getfixturevalue(persona)
    with translation.override(language):
        drf_request = Request(rf.get(f"/api/v1/programmes/{programme_a.code}/"))
        drf_request.user = user
        programme = (
            Programme.objects.select_related("primary_sector", "iom_focal_point")
            .prefetch_related(*DETAIL_PREFETCH)
            .get(pk=programme_a.pk)
        )
        fast = ProgrammeSerializer(programme, context={"request": drf_request}).data
        generic = serializers.ModelSerializer.to_representation(
            ProgrammeSerializer(context={"request": drf_request}), programme
        )
    assert dict(fast) == dict(generic)
    assert list(fast) == list(generic)  # the same keys in the same order
    assert ("internal_notes" in fast) == (persona == "staff")
    if persona == "partner_a":
        assert any(v["suppressed"] for v in fast["indicators"][0]["values"])
