"""`manage.py backup [--output DIR_OR_FILE]`: database dump + private files + manifest (see iom_portal/backup.py)."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from iom_portal.backup import BackupError, create_backup, read_manifest


class Command(BaseCommand):
    help = "Write a consistent backup (PostgreSQL dump, private files, manifest with checksums) as one tar file."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--output", default="backups/", help="A directory (default backups/) or a file name.")

    def handle(self, *args, output: str, **options) -> None:
        try:
            path = create_backup(Path(output))
        except BackupError as error:
            raise CommandError(str(error)) from error
        manifest = read_manifest(path)
        self.stdout.write(f"counts: {manifest['counts']}")
        self.stdout.write(self.style.SUCCESS(f"Backup written: {path}"))
