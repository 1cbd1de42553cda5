"""Import workflows: upload → preview (nothing written) → confirm → apply through the programme services.

The importer is one more door: every programme it writes goes through programmes.services, with the
same rules and messages as the edit page, the API and the admin. Each activity is all or nothing.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from pathlib import Path

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import File
from django.core.files.storage import default_storage
from django.db import DatabaseError, InterfaceError, OperationalError, transaction
from django.db.models import Prefetch
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, override

from partners.models import Organisation, is_iom_staff, partner_organisation_id
from partners.services import organisation_create
from programmes.models import Participation, Programme, ProgrammeLocation, Status, Transaction
from programmes.rules import ParticipationRow
from programmes.services import (
    NewProgramme,
    programme_create,
    programme_create_many,
    programme_record_imported_status,
    programme_update,
    transaction_add,
    transaction_delete,
)

from .drafts import NewOrganisationKey, ProgrammeDraft, draft_changes, draft_from_activity, imported_reference
from .iati import IatiFileError, iter_activities
from .mapping import Reference
from .models import ImportedActivity, ImportFormat, ImportJob, ImportPreviewItem, ImportStatus
from .results import results_write, stored_signature

logger = logging.getLogger(__name__)

NEW, UPDATE, UNCHANGED, ERROR = "new", "update", "unchanged", "error"
BATCH_SIZE = 200
SNIFF_BYTES = 512  # the first bytes sniff_format reads
# What a background job retries (with backoff, see tasks.py): a lost database connection, a storage hiccup.
# A refused activity is not among them: it is skipped with its reason.
TRANSIENT_ERRORS = (OperationalError, InterfaceError, OSError)


class ImportRefused(ValidationError):
    """The upload cannot become an import (wrong type, too big, not allowed for this user)."""


def sniff_format(head: bytes) -> str | None:
    """The file's real format from its first bytes, whatever its name says."""
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text.startswith(b"<?xml") or text.startswith(b"<iati-"):
        return ImportFormat.IATI_XML
    if text[:5].lower() in (b"<html", b"<!doc"):
        return None  # an "XLSX" or "XML" that is really a web page
    if head.startswith(b"PK\x03\x04"):
        return ImportFormat.SHEET
    if text.startswith(b"<"):
        return ImportFormat.IATI_XML
    if not text or b"\x00" in head:
        return None  # an image, an old binary .xls, a PDF: not something the portal reads
    for encoding in ("utf-8", "cp1252"):
        try:
            head.decode(encoding)
        except UnicodeDecodeError as cut:
            if encoding == "utf-8" and cut.start >= len(head) - 3:
                return ImportFormat.SHEET  # a character cut at the end of the sniffed bytes
            continue
        return ImportFormat.SHEET
    return None


def import_job_create(*, user, upload, language: str) -> ImportJob:
    """Keep the uploaded file privately and queue its preview. Partners may only submit spreadsheets."""
    if not is_iom_staff(user) and partner_organisation_id(user) is None:
        raise PermissionDenied
    if upload.size is not None and upload.size > settings.IMPORT_MAX_UPLOAD_BYTES:
        raise ImportRefused(
            _("The file is larger than %(limit)s MB: split it into smaller files.")
            % {"limit": settings.IMPORT_MAX_UPLOAD_BYTES // (1024 * 1024)},
            code="too_big",
        )
    # Read in chunks (an upload this large is a temporary file on disk): the checksum, the size, the first
    # bytes that tell the format and whether anything but blanks is there; the file is then copied to the
    # private storage chunk by chunk. No copy of the whole file is held in memory.
    digest, size, head, blank = hashlib.sha256(), 0, b"", True
    for chunk in upload.chunks():
        digest.update(chunk)
        size += len(chunk)
        if len(head) < SNIFF_BYTES:
            head += chunk[: SNIFF_BYTES - len(head)]
        blank = blank and not chunk.strip()
    if blank:
        raise ImportRefused(_("The file is empty."), code="empty")
    format = sniff_format(head)
    if format is None:
        raise ImportRefused(
            _("This file is neither an IATI XML file nor a spreadsheet (XLSX or CSV)."), code="unknown_type"
        )
    staff = is_iom_staff(user)
    if not staff and format != ImportFormat.SHEET:
        raise ImportRefused(_("Partners submit 3W/4W spreadsheets only."), code="not_allowed")
    job = ImportJob(
        format=format,
        original_filename=Path(getattr(upload, "name", "") or "upload").name[:255],
        size=size,
        sha256=digest.hexdigest(),
        requested_by=user,
        submitted_as_staff=staff,
        organisation_id=None if staff else partner_organisation_id(user),
        language=language,
    )
    upload.seek(0)
    job.file.name = default_storage.save(job.storage_name, File(upload))
    job.save()
    if job.size > settings.IMPORT_INLINE_BYTES:
        transaction.on_commit(lambda: _enqueue_preview(job.pk))
        return job
    # A small file is read at once: an unreadable one is refused in the same answer, and nothing is kept.
    job = import_job_preview(job_id=job.pk)
    if job.status == ImportStatus.FAILED:
        message = job.error_message
        default_storage.delete(job.file.name)
        job.delete()
        raise ImportRefused(message, code="unreadable")
    return job


def _enqueue_preview(job_id: int) -> None:
    from .tasks import preview_import

    preview_import.delay(job_id)


def _enqueue_apply(job_id: int) -> None:
    from .tasks import apply_import

    apply_import.delay(job_id)


# --- Reading the file into drafts ----------------------------------------------------------------


def iter_drafts(stream, *, format: str, language: str, name: str, reference: Reference) -> Iterator[ProgrammeDraft]:
    if format == ImportFormat.IATI_XML:
        for record in iter_activities(stream):
            yield draft_from_activity(record, reference, language)
    else:
        from .sheets import iter_sheet_drafts

        yield from iter_sheet_drafts(stream, reference, language, name=name)


def _existing(codes: list[str], identifiers: list[str]) -> tuple[dict[str, Programme], dict[str, str]]:
    """Stored programmes with their lists, and the content hash of each imported activity (a few queries per batch)."""
    programmes = {
        p.code: p
        for p in Programme.objects.filter(code__in=codes).prefetch_related(
            "secondary_sectors",
            Prefetch("participations", queryset=Participation.objects.select_related("organisation")),
            Prefetch(
                "locations",
                queryset=ProgrammeLocation.objects.select_related("admin_unit").defer("admin_unit__boundary"),
            ),
        )
    }
    hashes = dict(
        ImportedActivity.objects.filter(iati_identifier__in=identifiers).values_list("iati_identifier", "content_hash")
    )
    return programmes, hashes


def preview_item(draft: ProgrammeDraft, programme: Programme | None, stored_hash: str | None) -> dict:
    changes = draft_changes(draft, programme)
    if programme is not None and stored_hash is not None and stored_hash != draft.content_hash:
        changes.append(
            {"field": "raw_xml", "label": str(_("Activity as published")), "current": "", "new": _("changed")}
        )
    if draft.errors:
        action = ERROR
    elif programme is None:
        action = NEW
    elif not changes and (draft.merge_lists or stored_hash in (None, draft.content_hash)):
        # Nothing the portal holds would change (an activity the portal itself exported, or the same
        # activity again). What has no portal field is compared through the activity as published.
        action = UNCHANGED
    else:
        action = UPDATE
    return {
        "identifier": draft.identifier,
        "code": draft.code,
        "title": draft.fields.get("title_fr") or draft.fields.get("title_en") or "",
        "action": action,
        "changes": changes,
        "new_organisations": [o.name for o in draft.new_organisations],
        "errors": draft.errors,
        "warnings": draft.warnings,
    }


def _batches(drafts: Iterator[ProgrammeDraft], size: int | None = None) -> Iterator[list[ProgrammeDraft]]:
    size = size or BATCH_SIZE
    batch: list[ProgrammeDraft] = []
    for draft in drafts:
        batch.append(draft)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _record_progress(job_id: int, done: int, total: int) -> None:
    """Progress between 2 and 99 % while the job runs (0 and 1 are the claim, 100 the end)."""
    if total > 0:
        ImportJob.objects.filter(pk=job_id).update(progress=min(99, max(2, done * 100 // total)))


def iter_preview(stream, *, format: str, language: str, name: str = "", partner=None) -> Iterator[list[dict]]:
    """Per activity (or programme of a sheet), what the import would do, one batch of items at a time, in the
    file's order. Reads the database, writes nothing; what a batch was read from is let go before the next.

    Raises IatiFileError (or ValidationError) when the file as a whole cannot be read.
    """
    seen: set[str] = set()
    count = 0
    with override(language):
        reference = Reference()
        drafts = iter_drafts(stream, format=format, language=language, name=name, reference=reference)
        for batch in _batches(drafts):
            programmes, hashes = _existing([d.code for d in batch], [d.identifier for d in batch])
            if partner is not None:
                _limit_to_partner(batch, partner)
            items = []
            for draft in batch:
                if draft.identifier in seen:
                    draft.errors.append(
                        _("The identifier %(identifier)s appears more than once in the file.")
                        % {"identifier": draft.identifier}
                    )
                seen.add(draft.identifier)
                items.append(preview_item(draft, programmes.get(draft.code), hashes.get(draft.identifier)))
            del batch, programmes, hashes
            count += len(items)
            yield items
        if not count:
            raise IatiFileError(_("The file holds no activity."))


def build_preview(stream, *, format: str, language: str, name: str = "", partner=None) -> list[dict]:
    """The whole preview as one list (the dry run of the management commands; small files)."""
    items: list[dict] = []
    for batch in iter_preview(stream, format=format, language=language, name=name, partner=partner):
        items += batch
    return items


def _store_preview(job: ImportJob, items: Iterator[list[dict]], on_batch=None) -> int:
    """Write the preview batch by batch, one row per activity (one insert per batch). Returns the item count."""
    position = 0
    for batch in items:
        ImportPreviewItem.objects.bulk_create(
            ImportPreviewItem(
                job=job,
                position=position + offset,
                action=item["action"],
                names_new_organisations=bool(item["new_organisations"]),
                data=item,
            )
            for offset, item in enumerate(batch)
        )
        position += len(batch)
        if on_batch is not None:
            on_batch()
    return position


def _limit_to_partner(batch: list[ProgrammeDraft], user) -> None:
    """A partner's sheet may only touch its organisation's joint programmes (same words whether or not
    the programme exists: no hint about other organisations' programmes)."""
    visible = set(
        Programme.objects.visible_to(user).filter(code__in=[d.code for d in batch]).values_list("code", flat=True)
    )
    for draft in batch:
        if draft.code not in visible:
            draft.errors.append(
                _("%(code)s is not one of your organisation's joint programmes.") % {"code": draft.code or "—"}
            )


def import_job_preview(*, job_id: int) -> ImportJob:
    """Read the job's file and record its preview. Writes nothing but the job row."""
    # Claim the job (a worker and an in-process run never both read the file).
    if not ImportJob.objects.filter(pk=job_id, status=ImportStatus.QUEUED, progress=0).update(progress=1):
        return ImportJob.objects.get(pk=job_id)
    job = ImportJob.objects.get(pk=job_id)
    # What an interrupted attempt stored is read again from the start.
    ImportPreviewItem.objects.filter(job=job).delete()
    try:
        with default_storage.open(job.file.name, "rb") as stream:
            count = _store_preview(
                job,
                iter_preview(
                    stream,
                    format=job.format,
                    language=job.language,
                    name=job.original_filename,
                    partner=None if job.submitted_as_staff else job.requested_by,
                ),
                # how far into the file the reader is: the activities are not counted before they are read
                on_batch=lambda: _record_progress(job.pk, stream.tell(), job.size),
            )
    except TRANSIENT_ERRORS:
        raise  # not the file's fault: the task retries (tasks.py)
    except (IatiFileError, ValidationError) as refused:
        with override(job.language):
            message = refused.messages[0] if isinstance(refused, ValidationError) else str(refused)
        _preview_failed(job, message)
        return job
    except Exception:  # a file no reader expected (a library's own error): the user gets a message, not a 500
        logger.exception("import %s could not be read", job.pk)
        with override(job.language):
            message = _("The file could not be read. Check that it is an IATI 2.03 XML file or an XLSX/CSV sheet.")
        _preview_failed(job, message)
        return job
    job.item_count = count
    job.status = ImportStatus.PREVIEWED if job.submitted_as_staff else ImportStatus.PENDING_REVIEW
    job.previewed_at = timezone.now()
    job.progress = 100
    job.error_message = ""
    job.save(update_fields=["item_count", "status", "previewed_at", "progress", "error_message"])
    return job


def _preview_failed(job: ImportJob, message: str) -> None:
    """The file as a whole cannot be read: no preview is kept (not the batches read before the problem)."""
    ImportPreviewItem.objects.filter(job=job).delete()
    ImportJob.objects.filter(pk=job.pk).update(status=ImportStatus.FAILED, error_message=message, progress=100)
    job.refresh_from_db()


def import_job_confirm(*, job: ImportJob, user, create_organisations: bool) -> ImportJob:
    """IOM staff confirm a preview (their own import, or a partner's submitted sheet): the import runs."""
    if not is_iom_staff(user) or not user.can_edit_programmes:
        raise PermissionDenied
    with transaction.atomic():
        locked = ImportJob.objects.select_for_update().get(pk=job.pk)
        if locked.status not in (ImportStatus.PREVIEWED, ImportStatus.PENDING_REVIEW):
            raise ValidationError(_("This import is not waiting for a confirmation."), code="not_waiting")
        locked.status = ImportStatus.APPLYING
        locked.create_organisations = create_organisations
        locked.decided_by = user
        locked.progress = 0
        locked.save(update_fields=["status", "create_organisations", "decided_by", "progress"])
        if locked.size > settings.IMPORT_INLINE_BYTES:
            transaction.on_commit(lambda: _enqueue_apply(locked.pk))
            return locked
    # A small file is imported at once: the answer says what was created, updated and skipped.
    return import_job_apply(job_id=locked.pk)


def import_job_reject(*, job: ImportJob, user, reason: str) -> ImportJob:
    """IOM staff turn down a partner's submission, saying why; nothing is written."""
    if not is_iom_staff(user) or not user.can_edit_programmes:
        raise PermissionDenied
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": [_("Say why the submission is rejected: the partner reads it.")]})
    with transaction.atomic():
        locked = ImportJob.objects.select_for_update().get(pk=job.pk)
        if locked.status not in (ImportStatus.PREVIEWED, ImportStatus.PENDING_REVIEW):
            raise ValidationError(_("This import is not waiting for a confirmation."), code="not_waiting")
        locked.status = ImportStatus.REJECTED if not locked.submitted_as_staff else ImportStatus.DISCARDED
        locked.decided_by = user
        locked.decision_reason = reason
        locked.save(update_fields=["status", "decided_by", "decision_reason"])
    return locked


# --- Applying ------------------------------------------------------------------------------------


def _organisation_for(draft_org, job: ImportJob, user, created: dict) -> Organisation:
    key = (draft_org.ref.upper(), draft_org.name)
    if key in created:
        return created[key]
    organisation = organisation_create(
        user=user,
        name=draft_org.name,
        iati_identifier=draft_org.ref,
        iati_type=draft_org.iati_type,
        funder=draft_org.role == "funding",
        code_hint=slugify(draft_org.name)[:30] or "organisation",
    )
    created[key] = organisation
    return organisation


def apply_draft(
    draft: ProgrammeDraft,
    *,
    job: ImportJob,
    user,
    created_orgs: dict,
    programme: Programme | None = None,
    imported_before: bool = True,
) -> str:
    """Write one activity (all or nothing): create or update the programme, then record what was imported.

    `programme` is the stored programme of the draft's code when the caller has it already (the batch's
    one query), and `imported_before` False when the caller knows no activity of this identifier was
    imported: both save queries per activity, neither changes what is written.
    """
    with transaction.atomic():
        rows = []
        new_by_name = {o.name: o for o in draft.new_organisations}
        for row in draft.participations:
            organisation = row.organisation
            if organisation is None:
                match = next((o for o in draft.new_organisations if o.role == row.role and o.name in new_by_name), None)
                if match is None or not job.create_organisations:
                    raise ValidationError(
                        _("%(name)s is not in the portal: confirm the creation of new organisations to import it.")
                        % {"name": match.name if match else "?"}
                    )
                new_by_name.pop(match.name)
                organisation = _organisation_for(match, job, user, created_orgs)
            rows.append(ParticipationRow(organisation=organisation, role=row.role, contribution=row.contribution))
        fields = dict(draft.fields)
        if programme is None:
            programme = Programme.objects.filter(code=draft.code).first()
        if programme is None:
            programme = programme_create(
                user=user,
                fields=fields,
                secondary_sectors=draft.secondary_sectors,
                participations=rows,
                locations=draft.locations,
                recipient_countries=draft.recipient_countries or (),
                recipient_regions=draft.recipient_regions or (),
            )
            action = NEW
        else:
            fields.pop("code", None)
            units = draft.locations
            secondary = draft.secondary_sectors
            if draft.merge_lists:
                stored = list(programme.participations.select_related("organisation"))
                known = {p.organisation_id for p in stored}
                rows = [
                    ParticipationRow(
                        organisation=p.organisation, role=p.role, contribution=p.contribution, notes=p.notes
                    )
                    for p in stored
                ] + [row for row in rows if row.organisation.pk not in known]
                stored_units = [loc.admin_unit for loc in programme.locations.select_related("admin_unit")]
                units = stored_units + [u for u in draft.locations if u not in stored_units]
                secondary = None
            programme = programme_update(
                programme=programme,
                user=user,
                expected_version=None,
                fields=fields,
                secondary_sectors=secondary,
                participations=rows,
                locations=units,
                recipient_countries=draft.recipient_countries,
                recipient_regions=draft.recipient_regions,
            )
            action = UPDATE
        if draft.results is not None and (action == NEW or draft.results.signature != stored_signature(programme)):
            results_write(programme=programme, user=user, draft=draft.results)
        if not draft.merge_lists and programme.status != draft.status:
            programme_record_imported_status(
                programme=programme,
                to_status=draft.status,
                user=user,
                source=_("IATI activity %(identifier)s, file %(file)s")
                % {"identifier": draft.identifier, "file": job.original_filename},
            )
        if draft.merge_lists:
            return action
        _replace_imported_transactions(programme, draft, job, user, created_orgs)
        imported = {
            "programme": programme,
            "raw_xml": draft.raw_xml,
            "content_hash": draft.content_hash,
            "last_job": job,
            "imported_at": timezone.now(),
        }
        if action == NEW and not imported_before:
            ImportedActivity.objects.create(iati_identifier=draft.identifier, **imported)
        else:
            ImportedActivity.objects.update_or_create(iati_identifier=draft.identifier, defaults=imported)
    return action


def _replace_imported_transactions(programme: Programme, draft, job: ImportJob, user, created_orgs: dict) -> None:
    """The transactions this activity brought last time give way to those it brings now (same services)."""
    prefix = imported_reference(draft.identifier, 0).removesuffix(" #0") + " #"
    for record in Transaction.objects.filter(programme=programme, reference__startswith=prefix):
        transaction_delete(record=record, user=user)
    new_by_name = {o.name: o for o in draft.new_organisations}
    for fields in draft.transactions:
        fields = dict(fields)
        for party in ("provider", "receiver"):
            if isinstance(fields[party], NewOrganisationKey):  # created with the participations above
                fields[party] = _organisation_for(new_by_name[fields[party].name], job, user, created_orgs)
        transaction_add(programme=programme, user=user, fields=fields)


def import_job_apply(*, job_id: int) -> ImportJob:
    """Import every activity the preview found importable; each one is written whole or not at all."""
    if not ImportJob.objects.filter(pk=job_id, status=ImportStatus.APPLYING, progress=0).update(progress=1):
        return ImportJob.objects.get(pk=job_id)
    # The preview is not needed to import (each activity is read again): its rows stay in the database.
    job = ImportJob.objects.select_related("decided_by").get(pk=job_id)
    user = job.decided_by or job.requested_by
    # A job interrupted (a lost connection, a worker restarted) resumes: what it already did is in its
    # result, saved after every batch, and is not done again.
    outcome: dict[str, list] = {NEW: [], UPDATE: [], UNCHANGED: [], "skipped": []}
    if job.result.get("partial"):
        outcome.update({key: list(job.result.get(key, [])) for key in outcome})
    done = {item["identifier"] for items in outcome.values() for item in items}
    outcome["partial"] = True
    created_orgs: dict = {}
    count = len(done)
    with override(job.language), default_storage.open(job.file.name, "rb") as stream:
        reference = Reference()
        drafts = iter_drafts(
            stream, format=job.format, language=job.language, name=job.original_filename, reference=reference
        )
        for batch in _batches(drafts):
            programmes, hashes = _existing([d.code for d in batch], [d.identifier for d in batch])
            # What each activity of the batch became, in the file's order: (key of outcome, entry).
            entries: list[tuple[str, dict] | None] = [None] * len(batch)
            together: list[int] = []  # new activities written with programme_create_many
            for position, draft in enumerate(batch):
                if draft.identifier in done:
                    continue
                count += 1
                item = preview_item(draft, programmes.get(draft.code), hashes.get(draft.identifier))
                if item["action"] == ERROR:
                    entries[position] = ("skipped", {"identifier": draft.identifier, "reasons": draft.errors})
                elif item["action"] == UNCHANGED:
                    entries[position] = (UNCHANGED, {"identifier": draft.identifier})
                elif item["action"] == NEW and _writable_together(draft, hashes):
                    together.append(position)
                else:
                    entries[position] = _apply_one(draft, job, user, created_orgs, programmes, hashes)
            if together:
                _apply_together(
                    [batch[p] for p in together], job, user, created_orgs, programmes, hashes, entries, together
                )
            for entry in entries:
                if entry is not None:
                    outcome[entry[0]].append(entry[1])
            ImportJob.objects.filter(pk=job.pk).update(result=outcome)
            _record_progress(job.pk, count, job.item_count)
    del outcome["partial"]
    job.result = outcome
    job.status = ImportStatus.APPLIED
    job.applied_at = timezone.now()
    job.progress = 100
    job.error_message = ""
    job.save(update_fields=["result", "status", "applied_at", "progress", "error_message"])
    return job


def _apply_one(draft, job, user, created_orgs, programmes, hashes) -> tuple[str, dict]:
    """One activity through apply_draft (its own transaction): what it became."""
    try:
        action = apply_draft(
            draft,
            job=job,
            user=user,
            created_orgs=created_orgs,
            programme=programmes.get(draft.code),
            imported_before=draft.identifier in hashes,
        )
    except ValidationError as refused:
        return "skipped", {"identifier": draft.identifier, "reasons": _messages(refused)}
    return action, {"identifier": draft.identifier, "code": draft.code}


def _writable_together(draft: ProgrammeDraft, hashes: dict) -> bool:
    """A new activity that programme_create_many writes as apply_draft would: a programme with its partners,
    places, sectors and recipients, in the pipeline, every organisation already in the portal, never
    imported before. Results, transactions, another status, organisations to create and sheets (which add
    to what is stored) go through apply_draft, one by one."""
    return (
        not draft.merge_lists
        and draft.results is None
        and not draft.transactions
        and draft.status == Status.PIPELINE
        and not draft.new_organisations
        and all(row.organisation is not None for row in draft.participations)
        and draft.identifier not in hashes
    )


def _apply_together(drafts, job, user, created_orgs, programmes, hashes, entries, positions) -> None:
    """New activities of one batch written together (programme_create_many), each still all or nothing: a
    refused activity is reported with its messages and the others are written; a database error rolls the
    batch back and each activity goes through apply_draft instead."""
    items = [
        NewProgramme(
            fields=dict(draft.fields),
            secondary_sectors=draft.secondary_sectors,
            participations=[
                ParticipationRow(organisation=row.organisation, role=row.role, contribution=row.contribution)
                for row in draft.participations
            ],
            locations=draft.locations,
            recipient_countries=draft.recipient_countries or (),
            recipient_regions=draft.recipient_regions or (),
        )
        for draft in drafts
    ]
    now = timezone.now()

    def record_imported(created: list[Programme]) -> None:
        by_code = {programme.code: programme for programme in created}
        ImportedActivity.objects.bulk_create(
            ImportedActivity(
                iati_identifier=draft.identifier,
                programme=by_code[draft.code],
                raw_xml=draft.raw_xml,
                content_hash=draft.content_hash,
                last_job=job,
                imported_at=now,
            )
            for draft in drafts
            if draft.code in by_code
        )

    try:
        written = programme_create_many(user=user, items=items, written=record_imported)
    except TRANSIENT_ERRORS:
        raise  # not the batch's fault: the task retries (tasks.py)
    except DatabaseError:
        logger.warning("import %s: a batch could not be written together; its activities go one by one", job.pk)
        for draft, position in zip(drafts, positions, strict=True):
            entries[position] = _apply_one(draft, job, user, created_orgs, programmes, hashes)
        return
    for draft, position, result in zip(drafts, positions, written, strict=True):
        if isinstance(result, ValidationError):
            entries[position] = ("skipped", {"identifier": draft.identifier, "reasons": _messages(result)})
        else:
            entries[position] = (NEW, {"identifier": draft.identifier, "code": draft.code})


def import_job_interrupted(*, job_id: int, attempt: int, attempts: int) -> None:
    """A transient error stopped the job: release it for the next attempt, and say so on its page."""
    with override(ImportJob.objects.get(pk=job_id).language):
        note = _(
            "Interrupted by a temporary problem (the database or the file store did not answer). "
            "It starts again by itself, where it stopped: attempt %(attempt)s of %(attempts)s."
        ) % {"attempt": attempt, "attempts": attempts}
    ImportJob.objects.filter(pk=job_id, status__in=(ImportStatus.QUEUED, ImportStatus.APPLYING)).update(
        progress=0, attempts=attempt - 1, error_message=note
    )


def import_job_give_up(*, job_id: int, attempts: int) -> ImportJob:
    """Every attempt failed: the job fails with a message saying what was imported and how to go on."""
    job = ImportJob.objects.get(pk=job_id)
    done = sum(len(job.result.get(key, [])) for key in (NEW, UPDATE))
    with override(job.language):
        if job.status == ImportStatus.QUEUED:
            message = _(
                "The file could not be previewed after %(attempts)s attempts: the database or the file store did "
                "not answer. Nothing was imported; upload the file again later."
            ) % {"attempts": attempts}
        else:
            message = " ".join(
                (
                    _("The import stopped after %(attempts)s attempts: the database or the file store did not answer.")
                    % {"attempts": attempts},
                    ngettext(
                        "%(done)s programme had been imported and is kept;",
                        "%(done)s programmes had been imported and are kept;",
                        done,
                    )
                    % {"done": done},
                    _(
                        "upload the same file again to import the rest (what is already in the portal is left unchanged)."
                    ),
                )
            )
    ImportJob.objects.filter(pk=job_id).exclude(status=ImportStatus.APPLIED).update(
        status=ImportStatus.FAILED, error_message=message, progress=100, attempts=attempts
    )
    job.refresh_from_db()
    return job


def _messages(error: ValidationError) -> list[str]:
    if hasattr(error, "error_dict"):
        return [
            f"{field}: {message}" if field != "__all__" else message
            for field, messages in error.message_dict.items()
            for message in messages
        ]
    return list(error.messages)
