"""The role group "IOM results validators" with the validation right (reporting/roles.py), so that an
administrator can give a colleague the right to approve or return results reports from the admin."""

from django.db import migrations


def forwards(apps, schema_editor):
    from reporting.roles import create_missing_permissions, ensure_validator_group

    create_missing_permissions(apps, "reporting", "programmes", "partners", "regions")
    ensure_validator_group(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("reporting", "0001_initial"),
        ("programmes", "0009_reporting_indicators_and_period_locks"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
