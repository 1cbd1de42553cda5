"""The imports application: IATI activity files and spreadsheets brought in through the programme services."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ImportsConfig(AppConfig):
    name = "imports"
    verbose_name = _("Imports")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from programmes.reference import reference_data_loaded

        from .reference import load_sector_mappings

        reference_data_loaded.connect(load_sector_mappings, dispatch_uid="imports.load_sector_mappings")
