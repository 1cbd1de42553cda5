"""Admin of report jobs: read-only history for administrators (jobs are made in the portal or by beat)."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from .models import ReportJob


@admin.register(ReportJob)
class ReportJobAdmin(admin.ModelAdmin):
    list_display = [
        "pk",
        "type",
        "requester",
        "scheduled",
        "language",
        "status",
        "progress",
        "attempts",
        "created_at",
        "expires_at",
    ]
    list_filter = ["type", "status", "scheduled", "language"]
    search_fields = ["uuid", "requester__username", "error_message"]
    list_select_related = ["requester"]
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in ReportJob._meta.fields]
    fieldsets = [
        (None, {"fields": ["uuid", "type", "parameters", "requester", "scheduled", "language"]}),
        (_("Progress"), {"fields": ["status", "progress", "attempts", "claim_token", "heartbeat_at", "enqueued_at"]}),
        (_("Outcome"), {"fields": ["error_message", "validation_messages", "file", "row_count", "size", "sha256"]}),
        (_("Dates"), {"fields": ["created_at", "started_at", "finished_at", "expires_at"]}),
    ]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
