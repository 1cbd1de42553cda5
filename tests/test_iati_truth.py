"""The IATI file says only what is true (issue 12): what IOM publishes, each organisation's real role and
identifier, a scope the places support, funds as transactions, bilingual places with a point inside them,
and what cannot be published truthfully reported rather than invented or silently dropped."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from lxml import etree
from shapely.geometry import Point, shape

from partners.models import Organisation, OrganisationCategory
from programmes.models import (
    IATI_ORGANISATION_ROLE,
    Indicator,
    IndicatorValue,
    Participation,
    Programme,
    ProgrammeAgreement,
    ProgrammeLocation,
    ProgrammeStatusChange,
    Role,
    Scope,
    Status,
    Transaction,
    TransactionKind,
)
from programmes.services import programme_update
from regions.models import AdminUnit
from reports.builders import iati
from reports.models import ReportType

from .conftest import make_organisation, make_programme
from .test_reports_jobs import eager_celery, media_root, run_job  # noqa: F401 — shared fixtures

CODELISTS = settings.BASE_DIR / "reports" / "data" / "iati" / "codelists" / "csv"  # shipped copy (README there)
SCHEMA = settings.BASE_DIR / "reports" / "data" / "iati" / "schema-2.03" / "iati-activities-schema.xsd"
XML = {"xml": "http://www.w3.org/XML/1998/namespace"}


def build(queryset=None, **kwargs) -> tuple[etree._ElementTree, list[dict], list[str]]:
    """The IATI file of the queryset (all programmes by default), validated against the XSD."""
    out, notes = io.BytesIO(), []
    _count, problems = iati.write_iati_xml(
        queryset if queryset is not None else Programme.objects.all(), out, notes=notes, **kwargs
    )
    document = etree.parse(io.BytesIO(out.getvalue()))
    schema = etree.XMLSchema(etree.parse(str(SCHEMA)))
    assert schema.validate(document), schema.error_log
    return document, problems, notes


def activity(document, programme: Programme):
    found = document.xpath(
        "//iati-activity[iati-identifier=$id]", id=f"{settings.IATI_ORGANISATION_PREFIX}-{programme.code}"
    )
    return found[0] if found else None


def errors_of(problems: list[dict], programme: Programme) -> list[str]:
    wanted = f"{settings.IATI_ORGANISATION_PREFIX}-{programme.code}"
    return [e for p in problems if p["activity"] == wanted for e in p["errors"]]


# --- What IOM publishes ----------------------------------------------------------------------------


def test_only_approved_and_later_programmes_are_published_and_the_file_says_what_was_left_out(org_a):
    published = {s: make_programme(org_a, status=s) for s in (Status.APPROVED, Status.ACTIVE, Status.CLOSED)}
    Programme.objects.filter(pk=published[Status.CLOSED].pk).update(actual_end=date(2025, 12, 31))
    internal = {
        s: make_programme(org_a, status=s)
        for s in (Status.PIPELINE, Status.SUBMITTED, Status.UNDER_REVIEW, Status.REVISION_REQUESTED, Status.REJECTED)
    }
    cancelled_proposal = make_programme(org_a, status=Status.CANCELLED)
    cancelled_after_approval = make_programme(org_a, status=Status.CANCELLED)
    ProgrammeStatusChange.objects.create(
        programme=cancelled_after_approval, from_status=Status.PIPELINE, to_status=Status.APPROVED
    )
    kept_out = make_programme(
        org_a, status=Status.ACTIVE, iati_publish=False, iati_exclusion_reason="Accord confidentiel"
    )

    document, _problems, notes = build()

    for programme in [*published.values(), cancelled_after_approval]:
        assert activity(document, programme) is not None, programme.status
    for programme in [*internal.values(), cancelled_proposal, kept_out]:
        assert activity(document, programme) is None, programme.status
    # Said at the top of the file (an XML comment before the root) and in the report's notes.
    comment = document.getroot().getprevious()
    assert isinstance(comment, etree._Comment)
    assert "6 programmes non approuvés ou jamais approuvés" in comment.text
    assert "rejeté 1" in comment.text and "en cours d'examen 1" in comment.text and "annulé 1" in comment.text
    assert "1 programme exclu par l’OIM" in comment.text
    assert notes == [comment.text.strip()]


def test_the_report_page_says_how_many_programmes_the_iati_file_left_out(
    client, staff, programme_a, draft_a, django_capture_on_commit_callbacks
):
    job = run_job(django_capture_on_commit_callbacks, staff, ReportType.IATI_XML, language="en")
    assert job.row_count == 1
    assert job.notes == ["Left out of this file: 1 programme not approved or never approved (pipeline 1)."]
    client.force_login(staff)
    page = client.get(f"/en/reports/{job.uuid}/").content.decode()
    assert "Left out of this file: 1 programme not approved or never approved (pipeline 1)." in page


def test_staff_read_the_reasons_on_the_report_page_partners_only_the_count(
    client, staff, partner_a, programme_a, django_capture_on_commit_callbacks
):
    Programme.objects.filter(pk=programme_a.pk).update(iati_publish=False, iati_exclusion_reason="Accord confidentiel")
    staff_job = run_job(django_capture_on_commit_callbacks, staff, ReportType.IATI_XML)
    partner_job = run_job(django_capture_on_commit_callbacks, partner_a, ReportType.IATI_XML)
    count = "Exclus de ce fichier : 1 programme exclu par l’OIM (« publier dans IATI » décoché, avec un motif)."
    assert staff_job.notes == [count, f"{programme_a.code} exclu d’IATI : Accord confidentiel"]
    assert partner_job.notes == [count]


def test_only_staff_see_on_the_programme_page_that_it_is_kept_out_of_iati(client, staff, partner_a, programme_a):
    Programme.objects.filter(pk=programme_a.pk).update(iati_publish=False, iati_exclusion_reason="Accord confidentiel")
    for user, shown in ((staff, True), (partner_a, False)):
        client.force_login(user)
        page = client.get(f"/en/programmes/{programme_a.code}/").content.decode()
        assert ("Kept out of the IATI file: Accord confidentiel" in page) is shown


def test_keeping_a_programme_out_of_iati_needs_a_reason(staff, programme_a):
    with pytest.raises(ValidationError) as refused:
        programme_update(programme=programme_a, user=staff, expected_version=None, fields={"iati_publish": False})
    assert "iati_exclusion_reason" in refused.value.message_dict
    programme_update(
        programme=programme_a,
        user=staff,
        expected_version=None,
        fields={"iati_publish": False, "iati_exclusion_reason": "Accord confidentiel du bailleur"},
    )
    assert not Programme.objects.iati_published().filter(pk=programme_a.pk).exists()


# --- Who does what: OrganisationRole ------------------------------------------------------------------


def test_each_portal_role_maps_to_the_iati_role_its_definition_describes(programme_a):
    codes = {row["code"]: row["name_en"] for row in csv.DictReader((CODELISTS / "OrganisationRole.csv").open())}
    assert {code for code in IATI_ORGANISATION_ROLE.values() if code} <= set(codes)
    assert codes[IATI_ORGANISATION_ROLE[Role.FUNDING]] == "Funding"
    assert codes[IATI_ORGANISATION_ROLE[Role.IMPLEMENTING_PARTNER]] == "Implementing"
    assert codes[IATI_ORGANISATION_ROLE[Role.GOVERNMENT_COUNTERPART]] == "Accountable"
    assert codes[IATI_ORGANISATION_ROLE[Role.ENDORSING_AUTHORITY]] == "Accountable"
    # "Extending" manages funds for the funder: never what a beneficiary institution does.
    assert IATI_ORGANISATION_ROLE[Role.BENEFICIARY_INSTITUTION] is None
    assert "3" not in IATI_ORGANISATION_ROLE.values()

    ministry = make_organisation(
        "mj-test", name_fr="Ministère de la Justice", category=OrganisationCategory.NATIONAL_GOVERNMENT
    )
    school = make_organisation("ecole", name_fr="École nationale de police", name_en="National Police School")
    Participation.objects.create(programme=programme_a, organisation=ministry, role=Role.GOVERNMENT_COUNTERPART)
    Participation.objects.create(programme=programme_a, organisation=school, role=Role.BENEFICIARY_INSTITUTION)
    document, _problems, _notes = build()
    element = activity(document, programme_a)
    roles = {(org.xpath("narrative[1]/text()")[0], org.get("role")) for org in element.xpath("participating-org")}
    assert ("Ministère de la Justice", "2") in roles and ("Organisation org-a", "4") in roles
    assert not any(name == "École nationale de police" for name, _role in roles)
    assert element.xpath("participating-org[@ref=$ref]/@role", ref=settings.IATI_ORGANISATION_PREFIX) == ["2", "4"]
    target_groups = element.xpath("description[@type='3']/narrative[@xml:lang='en']/text()", namespaces=XML)
    assert target_groups == ["Beneficiary institutions: National Police School"]


# --- Organisation identifiers ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("category", "identifier", "message"),
    [
        (OrganisationCategory.DONOR, "XM-DAC-918", None),
        (OrganisationCategory.NGO, "XX-UNKNOWN-12", "agence d’enregistrement"),
        (OrganisationCategory.DONOR, "XM-DAC-", "agence d’enregistrement"),
        (OrganisationCategory.NGO, "XI-IATI/ABC", "aucun des caractères"),
        (OrganisationCategory.NATIONAL_GOVERNMENT, "XM-DAC-47066", "NE-COA"),
        (OrganisationCategory.NATIONAL_GOVERNMENT, "NE-COA-1234", None),
    ],
)
def test_an_iati_identifier_follows_the_organisation_identifier_rules(reference, category, identifier, message):
    organisation = Organisation(
        code="o-test", name_fr="Organisation test", category=category, iati_type="10", iati_identifier=identifier
    )
    if message is None:
        organisation.full_clean()
        return
    with pytest.raises(ValidationError) as refused:
        organisation.full_clean()
    assert message in " ".join(refused.value.message_dict["iati_identifier"])


def test_participating_and_provider_organisations_carry_their_identifier(programme_a):
    donor = make_organisation(
        "ue", name_fr="Union européenne", category=OrganisationCategory.DONOR, iati_identifier="XI-IATI-EC_INTPA"
    )
    Participation.objects.create(
        programme=programme_a, organisation=donor, role=Role.FUNDING, contribution=Decimal("50000")
    )
    document, _problems, _notes = build()
    element = activity(document, programme_a)
    assert element.xpath("participating-org[@role='1']/@ref") == ["XI-IATI-EC_INTPA"]
    assert element.xpath("transaction/provider-org/@ref") == ["XI-IATI-EC_INTPA"]


def test_the_organisation_admin_refuses_a_malformed_identifier(client, admin_user, org_a):
    client.force_login(admin_user)
    url = f"/admin/partners/organisation/{org_a.pk}/change/"
    data = {
        "code": org_a.code,
        "acronym": org_a.acronym,
        "name_fr": org_a.name_fr,
        "category": org_a.category,
        "iati_type": org_a.iati_type,
        "iati_identifier": "pas un identifiant",
        "is_active": "on",
        "focal_points-TOTAL_FORMS": "0",
        "focal_points-INITIAL_FORMS": "0",
        "agreements-TOTAL_FORMS": "0",
        "agreements-INITIAL_FORMS": "0",
    }
    response = client.post(url, data, HTTP_ACCEPT_LANGUAGE="fr")
    assert response.status_code == 200
    assert "Un identifiant IATI ne contient ni espace" in response.content.decode()
    org_a.refresh_from_db()
    assert org_a.iati_identifier == ""


# --- Where: activity-scope and locations ---------------------------------------------------------


def _place(programme: Programme, pcode: str) -> None:
    ProgrammeLocation.objects.create(programme=programme, admin_unit=AdminUnit.objects.get(pcode=pcode))


def test_activity_scope_is_derived_from_the_places(org_a, programme_a):
    # programme_a: one commune of one department of Tillabéri, whatever its scope says.
    Programme.objects.filter(pk=programme_a.pk).update(scope=Scope.MULTI_REGIONAL)
    one_region = make_programme(org_a, scope=Scope.NATIONAL)
    _place(one_region, "NE006012007")
    _place(one_region, "NE006001")
    several = make_programme(org_a, scope=Scope.REGIONAL)
    _place(several, "NE006")
    _place(several, "NE001003")
    national = make_programme(org_a, scope=Scope.NATIONAL)
    everywhere = make_programme(org_a, scope=Scope.REGIONAL)
    for region in AdminUnit.objects.regions():
        _place(everywhere, region.pcode)
    worldwide = make_programme(org_a, scope=Scope.GLOBAL)
    nowhere = make_programme(org_a, scope=Scope.REGIONAL)

    document, problems, _notes = build()

    def scope(programme):
        return activity(document, programme).xpath("activity-scope/@code")

    assert scope(programme_a) == ["7"]
    assert scope(one_region) == ["6"]
    assert scope(several) == ["5"]
    assert scope(everywhere) == ["4"]
    assert scope(national) == ["4"]
    assert scope(worldwide) == ["1"]
    assert scope(nowhere) == []  # not invented: reported
    assert any("portée de l’activité est omise" in e for e in errors_of(problems, nowhere))


def test_location_names_are_in_both_languages_with_a_point_inside_the_place(programme_a):
    document, _problems, _notes = build()
    location = activity(document, programme_a).xpath("location")[0]
    unit = AdminUnit.objects.get(pcode="NE006012007")
    chain = [*unit.ancestors(), unit]
    names = {n.get(f"{{{XML['xml']}}}lang"): n.text for n in location.xpath("name/narrative")}
    assert set(names) == {"fr", "en"}
    assert names["fr"].endswith(unit.name_fr) and names["en"].endswith(unit.name_en or unit.name_fr)
    assert names["fr"] == " › ".join(u.name_fr for u in chain)
    lat, lon = (float(v) for v in location.xpath("point/pos/text()")[0].split())
    assert shape(unit.boundary).contains(Point(lon, lat))


def test_every_place_point_lies_inside_its_own_polygon(reference):
    outside = [
        unit.pcode
        for unit in AdminUnit.objects.exclude(boundary=None)
        if not shape(unit.boundary).contains(Point(unit.centroid_lon, unit.centroid_lat))
    ]
    assert outside == []


# --- Never invented, never dropped silently ----------------------------------------------------------


def test_periods_outside_the_activity_baselines_without_year_and_missing_actual_end_are_reported(org_a):
    programme = make_programme(
        org_a, status=Status.ACTIVE, planned_start=date(2025, 1, 1), planned_end=date(2025, 12, 31)
    )
    indicator = Indicator.objects.create(
        programme=programme, code="I1", name_fr="Migrants assistés", baseline=Decimal("5")
    )
    IndicatorValue.objects.create(
        indicator=indicator, period_start=date(2025, 1, 1), period_end=date(2025, 6, 30), achieved=Decimal("20")
    )
    IndicatorValue.objects.create(
        indicator=indicator, period_start=date(2026, 1, 1), period_end=date(2026, 6, 30), achieved=Decimal("30")
    )
    closed = make_programme(org_a, status=Status.ACTIVE)
    Programme.objects.filter(pk=closed.pk).update(status=Status.CLOSED)  # written before the rule existed

    document, problems, _notes = build()

    element = activity(document, programme)
    assert element.xpath("result/indicator/baseline") == []  # no invented year
    assert element.xpath("result/indicator/period/period-start/@iso-date") == ["2025-01-01"]
    messages = errors_of(problems, programme)
    assert (
        "Indicateur I1 : aucune année de référence n’est enregistrée, sa valeur de référence a été omise." in messages
    )
    assert any(
        "2026-01-01–2026-06-30 se situe hors des dates de l’activité (2025-01-01–2025-12-31)" in m for m in messages
    )
    assert any("n’a pas de date de fin effective" in m for m in errors_of(problems, closed))
    assert activity(document, closed).xpath("activity-date[@type='4']") == []


def test_a_recorded_baseline_year_is_published_as_recorded(org_a):
    programme = make_programme(org_a)
    Indicator.objects.create(
        programme=programme, code="I2", name_fr="Part", measure="percentage", baseline=Decimal("12"), baseline_year=2023
    )
    document, problems, _notes = build()
    assert activity(document, programme).xpath("result/indicator/baseline/@year") == ["2023"]
    assert errors_of(problems, programme) == []


# --- Money: transactions ---------------------------------------------------------------------------


def test_funder_contributions_and_recorded_transactions_are_exported_as_transactions(staff, org_a, programme_a):
    donor = make_organisation(
        "ue", name_fr="Union européenne", name_en="European Union", category=OrganisationCategory.DONOR
    )
    other = make_organisation("suisse", name_fr="Suisse", name_en="Switzerland", category=OrganisationCategory.DONOR)
    Participation.objects.create(
        programme=programme_a, organisation=donor, role=Role.FUNDING, contribution=Decimal("60000")
    )
    Participation.objects.create(
        programme=programme_a, organisation=other, role=Role.FUNDING, contribution=Decimal("20000")
    )
    # Switzerland's commitment is recorded as a transaction: it replaces the contribution-derived one.
    Transaction.objects.create(
        programme=programme_a,
        kind=TransactionKind.INCOMING_COMMITMENT,
        date=date(2025, 2, 1),
        value=Decimal("20000"),
        currency="USD",
        provider=other,
    )
    Transaction.objects.create(
        programme=programme_a,
        kind=TransactionKind.DISBURSEMENT,
        date=date(2025, 3, 1),
        value=Decimal("5000"),
        currency="USD",
        receiver=org_a,
        description="Première tranche",
    )
    Transaction.objects.create(
        programme=programme_a,
        kind=TransactionKind.EXPENDITURE,
        date=date(2025, 4, 1),
        value=Decimal("1500"),
        currency="USD",
    )
    document, _problems, _notes = build()
    transactions = activity(document, programme_a).xpath("transaction")
    summary = [
        (
            t.xpath("transaction-type/@code")[0],
            t.xpath("transaction-date/@iso-date")[0],
            t.xpath("value/text()")[0],
            t.xpath("provider-org/narrative[1]/text()"),
            t.xpath("receiver-org/narrative[1]/text()"),
        )
        for t in transactions
    ]
    assert summary == [
        (
            "11",
            "2025-01-01",
            "60000.00",
            ["Union européenne"],
            ["Organisation internationale pour les migrations (OIM)"],
        ),
        ("11", "2025-02-01", "20000.00", ["Suisse"], ["Organisation internationale pour les migrations (OIM)"]),
        ("3", "2025-03-01", "5000.00", [], ["Organisation org-a"]),
        ("4", "2025-04-01", "1500.00", [], []),
    ]
    # A contribution carries no date: the planned start is used and the description says so.
    assert "début prévu" in transactions[0].xpath("description/narrative[@xml:lang='fr']/text()", namespaces=XML)[0]


def test_a_contribution_is_dated_by_the_signed_agreement_when_one_is_recorded(staff, programme_a):
    from programmes.models import Document

    donor = make_organisation("ue", name_fr="Union européenne", category=OrganisationCategory.DONOR)
    Participation.objects.create(
        programme=programme_a, organisation=donor, role=Role.FUNDING, contribution=Decimal("1000")
    )
    document = Document.objects.create(programme=programme_a, title="Accord", category="agreement", file="x.pdf")
    ProgrammeAgreement.objects.create(
        programme=programme_a, reference="A-1", signed_on=date(2024, 11, 5), document=document
    )
    xml, _problems, _notes = build()
    assert activity(xml, programme_a).xpath("transaction/transaction-date/@iso-date") == ["2024-11-05"]
