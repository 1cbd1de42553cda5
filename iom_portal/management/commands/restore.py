"""`manage.py restore FILE [--database-url URL]`: restore a backup into an empty PostgreSQL database."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from iom_portal.backup import BackupError, restore_backup


class Command(BaseCommand):
    help = "Restore a backup made by `manage.py backup` into an EMPTY PostgreSQL database and MEDIA_ROOT."

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", help="The backup tar file.")
        parser.add_argument("--database-url", default=None, help="Target database (default: DATABASE_URL).")
        parser.add_argument(
            "--media-root", default=None, help="Target directory of private files (default: MEDIA_ROOT)."
        )

    def handle(self, *args, file: str, database_url: str | None, media_root: str | None, **options) -> None:
        try:
            manifest = restore_backup(
                Path(file), database_url=database_url, media_root=Path(media_root) if media_root else None
            )
        except BackupError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(f"backup of {manifest['created_at']} (commit {manifest.get('git_commit') or '?'})")
        self.stdout.write(f"counts: {manifest['counts']}")
        self.stdout.write(self.style.SUCCESS("Restored. Run `python manage.py migrate` if this code is newer."))
