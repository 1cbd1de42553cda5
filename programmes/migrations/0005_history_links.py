"""Audit-log entries written before each part carried its programme in `additional_data` get it now, so
the programme page's history shows them; on PostgreSQL an index makes that lookup direct."""

from django.db import migrations

INDEX = "auditlog_logentry_programme"
# Part → how its rows reach their programme (to read the programme of rows that still exist).
PARTS = {
    "programme": "pk",
    "participation": "programme_id",
    "programmelocation": "programme_id",
    "document": "programme_id",
    "outcome": "programme_id",
    "indicator": "programme_id",
    "output": "outcome__programme_id",
    "indicatorvalue": "indicator__programme_id",
}


def _logged_programme(changes) -> int | None:
    values = (changes or {}).get("programme")
    if isinstance(values, list):
        for value in reversed(values):
            if value not in (None, "None", "") and str(value).isdigit():
                return int(value)
    return None


def link_entries(apps, schema_editor):
    content_type = apps.get_model("contenttypes", "ContentType")
    log_entry = apps.get_model("auditlog", "LogEntry")
    for name, path in PARTS.items():
        ct = content_type.objects.filter(app_label="programmes", model=name).first()
        if ct is None:
            continue
        model = apps.get_model("programmes", name)
        programme_of = dict(model.objects.values_list("pk", path)) if path != "pk" else None
        changed = []
        for entry in log_entry.objects.filter(content_type=ct).iterator(chunk_size=2000):
            if isinstance(entry.additional_data, dict) and "programme" in entry.additional_data:
                continue
            if programme_of is None:
                programme = int(entry.object_pk) if str(entry.object_pk).isdigit() else None
            else:
                programme = _logged_programme(entry.changes)
                if programme is None and str(entry.object_pk).isdigit():
                    programme = programme_of.get(int(entry.object_pk))
            if programme is None:
                continue
            entry.additional_data = {**(entry.additional_data or {}), "programme": programme}
            changed.append(entry)
            if len(changed) >= 2000:
                log_entry.objects.bulk_update(changed, ["additional_data"])
                changed = []
        log_entry.objects.bulk_update(changed, ["additional_data"])


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {INDEX} ON auditlog_logentry ((additional_data -> 'programme'))"
        )


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [("programmes", "0004_role_groups"), ("auditlog", "0017_add_actor_email")]

    operations = [
        migrations.RunPython(link_entries, migrations.RunPython.noop),
        migrations.RunPython(create_index, drop_index),
    ]
