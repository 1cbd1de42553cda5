"""The IOM staff role groups and their permissions (programmes/roles.py), so that a real deployment can
give a colleague edit or read-only rights from the admin without any demo data."""

from django.db import migrations


def forwards(apps, schema_editor):
    from programmes.roles import create_missing_permissions, ensure_role_groups

    create_missing_permissions(apps, "programmes", "partners", "regions")
    ensure_role_groups(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("programmes", "0003_rules_in_the_domain"),
        ("partners", "0003_user_iom_staff_manager"),
        ("regions", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
