"""The foundation's pages: redirect, health, dashboard, programme list/detail, admin — for every persona."""

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from programmes.models import Programme

from .conftest import make_programme


def test_root_redirects_to_the_french_dashboard_by_default(client, db):
    response = client.get("/")
    assert response.status_code == 302 and response["Location"] == "/fr/"


def test_root_redirects_to_english_for_english_browsers(client, db):
    response = client.get("/", HTTP_ACCEPT_LANGUAGE="en-GB,en;q=0.9")
    assert response["Location"] == "/en/"


def test_anonymous_visitors_are_sent_to_login(client, programme_a):
    for url in ["/fr/", "/fr/programmes/", f"/fr/programmes/{programme_a.code}/", "/fr/partners/", "/fr/regions/"]:
        response = client.get(url)
        assert response.status_code == 302 and "/fr/accounts/login/" in response["Location"], url


def test_login_page_is_in_french_and_english(client, db):
    assert "Connexion" in client.get("/fr/accounts/login/").content.decode()
    assert "Log in" in client.get("/en/accounts/login/").content.decode()


def test_healthz_reports_database_and_broker(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": True, "broker": True}


def test_dashboard_shows_live_figures_in_french(client, staff, programme_a):
    client.force_login(staff)
    html = client.get("/fr/").content.decode()
    assert "Tableau de bord" in html
    assert "programmes actifs" in html
    assert "1,7\xa0M" in html


@pytest.mark.parametrize("persona", ["staff", "partner_a", "partner_b"])
def test_programme_list_shows_each_persona_only_its_programmes(client, request, persona, programme_a, programme_b):
    user = request.getfixturevalue(persona)
    client.force_login(user)
    html = client.get("/fr/programmes/").content.decode()
    expected = {
        "staff": {programme_a.code, programme_b.code},
        "partner_a": {programme_a.code},
        "partner_b": {programme_b.code},
    }[persona]
    for programme in (programme_a, programme_b):
        assert (programme.code in html) == (programme.code in expected), (persona, programme.code)


@pytest.mark.parametrize(("persona", "status"), [("staff", 200), ("partner_a", 200), ("partner_b", 404)])
def test_programme_detail_is_a_404_for_other_organisations(client, request, persona, status, programme_a):
    client.force_login(request.getfixturevalue(persona))
    response = client.get(f"/fr/programmes/{programme_a.code}/")
    assert response.status_code == status
    if status == 404:
        assert programme_a.title_fr not in response.content.decode()


def test_programme_search_ignores_accents_and_case(client, staff, programme_a, programme_b):
    client.force_login(staff)
    html = client.get("/fr/programmes/", {"q": "TILLABERI reintegration"}).content.decode()
    assert programme_a.code in html and programme_b.code not in html


def test_region_page_lists_programmes_of_its_communes(client, staff, programme_a):
    client.force_login(staff)
    html = client.get("/fr/regions/NE006/").content.decode()
    assert programme_a.code in html


def count_queries(client, url: str) -> int:
    cache.clear()  # every page measured cold: reference lists are built by whichever page comes first
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_programme_list_and_dashboard_query_counts_do_not_grow_with_data(client, staff, org_a):
    client.force_login(staff)
    urls = ("/fr/programmes/", "/fr/", "/fr/regions/NE006/")
    for url in urls:  # the first computation of the aggregates inserts their rows (programmes/summary.py)
        count_queries(client, url)
    for _ in range(10):
        make_programme(org_a)
    small = {url: count_queries(client, url) for url in urls}
    for _ in range(90):
        make_programme(org_a)
    large = {url: count_queries(client, url) for url in small}
    assert large == small
    assert Programme.objects.count() >= 100


@pytest.mark.parametrize(("persona", "status"), [("admin_user", 200), ("staff", 200), ("partner_a", 302)])
def test_only_iom_staff_reach_the_admin(client, request, persona, status):
    client.force_login(request.getfixturevalue(persona))
    assert client.get(reverse("admin:index")).status_code == status


def test_admin_programme_changelist_and_change_form_render(client, admin_user, programme_a):
    client.force_login(admin_user)
    assert client.get(reverse("admin:programmes_programme_changelist")).status_code == 200
    assert client.get(reverse("admin:programmes_programme_change", args=[programme_a.pk])).status_code == 200
    assert client.get(reverse("admin:regions_adminunit_changelist") + "?q=Tillab").status_code == 200


def test_list_filters_by_region_find_programmes_in_its_communes(client, staff, programme_a, programme_b):
    client.force_login(staff)
    html = client.get("/fr/programmes/", {"area": "NE006"}).content.decode()
    assert programme_a.code in html and programme_b.code not in html


def test_list_filter_by_partner_offers_partners_only_their_own_organisation(rf, partner_a, org_a, org_b):
    from programmes.filters import ProgrammeFilter
    from programmes.models import Programme

    request = rf.get("/")
    request.user = partner_a
    form = ProgrammeFilter({"partner": org_b.code}, queryset=Programme.objects.all(), request=request).form
    assert not form.is_valid() and "partner" in form.errors
    assert list(form.fields["partner"].queryset) == [org_a]


def test_an_inverted_date_range_is_a_form_error(rf, staff):
    from programmes.filters import ProgrammeFilter
    from programmes.models import Programme

    request = rf.get("/")
    request.user = staff
    form = ProgrammeFilter(
        {"active_from": "2026-01-01", "active_to": "2025-01-01"}, queryset=Programme.objects.all(), request=request
    ).form
    assert not form.is_valid() and "active_to" in form.errors


def test_a_user_with_neither_organisation_nor_staff_status_gets_an_empty_dashboard(client, reference, programme_a):
    from partners.models import User

    client.force_login(User.objects.create_user(username="nobody", password="x"))
    response = client.get("/fr/")
    assert response.status_code == 200
    assert programme_a.code not in response.content.decode()


def test_the_sector_filter_finds_programmes_by_their_secondary_sector_once(client, staff, programme_a, programme_b):
    from programmes.models import Sector

    counter_trafficking = Sector.objects.get(code="CT")
    programme_a.secondary_sectors.add(counter_trafficking, Sector.objects.get(code="MH"))
    client.force_login(staff)
    html = client.get("/fr/programmes/", {"sector": "CT"}).content.decode()
    assert programme_a.code in html and html.count(f">{programme_a.code}<") == 1
    assert (programme_b.code in html) == (programme_b.primary_sector == counter_trafficking)
