"""Loading many new rows at once (seed_demo): PostgreSQL's COPY into tables whose secondary indexes and
constraints are set aside meanwhile, `bulk_create` elsewhere — the same rows either way.

`BulkLoader.insert(model, fields, rows)` writes `rows` (tuples of values for `fields`, attribute names such
as "programme_id") and returns their primary keys in order; every field not named gets its default, as
`bulk_create` would give it (an `auto_now` date: the time of the load).

On PostgreSQL, inside `BulkLoader.tables_set_aside(models)`:
- the foreign keys, unique constraints and indexes of those tables (all but their primary keys) are dropped,
  so that each row costs no index upkeep and no per-row foreign key check (a queued trigger event each);
- then, at the end, created again from their own definitions (`pg_get_indexdef`, `pg_get_constraintdef`):
  one sort per index, and one join per foreign key to check every row at once;
- all in the caller's transaction: an error rolls back the rows and the dropped definitions together.
The tables are locked (ACCESS EXCLUSIVE) until the commit, and so are the tables their foreign keys point to:
for seeding a development or benchmark database, not a live one.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager

from django.db import connections, router
from django.utils import timezone

COPY_CHUNK = 5000  # rows per COPY statement: the text of one chunk is held in memory
BULK_CREATE_BATCH = 2000
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_text(value) -> str:
    """One value in COPY's text format."""
    if value is None:
        return "\\N"
    if isinstance(value, str):
        if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
            return value.translate(_ESCAPES)
        return value
    if value is True:
        return "t"
    if value is False:
        return "f"
    return str(value)  # int, Decimal, date, aware datetime: their str() is what PostgreSQL reads


class BulkLoader:
    def __init__(self, model) -> None:
        self.connection = connections[router.db_for_write(model)]
        self.copy = self.connection.vendor == "postgresql"

    def insert(self, model, fields: Sequence[str], rows: list[tuple]) -> list[int]:
        if not rows:
            return []
        if not self.copy:
            objects = [model(**dict(zip(fields, row, strict=True))) for row in rows]
            model.objects.bulk_create(objects, batch_size=BULK_CREATE_BATCH)
            return [obj.pk for obj in objects]
        return self._copy(model, fields, rows)

    def _copy(self, model, fields: Sequence[str], rows: list[tuple]) -> list[int]:
        meta = model._meta
        named = [meta.get_field(name) for name in fields]
        rest = [f for f in meta.concrete_fields if f not in named and not f.primary_key]
        now = timezone.now()
        defaults = []
        for field in rest:
            value = now if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False) else None
            if value is None:
                value = field.get_default()
            defaults.append(_copy_text(field.get_db_prep_save(value, connection=self.connection)))
        suffix = "".join("\t" + text for text in defaults) + "\n"
        table = self.connection.ops.quote_name(meta.db_table)
        columns = ", ".join(self.connection.ops.quote_name(f.column) for f in [meta.pk, *named, *rest])
        with self.connection.cursor() as cursor:
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                [meta.db_table, meta.pk.column, len(rows)],
            )
            ids = [row[0] for row in cursor.fetchall()]
            for start in range(0, len(rows), COPY_CHUNK):
                text = "".join(
                    f"{pk}\t" + "\t".join(map(_copy_text, row)) + suffix
                    for pk, row in zip(ids[start : start + COPY_CHUNK], rows[start : start + COPY_CHUNK], strict=True)
                )
                # Bytes: a StringIO would hold the text at 4 bytes a character.
                cursor.copy_expert(f"COPY {table} ({columns}) FROM STDIN", io.BytesIO(text.encode()))
        return ids

    @contextmanager
    def tables_set_aside(self, models: Iterable) -> Iterator[None]:
        """See the module's docstring; does nothing but run the block elsewhere than on PostgreSQL."""
        if not self.copy:
            yield
            return
        assert self.connection.in_atomic_block, "the dropped indexes and constraints come back only in a transaction"
        tables = [model._meta.db_table for model in models]
        with self.connection.cursor() as cursor:
            # Queued foreign key checks (deferred) must run before the tables can be altered.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("SET LOCAL synchronous_commit = off")  # a demo seed: nothing lost but the seed
            cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")  # index builds sort in memory
            cursor.execute(
                "SELECT conrelid::regclass::text, conname, contype, pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE conrelid = ANY(%s::regclass[]) AND contype IN ('f', 'u') ORDER BY contype, conrelid, conname",
                [tables],
            )
            constraints = cursor.fetchall()  # 'f' before 'u': a foreign key may rest on a unique constraint
            cursor.execute(
                "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i "
                "WHERE i.indrelid = ANY(%s::regclass[]) AND NOT i.indisprimary "
                "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid) "
                "ORDER BY i.indrelid, 1",
                [tables],
            )
            indexes = cursor.fetchall()
            for table, name, _kind, _definition in constraints:
                cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
            for name, _definition in indexes:
                cursor.execute(f"DROP INDEX {name}")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        yield
        with self.connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            for _name, definition in indexes:
                cursor.execute(definition)
            for table, name, _kind, definition in reversed(constraints):  # unique ones first
                cursor.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
            cursor.execute(f"ANALYZE {', '.join(tables)}")  # the next queries plan with the new rows counted
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
