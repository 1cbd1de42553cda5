"""What import_iati and import_sheet share: print the preview, then (without --dry-run) import through the services."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from django.core.files.uploadedfile import UploadedFile
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from django.utils.translation import override

from partners.models import User

from ...iati import IatiFileError
from ...models import ImportStatus
from ...services import (
    SNIFF_BYTES,
    build_preview,
    import_job_apply,
    import_job_confirm,
    import_job_create,
    import_job_preview,
    sniff_format,
)


class ImportCommand(BaseCommand):
    format: str = ""

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--dry-run", action="store_true", help="print the preview and write nothing")
        parser.add_argument("--user", help="username of the IOM staff member the import is recorded for")
        parser.add_argument("--create-organisations", action="store_true", help="create unknown organisations")
        parser.add_argument("--language", default="fr", choices=["fr", "en"])

    def handle(
        self, *args, file: Path, dry_run: bool, user: str | None, create_organisations: bool, language: str, **options
    ) -> None:
        if not file.is_file():
            raise CommandError(f"{file}: no such file")
        with file.open("rb") as head:
            detected = sniff_format(head.read(SNIFF_BYTES))
        if detected != self.format:
            raise CommandError(
                f"{file}: this command reads {self.format} files, this one is {detected or 'unreadable'}"
            )
        with override(language):
            if dry_run:
                try:
                    with file.open("rb") as stream:
                        items = build_preview(stream, format=self.format, language=language, name=file.name)
                except IatiFileError as refused:
                    raise CommandError(str(refused)) from None
                self._print_preview(items)
                self.stdout.write(_("Dry run: nothing was written."))
                return
            staff = self._user(user)
            with file.open("rb") as handle:  # read in chunks, never whole
                upload = UploadedFile(handle, name=file.name, size=file.stat().st_size)
                job = import_job_create(user=staff, upload=upload, language=language)
            job = import_job_preview(job_id=job.pk)
            if job.status == ImportStatus.FAILED:
                raise CommandError(job.error_message)
            self._print_preview(job.iter_preview())
            job = import_job_confirm(job=job, user=staff, create_organisations=create_organisations)
            job = import_job_apply(job_id=job.pk)
            result = job.result
            self.stdout.write(
                _("Created %(new)s, updated %(update)s, unchanged %(unchanged)s, skipped %(skipped)s.")
                % {key: len(result.get(key, [])) for key in ("new", "update", "unchanged", "skipped")}
            )
            for item in result.get("skipped", []):
                self.stdout.write(f"  {item['identifier']}: " + " / ".join(item["reasons"]))

    def _user(self, username: str | None) -> User:
        users = User.objects.iom_staff() if hasattr(User.objects, "iom_staff") else User.objects.filter(is_staff=True)
        if username:
            user = users.filter(username=username).first()
            if user is None:
                raise CommandError(f"{username}: not an active IOM staff user")
            return user
        user = users.filter(is_superuser=True).order_by("pk").first()
        if user is None:
            raise CommandError("no active IOM administrator to record the import for: pass --user")
        return user

    def _print_preview(self, items: Iterable[dict]) -> None:
        counts: dict[str, int] = {}
        for item in items:
            counts[item["action"]] = counts.get(item["action"], 0) + 1
            self.stdout.write(f"{item['action'].upper():10} {item['identifier']} — {item['title']}")
            for change in item["changes"]:
                self.stdout.write(f"    {change['label']}: {change['current'] or '—'} → {change['new'] or '—'}")
            for message in item["errors"]:
                self.stdout.write(f"    ERROR {message}")
            for message in item["warnings"]:
                self.stdout.write(f"    warning {message}")
        self.stdout.write(", ".join(f"{key}: {value}" for key, value in sorted(counts.items())))
