"""One bad value stored in the database (bypassing the domain) never fails a report: the file is
built, the bad value is cleaned or left out, and a per-row message is recorded on the job."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from lxml import etree
from openpyxl import load_workbook

from programmes.models import Indicator, IndicatorValue, Outcome, Programme
from reports.models import JobStatus

from .test_reports_jobs import eager_celery, media_root, run_job  # noqa: F401 — shared fixtures

BAD = {
    "title_fr": "Retour\x0bvolontaire\x01",  # a vertical tab pasted from Word, and a C0 control
    "title_en": "Voluntary\x0breturn",
    "summary_fr": "Résumé\x0cpage deux",  # a form feed
}


@pytest.fixture
def bad_programme(programme_a, programme_b) -> Programme:
    Programme.objects.filter(pk=programme_a.pk).update(**BAD, planned_end=date(9999, 12, 31))
    outcome = Outcome.objects.create(programme=programme_a, code="OC1", statement_fr="Résultat\x0b", statement_en="x")
    indicator = Indicator.objects.create(
        programme=programme_a, outcome=outcome, code="IND1", name_fr="Migrants\x0bassistés", name_en="Migrants"
    )
    IndicatorValue.objects.create(
        indicator=indicator, period_start=date(2025, 1, 1), period_end=date(2025, 12, 31), achieved=40
    )
    IndicatorValue.objects.filter(indicator=indicator).update(period_end=date(9999, 12, 31))
    programme_a.refresh_from_db()
    return programme_a


def _messages_about(job, code: str) -> list:
    return [m for m in job.validation_messages if m.get("activity") == code or m.get("programme") == code]


@pytest.mark.parametrize("persona", ["staff", "partner_a"])
def test_the_portfolio_workbook_is_built_and_the_bad_row_is_reported(
    django_capture_on_commit_callbacks, request, persona, bad_programme
):
    job = run_job(django_capture_on_commit_callbacks, request.getfixturevalue(persona), "portfolio_xlsx")
    assert job.status == JobStatus.SUCCEEDED, job.error_message
    sheet = load_workbook(job.path, read_only=True).worksheets[0]
    sheet.reset_dimensions()
    rows = {row[0]: row for row in sheet.iter_rows(min_row=2, values_only=True)}
    assert bad_programme.code in rows
    assert any(isinstance(v, str) and "Retour volontaire" in v for v in rows[bad_programme.code])
    assert _messages_about(job, bad_programme.code)


@pytest.mark.parametrize("kind", ["matrix_3w_csv", "matrix_3w_xlsx"])
def test_the_3w_matrix_is_built_and_the_bad_row_is_reported(
    django_capture_on_commit_callbacks, staff, kind, bad_programme
):
    job = run_job(django_capture_on_commit_callbacks, staff, kind)
    assert job.status == JobStatus.SUCCEEDED, job.error_message
    if kind == "matrix_3w_csv":
        text = job.path.read_text(encoding="utf-8")
        assert "\x0b" not in text and "\x0c" not in text and "\x01" not in text
        assert any(bad_programme.code in row for row in csv.reader(io.StringIO(text)))
    else:
        sheet = load_workbook(job.path, read_only=True).worksheets[0]
        sheet.reset_dimensions()
        assert any(bad_programme.code in row for row in sheet.iter_rows(values_only=True))
    assert _messages_about(job, bad_programme.code)


@pytest.mark.parametrize("persona", ["staff", "partner_a"])
def test_the_iati_file_is_built_well_formed_and_the_bad_activity_is_reported(
    django_capture_on_commit_callbacks, request, persona, bad_programme
):
    job = run_job(django_capture_on_commit_callbacks, request.getfixturevalue(persona), "iati_xml")
    assert job.status == JobStatus.SUCCEEDED, job.error_message
    root = etree.parse(str(job.path)).getroot()
    identifiers = [a.findtext("iati-identifier") for a in root.iter("iati-activity")]
    assert any(i and i.endswith(bad_programme.code) for i in identifiers)
    assert job.validation_messages


@pytest.mark.parametrize("kind", ["key_figures", "factsheet_pdf"])
def test_the_other_formats_survive_the_bad_values_too(django_capture_on_commit_callbacks, staff, kind, bad_programme):
    parameters = {"programme": bad_programme.code} if kind == "factsheet_pdf" else {}
    job = run_job(django_capture_on_commit_callbacks, staff, kind, parameters)
    assert job.status == JobStatus.SUCCEEDED, job.error_message
