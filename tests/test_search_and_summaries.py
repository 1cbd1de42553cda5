"""Search as people type it (places at every level, partners, sectors, indicators), the place codes the region
filter reads, the per-scope summaries behind the dashboard and place pages, and the list's capped count."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.core.management import call_command

from programmes import services, summary
from programmes.models import Indicator, Programme, Role, Status, Summary, SummaryCounter
from programmes.views import ListPaginator
from regions.models import AdminUnit

from .conftest import make_organisation, make_programme
from .test_web_pages import html_of

TILLABERI_COMMUNE = "NE006012007"


@pytest.fixture
def located(programme_a, programme_b, staff):
    """Programme A (org A) in a commune of Tillabéri with a funder and an indicator; B (org B) in Agadez."""
    donor = make_organisation("donor-x", acronym="ANLTP", name_fr="Agence nationale de lutte contre la traite")
    services.participations_replace(
        programme=programme_a,
        user=staff,
        expected_version=programme_a.version,
        participations=[
            {"organisation": programme_a.participations.get().organisation, "role": Role.IMPLEMENTING_PARTNER},
            {"organisation": donor, "role": Role.FUNDING, "contribution": Decimal("10")},
        ],
    )
    services.locations_replace(
        programme=programme_a,
        user=staff,
        expected_version=programme_a.version,
        locations=[AdminUnit.objects.get(pcode=TILLABERI_COMMUNE)],
    )
    services.locations_replace(
        programme=programme_b,
        user=staff,
        expected_version=programme_b.version,
        locations=[AdminUnit.objects.get(pcode="NE001")],
    )
    Indicator.objects.create(programme=programme_a, code="I1", name_fr="Ménages bénéficiaires d'un abri")
    return programme_a, programme_b


@pytest.mark.parametrize(
    "query",
    [
        "tillaberi",
        "Tillabéri",
        "TILLABERI",
        "NE006",
        "ne006012",
        "anltp",
        "ANLTP",
        "lutte contre la traite",
        "menages abri",
    ],
)
def test_search_finds_a_programme_by_place_partner_and_indicator(client, staff, located, query):
    a, b = located
    Programme.objects.filter(pk=a.pk).update(title_fr="Programme A", title_en="Programme A")  # not by its title
    a.refresh_from_db()
    services.programme_update(programme=a, user=staff, expected_version=a.version, fields={"title_fr": "Programme A"})
    client.force_login(staff)
    html = html_of(client, "/fr/programmes/", q=query)
    assert a.code in html and b.code not in html


def test_search_finds_by_sector_name_and_region_of_the_other_programme(client, staff, located):
    a, b = located
    client.force_login(staff)
    html = html_of(client, "/fr/programmes/", q="agadez")
    assert b.code in html and a.code not in html
    sector_word = a.primary_sector.name_fr.split()[0]
    html = html_of(client, "/fr/programmes/", q=sector_word)
    assert a.code in html


def test_a_partner_searching_finds_only_its_own_programmes(client, partner_b, located):
    a, b = located
    client.force_login(partner_b)
    assert a.code not in html_of(client, "/fr/programmes/", q="tillaberi")
    assert b.code in html_of(client, "/fr/programmes/", q="agadez")


def test_best_matches_come_first(client, staff, located, org_a):
    a, _b = located
    titled = make_programme(org_a, title_fr="Tillabéri : abris d'urgence", planned_start=date(2020, 1, 1))
    client.force_login(staff)
    html = html_of(client, "/fr/programmes/", q="tillaberi")
    # The older programme named after the place in its title comes before the one that only works there.
    assert html.index(titled.code) < html.index(a.code)
    # A chosen order wins over the ranking.
    html = html_of(client, "/fr/programmes/", q="tillaberi", ordering="-start")
    assert html.index(a.code) < html.index(titled.code)


def test_the_place_codes_follow_the_locations_and_the_region_filter_reads_them(client, staff, located):
    a, b = located
    a.refresh_from_db()
    assert a.place_codes == " NE006 NE006012 NE006012007 "
    client.force_login(staff)
    assert a.code in html_of(client, "/fr/programmes/", area="NE006")
    services.locations_replace(
        programme=a, user=staff, expected_version=a.version, locations=[AdminUnit.objects.get(pcode="NE001")]
    )
    html = html_of(client, "/fr/programmes/", area="NE006")
    assert a.code not in html
    assert a.code in html_of(client, "/fr/programmes/", area="NE001") and b.code in html_of(
        client, "/fr/programmes/", area="NE001"
    )
    a.refresh_from_db()
    assert a.place_codes == " NE001 " and "agadez" in a.search_text


def test_rebuild_search_text_restores_every_programme(client, staff, located):
    a, _b = located
    Programme.objects.update(search_text="", place_codes="")
    call_command("rebuild_search_text", verbosity=0)
    a.refresh_from_db()
    assert "tillaberi" in a.search_text and "anltp" in a.search_text and a.place_codes.strip()
    client.force_login(staff)
    assert a.code in html_of(client, "/fr/programmes/", q="tillaberi", area="NE006")


# --- Summaries ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("persona", "before", "after"), [("staff", 2, 1), ("partner_a", 1, 0), ("partner_b", 1, 1)])
def test_the_dashboard_figures_change_after_an_edit_and_say_when_they_were_computed(
    client, request, persona, before, after, located, staff
):
    a, _b = located
    client.force_login(request.getfixturevalue(persona))
    html = html_of(client, "/fr/")
    assert f'id="figure-active">{before}<' in html and "data-computed-at=" in html
    seen = Summary.objects.get(scope=summary.scope_of(request.getfixturevalue(persona)), part="dashboard")
    html_of(client, "/fr/")  # unchanged: read as stored
    assert Summary.objects.get(pk=seen.pk).computed_at == seen.computed_at
    services.programme_change_status(programme=a, to_status=Status.SUSPENDED, user=staff, reason="Insécurité")
    html = html_of(client, "/fr/")
    assert f'id="figure-active">{after}<' in html
    assert Summary.objects.get(pk=seen.pk).changes_seen > seen.changes_seen


def test_place_pages_and_map_counts_follow_the_locations(client, staff, located):
    a, _b = located
    client.force_login(staff)
    assert client.get("/fr/regions/map/regions.geojson").json()["features"][5]["properties"]["active"] == 1
    services.locations_replace(
        programme=a, user=staff, expected_version=a.version, locations=[AdminUnit.objects.get(pcode="NE001")]
    )
    features = {
        f["properties"]["pcode"]: f["properties"]["active"]
        for f in client.get("/fr/regions/map/regions.geojson").json()["features"]
    }
    assert features["NE006"] == 0 and features["NE001"] == 2


def test_writes_update_one_counter_row_and_summaries_stay_one_per_scope_and_part(client, staff, partner_a, located):
    a, _b = located
    for c, user in ((client, staff), (client, partner_a)):
        c.force_login(user)
        html_of(c, "/fr/")
        html_of(c, "/fr/programmes/sectors/")
    rows = Summary.objects.count()
    for n in range(5):
        a.refresh_from_db()
        services.programme_update(
            programme=a, user=staff, expected_version=a.version, fields={"budget": Decimal(100 + n)}
        )
    assert SummaryCounter.objects.count() == 1
    html_of(client, "/fr/")
    assert Summary.objects.count() == rows


# --- Counts not computed exactly when nobody needs them --------------------------------------------


def test_a_long_filtered_list_says_more_than_n_and_still_pages_on(client, staff, org_a, monkeypatch):
    monkeypatch.setattr(ListPaginator, "COUNT_UP_TO", 3)
    monkeypatch.setattr("programmes.views.PAGE_SIZE", 2)
    for _ in range(9):
        make_programme(org_a, title_fr="Abri d'urgence")
    client.force_login(staff)
    html = html_of(client, "/fr/programmes/", q="abri")
    assert "Plus de 4 programmes" in html and "Dernière" not in html and "Page 1<" in html
    html = html_of(client, "/fr/programmes/", q="abri", page=4)  # counts up to the rows after page 4
    assert "9 programmes" in html and "Plus de 4" not in html
    # Unfiltered: the exact total, from the summary.
    html = html_of(client, "/fr/programmes/")
    assert "9 programmes" in html and "Page 1 sur 5" in html
