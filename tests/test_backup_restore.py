"""Backup and recovery: backup → drop → restore into an empty PostgreSQL database → the same
programmes, documents and report files. Runs on PostgreSQL (CI); skipped on SQLite."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import tarfile
from pathlib import Path

import psycopg2
import pytest
from django.core.files.base import ContentFile
from django.core.management import CommandError, call_command
from django.db import connection

from programmes.models import Document, Programme, Visibility
from reports import services
from reports.models import JobStatus, ReportJob

from .conftest import make_programme

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.xdist_group("backup")]


@pytest.fixture
def postgres():
    if connection.vendor != "postgresql":
        if os.environ.get("CI_REQUIRE_SERVICES"):
            pytest.fail("backups need PostgreSQL and CI must run this test")
        pytest.skip("backups need PostgreSQL (set DATABASE_URL)")
    if not shutil.which("pg_dump"):
        pytest.fail("pg_dump is not installed")
    return connection.settings_dict


def _dsn(conf: dict, name: str) -> dict:
    return {
        "host": conf["HOST"] or None,
        "port": conf["PORT"] or None,
        "user": conf["USER"],
        "password": conf["PASSWORD"] or None,
        "dbname": name,
    }


def _url(conf: dict, name: str) -> str:
    auth = conf["USER"] + (f":{conf['PASSWORD']}" if conf["PASSWORD"] else "")
    return f"postgres://{auth}@{conf['HOST'] or '127.0.0.1'}:{conf['PORT'] or 5432}/{name}"


def _admin(conf: dict, sql: str) -> None:
    admin = psycopg2.connect(**_dsn(conf, "postgres"))
    try:
        admin.autocommit = True
        with admin.cursor() as cursor:
            cursor.execute(sql)
    finally:
        admin.close()


def _query(conf: dict, name: str, sql: str) -> list:
    db = psycopg2.connect(**_dsn(conf, name))
    try:
        with db.cursor() as cursor:
            cursor.execute(sql)
            return cursor.fetchall()
    finally:
        db.close()


def test_backup_then_restore_into_an_empty_database_gives_back_programmes_documents_and_report_files(
    postgres, org_a, staff, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path / "media"
    programmes = [make_programme(org_a, title_fr=f"Programme {i}") for i in range(3)]
    document = Document.objects.create(
        programme=programmes[0],
        title="Rapport",
        category="progress_report",
        visibility=Visibility.PARTNERS,
        file=ContentFile(b"%PDF-1.4 rapport", name="rapport.pdf"),
    )
    job = services.report_job_create(user=staff, type="matrix_3w_csv", parameters={}, language="fr")
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED
    report_bytes = job.path.read_bytes()
    document_bytes = Path(document.file.path).read_bytes()

    call_command("backup", "--output", str(tmp_path / "backups"))
    backup = next((tmp_path / "backups").glob("iom-portal-backup-*.tar"))
    with tarfile.open(backup) as bundle:
        assert set(bundle.getnames()) == {"manifest.json", "database.dump", "private-files.tar.gz"}
        manifest = json.load(bundle.extractfile("manifest.json"))
    documents = Document.objects.count()  # the programme's file and the sector references of the reference data
    assert manifest["counts"]["programmes"] == 3 and manifest["counts"]["documents"] == documents
    assert "reports.0003_report_job_idempotency_key" in manifest["database"]["migrations"]
    assert len(manifest["files"]["database.dump"]["sha256"]) == 64 and manifest["created_at"]

    # The disk dies: the database and the private files are gone.
    target = f"{postgres['NAME']}_restored"
    _admin(postgres, f'DROP DATABASE IF EXISTS "{target}"')
    _admin(postgres, f'CREATE DATABASE "{target}"')
    shutil.rmtree(settings.MEDIA_ROOT)
    try:
        call_command("restore", str(backup), "--database-url", _url(postgres, target))
        codes = {row[0] for row in _query(postgres, target, "SELECT code FROM programmes_programme")}
        assert codes == {p.code for p in Programme.objects.all()}
        documents = _query(
            postgres, target, "SELECT title, file FROM programmes_document WHERE programme_id IS NOT NULL"
        )
        assert documents == [("Rapport", document.file.name)]
        jobs = _query(postgres, target, "SELECT uuid::text, file, sha256 FROM reports_reportjob")
        assert jobs == [(str(job.uuid), job.file.name, job.sha256)]
        assert (settings.MEDIA_ROOT / document.file.name).read_bytes() == document_bytes
        assert (settings.MEDIA_ROOT / job.file.name).read_bytes() == report_bytes

        # Never over data: a second restore into the now full database is refused.
        with pytest.raises(CommandError, match="not empty"):
            call_command("restore", str(backup), "--database-url", _url(postgres, target))
    finally:
        _admin(postgres, f'DROP DATABASE IF EXISTS "{target}"')
    assert ReportJob.objects.count() == 1


def test_a_damaged_backup_is_refused_before_anything_is_restored(postgres, settings, tmp_path, reference):
    settings.MEDIA_ROOT = tmp_path / "media"
    call_command("backup", "--output", str(tmp_path / "b.tar"))
    damaged = tmp_path / "damaged.tar"
    with tarfile.open(tmp_path / "b.tar") as source, tarfile.open(damaged, "w") as out:
        for member in source.getmembers():
            data = source.extractfile(member).read()
            if member.name == "database.dump":
                data = data[:-10] + b"0123456789"
            member.size = len(data)
            out.addfile(member, io.BytesIO(data))
    target = f"{postgres['NAME']}_damaged"
    _admin(postgres, f'DROP DATABASE IF EXISTS "{target}"')
    _admin(postgres, f'CREATE DATABASE "{target}"')
    try:
        with pytest.raises(CommandError, match="Checksum mismatch"):
            call_command("restore", str(damaged), "--database-url", _url(postgres, target))
        assert _query(postgres, target, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'") == [(0,)]
    finally:
        _admin(postgres, f'DROP DATABASE IF EXISTS "{target}"')


def test_make_restore_without_a_file_explains_its_usage():
    result = subprocess.run(
        ["make", "-s", "restore"],
        cwd=Path(__file__).resolve().parent.parent,
        capture_output=True,
        text=True,
        env={**os.environ, "VENV": ".venv"},
        check=False,
    )
    assert result.returncode != 0
    assert "usage: make restore FILE=" in result.stdout + result.stderr
