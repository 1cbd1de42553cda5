"""Speed on slow links: query counts that do not grow with the data, and page weight budgets."""

from __future__ import annotations

import gzip
import itertools
import math
import re
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from programmes.models import (
    Indicator,
    IndicatorValue,
    Outcome,
    Participation,
    Programme,
    ProgrammeLocation,
    Role,
    Sector,
    Status,
)
from programmes.summary import programmes_changed
from regions.models import AdminUnit
from reports.views import CSV_CHUNK

from .conftest import make_programme

_batch = itertools.count(1)


def bulk_programmes(n: int, organisation, sector: Sector) -> None:
    """`n` active programmes of `organisation`, each in a commune of Tillabéri, with one indicator."""
    batch = next(_batch)
    commune = AdminUnit.objects.get(pcode="NE006012007")
    programmes = []
    for i in range(n):
        programme = Programme(
            code=f"BULK-{batch:02d}-{i:05d}",
            title_fr=f"Programme de masse {i}",
            title_en=f"Bulk programme {i}",
            primary_sector=sector,
            planned_start=date(2024, 1, 1),
            planned_end=date(2027, 1, 1),
            budget=Decimal("1000"),
            status=Status.ACTIVE,
        )
        programme.search_text = programme.build_search_text()
        programme.place_codes = " NE006 NE006012 NE006012007 "
        programmes.append(programme)
    Programme.objects.bulk_create(programmes, batch_size=500)
    Participation.objects.bulk_create(
        [Participation(programme=p, organisation=organisation, role=Role.IMPLEMENTING_PARTNER) for p in programmes]
    )
    ProgrammeLocation.objects.bulk_create([ProgrammeLocation(programme=p, admin_unit=commune) for p in programmes])
    indicators = Indicator.objects.bulk_create(
        [
            Indicator(programme=p, code="IND1", name_fr="Migrants assistés", key_indicator="migrants_assisted")
            for p in programmes
        ]
    )
    IndicatorValue.objects.bulk_create(
        [
            IndicatorValue(
                indicator=ind, period_start=date(2025, 1, 1), period_end=date(2025, 12, 31), achieved=Decimal(5)
            )
            for ind in indicators
        ]
    )
    programmes_changed()  # as the services do: the pages' summaries are recomputed on their next read


def count_queries(client, url: str) -> int:
    cache.clear()  # every page measured cold: reference lists are built by whichever page comes first
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
        assert response.status_code == 200, url
        if response.streaming:
            b"".join(response.streaming_content)
    return len(queries)


@pytest.fixture
def detailed(programme_a):
    outcome = Outcome.objects.create(programme=programme_a, code="OC1", statement_fr="Résultat")
    indicator = Indicator.objects.create(programme=programme_a, outcome=outcome, code="I1", name_fr="Indicateur")
    IndicatorValue.objects.create(
        indicator=indicator, period_start=date(2025, 1, 1), period_end=date(2025, 12, 31), achieved=Decimal(3)
    )
    return programme_a


@pytest.mark.parametrize("persona", ["staff", "partner_a"])
def test_query_counts_are_the_same_with_10_and_1000_programmes(client, request, persona, org_a, detailed):
    client.force_login(request.getfixturevalue(persona))
    sector = detailed.primary_sector
    urls = [
        "/fr/",
        "/fr/programmes/",
        "/fr/programmes/?q=programme&area=NE006&sector=" + sector.code,
        "/fr/programmes/?area=NE006&sector=" + sector.code,
        "/fr/programmes/?q=tillaberi",
        "/fr/programmes/?ordering=-budget",
        "/fr/programmes/?q=masse&page=2",
        detailed.get_absolute_url(),
        "/fr/programmes/export.csv",
        f"/fr/partners/{org_a.code}/",
        "/fr/partners/",
        "/fr/regions/",
        "/fr/regions/NE006/",
        "/fr/regions/NE006012007/",
        sector.get_absolute_url(),
        "/fr/programmes/sectors/",
        "/fr/regions/map/regions.geojson",
        "/fr/regions/map/NE006/children.geojson",
    ]
    visible = Programme.objects.visible_to(request.getfixturevalue(persona))
    # Warm the per-process reference caches (the place list) first, so that the outcome does not
    # depend on whether an earlier test in this process already filled them.
    for url in urls:
        count_queries(client, url)
    bulk_programmes(10, org_a, sector)
    small = {url: count_queries(client, url) for url in urls}
    small_chunks = math.ceil(visible.count() / CSV_CHUNK)
    bulk_programmes(990, org_a, sector)
    large = {url: count_queries(client, url) for url in urls}
    large_chunks = math.ceil(visible.count() / CSV_CHUNK)
    assert visible.count() >= 1000
    # The CSV reads partners, places, recipient countries, recipient regions and secondary sectors once per
    # chunk of rows (5 queries), never per programme.
    large["/fr/programmes/export.csv"] -= 5 * (large_chunks - small_chunks)
    assert large == small


# --- Page weight ------------------------------------------------------------------------------

STATIC_REF = re.compile(r'(?:src|href|data-[a-z-]+-url)="(/static/[^"]+)"')


def gzip_size(data: bytes) -> int:
    return len(gzip.compress(data, compresslevel=6))


def static_bytes(url: str) -> bytes:
    path = finders.find(url.removeprefix("/static/"))
    assert path, url
    return Path(path).read_bytes()


def test_dashboard_first_load_is_at_most_250_kb_compressed(client, staff, programme_a):
    client.force_login(staff)
    html = client.get("/fr/").content
    assets = sorted(set(STATIC_REF.findall(html.decode())))
    assert any("leaflet.js" in a for a in assets)
    total = gzip_size(html) + sum(gzip_size(static_bytes(a)) for a in assets)
    # What the map fetches on first load: the regions layer and the offices.
    for layer in ("/fr/regions/map/regions.geojson", "/fr/regions/map/offices.geojson"):
        total += gzip_size(client.get(layer).content)
    print(f"dashboard first load: {total} bytes gzip over {len(assets)} assets")
    assert total <= 250 * 1024, total


def test_programme_list_html_is_at_most_80_kb_for_25_rows(client, staff, org_a, reference):
    for _ in range(30):
        make_programme(
            org_a,
            title_fr="Retour volontaire et réintégration durable des migrants à Tillabéri",
            title_en="Voluntary return and sustainable reintegration of migrants in Tillabéri",
        )
    client.force_login(staff)
    html = client.get("/fr/programmes/").content
    assert html.count(b'<tr>\n      <td class="text-nowrap" data-label="Code"><a href="/fr/programmes/') == 25
    print(f"list page: {len(html)} bytes for 25 rows")
    assert len(html) <= 80 * 1024, len(html)


@pytest.mark.parametrize("path", ["/static/vendor/leaflet-1.9.4/leaflet.js", "/static/css/portal.css"])
def test_static_files_are_served_compressed_without_collectstatic(client, path):
    """What `make run` does (no collectstatic, no hashed copies): WhiteNoise serves, GZip compresses."""
    response = client.get(path, HTTP_ACCEPT_ENCODING="gzip, deflate, br")
    assert response.status_code == 200
    assert response["Content-Encoding"] == "gzip"
    body = gzip.decompress(b"".join(response.streaming_content))
    assert body == static_bytes(path)


def test_the_site_root_answers_favicon_ico(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 200 and response["Content-Type"] == "image/x-icon"
