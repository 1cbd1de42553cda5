"""Search words of a programme's parts, the P-codes it touches (indexed for containment on PostgreSQL) and the
aggregates kept for the pages (programmes/search.py, programmes/summary.py). Fills both for existing programmes."""

from django.db import migrations, models

INDEX = "programmes_programme_place_codes_trgm"


def fill(apps, schema_editor):
    from programmes.search import rebuild, trigram_indexes_set_aside

    Programme = apps.get_model("programmes", "Programme")
    models_ = {
        "Programme": Programme,
        "Through": Programme.secondary_sectors.through,
        "ProgrammeLocation": apps.get_model("programmes", "ProgrammeLocation"),
        "Participation": apps.get_model("programmes", "Participation"),
        "Indicator": apps.get_model("programmes", "Indicator"),
        "AdminUnit": apps.get_model("regions", "AdminUnit"),
        "Sector": apps.get_model("programmes", "Sector"),
    }
    with trigram_indexes_set_aside(Programme):
        for _done in rebuild(models_):
            pass
    apps.get_model("programmes", "SummaryCounter").objects.get_or_create(pk=1)


def create_index(apps, schema_editor):
    """A trigram index serves `place_codes LIKE '% NE006 %'` (the region filter); where pg_trgm is missing
    (see 0002) the filter still works, on a sequential scan."""
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")
        if cursor.fetchone() is None:
            print("\n  pg_trgm is not available: the place filter will not use a trigram index.")
            return
        cursor.execute(
            f"CREATE INDEX IF NOT EXISTS {INDEX} ON programmes_programme USING gin (place_codes gin_trgm_ops)"
        )


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):

    dependencies = [
        ('programmes', '0012_document_categories_for_obligations'),
        ('regions', '0002_office_name_in_both_languages'),
    ]

    operations = [
        migrations.CreateModel(
            name='SummaryCounter',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('changes', models.BigIntegerField(default=0)),
            ],
            options={
                'verbose_name': 'aggregate change counter',
                'verbose_name_plural': 'aggregate change counters',
            },
        ),
        migrations.AddField(
            model_name='programme',
            name='place_codes',
            field=models.TextField(default='', editable=False),
        ),
        migrations.CreateModel(
            name='Summary',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('scope', models.CharField(max_length=40, verbose_name='scope')),
                ('part', models.CharField(max_length=40, verbose_name='part')),
                ('data', models.JSONField(default=dict, verbose_name='data')),
                ('changes_seen', models.BigIntegerField(default=0, verbose_name='changes included')),
                ('computed_at', models.DateTimeField(verbose_name='computed at')),
            ],
            options={
                'verbose_name': 'summary',
                'verbose_name_plural': 'summaries',
                'constraints': [models.UniqueConstraint(fields=('scope', 'part'), name='summary_one_per_scope_and_part')],
            },
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
        migrations.RunPython(create_index, drop_index),
    ]
