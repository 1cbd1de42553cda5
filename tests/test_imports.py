"""Imports: an IATI file previewed then imported through the programme services, idempotent, scoped per persona."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client
from django.utils import translation

from imports.models import ImportedActivity, ImportJob, ImportStatus
from imports.services import ImportRefused, import_job_confirm, import_job_create, import_job_reject
from partners.models import Organisation
from programmes.models import Participation, Programme, Role, Status

DATA = Path(__file__).parent / "data" / "iati"
IOM_FILE = DATA / "iom-niger-activities.xml"


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def upload(user, path: Path = IOM_FILE, content: bytes | None = None, name: str | None = None) -> ImportJob:
    data = path.read_bytes() if content is None else content
    return import_job_create(user=user, upload=SimpleUploadedFile(name or path.name, data), language="fr")


def confirm(job, user, create=True) -> ImportJob:
    import_job_confirm(job=job, user=user, create_organisations=create)
    job.refresh_from_db()
    return job


def snapshot() -> tuple:
    return (
        sorted(Programme.objects.values_list("code", "version", "status")),
        Participation.objects.count(),
        Organisation.objects.count(),
    )


def test_an_iom_activity_is_previewed_without_writing_anything(media, staff):
    before = snapshot()
    job = upload(staff)
    assert job.status == ImportStatus.PREVIEWED
    (item,) = job.preview
    assert item["identifier"] == "XM-DAC-47066-CT.0412"
    assert item["code"] == "CT.0412"
    assert item["action"] == "new"
    assert item["errors"] == []
    assert "European Union" in item["new_organisations"]
    fields = {change["field"]: change["new"] for change in item["changes"]}
    assert fields["title_fr"].startswith("Renforcement de la lutte")
    assert fields["primary_sector"] == "CT"
    assert fields["budget"] == "1000000"
    assert snapshot() == before


def test_confirmed_import_creates_the_programme_through_the_services(media, staff):
    job = confirm(upload(staff), staff)
    assert job.status == ImportStatus.APPLIED, job.result
    assert [item["code"] for item in job.result["new"]] == ["CT.0412"]
    programme = Programme.objects.get(code="CT.0412")
    assert programme.title_en.startswith("Strengthening")
    assert programme.summary_fr.startswith("Appui")
    assert (programme.planned_start, programme.planned_end, programme.actual_start) == (
        date(2025, 1, 1),
        date(2026, 12, 31),
        date(2025, 2, 1),
    )
    assert (programme.budget, programme.currency) == (Decimal("1000000"), "USD")
    assert programme.status == Status.ACTIVE
    assert "XM-DAC-47066-CT.0412" in programme.status_changes.get().reason
    # Agadez by P-code; "Arlit" by name: the department (the widest unit of that name).
    assert list(programme.locations.values_list("admin_unit__pcode", flat=True)) == ["NE001", "NE001002"]
    roles = {
        (p.organisation.name_fr, p.role, p.contribution)
        for p in programme.participations.select_related("organisation")
    }
    assert ("European Union", Role.FUNDING, Decimal("1000000.00")) in roles
    assert any(role == Role.IMPLEMENTING_PARTNER and "traite" in name for name, role, _c in roles)
    assert programme.created_by == staff
    assert "programme-manager" in ImportedActivity.objects.get(programme=programme).raw_xml
    # The result (an output with no outcome before it) became an outcome, with its indicator and values.
    (outcome,) = programme.outcomes.all()
    assert outcome.statement_fr.startswith("Victims of trafficking")
    (indicator,) = programme.indicators.all()
    assert (indicator.name_fr, indicator.outcome, indicator.baseline_year) == (
        "Nombre de victimes de la traite assistées",
        outcome,
        2024,
    )
    cells = {(v.sex, v.target, v.achieved) for v in indicator.values.all()}
    assert cells == {
        ("all", Decimal("120"), Decimal("134")),
        ("female", None, Decimal("70")),
        ("male", None, Decimal("64")),
    }


def test_importing_the_same_file_again_changes_nothing(media, staff):
    confirm(upload(staff), staff)
    before = snapshot()
    again = upload(staff)
    assert [item["action"] for item in again.preview] == ["unchanged"]
    again = confirm(again, staff)
    assert len(again.result["unchanged"]) == 1
    assert snapshot() == before


def test_an_unknown_organisation_is_created_only_when_the_user_confirms(media, staff):
    before = snapshot()
    job = confirm(upload(staff), staff, create=False)
    assert job.result["new"] == []
    (skipped,) = job.result["skipped"]
    assert "European Union" in " ".join(skipped["reasons"])
    assert snapshot() == before


def test_a_rule_of_the_domain_refuses_the_activity_whole(media, staff):
    # The funder's commitment exceeds the budget: the same rule as the edit page and the API.
    content = IOM_FILE.read_bytes().replace(b'value-date="2025-01-15">1000000', b'value-date="2025-01-15">5000000')
    before = snapshot()
    job = confirm(upload(staff, content=content), staff)
    (skipped,) = job.result["skipped"]
    assert any("budget" in reason for reason in skipped["reasons"])
    assert snapshot()[0] == before[0]
    assert not Programme.objects.filter(code="CT.0412").exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "vide"),
        (b"<html><body>Excel</body></html>", "ni un fichier IATI"),
        (b"<iati-activities version='2.01'></iati-activities>", "2.01"),
        (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><iati-activities version="2.03"/>', "entit"),
        (b"<iati-activities version='2.03'><iati-activity>", "XML"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01", "ni un fichier IATI"),
        (bytes([0x81, 0x8D, 0x8F, 0x90, 0x9D]) * 10, "ni un fichier IATI"),
        (b"PK\x03\x04not really a zip", "classeur"),
    ],
)
def test_unreadable_files_are_refused_at_once_and_nothing_is_kept(media, staff, content, message):
    with translation.override("fr"), pytest.raises(ImportRefused) as refused:  # whatever an earlier test left active
        upload(staff, content=content, name="file.xml")
    assert message in refused.value.messages[0]
    assert ImportJob.objects.count() == 0


def test_results_whose_parts_exceed_the_total_refuse_the_activity(media, staff):
    content = IOM_FILE.read_bytes().replace(b'<actual value="64">', b'<actual value="94">')
    job = confirm(upload(staff, content=content), staff)
    (skipped,) = job.result["skipped"]
    assert not Programme.objects.filter(code="CT.0412").exists()
    assert any("total" in reason for reason in skipped["reasons"])


def test_a_duplicate_identifier_inside_one_file_is_an_error(media, staff):
    text = IOM_FILE.read_text(encoding="utf-8")
    start, end = text.index("<iati-activity "), text.index("</iati-activities>")
    doubled = text[:end] + text[start:end] + "</iati-activities>"
    job = upload(staff, content=doubled.encode())
    assert [item["action"] for item in job.preview] == ["new", "error"]
    assert "plus d'une fois" in job.preview[1]["errors"][0] or "more than once" in job.preview[1]["errors"][0]


def test_partners_may_not_import_iati_files(media, partner_a):
    with pytest.raises(ImportRefused):
        upload(partner_a)


def three_w(code: str, pcode: str = "NE006", org: str = "ORGA") -> bytes:
    return (
        "Code,Programme,Organisation,Région\n#activity+code,#activity+name,#org+impl+acronym,#adm1+code\n"
        f"{code},Un programme,{org},{pcode}\n"
    ).encode()


def test_a_partner_submission_waits_for_iom_and_is_limited_to_its_joint_programmes(
    media, partner_a, partner_b, staff, programme_a, programme_b
):
    job = upload(
        partner_a, content=three_w(programme_a.code) + three_w(programme_b.code).split(b"\n", 2)[2], name="3w.csv"
    )
    assert job.status == ImportStatus.PENDING_REVIEW
    actions = {item["code"]: item["action"] for item in job.preview}
    assert actions[programme_a.code] == "update"
    assert actions[programme_b.code] == "error"  # not partner A's: same words whether it exists or not
    assert ImportJob.objects.visible_to(partner_b).count() == 0
    assert ImportJob.objects.visible_to(partner_a).count() == 1
    rejected = import_job_reject(job=job, user=staff, reason="Merci de préciser les communes.")
    assert rejected.status == ImportStatus.REJECTED
    assert not programme_a.locations.filter(admin_unit__pcode="NE006").exists()


def test_a_sheet_adds_places_and_partners_and_a_second_run_changes_nothing(media, staff, programme_a, org_a):
    job = confirm(upload(staff, content=three_w(programme_a.code, "NE003"), name="3w.csv"), staff)
    assert [i["code"] for i in job.result["update"]] == [programme_a.code]
    pcodes = set(programme_a.locations.values_list("admin_unit__pcode", flat=True))
    assert {"NE003", "NE006012007"} <= pcodes  # added, nothing removed
    again = upload(staff, content=three_w(programme_a.code, "NE003"), name="3w.csv")
    assert [item["action"] for item in again.preview] == ["unchanged"]


def test_row_errors_name_the_row_and_column_and_suggest_the_place(media, staff, programme_a):
    content = (f"Code,Région\n#activity+code,#adm1+name\n{programme_a.code},Tilaberi\n").encode()
    job = upload(staff, content=content, name="3w.csv")
    (item,) = job.preview
    assert item["action"] == "error"
    assert "ligne 3" in item["errors"][0] and "Région" in item["errors"][0]
    assert "Tillabéri (NE006)" in item["errors"][0]


def test_a_sheet_without_hashtags_is_refused_with_a_reason(media, staff):
    with pytest.raises(ImportRefused) as refused:
        upload(staff, content=b"Code,Titre\nA,B\n", name="plain.csv")
    assert "#activity+code" in refused.value.messages[0] or "HXL" in refused.value.messages[0]


def test_the_dry_run_command_prints_the_preview_and_writes_nothing(media, staff, admin_user):
    out = io.StringIO()
    before = snapshot()
    call_command("import_iati", str(IOM_FILE), "--dry-run", stdout=out)
    assert "NEW" in out.getvalue() and "XM-DAC-47066-CT.0412" in out.getvalue()
    assert snapshot() == before
    assert ImportJob.objects.count() == 0


def test_the_command_imports_and_a_second_run_changes_nothing(media, admin_user):
    out = io.StringIO()
    call_command("import_iati", str(IOM_FILE), "--create-organisations", stdout=out)
    assert Programme.objects.filter(code="CT.0412").exists()
    out = io.StringIO()
    call_command("import_iati", str(IOM_FILE), stdout=out)
    assert "UNCHANGED" in out.getvalue()


# --- Pages and API, per persona ------------------------------------------------------------------


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_staff_upload_page_shows_the_preview_and_confirms(media, staff):
    client = client_for(staff)
    with IOM_FILE.open("rb") as handle:
        response = client.post("/fr/imports/", {"file": handle, "language": "fr"})
    assert response.status_code == 302
    job = ImportJob.objects.get()
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert "XM-DAC-47066-CT.0412" in page.content.decode()
    response = client.post(f"/fr/imports/{job.uuid}/confirm/", {"create_organisations": "on"})
    assert response.status_code == 302
    assert Programme.objects.filter(code="CT.0412").exists()


def test_a_bad_file_on_the_page_is_a_400_with_the_reason(media, staff):
    response = client_for(staff).post("/fr/imports/", {"file": SimpleUploadedFile("x.xlsx", b"<html>nope</html>")})
    assert response.status_code == 400
    assert "ni un fichier IATI" in response.content.decode()


def test_partner_b_gets_404_on_partner_a_submission_and_viewer_gets_403(
    media, partner_a, partner_b, viewer, programme_a
):
    job = upload(partner_a, content=three_w(programme_a.code), name="3w.csv")
    assert client_for(partner_a).get(f"/fr/imports/{job.uuid}/").status_code == 200
    assert client_for(partner_b).get(f"/fr/imports/{job.uuid}/").status_code == 404
    assert client_for(partner_a).post(f"/fr/imports/{job.uuid}/confirm/").status_code == 404
    assert client_for(viewer).get("/fr/imports/").status_code == 403


def test_the_api_takes_a_multipart_upload_and_returns_the_preview(media, staff, partner_b):
    client = client_for(staff)
    with IOM_FILE.open("rb") as handle:
        response = client.post("/api/v1/imports/", {"file": handle})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "previewed"
    assert body["counts"] == {"new": 1}
    response = client.post(
        f"/api/v1/imports/{body['uuid']}/confirm/", {"create_organisations": True}, content_type="application/json"
    )
    assert response.status_code == 200
    assert response.json()["status"] == "applied"
    assert client_for(partner_b).get(f"/api/v1/imports/{body['uuid']}/").status_code == 404
    bad = client.post("/api/v1/imports/", {"file": SimpleUploadedFile("x.xml", b"<html/>")})
    assert bad.status_code == 400


def test_the_template_has_headers_hashtags_and_allowed_values(media, staff):
    from openpyxl import load_workbook

    response = client_for(staff).get("/fr/imports/template.xlsx")
    assert response.status_code == 200
    workbook = load_workbook(io.BytesIO(response.content))
    sheet = workbook.worksheets[0]
    assert sheet["A1"].value == "Code du programme"
    assert sheet["A2"].value == "#activity+code"
    assert "NE006" in [c.value for c in workbook.worksheets[1]["E"]]


def formula_workbook(code: str, *, saved: str | None) -> bytes:
    """A 3W sheet whose budget cell is a formula; `saved` is the result a spreadsheet program would have stored."""
    import re
    import zipfile

    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["Code", "Programme", "Budget"])
    sheet.append(["#activity+code", "#activity+name", "#value+budget"])
    sheet.append([code, "Un programme", "=1000*2"])
    buffer = io.BytesIO()
    book.save(buffer)
    if saved is None:
        return buffer.getvalue()  # openpyxl computes nothing: no saved result, as from a script
    source, out = zipfile.ZipFile(io.BytesIO(buffer.getvalue())), io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = re.sub(
                    rb"(<f>1000\*2</f>)<v\s*/>|(<f>1000\*2</f>)<v></v>",
                    rb"<f>1000*2</f><v>%s</v>" % saved.encode(),
                    data,
                )
                assert saved.encode() in data
            target.writestr(item, data)
    return out.getvalue()


def test_a_formula_with_a_saved_result_is_read_and_reported_for_its_cell(media, staff, programme_a):
    job = upload(staff, content=formula_workbook(programme_a.code, saved="2000"), name="3w.xlsx")
    (item,) = job.preview
    assert item["action"] == "update", item
    assert any(c["field"] == "budget" and "2" in str(c["new"]) for c in item["changes"])
    (warning,) = [w for w in item["warnings"] if "formule" in w]
    assert "ligne 3" in warning and "Budget" in warning and "=1000*2" in warning and "2000" in warning


def test_a_formula_without_a_saved_result_stops_its_programme_with_the_cell_named(media, staff, programme_a):
    job = upload(staff, content=formula_workbook(programme_a.code, saved=None), name="3w.xlsx")
    (item,) = job.preview
    assert item["action"] == "error"
    (error,) = item["errors"]
    assert "ligne 3" in error and "Budget" in error and "=1000*2" in error and "enregistrez" in error
    before = programme_a.budget
    confirm(job, staff)
    programme_a.refresh_from_db()
    assert programme_a.budget == before  # nothing written
