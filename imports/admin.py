"""Admin of imports: sector mappings administrators maintain, and read-only import history."""

import json

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from .models import ImportedActivity, ImportJob, SectorMapping


@admin.register(SectorMapping)
class SectorMappingAdmin(admin.ModelAdmin):
    list_display = ["vocabulary", "code", "sector", "vocabulary_uri", "note"]
    list_filter = ["vocabulary", "sector"]
    search_fields = ["code", "note", "vocabulary_uri"]
    list_select_related = ["sector"]
    autocomplete_fields = ["sector"]


@admin.register(ImportJob)
class ImportJobAdmin(admin.ModelAdmin):
    list_display = ["pk", "original_filename", "format", "requested_by", "organisation", "status", "created_at"]
    list_filter = ["format", "status"]
    search_fields = ["uuid", "original_filename", "requested_by__username", "error_message"]
    list_select_related = ["requested_by", "organisation"]
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in ImportJob._meta.fields] + ["preview"]
    fieldsets = [
        (None, {"fields": ["uuid", "format", "file", "original_filename", "size", "sha256", "language"]}),
        (_("Who"), {"fields": ["requested_by", "submitted_as_staff", "organisation", "decided_by", "decision_reason"]}),
        (
            _("Outcome"),
            {"fields": ["status", "progress", "error_message", "create_organisations", "preview", "result"]},
        ),
        (_("Dates"), {"fields": ["created_at", "previewed_at", "applied_at"]}),
    ]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description=_("preview"))
    def preview(self, obj: ImportJob) -> str:
        """The preview's rows as the JSON list the job held before they were stored one per activity."""
        return json.dumps(obj.preview, ensure_ascii=False)


@admin.register(ImportedActivity)
class ImportedActivityAdmin(admin.ModelAdmin):
    list_display = ["iati_identifier", "programme", "imported_at", "last_job"]
    search_fields = ["iati_identifier", "programme__code"]
    list_select_related = ["programme", "last_job"]
    readonly_fields = [f.name for f in ImportedActivity._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
