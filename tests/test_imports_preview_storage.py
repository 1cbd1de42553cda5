"""The stored preview: one row per activity written batch by batch, read back as the list the pages and the API
show; the upload checksummed and kept chunk by chunk; the preview's queries constant per batch."""

from __future__ import annotations

import hashlib
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile, UploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from imports import services
from imports.models import ImportFormat, ImportJob, ImportPreviewItem, ImportStatus
from imports.services import ImportRefused, build_preview, import_job_create, import_job_preview

from .conftest import make_organisation
from .test_imports_batch import activities_file, activity


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.IMPORT_INLINE_BYTES = 10**9  # previewed during the upload, in the test's process
    return tmp_path


@pytest.fixture
def small_batches(monkeypatch):
    monkeypatch.setattr(services, "BATCH_SIZE", 3)


def mixed_file() -> bytes:
    """New activities, one naming an organisation the portal does not know, one error, one duplicate."""
    unknown = activity(4, prefix="MIX").replace("Organisation org-a", "Association inconnue du portail")
    no_title = activity(6, prefix="MIX").replace("<title>", "<x>").replace("</title>", "</x>")
    return activities_file(
        activity(1, prefix="MIX"),
        activity(2, prefix="MIX"),
        activity(3, prefix="MIX"),
        unknown,
        activity(5, prefix="MIX"),
        no_title,
        activity(7, prefix="MIX"),
        activity(2, prefix="MIX"),
    )


def test_the_stored_preview_reads_back_as_the_preview_in_the_files_order(media, staff, org_a, small_batches):
    make_organisation("iom", name_fr="OIM", acronym="OIM", iati_identifier="XM-DAC-47066")
    content = mixed_file()
    with translation.override("fr"):
        expected = build_preview(io.BytesIO(content), format=ImportFormat.IATI_XML, language="fr")
        job = import_job_create(user=staff, upload=SimpleUploadedFile("mix.xml", content), language="fr")
    assert [item["action"] for item in expected] == ["new", "new", "new", "new", "new", "error", "new", "error"]
    # Three batches of 3 written as rows, one per activity, in the file's order.
    assert ImportPreviewItem.objects.filter(job=job).count() == 8 == job.item_count
    fresh = ImportJob.objects.get(pk=job.pk)
    assert fresh.preview == expected
    assert fresh.counts == {"new": 6, "error": 2}
    assert list(fresh.counts) == ["new", "error"]  # in the order the preview meets them
    assert fresh.needs_organisations
    assert list(fresh.iter_preview(chunk_size=2)) == expected
    # The same through a prefetch (the pages and the API), with no query per access.
    prefetched = ImportJob.objects.prefetch_related("preview_items").get(pk=job.pk)
    with CaptureQueriesContext(connection) as queries:
        assert prefetched.preview == expected
        assert prefetched.counts == {"new": 6, "error": 2}
        assert prefetched.needs_organisations
    assert len(queries) == 0


def test_a_preview_without_new_organisations_says_none_are_needed(media, staff, org_a):
    make_organisation("iom", name_fr="OIM", acronym="OIM", iati_identifier="XM-DAC-47066")
    job = import_job_create(
        user=staff, upload=SimpleUploadedFile("a.xml", activities_file(activity(1, prefix="NN"))), language="fr"
    )
    assert job.status == ImportStatus.PREVIEWED
    assert not ImportJob.objects.get(pk=job.pk).needs_organisations


def test_a_file_refused_after_its_first_batches_keeps_no_preview_rows(media, staff, org_a, small_batches):
    # Well-formed for 79 activities, then broken: the first two batches were stored before the reader failed.
    content = activities_file(*(activity(n, prefix="BRK") for n in range(1, 80))).replace(
        b"</iati-activities>", b"<iati-activity>"
    )
    with translation.override("fr"), pytest.raises(ImportRefused) as refused:
        import_job_create(user=staff, upload=SimpleUploadedFile("broken.xml", content), language="fr")
    assert "XML" in refused.value.messages[0]
    assert not ImportJob.objects.exists()
    assert not ImportPreviewItem.objects.exists()


def test_a_background_preview_that_fails_keeps_its_job_and_no_rows(media, settings, staff, small_batches):
    settings.IMPORT_INLINE_BYTES = 0  # queued for the worker
    content = activities_file(*(activity(n, prefix="BG") for n in range(1, 80))).replace(
        b"</iati-activities>", b"<iati-activity>"
    )
    job = import_job_create(user=staff, upload=SimpleUploadedFile("broken.xml", content), language="fr")
    job = import_job_preview(job_id=job.pk)
    assert job.status == ImportStatus.FAILED and job.error_message
    assert job.preview == [] and job.counts == {}
    assert not ImportPreviewItem.objects.exists()


def test_a_preview_read_again_after_an_interruption_is_not_stored_twice(media, settings, staff, org_a, small_batches):
    settings.IMPORT_INLINE_BYTES = 0
    job = import_job_create(
        user=staff,
        upload=SimpleUploadedFile("a.xml", activities_file(*(activity(n, prefix="RT") for n in range(5)))),
        language="fr",
    )
    # An attempt stored its first batch, then the database went away; the retry starts from the beginning.
    ImportPreviewItem.objects.create(job=job, position=0, action="new", data={"identifier": "left over"})
    job = import_job_preview(job_id=job.pk)
    assert job.status == ImportStatus.PREVIEWED
    assert [item["identifier"] for item in job.preview] == [f"XM-DAC-47066-RT.{n:04d}" for n in range(5)]


def queries_to_preview(user, count: int, prefix: str) -> int:
    content = activities_file(*(activity(n, prefix=prefix) for n in range(count)))
    job = import_job_create(user=user, upload=SimpleUploadedFile("q.xml", content), language="fr")
    with CaptureQueriesContext(connection) as queries:
        job = import_job_preview(job_id=job.pk)
    assert job.item_count == count and job.status == ImportStatus.PREVIEWED
    return len(queries)


def test_the_preview_runs_the_same_queries_at_10_and_100_activities(media, settings, staff, org_a, monkeypatch):
    make_organisation("iom", name_fr="OIM", acronym="OIM", iati_identifier="XM-DAC-47066")
    settings.IMPORT_INLINE_BYTES = 0  # queued: the preview runs apart from the upload
    queries_to_preview(staff, 2, "PW")  # what a process reads once
    # One batch each: the rows of 10 or 100 activities are written by the same single insert.
    assert queries_to_preview(staff, 10, "PA") == queries_to_preview(staff, 100, "PB")
    # In batches of 10: the same queries for each batch.
    monkeypatch.setattr(services, "BATCH_SIZE", 10)
    ten, fifty, hundred = (queries_to_preview(staff, n, f"PC{n}") for n in (10, 50, 100))
    assert (hundred - fifty) / 5 == (fifty - ten) / 4 <= 10


class ChunkedUpload(UploadedFile):
    """An upload on disk as Django hands large ones over: read in small chunks, never whole."""

    def chunks(self, chunk_size=None):
        return super().chunks(chunk_size=7)


def test_the_upload_is_checksummed_and_stored_chunk_by_chunk(media, staff, org_a):
    content = activities_file(activity(1, prefix="CH"), activity(2, prefix="CH"))
    job = import_job_create(
        user=staff, upload=ChunkedUpload(io.BytesIO(content), name="chunks.xml", size=len(content)), language="fr"
    )
    assert job.status == ImportStatus.PREVIEWED and job.item_count == 2
    assert (job.size, job.sha256) == (len(content), hashlib.sha256(content).hexdigest())
    with job.file.open("rb") as stored:
        assert stored.read() == content


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b" \n\t" * 50_000, "vide"),  # blanks over many chunks
        (b"\r\n" * 40 + b"<html><body>Excel</body></html>", "ni un fichier IATI"),  # sniffed across chunks
    ],
)
def test_blank_and_disguised_files_read_in_chunks_are_refused_as_before(media, staff, content, message):
    with translation.override("fr"), pytest.raises(ImportRefused) as refused:
        import_job_create(
            user=staff, upload=ChunkedUpload(io.BytesIO(content), name="f.xlsx", size=len(content)), language="fr"
        )
    assert message in refused.value.messages[0]
    assert not ImportJob.objects.exists()


def test_the_admin_shows_the_stored_preview_as_json(media, staff, org_a, admin_user, client):
    make_organisation("iom", name_fr="OIM", acronym="OIM", iati_identifier="XM-DAC-47066")
    job = import_job_create(
        user=staff, upload=SimpleUploadedFile("a.xml", activities_file(activity(1, prefix="ADM"))), language="fr"
    )
    client.force_login(admin_user)
    page = client.get(reverse("admin:imports_importjob_change", args=[job.pk]))
    assert page.status_code == 200
    assert "XM-DAC-47066-ADM.0001" in page.content.decode()
    assert client.get(reverse("admin:imports_importjob_changelist")).status_code == 200


def test_the_api_lists_imports_with_their_previews_in_the_same_queries_for_1_and_3_jobs(media, staff, org_a):
    make_organisation("iom", name_fr="OIM", acronym="OIM", iati_identifier="XM-DAC-47066")
    client = Client()
    client.force_login(staff)

    def upload(prefix: str, count: int) -> None:
        content = activities_file(*(activity(n, prefix=prefix) for n in range(count)))
        import_job_create(user=staff, upload=SimpleUploadedFile("a.xml", content), language="fr")

    def listed() -> tuple[int, list]:
        with CaptureQueriesContext(connection) as queries:
            response = client.get("/api/v1/imports/")
        assert response.status_code == 200
        return len(queries), response.json()["results"]

    upload("L1", 2)
    one, body = listed()
    assert [[item["identifier"] for item in job["preview"]] for job in body] == [
        ["XM-DAC-47066-L1.0000", "XM-DAC-47066-L1.0001"]
    ]
    assert body[0]["counts"] == {"new": 2}
    upload("L2", 1)
    upload("L3", 3)
    three, body = listed()
    assert [len(job["preview"]) for job in body] == [3, 1, 2]
    assert one == three
