"""The IOM Development Fund's calendar, on an installation whose reference data is already loaded."""

from django.db import migrations


def load(apps, schema_editor):
    from obligations.reference import ensure_idf_rule_set

    ensure_idf_rule_set(apps)


class Migration(migrations.Migration):
    dependencies = [("obligations", "0001_obligation_calendar")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
