# ruff: noqa: F811 — the fixture results_a is shared with test_reports_formats
"""Standard outputs that tell the truth (issue 12): the 3W/4W matrix adds up, workbooks are workbooks.

Read back with independent tools: libhxl for the matrix, openpyxl for the workbooks; column sums are
compared with the database.
"""

from __future__ import annotations

import csv
import io
import re
import subprocess
from collections import defaultdict
from datetime import date, datetime
from decimal import Decimal

import hxl
import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import Sum
from django.utils import translation
from hxl.input import InputOptions
from openpyxl import load_workbook

from partners.models import Organisation, OrganisationCategory
from programmes.models import (
    AgeGroup,
    Indicator,
    IndicatorValue,
    Modality,
    Participation,
    Programme,
    ProgrammeLocation,
    Role,
    Sector,
    Sex,
    Status,
)
from regions.models import AdminUnit
from reports.builders import matrix
from reports.builders.registry import BUILDERS
from reports.models import JobStatus, ReportType

from .conftest import make_programme
from .test_reports_formats import results_a, sheet_rows  # noqa: F401 — shared fixture
from .test_reports_jobs import eager_celery, media_root, run_job  # noqa: F401 — shared fixtures

PLACES = ("NE006012007", "NE001003", "NE003006", "NE008001002")


def read_hxl(path) -> hxl.model.Dataset:
    with open(path, "rb") as handle:
        return hxl.data(io.BytesIO(handle.read()), InputOptions(allow_local=True, encoding="utf-8"))


@pytest.fixture
def portfolio(org_a, org_b) -> list[Programme]:
    """Programmes with several places and partners, in three currencies and every status."""
    donor = Organisation.objects.create(
        code="ue-std",
        acronym="UE",
        acronym_en="EU",
        name_fr="Union européenne",
        name_en="European Union",
        category=OrganisationCategory.DONOR,
    )
    programmes = []
    for n, status in enumerate(Status):
        programme = make_programme(
            org_a,
            *([org_b] if n % 2 else []),
            status=status,
            budget=Decimal("1000000.01") + n * 333,
            currency=("USD", "EUR", "XOF")[n % 3],
            primary_sector=Sector.objects.get(code=("CT", "LM", "MH", "CS")[n % 4]),
        )
        Participation.objects.create(programme=programme, organisation=donor, role=Role.FUNDING, contribution=10)
        for pcode in PLACES[: 1 + n % len(PLACES)]:
            ProgrammeLocation.objects.create(programme=programme, admin_unit=AdminUnit.objects.get(pcode=pcode))
        programmes.append(programme)
    return programmes


def _shown_statuses() -> list[str]:
    return [s for s in Status if s not in matrix.LEFT_OUT_STATUSES]


@pytest.mark.parametrize("language", ["fr", "en"])
def test_3w_budget_column_sums_to_the_database_total_per_currency(
    staff, portfolio, language, django_capture_on_commit_callbacks
):
    job = run_job(django_capture_on_commit_callbacks, staff, ReportType.MATRIX_3W_CSV, language=language)
    assert job.status == JobStatus.SUCCEEDED, job.error_message
    sums: dict[str, Decimal] = defaultdict(Decimal)
    rows = list(read_hxl(job.path))
    for row in rows:
        sums[row.get("#currency")] += Decimal(row.get("#value+budget"))
    expected = {
        r["currency"]: r["total"]
        for r in Programme.objects.filter(status__in=_shown_statuses())
        .values("currency")
        .annotate(total=Sum("budget"))
        .order_by()
    }
    assert dict(sums) == expected
    # Several rows per programme (places × partners), so the old repetition would have been caught.
    assert len(rows) > Programme.objects.filter(status__in=_shown_statuses()).count()


def test_3w_csv_has_no_byte_order_mark_and_ochas_columns(staff, portfolio, django_capture_on_commit_callbacks):
    job = run_job(django_capture_on_commit_callbacks, staff, ReportType.MATRIX_3W_CSV, language="en")
    raw = job.path.read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf")
    header = next(csv.reader(io.StringIO(raw.decode("utf-8"))))
    assert header[0] == "Reporting organisation"
    tags = [column.display_tag for column in read_hxl(job.path).columns]
    for tag in (
        "#org+reporting+name",
        "#org+impl+name",
        "#org+impl+acronym",
        "#org+impl+type",
        "#org+funder+name",
        "#org+funder+acronym",
        "#sector+cluster+name",
        "#sector+cluster+code",
        "#targeted",
        "#targeted+f",
        "#reached",
        "#reached+f",
        "#reached+children",
        "#contact+email",
        "#adm1+code",
        "#value+budget+split",
    ):
        assert tag in tags, tag


@pytest.mark.parametrize(
    ("language", "funder", "acronym", "cluster", "org_type"),
    [
        ("fr", "Union européenne", "UE", "Santé", "ONG nationale"),
        ("en", "European Union", "EU", "Health", "National NGO"),
    ],
)
def test_3w_names_in_the_files_language_with_acronyms_apart(
    staff, portfolio, language, funder, acronym, cluster, org_type, django_capture_on_commit_callbacks
):
    Organisation.objects.filter(code="org-a").update(iati_type="22")
    job = run_job(django_capture_on_commit_callbacks, staff, ReportType.MATRIX_3W_CSV, language=language)
    rows = [r for r in read_hxl(job.path) if r.get("#activity+code") == portfolio[6].code]  # active, health
    assert {r.get("#org+funder+name") for r in rows} == {funder}
    assert {r.get("#org+funder+acronym") for r in rows} == {acronym}
    assert {r.get("#sector+cluster+name") for r in rows} == {cluster}
    assert {r.get("#sector+cluster+code") for r in rows} == {"HEA"}
    by_org = {r.get("#org+impl+acronym"): r for r in rows}
    assert by_org["ORGA"].get("#org+impl+name") == "Organisation org-a"
    assert by_org["ORGA"].get("#org+impl+type") == org_type
    assert {r.get("#contact+email") for r in rows} == {settings.REPORTS_CONTACT_EMAIL}
    assert {r.get("#org+reporting+name") for r in rows} == {"OIM Niger" if language == "fr" else "IOM Niger"}


def test_3w_leaves_out_proposals_unless_asked_for_by_status(staff, portfolio, django_capture_on_commit_callbacks):
    job = run_job(django_capture_on_commit_callbacks, staff, ReportType.MATRIX_3W_CSV, language="en")
    codes = {r.get("#activity+code") for r in read_hxl(job.path)}
    by_status = {p.status: p.code for p in portfolio}
    for status in (Status.PIPELINE, Status.REJECTED, Status.SUBMITTED, Status.UNDER_REVIEW, Status.CANCELLED):
        assert by_status[status] not in codes
    for status in (Status.APPROVED, Status.ACTIVE, Status.SUSPENDED, Status.COMPLETED, Status.CLOSED):
        assert by_status[status] in codes
    asked = run_job(
        django_capture_on_commit_callbacks,
        staff,
        ReportType.MATRIX_3W_CSV,
        {"status": [Status.PIPELINE, Status.ACTIVE]},
        language="en",
    )
    assert {r.get("#activity+code") for r in read_hxl(asked.path)} == {
        by_status[Status.PIPELINE],
        by_status[Status.ACTIVE],
    }


def test_split_budget_adds_up_exactly():
    for budget, parts in ((Decimal("100"), 3), (Decimal("1000000.01"), 7), (Decimal("0.05"), 4), (Decimal(0), 2)):
        shares = matrix.split_budget(budget, parts)
        assert len(shares) == parts and sum(shares) == budget and all(s >= 0 for s in shares)
    assert matrix.split_budget(None, 2) == [None, None]


@pytest.mark.parametrize(
    ("persona", "reached", "female", "marker"),
    [("staff", 190, 3, False), ("partner_a", 187, None, True), ("partner_b", None, None, False)],
)
def test_3w_people_on_the_first_row_only_and_small_counts_left_out_for_partners(
    request, persona, reached, female, marker, results_a, django_capture_on_commit_callbacks
):
    """results_a has IND1 (people, disaggregated): 2025 total 187 (women 3, children 42), target 400; a
    second period adds 3 people, a small total that partners never see."""
    people = results_a.indicators.get(code="IND1")
    IndicatorValue.objects.create(
        indicator=people, period_start=date(2026, 1, 1), period_end=date(2026, 6, 30), achieved=Decimal("3")
    )
    job = run_job(django_capture_on_commit_callbacks, request.getfixturevalue(persona), ReportType.MATRIX_3W_CSV)
    rows = [r for r in read_hxl(job.path) if r.get("#activity+code") == results_a.code]
    if persona == "partner_b":
        assert rows == []  # not shared with organisation B
        return
    assert len(rows) == 2
    first, second = rows
    assert int(first.get("#reached")) == reached
    assert int(first.get("#targeted")) == 400
    assert (first.get("#reached+f") or None) == (str(female) if female is not None else None)
    assert int(first.get("#reached+children")) == 42
    assert bool(first.get("#meta+suppressed")) is marker
    assert not any(second.get(tag) for tag in ("#reached", "#targeted", "#reached+children"))
    # The column sums to the programme's figure, never to figure × rows.
    assert sum(int(r.get("#reached") or 0) for r in rows) == reached


def test_3w_xlsx_is_a_workbook_with_notes(staff, portfolio, django_capture_on_commit_callbacks):
    job = run_job(django_capture_on_commit_callbacks, staff, ReportType.MATRIX_3W_XLSX, language="en")
    workbook = load_workbook(job.path)
    sheet = workbook["3W matrix"]
    assert sheet.freeze_panes == "A3" and sheet.auto_filter.ref.startswith("A2:")
    assert sheet["A1"].font.b and sheet["A2"].font.b
    header = [c.value for c in sheet[2]]
    budget = header.index("#value+budget+split")
    start = header.index("#date+start")
    row = next(iter(sheet.iter_rows(min_row=3, max_row=3)))
    assert isinstance(row[budget].value, int | float) and row[budget].number_format == "#,##0.00"
    assert isinstance(row[start].value, datetime) and row[start].number_format == "yyyy-mm-dd"
    total = sum(Decimal(str(r[budget].value)) for r in sheet.iter_rows(min_row=3) if r[budget].value is not None)
    expected = Programme.objects.filter(status__in=_shown_statuses()).aggregate(t=Sum("budget"))["t"]
    assert total == expected
    notes = " ".join(str(r[0].value) for r in workbook["Notes"].iter_rows())
    assert "split equally" in notes and "first row only" in notes


@pytest.mark.parametrize("language", ["fr", "en"])
def test_portfolio_workbook_formats_headers_numbers_dates_and_units(
    staff, results_a, language, django_capture_on_commit_callbacks
):
    job = run_job(django_capture_on_commit_callbacks, staff, ReportType.PORTFOLIO_XLSX, language=language)
    workbook = load_workbook(job.path)
    for sheet in workbook.worksheets[:3]:
        assert sheet.freeze_panes == "A2", sheet.title
        assert sheet.auto_filter.ref and sheet.auto_filter.ref.startswith("A1:"), sheet.title
        assert all(cell.font.b for cell in sheet[1] if cell.value), sheet.title
        assert sheet.column_dimensions["A"].width > 8
    programmes = workbook.worksheets[0]
    header = [c.value for c in programmes[1]]
    row = dict(zip(header, programmes[2], strict=False))
    budget = row["Budget"]
    start = row["Planned start" if language == "en" else "Début prévu"]
    assert isinstance(budget.value, int | float) and budget.number_format == "#,##0.00"
    assert isinstance(start.value, datetime) and start.number_format == "yyyy-mm-dd"
    indicators = workbook.worksheets[1]
    units = {r[3] for r in indicators.iter_rows(min_row=2, values_only=True) if r[1] == "IND1"}
    assert units == ({"people"} if language == "en" else {"personnes"})
    values = [r for r in sheet_rows(job.path, workbook.sheetnames[1]) if r[1] == "IND1"]
    assert all(isinstance(r[13], int | float | Decimal) for r in values)  # achieved: numbers only


def test_a_partner_workbook_says_why_cells_are_empty(partner_a, results_a, django_capture_on_commit_callbacks):
    job = run_job(django_capture_on_commit_callbacks, partner_a, ReportType.PORTFOLIO_XLSX, language="en")
    workbook = load_workbook(job.path)
    rows = list(workbook["Indicators and values"].iter_rows(min_row=2, values_only=True))
    female = next(r for r in rows if r[1] == "IND1" and r[10] == "Female")
    assert female[13] is None and female[14] == f"< {settings.SMALL_CELL_THRESHOLD}"
    assert all(r[13] is None or isinstance(r[13], int | float) for r in rows)
    assert "hidden from partners" in " ".join(str(r[0].value) for r in workbook["Notes"].iter_rows())


def test_an_english_unit_is_used_when_entered(staff, results_a, django_capture_on_commit_callbacks):
    Indicator.objects.filter(code="IND1").update(unit="ménages", unit_en="households")
    job = run_job(django_capture_on_commit_callbacks, staff, ReportType.PORTFOLIO_XLSX, language="en")
    units = {r[3] for r in sheet_rows(job.path, "Indicators and values") if r[1] == "IND1"}
    assert units == {"households"}


def test_every_report_type_has_one_builder():
    assert set(BUILDERS) == set(ReportType)


def test_women_and_age_cells_are_read_from_the_right_cells(results_a):
    from reports.builders.records import Lookups, iter_programmes

    record = next(
        iter_programmes(Programme.objects.filter(pk=results_a.pk), Lookups.load(), results=True, all_cells=True)
    )
    figures = matrix.people_figures(record)
    tags = [t for t, _s, _a in matrix.TARGETED + matrix.REACHED]
    cells = dict(zip(tags, figures.cells, strict=True))
    assert cells["#reached"] == 187 and cells["#reached+f"] == 3 and cells["#reached+children"] == 42
    assert cells["#reached+m"] is None and cells["#targeted"] == 400
    assert (Sex.FEMALE, AgeGroup.ALL) in {(s, a) for _t, s, a in matrix.REACHED}


# --- Factsheet ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "expected", "absent"),
    [
        (
            "fr",
            ["OIM · ONU MIGRATION", "Financé par", "Union européenne", "Échelle", "Organisation des Nations Unies"],
            "personnes)",
        ),
        (
            "en",
            [
                "IOM · UN MIGRATION",
                "Funded by",
                "European Union",
                "Scale bar",
                "endorsement or acceptance by the United",
            ],
            "personnes",
        ),
    ],
)
@pytest.mark.parametrize("persona", ["staff", "partner_a"])
def test_factsheet_identity_donors_map_legend_disclaimer_and_units(
    request, persona, results_a, language, expected, absent, django_capture_on_commit_callbacks
):
    from .test_reports_formats import pdf_text

    job = run_job(
        django_capture_on_commit_callbacks,
        request.getfixturevalue(persona),
        ReportType.FACTSHEET_PDF,
        {"programme": results_a.code},
        language=language,
    )
    assert job.status == JobStatus.SUCCEEDED, job.error_message
    text = " ".join(pdf_text(job.path).split())
    for phrase in expected:
        assert phrase in text, phrase
    if language == "en":
        assert absent not in text and "(people)" in text


def test_factsheet_from_partner_b_is_refused(partner_b, results_a, django_capture_on_commit_callbacks):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        run_job(django_capture_on_commit_callbacks, partner_b, ReportType.FACTSHEET_PDF, {"programme": results_a.code})


def test_factsheet_is_a_tagged_pdf_ua(staff, results_a, django_capture_on_commit_callbacks):
    job = run_job(
        django_capture_on_commit_callbacks,
        staff,
        ReportType.FACTSHEET_PDF,
        {"programme": results_a.code},
        language="en",
    )
    info = subprocess.run(["pdfinfo", str(job.path)], capture_output=True, text=True, check=True).stdout
    assert re.search(r"^Tagged:\s+yes$", info, re.M)  # a structure tree screen readers follow
    assert "Title:" in info and results_a.code in info
    meta = subprocess.run(["pdfinfo", "-meta", str(job.path)], capture_output=True, text=True, check=True).stdout
    assert re.search(r"pdfuaid:part>1<|pdfuaid:part=\"1\"", meta)  # declared PDF/UA-1 in the XMP metadata


def test_factsheet_period_never_goes_past_the_programme_end(results_a):
    from reports.builders import factsheet

    Programme.objects.filter(pk=results_a.pk).update(planned_end=date(2025, 9, 30))
    people = results_a.indicators.get(code="IND1")
    IndicatorValue.objects.create(  # starts after the end: never shown
        indicator=people, period_start=date(2026, 1, 1), period_end=date(2026, 12, 31), achieved=Decimal("50")
    )
    results_a.refresh_from_db()
    context = factsheet.factsheet_context(results_a)
    row = next(i for i in context["indicators"] if i["code"] == "IND1")
    assert row["period"] == "2025-01 – 2025-09" and row["achieved"] == 187
    assert context["map"]["scale_km"] in factsheet.SCALE_STEPS and context["map"]["scale_px"] > 0


def test_the_portals_own_3w_export_imports_back_unchanged(staff, results_a, settings, tmp_path):
    """The importer reads its own export: the split budget adds back up, the reporting organisation,
    organisation types and clusters are not taken for partners or sectors, and nothing changes."""
    from imports.services import import_job_create
    from reports.builders.matrix import write_matrix_csv

    settings.MEDIA_ROOT = tmp_path
    Programme.objects.filter(pk=results_a.pk).update(budget=Decimal("100000.01"))
    out = io.StringIO()
    write_matrix_csv(Programme.objects.filter(pk=results_a.pk), out)
    upload = SimpleUploadedFile("3w.csv", out.getvalue().encode())
    job = import_job_create(user=staff, upload=upload, language="fr")
    (item,) = job.preview
    assert item["errors"] == [] and item["action"] == "unchanged", (item["errors"], item.get("warnings"))


# --- Modality (#modality) -------------------------------------------------------------------------

MODALITIES = ("cash", "in-kind", "services", "", "capacity-building", "voucher", "infrastructure")


def _give_modalities(portfolio: list[Programme]) -> dict[str, str]:
    by_code = {}
    for n, programme in enumerate(portfolio):
        by_code[programme.code] = MODALITIES[n % len(MODALITIES)]
        Programme.objects.filter(pk=programme.pk).update(modality=by_code[programme.code])
    return by_code


@pytest.mark.parametrize(("language", "cash_label"), [("fr", "Assistance monétaire"), ("en", "Cash-based assistance")])
@pytest.mark.parametrize("persona", ["staff", "partner_a", "partner_b"])
def test_3w_modality_is_the_programmes_own_in_the_files_language(
    request, persona, language, cash_label, portfolio, django_capture_on_commit_callbacks
):
    by_code = _give_modalities(portfolio)
    user = request.getfixturevalue(persona)
    job = run_job(django_capture_on_commit_callbacks, user, ReportType.MATRIX_3W_CSV, language=language)
    rows = list(read_hxl(job.path))
    assert "#modality+code" in [c.display_tag for c in read_hxl(job.path).columns]
    visible = set(Programme.objects.visible_to(user).values_list("code", flat=True))
    assert {r.get("#activity+code") for r in rows} <= visible  # partner B sees only its own programmes
    if persona == "partner_b":
        assert not {r.get("#activity+code") for r in rows} & {p.code for p in portfolio if p.code not in visible}
    for row in rows:
        code = row.get("#activity+code")
        assert (row.get("#modality+code") or "") == by_code[code]
        if by_code[code] == "cash":
            assert row.get("#modality+name") == cash_label
        if not by_code[code]:
            assert not row.get("#modality+name")
    assert rows or persona != "staff"


@pytest.mark.parametrize(("language", "header"), [("fr", "Modalité"), ("en", "Modality")])
def test_workbooks_carry_the_modality(staff, portfolio, language, header, django_capture_on_commit_callbacks):
    by_code = _give_modalities(portfolio)
    job = run_job(django_capture_on_commit_callbacks, staff, ReportType.PORTFOLIO_XLSX, language=language)
    sheet = load_workbook(job.path).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    column = rows[0].index(header)
    with translation.override(language):
        labels = {value: str(label) for value, label in Modality.choices}
    for row in rows[1:]:
        assert (row[column] or "") == labels.get(by_code[row[0]], "")
    matrix_job = run_job(django_capture_on_commit_callbacks, staff, ReportType.MATRIX_3W_XLSX, language=language)
    matrix_sheet = load_workbook(matrix_job.path)["3W matrix" if language == "en" else "Matrice 3W"]
    tags = [c.value for c in matrix_sheet[2]]
    code_column = tags.index("#modality+code")
    activity = tags.index("#activity+code")
    for row in matrix_sheet.iter_rows(min_row=3, values_only=True):
        assert (row[code_column] or "") == by_code[row[activity]]


def test_the_3w_modality_imports_back(staff, results_a, settings, tmp_path):
    from imports.services import import_job_create
    from reports.builders.matrix import write_matrix_csv

    settings.MEDIA_ROOT = tmp_path
    Programme.objects.filter(pk=results_a.pk).update(modality="voucher")
    out = io.StringIO()
    with translation.override("en"):
        write_matrix_csv(Programme.objects.filter(pk=results_a.pk), out)
    job = import_job_create(user=staff, upload=SimpleUploadedFile("3w.csv", out.getvalue().encode()), language="fr")
    (item,) = job.preview
    assert item["errors"] == [] and item["action"] == "unchanged", (item["errors"], item.get("changes"))

    Programme.objects.filter(pk=results_a.pk).update(modality="cash")
    job = import_job_create(user=staff, upload=SimpleUploadedFile("3w.csv", out.getvalue().encode()), language="fr")
    (item,) = job.preview
    assert [c["field"] for c in item["changes"]] == ["modality"], item["changes"]

    wrong = out.getvalue().replace(",voucher,", ",helicopter,")
    job = import_job_create(user=staff, upload=SimpleUploadedFile("3w.csv", wrong.encode()), language="en")
    (item,) = job.preview
    assert any("helicopter" in e and "is not a modality" in e for e in item["errors"]), item["errors"]
