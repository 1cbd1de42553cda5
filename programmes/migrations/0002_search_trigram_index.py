"""On PostgreSQL, a trigram index makes the accent-free search (`search_text LIKE '%word%'`) an index scan.

Creating the pg_trgm extension needs the right privileges; where the database user lacks them the
search still works, only slower, and the migration says so instead of failing the deployment.
"""

from django.db import migrations

INDEX = "programmes_programme_search_trgm"


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SAVEPOINT trgm")
        try:
            cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        except Exception:  # noqa: BLE001 — no privilege: keep the sequential scan
            cursor.execute("ROLLBACK TO SAVEPOINT trgm")
            print("\n  pg_trgm is not available: programme search will not use a trigram index.")
            return
        cursor.execute(
            f"CREATE INDEX IF NOT EXISTS {INDEX} ON programmes_programme USING gin (search_text gin_trgm_ops)"
        )


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [("programmes", "0001_initial")]

    operations = [migrations.RunPython(create_index, drop_index)]
