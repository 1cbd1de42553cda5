"""The IOM Development Fund's published rules, default review criteria, starting exchange rates and the
review groups (see reviews/reference.py); all editable in the admin afterwards."""

from django.db import migrations


def forwards(apps, schema_editor):
    from reviews.reference import load_review_reference

    load_review_reference(
        apps.get_model("reviews", "FundRule"),
        apps.get_model("reviews", "ReviewCriterion"),
        apps.get_model("reviews", "ExchangeRate"),
        apps.get_model("auth", "Group"),
    )


class Migration(migrations.Migration):
    dependencies = [("reviews", "0001_initial"), ("auth", "0012_alter_user_first_name_max_length")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
