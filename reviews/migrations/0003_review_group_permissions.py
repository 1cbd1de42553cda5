"""The review groups read like every IOM role, and review managers keep the experts' sectors
(reviews/reference.py); together with programmes.0004 a fresh deployment has every role group."""

from django.db import migrations


def forwards(apps, schema_editor):
    from programmes.roles import create_missing_permissions
    from reviews.reference import ensure_review_groups

    create_missing_permissions(apps, "programmes", "partners", "regions", "reviews")
    ensure_review_groups(apps)


class Migration(migrations.Migration):
    dependencies = [("reviews", "0002_fund_rules_criteria_and_groups"), ("programmes", "0004_role_groups")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
