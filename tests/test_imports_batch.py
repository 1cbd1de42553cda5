"""The batch path of the import: new activities written together by programmes.services.programme_create_many.

The same rules and messages as programme_create (one validator), the same rows and history, each activity
still all or nothing, a database error sending the batch row by row, and a query count per batch that does
not grow with the number of activities.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from auditlog.models import LogEntry
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, connection
from django.test.utils import CaptureQueriesContext

from imports import services
from imports.models import ImportedActivity
from imports.services import import_job_confirm, import_job_create
from obligations.models import Obligation
from partners.models import Organisation
from programmes.models import Participation, Programme, ProgrammeLocation, RecipientCountry, Role, Sector
from programmes.rules import ParticipationRow
from programmes.services import NewProgramme, programme_create, programme_create_many
from regions.models import AdminUnit, Country

from .conftest import make_organisation, make_programme


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.IMPORT_INLINE_BYTES = 10**9  # preview and import at once, in the test's process
    return tmp_path


def activity(n: int, *, prefix: str = "BATCH", start: str = "2026-01-01", end: str = "2027-12-31") -> str:
    return f"""<iati-activity xml:lang="fr" default-currency="USD">
  <iati-identifier>XM-DAC-47066-{prefix}.{n:04d}</iati-identifier>
  <reporting-org ref="XM-DAC-47066" type="40"><narrative>OIM</narrative></reporting-org>
  <title><narrative>Programme {n}</narrative><narrative xml:lang="en">Programme {n} (en)</narrative></title>
  <description type="1"><narrative>Résumé {n}</narrative></description>
  <participating-org ref="XM-DAC-47066" role="2" type="40"><narrative>OIM</narrative></participating-org>
  <participating-org role="4" type="10"><narrative>Organisation org-a</narrative></participating-org>
  <activity-status code="1"/>
  <activity-date type="1" iso-date="{start}"/><activity-date type="3" iso-date="{end}"/>
  <activity-scope code="4"/>
  <recipient-country code="NE" percentage="100"/>
  <location><administrative vocabulary="G1" level="1" code="NE006"/><name><narrative>x</narrative></name></location>
  <sector vocabulary="99" vocabulary-uri="https://www.iom.int/migration-management" code="CT"/>
  <sector vocabulary="99" vocabulary-uri="https://www.iom.int/migration-management" code="AM"/>
  <budget type="1" status="1"><period-start iso-date="2026-01-01"/><period-end iso-date="2026-12-31"/>
    <value currency="USD" value-date="2026-01-01">{100000 + n}</value></budget>
</iati-activity>"""


def activities_file(*activities: str) -> bytes:
    return f'<?xml version="1.0"?><iati-activities version="2.03">{"".join(activities)}</iati-activities>'.encode()


def import_file(user, content: bytes):
    job = import_job_create(user=user, upload=SimpleUploadedFile("batch.xml", content), language="fr")
    import_job_confirm(job=job, user=user, create_organisations=True)
    job.refresh_from_db()
    return job


@pytest.fixture
def row_by_row(monkeypatch):
    """The import as it was before the batch path: every activity through apply_draft."""
    monkeypatch.setattr(services, "_writable_together", lambda draft, hashes: False)


def written_together(monkeypatch) -> list[int]:
    """Counts the activities programme_create_many is given."""
    sizes: list[int] = []
    original = services.programme_create_many

    def counting(*, user, items, written=None):
        sizes.append(len(items))
        return original(user=user, items=items, written=written)

    monkeypatch.setattr(services, "programme_create_many", counting)
    return sizes


def what_was_written(code: str) -> dict:
    """The programme, its parts and its history, without what differs between two programmes (ids, code)."""
    programme = Programme.objects.get(code=code)
    identity = {code, str(programme)}
    entries = LogEntry.objects.filter(additional_data__programme=programme.pk).order_by("pk")

    def plain(changes: dict) -> dict:
        kept = {}
        for field, change in changes.items():
            if field in ("id", "programme", "created_at"):
                continue
            if isinstance(change, dict):  # m2m: {"type", "operation", "objects"}
                kept[field] = change
            else:
                kept[field] = [None if v in identity else v for v in change]
        return kept

    return {
        "fields": {
            f.name: getattr(programme, f.attname)
            for f in Programme._meta.concrete_fields
            if f.name not in ("id", "code", "title_fr", "title_en", "summary_fr", "summary_en", "search_text")
            and f.name not in ("created_at", "updated_at")
        },
        "search_text": programme.search_text.replace(code.lower(), "").replace("xm-dac-47066-", ""),
        "secondary": sorted(programme.secondary_sectors.values_list("code", flat=True)),
        "participations": sorted(programme.participations.values_list("organisation__code", "role", "contribution")),
        "locations": sorted(programme.locations.values_list("admin_unit__pcode", flat=True)),
        "countries": sorted(programme.recipient_countries.values_list("country__code", "percentage")),
        "history": [(e.content_type.model, e.action, e.actor_id, e.actor_email, plain(e.changes)) for e in entries],
        "imported": ImportedActivity.objects.filter(programme=programme).count(),
    }


def test_new_activities_are_written_together_and_hold_what_the_row_path_writes(media, staff, org_a, monkeypatch):
    make_organisation("iom", name_fr="OIM", acronym="OIM", iati_identifier="XM-DAC-47066")
    sizes = written_together(monkeypatch)
    job = import_file(staff, activities_file(activity(1), activity(2)))
    assert [item["code"] for item in job.result["new"]] == ["BATCH.0001", "BATCH.0002"]
    assert sizes == [2]  # both in one programme_create_many

    monkeypatch.setattr(services, "_writable_together", lambda draft, hashes: False)
    job = import_file(staff, activities_file(activity(1, prefix="ROW")))
    assert [item["code"] for item in job.result["new"]] == ["ROW.0001"]
    assert sizes == [2]  # the row path this time

    together, alone = what_was_written("BATCH.0001"), what_was_written("ROW.0001")
    assert together == alone
    assert together["secondary"] and together["participations"] and together["locations"]
    assert [entry[:2] for entry in together["history"]] == [entry[:2] for entry in alone["history"]]
    assert Programme.objects.get(code="BATCH.0001").place_codes == " NE006 "
    assert Programme.objects.filter(search_text__contains="tillaberi", code="BATCH.0002").exists()


def test_a_refused_activity_is_reported_with_the_row_paths_messages_and_the_others_are_written(
    media, staff, org_a, monkeypatch
):
    make_organisation("iom", name_fr="OIM", acronym="OIM", iati_identifier="XM-DAC-47066")
    sizes = written_together(monkeypatch)
    content = activities_file(activity(1), activity(2, end="2025-06-30"), activity(3))
    job = import_file(staff, content)
    assert sizes == [3]
    assert [item["code"] for item in job.result["new"]] == ["BATCH.0001", "BATCH.0003"]
    (skipped,) = job.result["skipped"]
    assert skipped["identifier"] == "XM-DAC-47066-BATCH.0002"
    assert not Programme.objects.filter(code="BATCH.0002").exists()
    assert not ImportedActivity.objects.filter(iati_identifier="XM-DAC-47066-BATCH.0002").exists()

    monkeypatch.setattr(services, "_writable_together", lambda draft, hashes: False)
    alone = import_file(staff, content.replace(b"BATCH", b"ROW"))
    assert alone.result["skipped"][0]["reasons"] == skipped["reasons"]
    assert any("fin prévue" in reason for reason in skipped["reasons"])


def test_a_database_error_in_a_batch_sends_its_activities_row_by_row(media, staff, org_a, monkeypatch):
    make_organisation("iom", name_fr="OIM", acronym="OIM", iati_identifier="XM-DAC-47066")
    original = services.programme_create_many

    def failing_at_the_end(*, user, items, written=None):
        def then_fail(programmes):
            written(programmes)
            raise IntegrityError("a constraint the validation did not see")

        return original(user=user, items=items, written=then_fail)

    monkeypatch.setattr(services, "programme_create_many", failing_at_the_end)
    job = import_file(staff, activities_file(activity(1), activity(2), activity(3)))
    assert [item["code"] for item in job.result["new"]] == ["BATCH.0001", "BATCH.0002", "BATCH.0003"]
    assert job.result["skipped"] == []
    assert Programme.objects.filter(code__startswith="BATCH.").count() == 3
    assert ImportedActivity.objects.filter(iati_identifier__contains="BATCH").count() == 3
    programme_entries = LogEntry.objects.filter(
        content_type__model="programme", object_repr__startswith="BATCH.", action=LogEntry.Action.CREATE
    )
    assert programme_entries.count() == 3  # the rolled-back batch left no history


def test_importing_the_same_file_again_changes_nothing(media, staff, org_a):
    make_organisation("iom", name_fr="OIM", acronym="OIM", iati_identifier="XM-DAC-47066")
    content = activities_file(activity(1), activity(2))
    import_file(staff, content)
    before = (list(Programme.objects.values_list("code", "version")), LogEntry.objects.count())
    again = import_file(staff, content)
    assert len(again.result["unchanged"]) == 2
    assert (list(Programme.objects.values_list("code", "version")), LogEntry.objects.count()) == before


def queries_to_import(user, count: int, prefix: str) -> int:
    content = activities_file(*(activity(n, prefix=prefix) for n in range(1, count + 1)))
    job = import_job_create(user=user, upload=SimpleUploadedFile("q.xml", content), language="fr")
    with CaptureQueriesContext(connection) as queries:
        import_job_confirm(job=job, user=user, create_organisations=True)
    job.refresh_from_db()
    assert len(job.result["new"]) == count, job.result
    return len(queries)


def test_the_batch_path_runs_the_same_queries_per_activity_at_any_size(media, staff, org_a, monkeypatch):
    make_organisation("iom", name_fr="OIM", acronym="OIM", iati_identifier="XM-DAC-47066")
    queries_to_import(staff, 2, "QW")  # what a process reads once (content types) is read
    if connection.vendor == "postgresql":  # one statement per table and batch (SQLite splits long inserts)
        assert queries_to_import(staff, 10, "QA") == queries_to_import(staff, 40, "QB")
    # In batches of 5: the same queries for each batch, so the same per activity at 10 and 40 activities.
    monkeypatch.setattr(services, "BATCH_SIZE", 5)
    ten, twenty, forty = (queries_to_import(staff, n, f"QC{n}") for n in (10, 20, 40))
    assert (forty - twenty) / 20 == (twenty - ten) / 10
    assert (twenty - ten) / 2 < 30  # queries per batch of 5 activities, against ≈36 per activity row by row


# --- The domain service itself --------------------------------------------------------------------


def base_fields(default_code: str, **more) -> dict:
    return {
        "code": more.pop("code", default_code),
        "title_fr": f"Programme {default_code}",
        "primary_sector": Sector.objects.get(code="CT"),
        "planned_start": date(2026, 1, 1),
        "planned_end": date(2026, 12, 31),
        "budget": Decimal("1000"),
        **more,
    }


REFUSALS = [
    ("planned end before start", {"planned_end": date(2025, 1, 1)}, {}),
    ("negative budget", {"budget": Decimal("-1")}, {}),
    ("bad code", {"code": "x"}, {}),
    ("code taken", {"code": "TAKEN-001"}, {}),
    ("kept out of IATI without a reason", {"iati_publish": False}, {}),
    ("same place twice", {}, {"locations": ["NE006", "NE006"]}),
    ("contribution of a non-funder", {}, {"participations": [("org-a", Role.IMPLEMENTING_PARTNER, "10")]}),
    ("contributions over the budget", {}, {"participations": [("org-a", Role.FUNDING, "5000")]}),
    ("national with two countries", {}, {"recipient_countries": ["NE", "ML"]}),
    ("primary sector also secondary", {}, {"secondary_sectors": ["CT"]}),
]


def lists(spec: dict) -> dict:
    return {
        "locations": [AdminUnit.objects.get(pcode=p) for p in spec.get("locations", [])],
        "participations": [
            ParticipationRow(Organisation.objects.get(code=c), role, Decimal(v) if v else None)
            for c, role, v in spec.get("participations", [])
        ],
        "recipient_countries": [
            {"country": Country.objects.get(code=c), "percentage": 50} for c in spec.get("recipient_countries", [])
        ],
        "secondary_sectors": [Sector.objects.get(code=c) for c in spec.get("secondary_sectors", [])],
    }


@pytest.mark.parametrize(("fields", "spec"), [r[1:] for r in REFUSALS], ids=[r[0] for r in REFUSALS])
def test_programme_create_many_refuses_what_programme_create_refuses_with_the_same_messages(staff, org_a, fields, spec):
    make_programme(code="TAKEN-001")
    with pytest.raises(ValidationError) as alone:
        programme_create(user=staff, fields=base_fields("ALONE-001", **fields), **lists(spec))
    before = Programme.objects.count(), LogEntry.objects.count()
    good, refused = programme_create_many(
        user=staff,
        items=[
            NewProgramme(fields=base_fields("GOOD-001")),
            NewProgramme(fields=base_fields("MANY-001", **fields), **lists(spec)),
        ],
    )
    assert isinstance(good, Programme) and good.pk
    assert isinstance(refused, ValidationError)
    assert refused.message_dict == alone.value.message_dict
    assert Programme.objects.count() == before[0] + 1 and not Programme.objects.filter(code="MANY-001").exists()
    assert LogEntry.objects.count() > before[1]


def test_a_code_twice_in_one_batch_is_refused_once(staff):
    first, second = programme_create_many(
        user=staff, items=[NewProgramme(fields=base_fields("TWICE-001")), NewProgramme(fields=base_fields("TWICE-001"))]
    )
    assert isinstance(first, Programme)
    assert second.message_dict == {"code": ["Un autre programme utilise déjà ce code."]}


def test_programmes_created_together_get_the_obligations_of_their_funders(
    staff, org_a, django_capture_on_commit_callbacks
):
    from obligations.models import ObligationRule, ObligationRuleSet

    funder = make_organisation("funder", name_fr="Bailleur")
    rule_set = ObligationRuleSet.objects.create(funder=funder, name_fr="Bailleur", is_active=True)
    ObligationRule.objects.create(rule_set=rule_set, kind="narrative_report", anchor="end", offset_days=30)
    with django_capture_on_commit_callbacks(execute=True):
        funded, plain = programme_create_many(
            user=staff,
            items=[
                NewProgramme(
                    fields=base_fields("FUNDED-001"),
                    participations=[ParticipationRow(funder, Role.FUNDING, Decimal("500"))],
                ),
                NewProgramme(
                    fields=base_fields("PLAIN-001"),
                    participations=[ParticipationRow(org_a, Role.IMPLEMENTING_PARTNER)],
                ),
            ],
        )
    assert Obligation.objects.filter(programme=funded).exists()
    assert not Obligation.objects.filter(programme=plain).exists()
    assert ProgrammeLocation.objects.filter(programme=funded).count() == 0
    assert RecipientCountry.objects.filter(programme=funded).count() == 1  # a national programme: Niger, 100 %
    assert Participation.objects.get(programme=funded).contribution == Decimal("500")
