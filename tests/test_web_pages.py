"""Staff web pages (browsing): every persona sees only its programmes, IOM-only data stays IOM-only."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils.html import escape

from partners.models import PartnershipAgreement
from programmes.models import (
    AgeGroup,
    Document,
    DocumentCategory,
    Indicator,
    IndicatorValue,
    Outcome,
    Sector,
    Sex,
    Visibility,
)

from .conftest import make_programme

PERSONAS = ["staff", "partner_a", "partner_b"]


def html_of(client, url: str, **params) -> str:
    response = client.get(url, params)
    assert response.status_code == 200, (url, response.status_code)
    return response.content.decode()


@pytest.fixture
def both(programme_a, programme_b):
    return programme_a, programme_b


# --- Dashboard and map ------------------------------------------------------------------------


@pytest.mark.parametrize(("persona", "active"), [("staff", 2), ("partner_a", 1), ("partner_b", 1)])
def test_dashboard_live_figures_count_only_the_programmes_the_persona_may_see(client, request, persona, active, both):
    client.force_login(request.getfixturevalue(persona))
    html = html_of(client, "/fr/")
    assert f'id="figure-active">{active}<' in html
    assert 'id="chart-sector"' in html and 'id="map-config"' in html
    assert "1,7\xa0M" in html  # headline figure (written the French way), with its source
    assert "Source" in html


@pytest.mark.parametrize(("persona", "tillaberi"), [("staff", 1), ("partner_a", 1), ("partner_b", 0)])
def test_region_layer_counts_only_visible_active_programmes(client, request, persona, tillaberi, both):
    client.force_login(request.getfixturevalue(persona))
    response = client.get(reverse("regions:map_regions"))
    assert response.status_code == 200 and "private" in response["Cache-Control"]
    features = {f["id"]: f for f in response.json()["features"]}
    assert len(features) == 8
    assert features["NE006"]["properties"]["active"] == tillaberi
    assert features["NE006"]["geometry"]["type"] in ("Polygon", "MultiPolygon")


def test_department_layer_is_served_per_region_on_drill_down(client, staff, programme_a):
    client.force_login(staff)
    data = client.get(reverse("regions:map_children", args=["NE006"])).json()
    pcodes = {f["id"] for f in data["features"]}
    assert pcodes and all(p.startswith("NE006") and len(p) == 8 for p in pcodes)
    assert next(f for f in data["features"] if f["id"] == "NE006012")["properties"]["active"] == 1


def test_map_layers_need_a_login_and_unknown_units_are_404(client, staff, reference):
    assert client.get(reverse("regions:map_regions")).status_code == 302
    client.force_login(staff)
    assert client.get(reverse("regions:map_children", args=["NE999"])).status_code == 404
    offices = client.get(reverse("regions:map_offices")).json()["features"]
    assert offices and all(f["geometry"]["type"] == "Point" for f in offices)


def test_map_icons_are_set_from_static_urls(client, staff, reference):
    client.force_login(staff)
    html = html_of(client, "/fr/")
    assert 'data-icon-url="/static/vendor/leaflet-1.9.4/images/marker-icon.png"' in html


# --- Programme list ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query", ["tillaberi", "TILLABÉRI", "reintegration", "réintégration", "Reintegration of migrants"]
)
def test_search_ignores_accents_and_case(client, staff, both, query):
    client.force_login(staff)
    html = html_of(client, "/fr/programmes/", q=query)
    assert both[0].code in html and both[1].code not in html


@pytest.mark.parametrize("area", ["NE006", "NE006012", "NE006012007"])
def test_a_programme_in_a_commune_is_found_by_its_commune_department_and_region(client, staff, both, area):
    client.force_login(staff)
    html = html_of(client, "/fr/programmes/", area=area)
    assert both[0].code in html and both[1].code not in html


def test_area_picker_shows_the_path_of_each_unit(client, staff, reference):
    client.force_login(staff)
    html = html_of(client, "/fr/programmes/", area="NE006012007")
    assert '<option value="NE006012007" selected>Tillabéri › ' in html


def test_filters_by_sector_status_partner_role_and_funder(client, staff, org_a, org_b, both):
    from programmes.models import Participation, Role, Status

    other_sector = Sector.objects.order_by("order")[1]
    funded = make_programme(org_b, primary_sector=other_sector, status=Status.PIPELINE)
    Participation.objects.create(programme=funded, organisation=org_a, role=Role.FUNDING)
    client.force_login(staff)
    assert funded.code in html_of(client, "/fr/programmes/", sector=other_sector.code)
    assert both[0].code not in html_of(client, "/fr/programmes/", sector=other_sector.code)
    assert funded.code in html_of(client, "/fr/programmes/", status="pipeline")
    assert both[0].code not in html_of(client, "/fr/programmes/", status="pipeline")
    html = html_of(client, "/fr/programmes/", funder=org_a.code)
    assert funded.code in html and both[0].code not in html
    html = html_of(client, "/fr/programmes/", partner=org_a.code, role="implementing_partner")
    assert both[0].code in html and funded.code not in html


def test_active_date_range_filter(client, staff, org_a, reference):
    old = make_programme(org_a, planned_start=date(2015, 1, 1), planned_end=date(2016, 1, 1))
    new = make_programme(org_a, planned_start=date(2025, 1, 1), planned_end=date(2026, 1, 1))
    client.force_login(staff)
    html = html_of(client, "/fr/programmes/", active_from="2024-06-01", active_to="2025-06-01")
    assert new.code in html and old.code not in html


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"area": "NE999999"}, "area", "Sélectionnez un choix valide"),
        ({"active_from": "2026-01-01", "active_to": "2025-01-01"}, "active_to", "ne peut pas précéder"),
        ({"active_from": "not-a-date"}, "active_from", "Saisissez une date valide"),
        ({"sector": "NOPE"}, "sector", "Sélectionnez un choix valide"),
    ],
)
def test_invalid_filters_show_a_translated_error_next_to_the_field_and_keep_the_input(
    client, staff, both, params, field, message
):
    client.force_login(staff)
    response = client.get("/fr/programmes/", {"q": "tillaberi", **params})
    html = response.content.decode()
    assert response.status_code == 200
    assert message in html and "is-invalid" in html
    assert 'value="tillaberi"' in html  # nothing the user typed is lost
    assert both[0].code not in html  # no misleading unfiltered list


def test_pagination_keeps_the_filters_in_the_url(client, staff, org_a, reference):
    sector = Sector.objects.order_by("order").first()
    for _ in range(30):
        make_programme(org_a, primary_sector=sector)
    client.force_login(staff)
    html = html_of(client, "/fr/programmes/", sector=sector.code, ordering="code")
    assert "30 programmes" in html
    assert f"?sector={sector.code}&amp;ordering=code&amp;page=2" in html


def test_the_list_sorts_by_the_chosen_order(client, staff, org_a, reference):
    cheap = make_programme(org_a, budget=Decimal("10"))
    dear = make_programme(org_a, budget=Decimal("99999999"))
    client.force_login(staff)
    html = html_of(client, "/fr/programmes/", ordering="-budget")
    assert html.index(dear.code) < html.index(cheap.code)
    html = html_of(client, "/fr/programmes/", ordering="budget")
    assert html.index(cheap.code) < html.index(dear.code)


# --- CSV download -----------------------------------------------------------------------------


def read_csv(response) -> list[dict]:
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert response.streaming
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


@pytest.mark.parametrize("persona", PERSONAS)
def test_csv_contains_only_the_programmes_the_persona_may_see(client, request, persona, both):
    client.force_login(request.getfixturevalue(persona))
    rows = read_csv(client.get(reverse("programmes:csv")))
    codes = {row["code"] for row in rows}
    expected = {
        "staff": {both[0].code, both[1].code},
        "partner_a": {both[0].code},
        "partner_b": {both[1].code},
    }[persona]
    assert codes == expected


def test_csv_uses_the_same_filters_and_lists_partners_by_role_and_pcodes(client, staff, both):
    client.force_login(staff)
    rows = read_csv(client.get(reverse("programmes:csv"), {"q": "tillaberi"}))
    assert [row["code"] for row in rows] == [both[0].code]
    row = rows[0]
    assert row["Partenaire de mise en œuvre"] == "ORGA"
    assert row["lieux (P-codes)"] == "NE006012007"
    assert row["titre (anglais)"] == "Reintegration of migrants in Tillabéri"


def test_csv_with_invalid_filters_is_a_400_with_the_reason(client, staff, reference):
    client.force_login(staff)
    response = client.get(reverse("programmes:csv"), {"area": "NE999"})
    assert response.status_code == 400 and "Sélectionnez un choix valide" in response.content.decode()


def test_csv_neutralises_spreadsheet_formulas(client, staff, org_a):
    make_programme(org_a, title_fr="=HYPERLINK(1)")
    client.force_login(staff)
    rows = read_csv(client.get(reverse("programmes:csv")))
    assert rows[0]["titre (français)"] == "'=HYPERLINK(1)"


# --- Programme detail -------------------------------------------------------------------------


@pytest.fixture
def rich_programme(programme_a, org_a, staff):
    """Programme A with IOM-only notes and document, a shared document and a disaggregated indicator."""
    programme_a.internal_notes = "NOTE-INTERNE-CONFIDENTIELLE"
    programme_a.save()  # audited by django-auditlog like any edit
    Document.objects.create(
        programme=programme_a,
        title="DOC-IOM-ONLY",
        category=DocumentCategory.OTHER,
        visibility=Visibility.IOM_ONLY,
        file="documents/x.pdf",
    )
    Document.objects.create(
        programme=programme_a,
        title="DOC-SHARED",
        category=DocumentCategory.PROGRESS_REPORT,
        visibility=Visibility.PARTNERS,
        file="documents/y.pdf",
    )
    outcome = Outcome.objects.create(programme=programme_a, code="OC1", statement_fr="Résultat un")
    indicator = Indicator.objects.create(
        programme=programme_a, outcome=outcome, code="IND1", name_fr="Migrants assistés", target=Decimal("1000")
    )
    period = {"period_start": date(2025, 1, 1), "period_end": date(2025, 12, 31)}
    IndicatorValue.objects.create(indicator=indicator, target=Decimal("800"), achieved=Decimal("600"), **period)
    IndicatorValue.objects.create(indicator=indicator, sex=Sex.FEMALE, achieved=Decimal("4321"), **period)
    IndicatorValue.objects.create(indicator=indicator, age_group=AgeGroup.CHILDREN, achieved=Decimal("1234"), **period)
    return programme_a


@pytest.mark.parametrize(("persona", "status"), [("staff", 200), ("partner_a", 200), ("partner_b", 404)])
def test_detail_is_a_404_for_other_organisations(client, request, persona, status, rich_programme):
    client.force_login(request.getfixturevalue(persona))
    response = client.get(rich_programme.get_absolute_url())
    assert response.status_code == status
    if status == 404:
        html = response.content.decode()
        assert rich_programme.title_fr not in html and "DOC-SHARED" not in html


@pytest.mark.parametrize(("persona", "iom"), [("staff", True), ("partner_a", False)])
def test_iom_internal_notes_documents_and_disaggregated_cells_render_only_for_iom_staff(
    client, request, persona, iom, rich_programme
):
    client.force_login(request.getfixturevalue(persona))
    html = html_of(client, rich_programme.get_absolute_url())
    assert "DOC-SHARED" in html
    assert "600" in html and "75\u202f%" in html  # period total: achieved 600 of target 800; French spacing
    english = html_of(client, rich_programme.get_absolute_url().replace("/fr/", "/en/", 1))
    assert "75%" in english and "75 %" not in english and "75\u202f%" not in english
    for secrets in (["NOTE-INTERNE-CONFIDENTIELLE"], ["DOC-IOM-ONLY"], ["4321", "4\u202f321", "4 321", "4\xa0321"]):
        assert any(secret in html for secret in secrets) == iom, (persona, secrets)
    assert ("Ventilé (OIM uniquement)" in html) == iom
    assert ("internal-notes" in html) == iom


def test_detail_shows_partners_by_role_locations_map_and_history(client, staff, rich_programme):
    client.force_login(staff)
    html = html_of(client, rich_programme.get_absolute_url())
    assert "Partenaire de mise en œuvre" in html and "ORGA" in html
    assert "Tillabéri › " in html and "NE006012007" in html
    assert "pcode=NE006012007" in html  # the small map draws the programme's units
    assert "Historique des modifications" in html
    assert "Notes internes (OIM uniquement) : — → NOTE-INTERNE-CONFIDENTIELLE" in html  # the audited change


def test_partner_history_hides_changes_to_iom_only_fields(client, partner_a, rich_programme):
    client.force_login(partner_a)
    html = html_of(client, rich_programme.get_absolute_url())
    assert "Historique des modifications" in html
    assert "notes internes" not in html.lower() and "NOTE-INTERNE" not in html


# --- Organisations, regions, sectors ----------------------------------------------------------


@pytest.mark.parametrize(("persona", "status"), [("staff", 200), ("partner_a", 200), ("partner_b", 404)])
def test_organisation_page_of_a_is_a_404_for_partner_b(client, request, persona, status, org_a, both):
    PartnershipAgreement.objects.create(organisation=org_a, title="MoU A", notes="NOTE-ACCORD-OIM")
    client.force_login(request.getfixturevalue(persona))
    response = client.get(reverse("partners:detail", args=[org_a.code]))
    assert response.status_code == status
    if status == 200:
        html = response.content.decode()
        assert both[0].code in html and "MoU A" in html
        assert ("NOTE-ACCORD-OIM" in html) == (persona == "staff")


@pytest.mark.parametrize(("persona", "shown"), [("staff", True), ("partner_a", True), ("partner_b", False)])
def test_organisation_page_shows_the_most_recently_recorded_programmes_of_each_role_first(
    client, request, monkeypatch, org_a, persona, shown
):
    """The first programmes per role are the latest recorded (bounded work whatever the organisation's size)."""
    from programmes import organisation_views

    monkeypatch.setattr(organisation_views, "PROGRAMMES_SHOWN_PER_ROLE", 3)
    codes = [make_programme(org_a, code=f"ORD-{n:02d}").code for n in (5, 1, 4, 2, 3)]
    client.force_login(request.getfixturevalue(persona))
    response = client.get(reverse("partners:detail", args=[org_a.code]))
    if not shown:
        assert response.status_code == 404
        return
    html = response.content.decode()
    listed = [code for code in codes if code in html]
    assert listed == ["ORD-04", "ORD-02", "ORD-03"]  # recorded last: 4, 2, 3 (after 5 and 1)
    assert html.index("ORD-03") < html.index("ORD-02") < html.index("ORD-04")
    assert "récemment" in html


@pytest.mark.parametrize("persona", PERSONAS)
def test_organisation_list_shows_partners_only_their_own_organisation(client, request, persona, both):
    client.force_login(request.getfixturevalue(persona))
    html = html_of(client, reverse("partners:list"))
    assert ("org-a/" in html) == (persona in ("staff", "partner_a"))
    assert ("org-b/" in html) == (persona in ("staff", "partner_b"))


@pytest.mark.parametrize("persona", PERSONAS)
def test_region_pages_list_visible_programmes_of_their_communes(client, request, persona, both):
    client.force_login(request.getfixturevalue(persona))
    for pcode in ("NE006", "NE006012", "NE006012007"):
        html = html_of(client, reverse("regions:detail", args=[pcode]))
        assert (both[0].code in html) == (persona != "partner_b"), (persona, pcode)
        assert both[1].code not in html  # programme B has no location
    assert "Tillabéri" in html_of(client, reverse("regions:list"))


@pytest.mark.parametrize("persona", PERSONAS)
def test_sector_page_lists_visible_programmes_and_guidance(client, request, persona, both):
    sector = both[0].primary_sector
    Document.objects.create(
        sector=sector, title="GUIDE-PARTAGE", category=DocumentCategory.GUIDANCE, visibility="partners", file="d/g.pdf"
    )
    Document.objects.create(
        sector=sector, title="NORME-INTERNE", category=DocumentCategory.STANDARD, visibility="iom_only", file="d/n.pdf"
    )
    client.force_login(request.getfixturevalue(persona))
    html = html_of(client, sector.get_absolute_url())
    assert "GUIDE-PARTAGE" in html
    assert ("NORME-INTERNE" in html) == (persona == "staff")
    assert (both[0].code in html) == (persona != "partner_b")
    assert (both[1].code in html) == (persona != "partner_a")
    assert escape(sector.name_fr) in html_of(client, reverse("programmes:sector_list"))


def test_unknown_pages_are_404(client, staff, reference):
    client.force_login(staff)
    for url in ("/fr/programmes/NOPE-0001/", "/fr/partners/nope/", "/fr/regions/NE999/", "/fr/programmes/sectors/XX/"):
        assert client.get(url).status_code == 404, url


# --- Layout -----------------------------------------------------------------------------------


def test_layout_has_landmarks_skip_link_language_switch_and_navigation(client, staff, reference):
    client.force_login(staff)
    html = html_of(client, "/fr/programmes/")
    for piece in ('<main id="main"', "<header>", "<footer", 'href="#main"', 'name="language" value="en"'):
        assert piece in html
    for label in ("Tableau de bord", "Programmes", "Partenaires", "Régions", "Secteurs", "Administration"):
        assert label in html
    assert 'aria-current="page" href="/fr/programmes/"' in html
    assert 'name="next" type="hidden" value="/en/programmes/"' in html  # the same page, in English


def test_partners_have_no_admin_link(client, partner_a):
    client.force_login(partner_a)
    assert "/admin/" not in html_of(client, "/fr/")


def test_english_pages_are_in_english(client, staff, programme_a):
    client.force_login(staff)
    assert "Dashboard" in html_of(client, "/en/")
    assert "Reintegration of migrants in Tillabéri" in html_of(
        client, programme_a.get_absolute_url().replace("/fr/", "/en/")
    )


def test_budget_by_region_counts_a_programme_once_per_region_and_never_mixes_currencies(org_a, reference):
    from programmes.models import Programme, ProgrammeLocation
    from programmes.stats import active_counts_by_unit, budget_by_region
    from regions.models import AdminUnit

    two_communes = make_programme(org_a, budget=Decimal("100"), currency="USD")
    two_regions = make_programme(org_a, budget=Decimal("10"), currency="EUR")
    units = {u.pcode: u for u in AdminUnit.objects.filter(pcode__in=["NE006012007", "NE006012001", "NE001", "NE006"])}
    for programme, pcodes in ((two_communes, ["NE006012007", "NE006012001"]), (two_regions, ["NE001", "NE006"])):
        for pcode in pcodes:
            ProgrammeLocation.objects.create(programme=programme, admin_unit=units[pcode])
    budget = budget_by_region(Programme.objects.all())
    assert budget["currencies"] == ["USD", "EUR"]
    totals = {row["region"].pcode: row["totals"] for row in budget["rows"]}
    assert totals["NE006"] == [Decimal("100"), Decimal("10")]
    assert totals["NE001"] == [Decimal("0"), Decimal("10")]
    assert active_counts_by_unit(Programme.objects.all(), ["NE001", "NE006"]) == {"NE001": 1, "NE006": 2}


def test_the_chosen_area_stays_selected_in_the_filter_form(client, staff, programme_a):
    client.force_login(staff)
    html = client.get("/fr/programmes/", {"area": "NE006012"}).content.decode()
    assert '<option value="NE006012" selected>' in html
    assert html.count(" selected>") >= 1 and '<option value="NE006" selected>' not in html
