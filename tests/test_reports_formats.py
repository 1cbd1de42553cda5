"""Each report format read back with real tools: openpyxl, the HXL library, the IATI XSD, pdftotext."""

from __future__ import annotations

import io
import shutil
import subprocess
from datetime import date
from decimal import Decimal

import hxl
import pytest
from django.conf import settings
from hxl.input import InputOptions
from lxml import etree
from openpyxl import load_workbook

from partners.models import Organisation, OrganisationCategory
from programmes.models import (
    AgeGroup,
    Indicator,
    IndicatorValue,
    KeyIndicator,
    Outcome,
    Output,
    Participation,
    Programme,
    ProgrammeLocation,
    Role,
    Sex,
)
from regions.models import AdminUnit
from reports.builders import factsheet, iati
from reports.models import JobStatus, ReportType

from .test_reports_jobs import eager_celery, media_root, run_job  # noqa: F401 — shared fixtures

IATI_SCHEMA = settings.BASE_DIR / "reports" / "data" / "iati" / "schema-2.03" / "iati-activities-schema.xsd"


@pytest.fixture
def results_a(programme_a, org_b) -> Programme:
    """programme_a with a funder, a department-level place, and a results framework with a small cell."""
    donor = Organisation.objects.create(
        code="ue-test",
        acronym="UE",
        name_fr="Union européenne",
        name_en="European Union",
        category=OrganisationCategory.DONOR,
    )
    Participation.objects.create(programme=programme_a, organisation=donor, role=Role.FUNDING, contribution=80000)
    ProgrammeLocation.objects.create(programme=programme_a, admin_unit=AdminUnit.objects.get(pcode="NE001003"))
    outcome = Outcome.objects.create(
        programme=programme_a,
        code="OC1",
        statement_fr="Les migrants sont protégés",
        statement_en="Migrants are protected",
    )
    output = Output.objects.create(
        outcome=outcome, code="OP1.1", statement_fr="Assistance directe", statement_en="Direct assistance"
    )
    people = Indicator.objects.create(
        programme=programme_a,
        output=output,
        code="IND1",
        name_fr="Migrants assistés au retour",
        name_en="Migrants assisted to return",
        unit="personnes",
        target=Decimal("400"),
        key_indicator=KeyIndicator.MIGRANTS_RETURNED,
        disaggregated=True,
    )
    Indicator.objects.create(
        programme=programme_a,
        outcome=outcome,
        code="IND2",
        name_fr="Part des partenaires satisfaits",
        name_en="Share of satisfied partners",
        measure="percentage",
        baseline=Decimal("30"),
        baseline_year=2024,
        target=Decimal("80"),
    )
    period = {"indicator": people, "period_start": date(2025, 1, 1), "period_end": date(2025, 12, 31)}
    IndicatorValue.objects.create(**period, target=Decimal("200"), achieved=Decimal("187"))
    IndicatorValue.objects.create(**period, sex=Sex.FEMALE, achieved=Decimal("3"))
    IndicatorValue.objects.create(**period, age_group=AgeGroup.CHILDREN, achieved=Decimal("42"))
    return programme_a


def sheet_rows(path, title: str) -> list[tuple]:
    workbook = load_workbook(path, read_only=True)
    sheet = workbook[title]
    sheet.reset_dimensions()  # write-only files carry no dimension
    rows = list(sheet.iter_rows(values_only=True))
    width = max((len(r) for r in rows), default=0)
    return [tuple(r) + (None,) * (width - len(r)) for r in rows]  # trailing empty cells are not stored


def pdf_text(path) -> str:
    assert shutil.which("pdftotext"), "poppler-utils (pdftotext) is required"
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout


# --- 1. Portfolio workbook ----------------------------------------------------------------------


def test_portfolio_workbook_has_programmes_indicators_and_key_figures(
    staff, results_a, programme_b, django_capture_on_commit_callbacks
):
    job = run_job(django_capture_on_commit_callbacks, staff, ReportType.PORTFOLIO_XLSX, language="en")
    assert job.status == JobStatus.SUCCEEDED and job.row_count == 2
    programmes = sheet_rows(job.path, "Programmes")
    header = programmes[0]
    row = dict(zip(header, next(r for r in programmes if r[0] == results_a.code), strict=True))
    assert row["Title"] == "Reintegration of migrants in Tillabéri"
    assert row["Status"] == "Active" and row["Currency"] == "USD" and row["Budget"] == 100000
    assert row["Implementing partner"] == "ORGA — Organisation org-a"
    assert row["Funding"] == "UE — European Union"
    assert row["P-codes"] == "NE001003; NE006012007"
    assert row["Planned start"].date() == date(2025, 1, 1)

    values = sheet_rows(job.path, "Indicators and values")
    assert values[0][:3] == ("Programme", "Indicator", "Name")
    cells = {(r[1], r[10], r[11]): r[13] for r in values[1:] if r[0] == results_a.code}
    assert cells[("IND1", "All", "All ages")] == 187
    assert cells[("IND1", "Female", "All ages")] == 3  # IOM staff see every cell
    assert ("IND2", None, None) in cells  # an indicator without values still has its row

    figures = [r for r in sheet_rows(job.path, "Key figures") if r and r[0]]
    labels = [r[0] for r in figures]
    assert "Programmes" in labels and "Active programmes" in labels
    assert ("Migrants assisted to return voluntarily (2025)", 187, "people") in [tuple(r[:3]) for r in figures]


def test_a_partner_workbook_hides_small_disaggregated_cells(partner_a, results_a, django_capture_on_commit_callbacks):
    job = run_job(django_capture_on_commit_callbacks, partner_a, ReportType.PORTFOLIO_XLSX, language="fr")
    values = sheet_rows(job.path, "Indicateurs et valeurs")
    cells = {(r[1], r[10], r[11]): r[13] for r in values[1:]}
    marks = {(r[1], r[10], r[11]): r[14] for r in values[1:]}
    threshold = settings.SMALL_CELL_THRESHOLD
    # A number column holds numbers only: the hidden cell is empty, the reason in "Supprimé".
    assert cells[("IND1", "Femmes", "Tous âges")] is None
    assert marks[("IND1", "Femmes", "Tous âges")] == f"< {threshold}"
    assert values[0][14] == "Masqué"
    assert cells[("IND1", "Tous", "0–17 ans")] == 42
    assert cells[("IND1", "Tous", "Tous âges")] == 187  # totals are never suppressed


def test_portfolio_workbook_headers_are_in_french_for_a_french_job(
    staff, programme_a, django_capture_on_commit_callbacks
):
    job = run_job(django_capture_on_commit_callbacks, staff, ReportType.PORTFOLIO_XLSX, language="fr")
    header = sheet_rows(job.path, "Programmes")[0]
    assert header[:3] == ("Code", "Titre", "Secteur principal")


# --- 3. 3W / 4W matrix --------------------------------------------------------------------------


def read_hxl(path):
    with open(path, "rb") as handle:
        return hxl.data(io.BytesIO(handle.read()), InputOptions(allow_local=True, encoding="utf-8-sig"))


def test_3w_csv_parses_with_the_hxl_library_one_row_per_place_and_partner(
    staff, results_a, programme_b, django_capture_on_commit_callbacks
):
    job = run_job(django_capture_on_commit_callbacks, staff, ReportType.MATRIX_3W_CSV, language="en")
    dataset = read_hxl(job.path)
    tags = [column.display_tag for column in dataset.columns]
    for tag in ("#org+impl+name", "#org+funder+name", "#sector+name", "#adm1+name", "#adm1+code", "#adm2+code",
                "#adm3+code", "#activity+code", "#date+start", "#date+end", "#status"):  # fmt: skip
        assert tag in tags
    rows = [row for row in dataset if row.get("#activity+code") == results_a.code]
    places = sorted((row.get("#adm1+code"), row.get("#adm2+code"), row.get("#adm3+code") or "") for row in rows)
    assert places == [("NE001", "NE001003", ""), ("NE006", "NE006012", "NE006012007")]
    assert {row.get("#org+impl+name") for row in rows} == {"Organisation org-a"}
    assert {row.get("#org+funder+name") for row in rows} == {"European Union"}
    assert {row.get("#org+funder+acronym") for row in rows} == {"UE"}
    by_commune = {row.get("#adm3+code") or "": row for row in rows}
    assert by_commune["NE006012007"].get("#adm1+name") == "Tillabéri"
    assert by_commune[""].get("#adm1+name") == "Agadez" and by_commune[""].get("#adm2+name") == "Bilma"
    assert rows[0].get("#date+start") == "2025-01-01" and rows[0].get("#status") == "Active"
    # A programme without a recorded place still appears, with its implementing partner.
    assert [
        row.get("#adm1+code") or "" for row in read_hxl(job.path) if row.get("#activity+code") == programme_b.code
    ] == [""]


def test_3w_xlsx_has_labels_then_hashtags_then_rows(staff, results_a, django_capture_on_commit_callbacks):
    job = run_job(django_capture_on_commit_callbacks, staff, ReportType.MATRIX_3W_XLSX, language="fr")
    rows = sheet_rows(job.path, "Matrice 3W")
    assert rows[0][1] == "Organisation de mise en œuvre"
    assert rows[1][1] == "#org+impl+name" and all(cell.startswith("#") for cell in rows[1])
    code = rows[1].index("#activity+code")
    assert {r[code] for r in rows[2:]} == {results_a.code}
    assert len(rows) == 2 + 2


@pytest.mark.parametrize("persona", ["staff", "partner_a", "partner_b"])
def test_3w_matrix_contains_only_the_requesters_programmes(
    request, persona, programme_a, programme_b, django_capture_on_commit_callbacks
):
    user = request.getfixturevalue(persona)
    job = run_job(django_capture_on_commit_callbacks, user, ReportType.MATRIX_3W_CSV)
    codes = {row.get("#activity+code") for row in read_hxl(job.path)}
    expected = {"staff": {programme_a.code, programme_b.code}, "partner_a": {programme_a.code}}
    assert codes == expected.get(persona, {programme_b.code})


# --- 4. IATI 2.03 -------------------------------------------------------------------------------


def test_iati_file_validates_against_the_official_xsd(
    staff, results_a, programme_b, django_capture_on_commit_callbacks
):
    job = run_job(django_capture_on_commit_callbacks, staff, ReportType.IATI_XML)
    schema = etree.XMLSchema(etree.parse(str(IATI_SCHEMA)))
    document = etree.parse(str(job.path))
    assert schema.validate(document), schema.error_log
    # IND1 has no baseline year: its baseline is left out and the report says so (never an invented year).
    assert job.validation_messages == [
        {
            "activity": f"{settings.IATI_ORGANISATION_PREFIX}-{results_a.code}",
            "errors": [
                "Indicateur IND1 : aucune année de référence n’est enregistrée, sa valeur de référence a été omise."
            ],
        }
    ]
    ns = {"xml": "http://www.w3.org/XML/1998/namespace"}
    activity = document.xpath(
        "//iati-activity[iati-identifier=$id]", id=f"{settings.IATI_ORGANISATION_PREFIX}-{results_a.code}"
    )[0]
    assert activity.xpath("title/narrative[@xml:lang='en']/text()", namespaces=ns) == [results_a.title_en]
    assert activity.xpath("title/narrative[@xml:lang='fr']/text()", namespaces=ns) == [results_a.title_fr]
    assert activity.xpath("reporting-org/@ref") == [settings.IATI_ORGANISATION_PREFIX]
    assert activity.xpath("activity-status/@code") == ["2"]
    assert sorted(activity.xpath("activity-date/@type")) == ["1", "3"]  # planned start/end; no actual dates yet
    assert activity.xpath("recipient-country/@code") == ["NE"]
    assert activity.xpath("location/@ref") == ["NE001003", "NE006012007"]
    assert activity.xpath("location/feature-designation/@code") == ["ADM2", "ADM3"]
    assert activity.xpath("sector[@vocabulary='1']/@code") == [results_a.primary_sector.dac_code]
    assert activity.xpath("sector[@vocabulary='99']/@code") == [results_a.primary_sector.code]
    roles = dict(
        zip(
            activity.xpath("participating-org/narrative[1]/text()"),
            activity.xpath("participating-org/@role"),
            strict=True,
        )
    )
    assert roles["Organisation org-a"] == "4" and roles["Union européenne"] == "1"
    budgets = activity.xpath("budget/value/text()")
    assert sum(Decimal(v) for v in budgets) == Decimal("100000.00") and len(budgets) == 2  # one per year
    indicator = activity.xpath("result[@type='1']/indicator")[0]
    assert indicator.xpath("title/narrative[@xml:lang='en']/text()", namespaces=ns) == ["Migrants assisted to return"]
    assert indicator.xpath("period/target/@value") == ["200"] and indicator.xpath("period/actual/@value") == ["187"]
    percentage = activity.xpath("result[@type='2']/indicator")[0]
    assert percentage.get("measure") == "2" and percentage.xpath("baseline/@year") == ["2024"]
    assert percentage.xpath("baseline/@value") == ["30"]


def test_iati_validation_errors_are_reported_per_activity(staff, programme_a, monkeypatch):
    """An activity that breaks the schema is named with its errors (here: a sector without a code)."""
    original = iati.iati_activity

    def broken(record, lookups, **kwargs):
        activity = original(record, lookups, **kwargs)
        del activity.find("sector").attrib["code"]
        return activity

    monkeypatch.setattr(iati, "iati_activity", broken)
    out = io.BytesIO()
    count, problems = iati.write_iati_xml(Programme.objects.all(), out)
    assert count == 1
    assert problems[0]["activity"] == f"{settings.IATI_ORGANISATION_PREFIX}-{programme_a.code}"
    assert "code" in problems[0]["errors"][0]


def test_iati_budget_is_split_per_calendar_year_and_adds_up():
    periods = iati.budget_periods(date(2025, 7, 1), date(2027, 6, 30), Decimal("1000000"))
    assert [(a.isoformat(), b.isoformat()) for a, b, _ in periods] == [
        ("2025-07-01", "2025-12-31"),
        ("2026-01-01", "2026-12-31"),
        ("2027-01-01", "2027-06-30"),
    ]
    assert sum(v for _, _, v in periods) == Decimal("1000000")


# --- 2. Factsheet PDF ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("fr", ["Fiche programme", "Réintégration des migrants à Tillabéri", "Partenaires", "Résultats", "Bilma"]),
        ("en", ["Programme factsheet", "Reintegration of migrants in Tillabéri", "Partners", "Results", "Bilma"]),
    ],
)
def test_factsheet_pdf_text_in_both_languages(
    partner_a, results_a, language, expected, django_capture_on_commit_callbacks
):
    job = run_job(
        django_capture_on_commit_callbacks,
        partner_a,
        ReportType.FACTSHEET_PDF,
        {"programme": results_a.code},
        language=language,
    )
    assert job.status == JobStatus.SUCCEEDED, job.error_message
    assert job.path.read_bytes().startswith(b"%PDF-")
    text = pdf_text(job.path)
    for phrase in expected:
        assert phrase in text, phrase
    assert "NE006012007" in text and "187" in text


def test_factsheet_map_draws_niger_regions_and_highlights_the_programme_places(results_a):
    context = factsheet.factsheet_context(results_a)
    svg = context["map"]
    assert len(svg["background"]) == 8 and all(d.startswith("M") for d in svg["background"])
    assert len(svg["highlighted"]) == 2 and len(svg["points"]) == 2
    assert svg["height"] > 0 and all(0 <= x <= svg["width"] and 0 <= y <= svg["height"] for x, y, _ in svg["points"])


# --- 5. Key figures -----------------------------------------------------------------------------


def test_key_figures_summary_lists_headline_and_live_figures(
    partner_a, results_a, programme_b, django_capture_on_commit_callbacks
):
    job = run_job(django_capture_on_commit_callbacks, partner_a, ReportType.KEY_FIGURES, language="en")
    rows = [r for r in sheet_rows(job.path, "Key figures") if r and r[0]]
    labels = [r[0] for r in rows]
    assert 1700000 in [r[1] for r in rows]  # IOM's published headline figure, as a number
    assert ("Programmes", 1) in [tuple(r[:2]) for r in rows]  # partner A sees one programme, not two
    assert "Migrants assisted to return voluntarily (2025)" in labels


def test_a_partner_workbook_also_hides_the_cell_that_would_reveal_a_small_one(
    partner_a, results_a, django_capture_on_commit_callbacks
):
    people = results_a.indicators.get(code="IND1")
    IndicatorValue.objects.create(
        indicator=people,
        period_start=date(2025, 1, 1),
        period_end=date(2025, 12, 31),
        sex=Sex.MALE,
        achieved=Decimal("184"),
    )
    job = run_job(django_capture_on_commit_callbacks, partner_a, ReportType.PORTFOLIO_XLSX, language="fr")
    rows = sheet_rows(job.path, "Indicateurs et valeurs")[1:]
    cells = {(r[1], r[10], r[11]): (r[13], r[14]) for r in rows}
    assert cells[("IND1", "Femmes", "Tous âges")] == (None, f"< {settings.SMALL_CELL_THRESHOLD}")
    # 187 − 184 would give the 3 back: empty too, with the reason.
    assert cells[("IND1", "Hommes", "Tous âges")] == (None, "masqué : révélerait un petit effectif")


def test_a_partner_key_figures_report_hides_a_small_live_total(
    partner_a, programme_a, django_capture_on_commit_callbacks
):
    indicator = Indicator.objects.create(
        programme=programme_a, code="K1", name_fr="Victimes assistées", key_indicator=KeyIndicator.TRAFFICKED_ASSISTED
    )
    IndicatorValue.objects.create(
        indicator=indicator, period_start=date(2025, 1, 1), period_end=date(2025, 12, 31), achieved=Decimal("3")
    )
    job = run_job(django_capture_on_commit_callbacks, partner_a, ReportType.KEY_FIGURES, language="fr")
    workbook = load_workbook(job.path, read_only=True)
    values = [cell for sheet in workbook.worksheets for row in sheet.iter_rows(values_only=True) for cell in row]
    assert f"< {settings.SMALL_CELL_THRESHOLD}" in values and Decimal("3") not in values and 3 not in values
