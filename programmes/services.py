"""The one write path of a programme and its parts: every door (edit page, API, admin, importer) calls these.

Each service is keyword-only and, in one transaction: locks the programme row, refuses while the
programme is under review or when someone saved since `expected_version` was read, normalises free
text, applies the rules of programmes/rules.py (a refusal is a ValidationError of field → messages
and changes nothing), saves, bumps the version and leaves history (django-auditlog rows attributed
to `user`, whatever the door).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from auditlog.context import auditlog_value, set_actor
from auditlog.diff import model_instance_diff
from auditlog.models import LogEntry
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import transaction
from django.db.models import F
from django.db.models.signals import pre_save
from django.utils import timezone
from django.utils.encoding import smart_str
from django.utils.translation import gettext as _

from . import rules
from .models import (
    ENDING_STATUSES,
    REASON_REQUIRED,
    Document,
    Participation,
    Programme,
    ProgrammeAgreement,
    ProgrammeLocation,
    ProgrammeStatusChange,
    RecipientCountry,
    RecipientRegion,
    RecipientShare,
    Status,
    Transaction,
)
from .rules import ParticipationRow, RecipientRow
from .search import refresh_search, refresh_search_many
from .signals import announce_programme_changed, announce_programmes_created
from .summary import programmes_changed

# The programme's own fields a door may write (status moves only through programme_change_status).
EDITABLE_FIELDS = (
    "code",
    "title_fr",
    "title_en",
    "summary_fr",
    "summary_en",
    "primary_sector",
    "scope",
    "planned_start",
    "planned_end",
    "actual_start",
    "actual_end",
    "budget",
    "currency",
    "modality",
    "iom_focal_point",
    "internal_notes",
    "iati_publish",
    "iati_exclusion_reason",
)
# Not the door's to set: filled in by the services.
NOT_VALIDATED = ["search_text", "place_codes", "version", "created_by", "updated_by"]
# While the agreement may still be recorded or corrected.
AGREEMENT_EDITABLE_STATUSES = (Status.PIPELINE, Status.APPROVED, Status.ACTIVE, Status.SUSPENDED)


class TransitionNotAllowed(ValidationError):
    """The requested status change is not one of the programme lifecycle's allowed transitions."""


class ProgrammeLocked(ValidationError):
    """The programme is submitted or under review: edits wait for a request for revision."""

    def __init__(self) -> None:
        super().__init__(
            _("This programme is under review: it can be edited again once a revision is requested."), code="locked"
        )


class StaleProgramme(ValidationError):
    """Someone saved the programme after the editor loaded it; the editor's save is refused."""

    def __init__(self, current: Programme):
        self.current = current
        who = current.updated_by.get_full_name() or current.updated_by.username if current.updated_by else _("someone")
        super().__init__(
            _(
                "%(who)s saved this programme while you were editing it (now version %(version)s). Nothing was lost: review their changes below and save again."
            )
            % {"who": who, "version": current.version},
            code="stale",
        )


def programme_change_status(
    *,
    programme: Programme,
    to_status: str,
    user,
    reason: str = "",
    actual_end: date | None = None,
    via_review: bool = False,
) -> ProgrammeStatusChange:
    """Move a programme along one allowed transition and record the step in its history.

    The programme's state must allow the step (`Programme.transition_refusal`: lifecycle, road and
    recorded basis); submission, review and decision steps (REVIEW_STEPS) are taken only by the review
    workflow, which passes `via_review=True`. Suspension, requests for revision and the irreversible
    steps need a reason; completing or closing needs an actual end not in the future (the one given,
    else the one recorded, else today); becoming active records today as actual start if none is.
    """
    reason = (reason or "").strip()
    with transaction.atomic():
        locked = Programme.objects.select_for_update(of=("self",)).get(pk=programme.pk)
        refusal = locked.transition_refusal(to_status, via_review=via_review)
        if refusal is not None:
            code, message = refusal
            raise TransitionNotAllowed({"status": ValidationError(message, code=code)})
        if to_status in REASON_REQUIRED and not reason:
            message = _("Give a reason to move the programme to “%(status)s”.") % {"status": Status(to_status).label}
            raise TransitionNotAllowed({"reason": ValidationError(message, code="reason_required")})
        updates = {}
        if to_status in ENDING_STATUSES:
            end = actual_end or locked.actual_end or timezone.localdate()
            problem = Programme.actual_end_problem(end, actual_start=locked.actual_start)
            if problem:
                raise TransitionNotAllowed({"actual_end": ValidationError(problem, code="actual_end")})
            if end != locked.actual_end:
                updates["actual_end"] = end
        if to_status == Status.ACTIVE and locked.actual_start is None:
            updates["actual_start"] = timezone.localdate()
        change = ProgrammeStatusChange.objects.create(
            programme=locked, from_status=locked.status, to_status=to_status, changed_by=user, reason=reason
        )
        Programme.objects.filter(pk=locked.pk).update(
            status=to_status, version=F("version") + 1, updated_by=user, updated_at=timezone.now(), **updates
        )
        programmes_changed()
        if updates or to_status in (Status.REJECTED, Status.CANCELLED):  # its dates changed, or it stops here
            announce_programme_changed(locked.pk)
    programme.refresh_from_db(fields=["status", "version", "updated_by", "updated_at", "actual_start", "actual_end"])
    return change


def programme_record_agreement(
    *, programme: Programme, user, reference: str, signed_on: date, document: Document
) -> ProgrammeAgreement:
    """Record (or correct) the signed agreement or donor contract a programme is approved on."""
    with transaction.atomic():
        locked = Programme.objects.select_for_update(of=("self",)).get(pk=programme.pk)
        if locked.status not in AGREEMENT_EDITABLE_STATUSES:
            raise ValidationError(
                _(
                    "The agreement can be recorded while the programme is in the pipeline, approved, active or suspended."
                ),
                code="state",
            )
        agreement = locked.recorded_agreement() or ProgrammeAgreement(programme=locked)
        agreement.reference = (reference or "").strip()
        agreement.signed_on = signed_on
        agreement.document = document
        agreement.recorded_by = user
        agreement.recorded_at = timezone.now()
        agreement.full_clean(exclude=["programme"])
        agreement.save()
        Programme.objects.filter(pk=locked.pk).update(
            version=F("version") + 1, updated_by=user, updated_at=timezone.now()
        )
        announce_programme_changed(locked.pk)
    programme.refresh_from_db(fields=["version", "updated_by", "updated_at"])
    return agreement


def live_history_context() -> dict | None:
    """django-auditlog's current context, or None when it is a leftover.

    `set_actor` leaves its context behind when it exits, with its receiver disconnected; a leftover naming
    the same user would otherwise pass for a current actor, and entries would be written without one.
    """
    context = auditlog_value.get(None)
    if context is None:
        return None
    duid = context.get("signal_duid")
    if duid is None or not any(lookup_key[0] == duid for lookup_key, *_ in pre_save.receivers):
        return None
    return context


@contextmanager
def attributed_to(user) -> Iterator[None]:
    """History rows written inside are attributed to `user` (an API token or a command has no session)."""
    outer = live_history_context()
    if outer is not None and outer.get("actor") == user:
        yield
        return
    try:
        with set_actor(user, remote_addr=(outer or {}).get("remote_addr")):
            yield
    finally:
        # The context as it was: the request's own again, or none (set_actor leaves its own behind, whose
        # receiver is gone: the next call would take it for a current actor and write entries without one).
        auditlog_value.set(outer)


def programme_lock(*, programme: Programme, expected_version: int | None) -> Programme:
    """Re-read the programme under a row lock; refuse while under review or when saved since it was read.

    Call inside `transaction.atomic()`; the lock holds until the transaction ends.
    """
    # Lock only the programme row: PostgreSQL refuses FOR UPDATE on the outer-joined (nullable) user.
    current = Programme.objects.select_for_update(of=("self",)).select_related("updated_by").get(pk=programme.pk)
    if current.is_locked_for_review:
        raise ProgrammeLocked
    if expected_version is not None and current.version != expected_version:
        raise StaleProgramme(current)
    return current


def programme_touch(*, programme: Programme, user) -> None:
    """Record a change of a part of the programme: one more version, by `user` (the row is locked)."""
    Programme.objects.filter(pk=programme.pk).update(
        version=F("version") + 1, updated_by=user, updated_at=timezone.now()
    )
    programme.refresh_from_db(fields=["version", "updated_by", "updated_at"])


def programme_create(
    *,
    user,
    fields: Mapping[str, Any],
    secondary_sectors: Iterable = (),
    participations: Iterable[ParticipationRow | Mapping] = (),
    locations: Iterable = (),
    recipient_countries: Iterable[RecipientRow | Mapping] = (),
    recipient_regions: Iterable[RecipientRow | Mapping] = (),
    programme: Programme | None = None,
) -> Programme:
    """A new programme in the pipeline, with its sectors, partners, places and recipients, created by `user`.

    `programme`: an unsaved instance to fill in and save (a door that needs its own object back).
    Recipients are rows `{"country": "NE" (or a Country), "percentage": 100}` (`"region"` for regions);
    a national programme given none works in Niger at 100 %.
    """
    programme = programme if programme is not None else Programme()
    programme.status = Status.PIPELINE
    _assign(programme, fields)
    rows = [_row(r) for r in participations]
    units = list(locations)
    secondary = list(secondary_sectors)
    recipients = _recipients(recipient_countries, recipient_regions)
    with transaction.atomic(), attributed_to(user):
        recipients = _validate(programme, secondary=secondary, rows=rows, units=units, recipients=recipients)
        programme.created_by = programme.updated_by = user
        programme.version = 1
        programme.save()
        programme.loaded_focal_point_id = programme.iom_focal_point_id
        _save_parts(programme, secondary=secondary, rows=rows, units=units, recipients=recipients)
        _after_save(programme)
        announce_programme_changed(programme.pk)
    return programme


@dataclass
class NewProgramme:
    """One programme for programme_create_many: what programme_create takes, as one row."""

    fields: Mapping[str, Any]
    secondary_sectors: Iterable = ()
    participations: Iterable[ParticipationRow | Mapping] = ()
    locations: Iterable = ()
    recipient_countries: Iterable[RecipientRow | Mapping] = ()
    recipient_regions: Iterable[RecipientRow | Mapping] = ()


def programme_create_many(
    *, user, items: Sequence[NewProgramme], written: Callable[[list[Programme]], None] | None = None
) -> list[Programme | ValidationError]:
    """Many new programmes at once (an import's batch): programme_create's rules, then one insert per table.

    Each item is checked by the validator of programme_create (`_validate`, the same rules and messages);
    a refused item comes back as its ValidationError, in its place, and the others are written. The
    writes are one transaction: the programmes, their parts and their history (the entries
    django-auditlog writes row by row, with the same content) in bulk, the search words and place codes
    rebuilt once, `programmes_created` announced once for the batch (programmes/signals.py). `written(programmes)` runs inside the same
    transaction (the caller's own rows about them). A database error (a check constraint, a code taken
    meanwhile) rolls the whole batch back and is raised: the caller then goes row by row (programme_create),
    which names the refusal of each programme.
    """
    results: list[Programme | ValidationError] = [ValidationError("")] * len(items)
    taken = set(
        Programme.objects.filter(code__in=[str(item.fields.get("code") or "") for item in items]).values_list(
            "code", flat=True
        )
    )
    accepted: list[tuple[int, Programme, list, list, list, tuple]] = []
    for index, item in enumerate(items):
        programme = Programme(status=Status.PIPELINE)
        try:
            _assign(programme, item.fields)
            rows = [_row(r) for r in item.participations]
            units = list(item.locations)
            secondary = list(item.secondary_sectors)
            recipients = _validate(
                programme,
                secondary=secondary,
                rows=rows,
                units=units,
                recipients=_recipients(item.recipient_countries, item.recipient_regions),
                taken_codes=taken,
            )
        except ValidationError as refused:
            results[index] = refused
            continue
        taken.add(programme.code)  # a second programme of the same code in the batch is refused like a stored one
        accepted.append((index, programme, secondary, rows, units, recipients))
    if not accepted:
        return results
    programmes = [entry[1] for entry in accepted]
    with transaction.atomic(), attributed_to(user):
        for programme in programmes:
            programme.created_by = programme.updated_by = user
            programme.version = 1
            programme.search_text = programme.build_search_text()  # what save() does
        Programme.objects.bulk_create(programmes)
        history: list = [_created_entry(programme, new_programme=True) for programme in programmes]
        countries, regions, through, locations, participations = [], [], [], [], []
        Through = Programme.secondary_sectors.through
        for _index, programme, secondary, rows, units, (to_countries, to_regions) in accepted:
            programme.loaded_focal_point_id = programme.iom_focal_point_id
            countries += [
                RecipientCountry(programme=programme, country=r.place, percentage=r.percentage) for r in to_countries
            ]
            regions += [
                RecipientRegion(programme=programme, region=r.place, percentage=r.percentage) for r in to_regions
            ]
            through += [Through(programme_id=programme.pk, sector_id=sector.pk) for sector in secondary]
            locations += [ProgrammeLocation(programme=programme, admin_unit=unit) for unit in dict.fromkeys(units)]
            for row in {row.organisation.pk: row for row in rows}.values():
                participation = Participation(
                    programme=programme,
                    organisation=row.organisation,
                    role=row.role,
                    contribution=row.contribution,
                    notes=row.notes,
                )
                if row.reports_results is not None:
                    participation.reports_results = row.reports_results
                participations.append(participation)
        # In the order programme_create writes them (_save_parts), each with its history entry.
        for model, created in ((RecipientCountry, countries), (RecipientRegion, regions)):
            model.objects.bulk_create(created)
            history += [_created_entry(row) for row in created]
        Through.objects.bulk_create(through)
        history += [
            _sectors_added_entry(programme, secondary) for _index, programme, secondary, *_rest in accepted if secondary
        ]
        for model, created in ((ProgrammeLocation, locations), (Participation, participations)):
            model.objects.bulk_create(created)
            history += [_created_entry(row) for row in created]
        _write_history(history)
        refresh_search_many(programmes)
        programmes_changed()  # what the rows' signals count (programmes/summary_signals.py), once for the batch
        announce_programmes_created([programme.pk for programme in programmes])
        if written is not None:
            written(programmes)
    for index, programme, *_rest in accepted:
        results[index] = programme
    return results


def programme_update(
    *,
    programme: Programme,
    user,
    expected_version: int | None,
    fields: Mapping[str, Any] | None = None,
    secondary_sectors: Iterable | None = None,
    participations: Iterable[ParticipationRow | Mapping] | None = None,
    locations: Iterable | None = None,
    recipient_countries: Iterable[RecipientRow | Mapping] | None = None,
    recipient_regions: Iterable[RecipientRow | Mapping] | None = None,
) -> Programme:
    """Change the programme's own fields and replace the lists that are given (None leaves a list as is).

    Every rule is checked on the programme as it would be after the change, lists included (a budget
    lowered below the contributions is refused like a contribution raised above the budget).
    """
    with transaction.atomic(), attributed_to(user):
        current, secondary, rows, units, recipients = _checked_update(
            programme,
            expected_version,
            fields,
            secondary_sectors,
            participations,
            locations,
            _recipients(recipient_countries, recipient_regions),
        )
        current.version += 1
        current.updated_by = user
        current.save()
        current.loaded_focal_point_id = current.iom_focal_point_id
        _save_parts(current, secondary=secondary, rows=rows, units=units, recipients=recipients)
        _after_save(current)
        announce_programme_changed(current.pk)
    _copy_saved(current, programme)
    return programme


def programme_check(
    *,
    programme: Programme,
    expected_version: int | None,
    fields: Mapping[str, Any],
    secondary_sectors: Iterable = (),
    participations: Iterable[ParticipationRow | Mapping] = (),
    locations: Iterable = (),
    recipient_countries: Iterable[RecipientRow | Mapping] | None = None,
    recipient_regions: Iterable[RecipientRow | Mapping] | None = None,
) -> None:
    """Raise what programme_create/programme_update would refuse, saving nothing.

    For a door that must show the refusal before it saves (the Django admin validates its whole page
    first); inside the caller's transaction the programme row stays locked until the save.
    """
    if programme.pk is None:
        candidate = Programme(status=Status.PIPELINE)
        _assign(candidate, fields)
        _validate(
            candidate,
            secondary=list(secondary_sectors),
            rows=[_row(r) for r in participations],
            units=list(locations),
            recipients=_recipients(recipient_countries or (), recipient_regions or ()),
        )
        return
    with transaction.atomic():
        _checked_update(
            programme,
            expected_version,
            fields,
            secondary_sectors,
            participations,
            locations,
            _recipients(recipient_countries, recipient_regions),
        )


def participations_replace(
    *, programme: Programme, user, expected_version: int | None, participations: Iterable[ParticipationRow | Mapping]
) -> Programme:
    """The programme's partners become exactly these rows (matched by organisation)."""
    return programme_update(
        programme=programme, user=user, expected_version=expected_version, participations=participations
    )


def locations_replace(*, programme: Programme, user, expected_version: int | None, locations: Iterable) -> Programme:
    """The programme's places become exactly these administrative units."""
    return programme_update(programme=programme, user=user, expected_version=expected_version, locations=locations)


def recipients_replace(
    *,
    programme: Programme,
    user,
    expected_version: int | None,
    recipient_countries: Iterable[RecipientRow | Mapping],
    recipient_regions: Iterable[RecipientRow | Mapping],
) -> Programme:
    """The programme's recipient countries and regions become exactly these rows (with their percentages)."""
    return programme_update(
        programme=programme,
        user=user,
        expected_version=expected_version,
        recipient_countries=recipient_countries,
        recipient_regions=recipient_regions,
    )


def programme_save(*, programme: Programme, user, expected_version: int | None) -> Programme:
    """Save a programme whose own fields were set on the instance (kept for callers of the old API)."""
    fields = {name: getattr(programme, name) for name in EDITABLE_FIELDS}
    if programme.pk is None:
        return programme_create(user=user, fields=fields, programme=programme)
    return programme_update(programme=programme, user=user, expected_version=expected_version, fields=fields)


# Documents (and budget lines, reviews/services.py) are not part of the programme's edited fields or
# its API representation: they take the programme's row lock and respect the review lock, but do not
# bump its version, so that an upload never turns a colleague's edit of the programme into a conflict.


def document_add(*, programme: Programme, user, document: Document) -> Document:
    """Attach an uploaded, already checked file (see documents.validate_document_file) to the programme."""
    with transaction.atomic(), attributed_to(user):
        current = programme_lock(programme=programme, expected_version=None)
        document.programme = current
        document.sector = None
        document.uploaded_by = user
        rules.normalise_text_fields(document)
        document.full_clean(exclude=["file", "uploaded_by"])
        document.save()
        announce_programme_changed(current.pk)
    return document


def document_delete(*, document: Document, user) -> None:
    """Remove a programme's document; its file is deleted once the transaction commits."""
    with transaction.atomic(), attributed_to(user):
        programme_lock(programme=document.programme, expected_version=None)
        stored = document.file
        programme_id = document.programme_id
        document.delete()
        transaction.on_commit(lambda: stored.delete(save=False))
        announce_programme_changed(programme_id)


def sector_document_add(*, sector, user, document: Document, replaces: Document | None = None) -> Document:
    """Add a guidance or standards document (a checked file or a link) to a sector, or a new version of one."""
    with transaction.atomic(), attributed_to(user):
        if replaces is not None:
            previous = (
                Document.objects.select_for_update(of=("self",)).filter(pk=replaces.pk, sector=sector).current().first()
            )
            if previous is None:
                raise ValidationError(_("Only the current version of a sector document can be replaced."))
            document.replaces, document.version = previous, previous.version + 1
        document.sector = sector
        document.programme = None
        document.uploaded_by = user
        rules.normalise_text_fields(document)
        document.full_clean(exclude=["uploaded_by", "replaces"])  # the file-or-link rule is checked here
        document.save()
    return document


def sector_document_retire(*, document: Document, user) -> None:
    """Withdraw a sector document: it leaves the sector page but stays in the history with its versions."""
    with transaction.atomic(), attributed_to(user):
        current = (
            Document.objects.select_for_update(of=("self",))
            .filter(pk=document.pk, sector__isnull=False)
            .current()
            .first()
        )
        if current is None:
            raise ValidationError(_("Only the current version of a sector document can be retired."))
        current.retired_at = timezone.now()
        current.save(update_fields=["retired_at"])


# --- Money: transactions -------------------------------------------------------------------------
# Like documents, a transaction takes the programme's row lock and respects the review lock but does not
# bump the programme's version (recording an expenditure never turns a colleague's edit into a conflict).

TRANSACTION_FIELDS = ("kind", "date", "value", "currency", "provider", "receiver", "description", "reference")


def transaction_add(*, programme: Programme, user, fields: Mapping[str, Any]) -> Transaction:
    """Record a commitment, incoming money, a disbursement or an expenditure of the programme."""
    with transaction.atomic(), attributed_to(user):
        current = programme_lock(programme=programme, expected_version=None)
        record = Transaction(programme=current, currency=current.currency)
        _save_transaction(record, fields)
    return record


def transaction_update(*, record: Transaction, user, fields: Mapping[str, Any]) -> Transaction:
    """Correct a recorded transaction (only the given fields change)."""
    with transaction.atomic(), attributed_to(user):
        programme_lock(programme=record.programme, expected_version=None)
        _save_transaction(record, fields)
    return record


def transaction_delete(*, record: Transaction, user) -> None:
    with transaction.atomic(), attributed_to(user):
        programme_lock(programme=record.programme, expected_version=None)
        record.delete()


def transaction_check(*, programme: Programme, fields: Mapping[str, Any], record: Transaction | None = None) -> None:
    """Raise what transaction_add/transaction_update would refuse, saving nothing (for the admin's page)."""
    if programme.is_locked_for_review:
        raise ProgrammeLocked
    candidate = Transaction(programme=programme, currency=programme.currency)
    if record is not None:
        candidate = Transaction(**{f.attname: getattr(record, f.attname) for f in Transaction._meta.concrete_fields})
    _check_transaction(candidate, fields)


def _check_transaction(record: Transaction, fields: Mapping[str, Any]) -> None:
    unknown = set(fields) - set(TRANSACTION_FIELDS)
    if unknown:
        raise ValidationError({name: [_("This field is read-only.")] for name in sorted(unknown)})
    for name, value in fields.items():
        setattr(record, name, value)
    rules.normalise_text_fields(record)
    record.full_clean(exclude=["programme"], validate_unique=False)  # no unique field but the id


def _save_transaction(record: Transaction, fields: Mapping[str, Any]) -> None:
    _check_transaction(record, fields)
    record.save()


# --- Internals ----------------------------------------------------------------------------------


def _checked_update(
    programme, expected_version, fields, secondary_sectors, participations, locations, recipients
) -> tuple:
    """Lock, check the review lock and the version, apply the change to the locked row and validate it."""
    fields = dict(fields or {})
    if "code" in fields and fields["code"] != programme.code:
        raise ValidationError({"code": [_("The code of an existing programme cannot change.")]})
    current = programme_lock(programme=programme, expected_version=expected_version)
    _assign(current, fields)
    secondary = list(secondary_sectors) if secondary_sectors is not None else None
    rows = [_row(r) for r in participations] if participations is not None else None
    units = list(locations) if locations is not None else None
    countries, regions = recipients
    stored = _stored_recipients(current)
    recipients = _validate(
        current,
        more_errors=rules.stop_reporting_errors(current, rows) if rows is not None else None,
        secondary=secondary if secondary is not None else list(current.secondary_sectors.all()),
        rows=rows if rows is not None else _stored_rows(current),
        units=units,
        recipients=(
            countries if countries is not None else stored[0],
            regions if regions is not None else stored[1],
        ),
        has_locations=None if units is not None else current.locations.exists(),
    )
    return current, secondary, rows, units, recipients if recipients != stored else None


def _assign(programme: Programme, fields: Mapping[str, Any]) -> None:
    unknown = set(fields) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValidationError({name: [_("This field is read-only.")] for name in sorted(unknown)})
    for name, value in fields.items():
        setattr(programme, name, value)
    rules.normalise_text_fields(programme)


def _row(row: ParticipationRow | Mapping) -> ParticipationRow:
    row = row if isinstance(row, ParticipationRow) else ParticipationRow.from_mapping(row)
    return ParticipationRow(
        organisation=row.organisation,
        role=row.role,
        contribution=row.contribution,
        notes=rules.normalise_text(row.notes or ""),
        reports_results=row.reports_results,
    )


def _stored_rows(programme: Programme) -> list[ParticipationRow]:
    return [
        ParticipationRow(p.organisation, p.role, p.contribution, p.notes, p.reports_results)
        for p in programme.participations.select_related("organisation")
    ]


def _recipients(countries, regions) -> tuple[list[RecipientRow] | None, list[RecipientRow] | None]:
    """Rows as a door gave them (codes or instances; None: not given), for the rules."""
    from regions.models import Country, Region

    errors: rules.Errors = {}
    found = []
    for rows, kind, key, model in (
        (countries, "recipient_countries", "country", Country),
        (regions, "recipient_regions", "region", Region),
    ):
        if rows is None:
            found.append(None)
            continue
        read = []
        for index, row in enumerate(rows):
            if isinstance(row, RecipientRow):
                read.append(row)
                continue
            place = row.get(key)
            if not isinstance(place, model):
                code = str(place or "").strip().upper()
                place = model.objects.filter(code=code).first()
                if place is None:
                    message = (
                        _("No country has the code “%(code)s” (ISO 3166-1, e.g. NE).")
                        if model is Country
                        else _("No region has the code “%(code)s” (IATI Region codelist, e.g. 289).")
                    )
                    rules.add(errors, f"{kind}-{index}-{key}", message % {"code": code})
                    continue
            percentage = _percentage(row.get("percentage"))
            if percentage is False:
                rules.add(errors, f"{kind}-{index}-percentage", _("A percentage is a number, e.g. 50 or 33.33."))
                continue
            read.append(RecipientRow(place, percentage))
        found.append(read)
    rules.raise_if(errors)
    return found[0], found[1]


def _percentage(value) -> Decimal | bool | None:
    """The percentage as a Decimal, None when not given, False when it is not a number."""
    if value is None or value == "":
        return None
    try:
        number = Decimal(str(value).strip().replace(",", "."))
    except InvalidOperation:
        return False
    return number if number.is_finite() else False


def _stored_recipients(programme: Programme) -> tuple[list[RecipientRow], list[RecipientRow]]:
    countries = [RecipientRow(r.place, r.percentage) for r in programme.recipient_countries.select_related("country")]
    regions = [RecipientRow(r.place, r.percentage) for r in programme.recipient_regions.select_related("region")]
    return countries, regions


def _validate(
    programme: Programme,
    *,
    secondary: list,
    rows: list[ParticipationRow],
    units: list | None,
    recipients: tuple,
    has_locations: bool | None = None,
    more_errors: rules.Errors | None = None,
    taken_codes: set[str] | None = None,
) -> tuple[list[RecipientRow], list[RecipientRow]]:
    """Every rule at once, so that a door can show all the messages of one submission together.

    Returns the recipient countries and regions to store (a national programme's default applied).
    `taken_codes`: for programme_create_many, the codes already used (stored, or earlier in the batch).
    """
    errors: rules.Errors = {}
    in_bulk = taken_codes is not None
    try:
        if in_bulk:
            # programme_create_many: the same checks without a query per programme. A foreign key given as a
            # stored row needs no existence query; the code's uniqueness is checked against the batch's one
            # query (`taken_codes`, the same message); the check constraints are the database's (a
            # violation rolls the batch back and the caller goes row by row, where full_clean names it).
            given = [f.name for f in Programme._meta.concrete_fields if f.is_relation and getattr(programme, f.attname)]
            programme.full_clean(exclude=[*NOT_VALIDATED, *given], validate_unique=False, validate_constraints=False)
        else:
            programme.full_clean(exclude=NOT_VALIDATED)
    except ValidationError as invalid:
        errors.update(invalid.message_dict)
    if in_bulk and programme.code and programme.code in taken_codes:
        _merge(errors, {"code": programme.unique_error_message(Programme, ("code",)).messages})
    _merge(errors, rules.sector_errors(primary_sector_id=programme.primary_sector_id, secondary_sectors=secondary))
    budget = programme.budget if "budget" not in errors else None
    _merge(errors, rules.participation_errors(rows, budget=budget, currency=programme.currency))
    for index, row in enumerate(rows):
        participation = Participation(
            programme=programme,
            organisation=row.organisation,
            role=row.role,
            contribution=row.contribution,
            notes=row.notes,
            reports_results=bool(row.reports_results),
        )
        try:
            stored_organisation = taken_codes is not None and getattr(row.organisation, "pk", None) is not None
            participation.full_clean(
                exclude=["programme", "organisation"] if stored_organisation else ["programme"],
                validate_unique=False,
                validate_constraints=False,
            )
        except ValidationError as invalid:
            for name, messages in invalid.message_dict.items():
                key = "participations" if name == NON_FIELD_ERRORS else f"participations-{index}-{name}"
                _merge(errors, {key: messages})
    if units is not None:
        _merge(errors, rules.location_errors(units))
    countries, regions = (list(kind or []) for kind in recipients)
    if "scope" not in errors:
        countries = rules.default_countries(scope=programme.scope, countries=countries, regions=regions)
        located = bool(units) if units is not None else bool(has_locations)
        _merge(
            errors,
            rules.recipient_errors(scope=programme.scope, countries=countries, regions=regions, has_locations=located),
        )
    _merge(errors, more_errors or {})
    rules.raise_if(errors)
    return countries, regions


def _merge(errors: rules.Errors, more: rules.Errors) -> None:
    for key, messages in more.items():
        for message in messages:
            if message not in errors.get(key, []):
                errors.setdefault(key, []).append(message)


def _save_parts(
    programme: Programme,
    *,
    secondary: list | None,
    rows: list | None,
    units: list | None,
    recipients: tuple | None = None,
) -> None:
    """Replace the given lists row by row (not in bulk) so that the history records each change."""
    if recipients is not None:
        _replace_recipients(programme, RecipientCountry, recipients[0])
        _replace_recipients(programme, RecipientRegion, recipients[1])
    if secondary is not None:
        programme.secondary_sectors.set(secondary)
    if units is not None:
        wanted = {unit.pk: unit for unit in units}
        for location in programme.locations.exclude(admin_unit_id__in=wanted):
            location.delete()
        kept = set(programme.locations.values_list("admin_unit_id", flat=True))
        for unit_id, unit in wanted.items():
            if unit_id not in kept:
                ProgrammeLocation.objects.create(programme=programme, admin_unit=unit)
    if rows is not None:
        wanted_rows = {row.organisation.pk: row for row in rows}
        for participation in programme.participations.exclude(organisation_id__in=wanted_rows):
            participation.delete()
        current = {p.organisation_id: p for p in programme.participations.all()}
        for organisation_id, row in wanted_rows.items():
            participation = current.get(organisation_id) or Participation(
                programme=programme, organisation=row.organisation
            )
            values = {
                "role": row.role,
                "contribution": row.contribution,
                "notes": row.notes,
                "reports_results": participation.reports_results
                if row.reports_results is None
                else row.reports_results,
            }
            if participation.pk is None or any(getattr(participation, k) != v for k, v in values.items()):
                for name, value in values.items():
                    setattr(participation, name, value)
                participation.save()


def _after_save(programme: Programme) -> None:
    """What the search reads, rebuilt in the same transaction as the change (the aggregates' counter moved
    with the saves, programmes/summary_signals.py)."""
    refresh_search(programme)


def _replace_recipients(programme: Programme, model: type[RecipientShare], wanted_rows: list[RecipientRow]) -> None:
    """The programme's rows of this kind (countries or regions) become these, row by row (history)."""
    key = model.place_field
    stored_rows = model.objects.filter(programme=programme)
    wanted = {row.place.pk: row for row in wanted_rows}
    for stored in stored_rows.exclude(**{f"{key}_id__in": wanted}):
        stored.delete()
    current = {getattr(r, f"{key}_id"): r for r in stored_rows.all()}
    for pk, row in wanted.items():
        stored = current.get(pk) or model(programme=programme, **{key: row.place})
        if stored.pk is None or stored.percentage != row.percentage:
            stored.percentage = row.percentage
            stored.save()


def _history_context() -> dict:
    """The entry fields django-auditlog fills in from its context (attributed_to: the actor, the address)."""
    from auditlog.cid import get_cid

    context = live_history_context() or {}
    actor = context.get("actor")
    return {
        "actor": actor if getattr(actor, "pk", None) else None,
        "actor_email": getattr(actor, "email", None) if getattr(actor, "pk", None) else None,
        "remote_addr": context.get("remote_addr"),
        "remote_port": context.get("remote_port"),
        "cid": get_cid(),
    }


def _entry(instance, *, action: int, changes) -> LogEntry:
    """An unsaved history entry as LogEntry.objects.log_create would write it for `instance`."""
    pk = instance.pk
    return LogEntry(
        content_type=ContentType.objects.get_for_model(instance),  # cached: no query after the first
        object_pk=pk,
        object_id=pk if isinstance(pk, int) else None,
        object_repr=smart_str(instance),
        serialized_data=LogEntry.objects._get_serialized_data_or_none(instance),
        additional_data=instance.get_additional_data(),
        action=action,
        changes=changes,
    )


def _created_entry(instance, *, new_programme: bool = False) -> LogEntry | None:
    """The entry django-auditlog's post_save receiver writes for a created row (the same diff).

    `new_programme`: the instance is a programme inserted a moment ago, which no row refers to yet: its
    reverse one-to-one relations (agreement, imported activity, proposal…) are known to be empty, as the
    diff reads them, without a query each."""
    empty = []
    if new_programme:
        empty = [r for r in instance._meta.related_objects if r.one_to_one and not r.is_cached(instance)]
        for relation in empty:
            relation.set_cached_value(instance, None)
    try:
        changes = model_instance_diff(None, instance, use_json_for_changes=settings.AUDITLOG_STORE_JSON_CHANGES)
    finally:
        for relation in empty:
            relation.delete_cached_value(instance)
    return _entry(instance, action=LogEntry.Action.CREATE, changes=changes) if changes else None


def _sectors_added_entry(programme: Programme, sectors: list) -> LogEntry:
    """The entry django-auditlog's m2m_changed receiver writes when secondary sectors are added."""
    changes = {"secondary_sectors": {"type": "m2m", "operation": "add", "objects": [smart_str(s) for s in sectors]}}
    return _entry(programme, action=LogEntry.Action.UPDATE, changes=changes)


def _write_history(entries: list) -> None:
    context = _history_context()
    now = timezone.now()
    rows = []
    for entry in entries:
        if entry is None:
            continue
        for name, value in context.items():
            setattr(entry, name, value)
        entry.timestamp = now
        rows.append(entry)
    LogEntry.objects.bulk_create(rows, batch_size=1000)


def _copy_saved(saved: Programme, target: Programme) -> None:
    if saved is target:
        return
    for field in Programme._meta.concrete_fields:
        setattr(target, field.attname, getattr(saved, field.attname))
    target.loaded_focal_point_id = saved.iom_focal_point_id


# Statuses an imported activity may bring (IATI ActivityStatus has no review steps), and those that end it.
IMPORTABLE_STATUSES = (
    Status.PIPELINE,
    Status.ACTIVE,
    Status.SUSPENDED,
    Status.COMPLETED,
    Status.CLOSED,
    Status.CANCELLED,
)


def programme_record_imported_status(
    *, programme: Programme, to_status: str, user, source: str
) -> ProgrammeStatusChange:
    """Give a programme the status its published record says (the import's basis), and record why.

    The importer's door to the lifecycle: the activity as published (e.g. by IOM to the IATI Registry) is the
    record of its approval, so the lifecycle's steps are not replayed; the rules on what a status means
    still hold: an ended programme has an actual end that is not in the future.
    """
    if to_status not in IMPORTABLE_STATUSES:
        raise TransitionNotAllowed(
            {"status": [_("An import cannot set the status “%(status)s”.") % {"status": Status(to_status).label}]}
        )
    with transaction.atomic(), attributed_to(user):
        locked = programme_lock(programme=programme, expected_version=None)
        if to_status in (Status.COMPLETED, Status.CLOSED):
            # The same rule as the status page: an ended programme has an actual end, not in the future.
            problem = Programme.actual_end_problem(locked.actual_end, actual_start=locked.actual_start)
            if problem:
                raise TransitionNotAllowed({"actual_end": [problem]})
        change = ProgrammeStatusChange.objects.create(
            programme=locked,
            from_status=locked.status,
            to_status=to_status,
            changed_by=user,
            reason=_("Status of the published record: %(source)s") % {"source": source},
        )
        Programme.objects.filter(pk=locked.pk).update(
            status=to_status, version=F("version") + 1, updated_by=user, updated_at=timezone.now()
        )
        programmes_changed()
        if to_status == Status.CANCELLED:
            announce_programme_changed(locked.pk)
    programme.refresh_from_db(fields=["status", "version", "updated_by", "updated_at"])
    return change
