"""The admin fully in French and English, third-party parts included.

django-auditlog ships no French and writes two labels in English only; django-celery-beat's French
title is ungrammatical. Their strings are listed here so that `make messages` puts them in the
portal's catalogue (which takes precedence over the packages' own), and the audit log's list is
registered again with its two fixed labels translated and its change count through ngettext.
"""

from __future__ import annotations

from auditlog.admin import LogEntryAdmin
from auditlog.models import LogEntry
from django.contrib import admin
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop, ngettext

MAX_FIELDS_SHOWN = 75

THIRD_PARTY_STRINGS = [
    gettext_noop("Audit log"),
    gettext_noop("Audit log: %s"),
    gettext_noop("Resource"),
    gettext_noop("Resource Type"),
    gettext_noop("Changes"),
    gettext_noop("Click to filter by records with this correlation id"),
    gettext_noop("create"),
    gettext_noop("update"),
    gettext_noop("delete"),
    gettext_noop("access"),
    gettext_noop("object pk"),
    gettext_noop("object id"),
    gettext_noop("object representation"),
    gettext_noop("change message"),
    gettext_noop("actor"),
    gettext_noop("remote address"),
    gettext_noop("remote port"),
    gettext_noop("additional data"),
    gettext_noop("actor email"),
    gettext_noop("log entry"),
    gettext_noop("log entries"),
    gettext_noop("Periodic Tasks"),
]


class TranslatedLogEntryAdmin(LogEntryAdmin):
    @admin.display(description=_("Changes"))
    def msg_short(self, obj):
        if obj.action in (LogEntry.Action.DELETE, LogEntry.Action.ACCESS):
            return ""
        changes = obj.changes_dict
        fields = ", ".join(changes)
        if len(fields) > MAX_FIELDS_SHOWN:
            fields = fields[: fields.rfind(" ", 0, MAX_FIELDS_SHOWN)] + " …"
        return ngettext("%(count)d change: %(fields)s", "%(count)d changes: %(fields)s", len(changes)) % {
            "count": len(changes),
            "fields": fields,
        }

    @admin.display(description=_("Correlation ID"))
    def cid_url(self, obj):
        return super().cid_url(obj)


def register() -> None:
    """Put the translated audit-log admin in place of the package's (called once the admin has loaded)."""
    if admin.site.is_registered(LogEntry):
        admin.site.unregister(LogEntry)
    admin.site.register(LogEntry, TranslatedLogEntryAdmin)
