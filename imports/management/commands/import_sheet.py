"""python manage.py import_sheet FILE [--dry-run]: a programme or 3W/4W spreadsheet (XLSX/CSV with HXL hashtags)."""

from ...models import ImportFormat
from ._importing import ImportCommand


class Command(ImportCommand):
    help = "Import a programme or 3W/4W spreadsheet (preview printed first; --dry-run writes nothing)."
    format = ImportFormat.SHEET
