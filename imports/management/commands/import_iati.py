"""python manage.py import_iati FILE [--dry-run]: an IATI 2.03 activity file through the programme services."""

from ...models import ImportFormat
from ._importing import ImportCommand


class Command(ImportCommand):
    help = "Import an IATI 2.03 activity file (preview printed first; --dry-run writes nothing)."
    format = ImportFormat.IATI_XML
