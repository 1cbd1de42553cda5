"""Recipient countries and regions: the rule at the services, IDF endorsements, API, lists, reports and imports."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from lxml import etree

from partners.models import OrganisationCategory
from programmes import services
from programmes.models import (
    Document,
    DocumentCategory,
    Participation,
    Programme,
    RecipientCountry,
    Role,
    Scope,
    Sector,
)
from regions.models import Country, Region
from reviews.eligibility import all_pass, eligibility_checklist
from reviews.models import FundRule, ProposalKind

from .api_support import token_client
from .conftest import make_organisation, make_programme

pytest_plugins = ["tests.reviews_support"]


def endorse(programme: Programme, code: str, percentage: Decimal) -> None:
    """`code` becomes a recipient country whose government endorses the programme with a letter."""
    RecipientCountry.objects.create(programme=programme, country_id=code, percentage=percentage)
    ministry = make_organisation(
        f"gov-{code.lower()}-{programme.pk}", category=OrganisationCategory.NATIONAL_GOVERNMENT, country_id=code
    )
    Participation.objects.create(programme=programme, organisation=ministry, role=Role.ENDORSING_AUTHORITY)
    Document.objects.create(
        programme=programme,
        title=f"Lettre d'approbation {code}",
        category=DocumentCategory.ENDORSEMENT_LETTER,
        issuing_organisation=ministry,
        file="documents/test/letter.pdf",
    )


def new_fields(**fields) -> dict:
    return {
        "code": fields.pop("code", "NE-TEST-CTRY-1"),
        "title_fr": "Programme pays",
        "primary_sector": Sector.objects.order_by("order").first(),
        "planned_start": "2026-01-01",
        **fields,
    }


# --- Reference data --------------------------------------------------------------------------------


def test_the_codelists_are_loaded_with_french_and_english_names(reference):
    niger = Country.objects.get(code="NE")
    assert (niger.name_fr, niger.name_en) == ("Niger", "Niger")
    assert Country.objects.get(code="TD").name_fr == "Tchad"
    south = Region.objects.get(code="289")
    assert (south.name_en, south.name_fr) == ("South of Sahara, regional", "Sud du Sahara, régional")
    assert Country.objects.count() > 240 and Region.objects.count() > 20


# --- The rule, at the services -------------------------------------------------------------------


def test_a_national_programme_defaults_to_niger_at_100_percent(staff):
    programme = services.programme_create(user=staff, fields=new_fields())
    assert list(programme.recipient_countries.values_list("country", "percentage")) == [("NE", Decimal("100"))]


def test_a_national_programme_is_refused_a_second_country(staff):
    programme = services.programme_create(user=staff, fields=new_fields())
    with pytest.raises(ValidationError) as refused:
        services.recipients_replace(
            programme=programme,
            user=staff,
            expected_version=programme.version,
            recipient_countries=[{"country": "NE", "percentage": 50}, {"country": "ML", "percentage": 50}],
            recipient_regions=[],
        )
    assert "recipient_countries" in refused.value.message_dict
    assert list(programme.recipient_countries.values_list("country", flat=True)) == ["NE"]


def test_percentages_of_a_kind_add_up_to_100_and_codes_must_exist(staff):
    fields = new_fields(scope=Scope.GLOBAL)
    with pytest.raises(ValidationError) as refused:
        services.programme_create(
            user=staff,
            fields=fields,
            recipient_countries=[{"country": "NE", "percentage": 60}, {"country": "ML", "percentage": 30}],
        )
    assert "90" in refused.value.message_dict["recipient_countries"][0]
    with pytest.raises(ValidationError) as refused:
        services.programme_create(user=staff, fields=fields, recipient_countries=[{"country": "ZZ", "percentage": 100}])
    assert "recipient_countries-0-country" in refused.value.message_dict
    assert not Programme.objects.filter(code=fields["code"]).exists()


def test_a_global_programme_with_three_countries_and_a_region(staff):
    programme = services.programme_create(
        user=staff,
        fields=new_fields(scope=Scope.GLOBAL),
        recipient_countries=[
            {"country": "NE", "percentage": "33.34"},
            {"country": "ML", "percentage": "33.33"},
            {"country": "BF", "percentage": "33.33"},
        ],
        recipient_regions=[{"region": "289", "percentage": 100}],
    )
    assert programme.recipient_countries.count() == 3
    assert programme.recipient_regions.get().region_id == "289"


def test_places_need_niger_among_the_countries(staff, programme_a):
    with pytest.raises(ValidationError) as refused:
        services.programme_update(
            programme=programme_a,
            user=staff,
            expected_version=programme_a.version,
            fields={"scope": Scope.REGIONAL},
            recipient_countries=[{"country": "ML", "percentage": 50}, {"country": "BF", "percentage": 50}],
        )
    assert "locations" in refused.value.message_dict
    services.programme_update(
        programme=programme_a,
        user=staff,
        expected_version=programme_a.version,
        fields={"scope": Scope.REGIONAL},
        recipient_countries=[{"country": "ML", "percentage": 50}, {"country": "BF", "percentage": 50}],
        locations=[],
    )
    assert not programme_a.locations.exists()


def test_a_single_country_is_not_a_regional_programme(staff):
    with pytest.raises(ValidationError) as refused:
        services.programme_create(
            user=staff,
            fields=new_fields(scope=Scope.REGIONAL),
            recipient_countries=[{"country": "ML", "percentage": 100}],
        )
    assert "national" in refused.value.message_dict["recipient_countries"][0]


# --- IDF: endorsing governments of the recipient countries ------------------------------------------


def test_a_global_idf_proposal_with_three_countries_needs_two_endorsing_governments(eligible):
    FundRule.objects.create(
        scope=Scope.GLOBAL, min_usd=Decimal("50000"), max_usd=Decimal("500000"), min_endorsing_governments=2
    )
    Programme.objects.filter(pk=eligible.pk).update(scope=Scope.GLOBAL)
    eligible.refresh_from_db()
    endorse(eligible, "NE", Decimal("40"))
    RecipientCountry.objects.create(programme=eligible, country_id="ML", percentage=Decimal("30"))
    RecipientCountry.objects.create(programme=eligible, country_id="BF", percentage=Decimal("30"))

    items = {item.code: item for item in eligibility_checklist(eligible, ProposalKind.IDF)}
    assert not items["endorsing_governments"].passed
    assert "1" in items["endorsing_governments"].message

    burkina = make_organisation("gov-bf", category=OrganisationCategory.NATIONAL_GOVERNMENT, country_id="BF")
    Document.objects.create(
        programme=eligible,
        title="Lettre BF",
        category=DocumentCategory.ENDORSEMENT_LETTER,
        issuing_organisation=burkina,
        file="documents/test/letter.pdf",
    )
    items = eligibility_checklist(eligible, ProposalKind.IDF)
    assert {item.code: item.passed for item in items}["endorsing_governments"] is True
    assert all_pass(items)


def test_the_number_of_endorsements_is_a_fund_rule_set_in_the_admin(eligible):
    Programme.objects.filter(pk=eligible.pk).update(scope=Scope.REGIONAL)
    eligible.refresh_from_db()
    eligible.recipient_countries.all().delete()
    endorse(eligible, "NE", Decimal("50"))
    RecipientCountry.objects.create(programme=eligible, country_id="ML", percentage=Decimal("50"))
    assert FundRule.objects.get(scope=Scope.REGIONAL).min_endorsing_governments == 2
    items = {item.code: item.passed for item in eligibility_checklist(eligible, ProposalKind.IDF)}
    assert items["endorsing_governments"] is False
    FundRule.objects.filter(scope=Scope.REGIONAL).update(min_endorsing_governments=1)
    items = {item.code: item.passed for item in eligibility_checklist(eligible, ProposalKind.IDF)}
    assert items["endorsing_governments"] is True
    FundRule.objects.filter(scope=Scope.REGIONAL).update(min_endorsing_governments=0)
    items = {item.code: item.passed for item in eligibility_checklist(eligible, ProposalKind.IDF)}
    assert "endorsing_governments" not in items


def test_a_national_idf_proposal_has_no_endorsing_governments_item(eligible):
    items = {item.code for item in eligibility_checklist(eligible, ProposalKind.IDF)}
    assert "endorsing_governments" not in items


# --- API, lists and filters: three personas ---------------------------------------------------------


@pytest.fixture
def sahel(org_a, org_b):
    """A global programme shared with A (Niger, Mali, Burkina Faso; South of Sahara), and one with B (Mali)."""
    shared_a = make_programme(org_a, scope=Scope.GLOBAL, title_fr="Sahel A")
    for code, share in (("NE", "50"), ("ML", "25"), ("BF", "25")):
        RecipientCountry.objects.create(programme=shared_a, country_id=code, percentage=Decimal(share))
    shared_a.recipient_regions.create(region_id="289", percentage=Decimal("100"))
    shared_b = make_programme(org_b, scope=Scope.REGIONAL, title_fr="Sahel B")
    for code in ("ML", "SN"):
        RecipientCountry.objects.create(programme=shared_b, country_id=code, percentage=Decimal("50"))
    national = make_programme(title_fr="Niger seulement")
    RecipientCountry.objects.create(programme=national, country_id="NE", percentage=Decimal("100"))
    return shared_a, shared_b, national


def test_the_api_shows_recipients_and_filters_by_country_and_region(staff, partner_a, partner_b, sahel):
    shared_a, shared_b, _national = sahel
    for user, expected in (
        (staff, {shared_a.code, shared_b.code}),
        (partner_a, {shared_a.code}),
        (partner_b, {shared_b.code}),
    ):
        client = token_client(user, "en")
        found = {row["code"] for row in client.get("/api/v1/programmes/?country=ML").json()["results"]}
        assert found == expected, user
        by_region = {row["code"] for row in client.get("/api/v1/programmes/?region=289").json()["results"]}
        assert by_region == expected & {shared_a.code}
    detail = token_client(partner_a, "en").get(f"/api/v1/programmes/{shared_a.code}/").json()
    assert detail["recipient_countries"][0] == {"country": "NE", "name": "Niger", "percentage": "50.00"}
    assert detail["recipient_regions"] == [
        {"region": "289", "name": "South of Sahara, regional", "percentage": "100.00"}
    ]
    assert token_client(partner_a, "en").get(f"/api/v1/programmes/{shared_b.code}/").status_code == 404
    assert token_client(staff, "en").get("/api/v1/programmes/?country=XX").status_code == 400


def test_the_api_writes_recipients_through_the_services(staff, programme_a):
    client = token_client(staff, "en")
    url = f"/api/v1/programmes/{programme_a.code}/"
    etag = client.get(url)["ETag"]
    body = {
        "scope": "multi_regional",
        "recipient_countries": [{"country": "NE", "percentage": 70}, {"country": "MA", "percentage": 30}],
        "recipient_regions": [{"region": "289", "percentage": 60}, {"region": "189", "percentage": 40}],
    }
    response = client.patch(url, body, format="json", HTTP_IF_MATCH=etag)
    assert response.status_code == 200, response.json()
    assert [r["country"] for r in response.json()["recipient_countries"]] == ["NE", "MA"]
    etag = response["ETag"]
    response = client.patch(
        url, {"recipient_countries": [{"country": "NE", "percentage": 70}]}, format="json", HTTP_IF_MATCH=etag
    )
    assert response.status_code == 400
    assert "recipient_countries" in response.json()["errors"]


def test_the_list_page_filters_by_country_for_each_persona(client, staff, partner_a, partner_b, sahel):
    shared_a, shared_b, national = sahel
    for user, shown, hidden in (
        (staff, [shared_a, shared_b], [national]),
        (partner_a, [shared_a], [shared_b, national]),
        (partner_b, [shared_b], [shared_a, national]),
    ):
        client.force_login(user)
        page = client.get("/en/programmes/?country=ML").content.decode()
        for programme in shown:
            assert programme.code in page, user
        for programme in hidden:
            assert programme.code not in page, user
    client.force_login(staff)
    page = client.get(f"/en/programmes/{shared_a.code}/").content.decode()
    assert "Burkina Faso (25 %)" in page and "South of Sahara, regional (100 %)" in page


# --- Reports -------------------------------------------------------------------------------------------


def _iati(queryset) -> etree._Element:
    from reports.builders.iati import write_iati_xml

    out = io.BytesIO()
    write_iati_xml(queryset, out)
    return etree.fromstring(out.getvalue())


def test_the_iati_export_writes_recipients_with_percentages_and_no_niger_default_for_global(sahel):
    shared_a, _shared_b, national = sahel
    unknown_global = make_programme(scope=Scope.GLOBAL, title_fr="Mondial sans pays")
    root = _iati(Programme.objects.filter(pk__in=[shared_a.pk, unknown_global.pk, national.pk]))
    by_code = {}
    for activity in root.iter("iati-activity"):
        identifier = activity.findtext("iati-identifier")
        code = next(p.code for p in (shared_a, unknown_global, national) if identifier.endswith(p.code))
        by_code[code] = activity
    countries = [(e.get("code"), e.get("percentage")) for e in by_code[shared_a.code].findall("recipient-country")]
    assert countries == [("NE", "50"), ("BF", "25"), ("ML", "25")]
    region = by_code[shared_a.code].find("recipient-region")
    assert (region.get("code"), region.get("vocabulary"), region.get("percentage")) == ("289", "1", "100")
    assert by_code[unknown_global.code].findall("recipient-country") == []
    assert [(e.get("code"), e.get("percentage")) for e in by_code[national.code].findall("recipient-country")] == [
        ("NE", "100")
    ]


def test_the_3w_matrix_stays_in_niger_and_says_so(sahel):
    from openpyxl import load_workbook

    from reports.builders.matrix import matrix_columns, matrix_rows, write_matrix_xlsx

    shared_a, shared_b, national = sahel
    index = [column.tag for column in matrix_columns()].index("#activity+code")
    codes = {row[index] for row in matrix_rows(Programme.objects.all())}
    assert shared_a.code in codes and national.code in codes and shared_b.code not in codes
    out = io.BytesIO()
    write_matrix_xlsx(Programme.objects.all(), out)
    notes = load_workbook(io.BytesIO(out.getvalue())).worksheets[-1]
    assert any("Niger" in str(cell.value) for cell in notes["A"])


def test_the_portfolio_workbook_lists_recipients(sahel):
    from reports.builders.portfolio import portfolio_headers, portfolio_row
    from reports.builders.records import Lookups, iter_programmes

    shared_a, *_ = sahel
    lookups = Lookups.load()
    record = next(iter_programmes(Programme.objects.filter(pk=shared_a.pk), lookups))
    row = dict(zip(portfolio_headers(), portfolio_row(record, lookups), strict=True))
    values = list(row.values())
    assert "Niger (50 %); Burkina Faso (25 %); Mali (25 %)" in values


# --- Imports: recipient-country and recipient-region, round trip through the IATI export -------------

ACTIVITY = """
  <iati-activity xml:lang="en" default-currency="USD">
    <iati-identifier>XM-DAC-47066-{code}</iati-identifier>
    <reporting-org ref="XM-DAC-47066" type="40"><narrative>IOM</narrative></reporting-org>
    <title><narrative>{title}</narrative><narrative xml:lang="fr">{title} (fr)</narrative></title>
    <description type="1"><narrative>Summary.</narrative></description>
    <participating-org ref="XM-DAC-47066" role="2" type="40"><narrative>IOM</narrative></participating-org>
    <activity-status code="2"/>
    <activity-date iso-date="2025-01-01" type="1"/>
    <activity-date iso-date="2026-12-31" type="3"/>
    <activity-scope code="{scope}"/>
    {recipients}
    {locations}
    <sector code="CT" vocabulary="99" vocabulary-uri="https://data.iom.int/codelist/sector.pdf"/>
    <budget status="2" type="1">
      <period-start iso-date="2025-01-01"/><period-end iso-date="2025-12-31"/>
      <value currency="USD" value-date="2025-01-01">500000</value>
    </budget>
  </iati-activity>"""


def activities_file() -> bytes:
    activities = [
        # IOM Mali's national activity: its country, and a place that is not Niger's.
        ACTIVITY.format(
            code="ML.0001",
            title="Mali activity",
            scope="4",
            recipients='<recipient-country code="ML" percentage="100"/>',
            locations="<location><name><narrative>Tillabéri</narrative></name></location>",
        ),
        # Global, percentages adding up to 110: scaled to 100.
        ACTIVITY.format(
            code="GL.0001",
            title="Global activity",
            scope="1",
            recipients='<recipient-country code="NE" percentage="50"/><recipient-country code="ML" percentage="30"/>'
            '<recipient-country code="BF" percentage="30"/>',
            locations="",
        ),
        # Multi-regional: two regions, one without a percentage.
        ACTIVITY.format(
            code="MR.0001",
            title="Multi-regional activity",
            scope="3",
            recipients='<recipient-region code="289" vocabulary="1" percentage="60"/>'
            '<recipient-region code="189" vocabulary="1"/>',
            locations="",
        ),
    ]
    return (
        '<?xml version="1.0" encoding="UTF-8"?><iati-activities version="2.03">'
        + "".join(activities)
        + "</iati-activities>"
    ).encode()


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def test_regional_global_and_other_country_activities_import_and_export_with_their_recipients(media, staff):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from imports.models import ImportStatus
    from imports.services import import_job_confirm, import_job_create

    job = import_job_create(user=staff, upload=SimpleUploadedFile("activities.xml", activities_file()), language="en")
    assert job.status == ImportStatus.PREVIEWED
    preview = {item["code"]: item for item in job.preview}
    assert [item["errors"] for item in preview.values()] == [[], [], []]
    assert any("110" in warning and "100" in warning for warning in preview["GL.0001"]["warnings"])
    assert any("percentage" in warning for warning in preview["MR.0001"]["warnings"])
    changes = {change["field"]: change["new"] for change in preview["GL.0001"]["changes"]}
    assert changes["recipient_countries"] == "BF 27.27 %, ML 27.27 %, NE 45.46 %"

    import_job_confirm(job=job, user=staff, create_organisations=True)
    job.refresh_from_db()
    assert job.status == ImportStatus.APPLIED, job.result

    mali = Programme.objects.get(code="ML.0001")
    assert mali.scope == Scope.NATIONAL
    assert list(mali.recipient_countries.values_list("country", "percentage")) == [("ML", Decimal("100"))]
    assert not mali.locations.exists()
    world = Programme.objects.get(code="GL.0001")
    assert world.scope == Scope.GLOBAL
    assert sum(world.recipient_countries.values_list("percentage", flat=True)) == Decimal("100")
    multi = Programme.objects.get(code="MR.0001")
    assert multi.scope == Scope.MULTI_REGIONAL
    assert dict(multi.recipient_regions.values_list("region", "percentage")) == {
        "289": Decimal("60"),
        "189": Decimal("40"),
    }

    root = _iati(Programme.objects.filter(code__in=["ML.0001", "GL.0001", "MR.0001"]).order_by("code"))
    exported = {
        activity.findtext("iati-identifier").rsplit("-", 1)[-1]: activity for activity in root.iter("iati-activity")
    }
    assert [(e.get("code"), e.get("percentage")) for e in exported["ML.0001"].findall("recipient-country")] == [
        ("ML", "100")
    ]
    assert exported["ML.0001"].find("activity-scope").get("code") == "4"
    assert {e.get("code") for e in exported["GL.0001"].findall("recipient-country")} == {"NE", "ML", "BF"}
    assert exported["GL.0001"].find("activity-scope").get("code") == "1"
    assert exported["MR.0001"].findall("recipient-country") == []
    assert {(e.get("code"), e.get("percentage")) for e in exported["MR.0001"].findall("recipient-region")} == {
        ("289", "60"),
        ("189", "40"),
    }
