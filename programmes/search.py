"""What the programme search finds, and the P-codes the place filter reads: both kept on the programme row.

`Programme.search_text` is the programme's own words (code, titles, summaries; rebuilt by `save()`),
then SEARCH_PARTS_SEPARATOR, then the words of its parts: sectors (codes and names), every place at
every level (names, alternative spellings, P-codes: a commune brings its department and region),
partners (acronyms and names) and indicator titles, all accent- and case-folded. `place_codes` is
" NE006 NE006012 NE006012007 ": what `ProgrammeQuerySet.in_admin_unit` matches without a join.

The services refresh both after every change of a programme's lists (programme_create/update,
participations_replace, locations_replace); indicators add their titles when saved (signals below);
renaming an organisation, a place, a sector or an indicator rebuilds the programmes it reaches
(programmes/summary_signals.py); `manage.py rebuild_search_text` rebuilds every row (after a bulk
`QuerySet.update()` or a raw SQL change, which send no signal).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from functools import lru_cache

from .models import SEARCH_PARTS_SEPARATOR, fold_text

BATCH = 1000


def _unit_words(units: dict[int, tuple]) -> dict[int, tuple[list[str], list[str]]]:
    """For each unit id: (its P-codes with its ancestors', the folded names of all of them)."""
    result = {}
    for unit_id in units:
        codes, names, current = [], [], unit_id
        while current is not None:
            pcode, parent_id, *unit_names = units[current]
            codes.append(pcode)
            names.extend(n for n in unit_names if n)
            current = parent_id
        result[unit_id] = (codes, names)
    return result


def part_words(programme_ids: list[int], models) -> dict[int, tuple[str, str]]:
    """{programme id: (words of its parts, place_codes)} in six queries whatever the number of programmes.

    `models` gives the model classes (the current ones, or a migration's historical ones).
    """
    Programme, Through, Location, Participation, Indicator, AdminUnit, Sector = (
        models["Programme"],
        models["Through"],
        models["ProgrammeLocation"],
        models["Participation"],
        models["Indicator"],
        models["AdminUnit"],
        models["Sector"],
    )
    unit_words, sectors = place_and_sector_words(AdminUnit, Sector)
    words: dict[int, list[str]] = defaultdict(list)
    codes: dict[int, set[str]] = defaultdict(set)
    for pk, sector_id in Programme.objects.filter(pk__in=programme_ids).values_list("pk", "primary_sector_id"):
        words[pk].extend(sectors.get(sector_id, ()))
    for pk, sector_id in Through.objects.filter(programme_id__in=programme_ids).values_list(
        "programme_id", "sector_id"
    ):
        words[pk].extend(sectors.get(sector_id, ()))
    for pk, unit_id in Location.objects.filter(programme_id__in=programme_ids).values_list(
        "programme_id", "admin_unit_id"
    ):
        unit_codes, names = unit_words.get(unit_id, ([], []))
        codes[pk].update(unit_codes)
        words[pk].extend(names)
    for row in Participation.objects.filter(programme_id__in=programme_ids).values_list(
        "programme_id",
        "organisation__acronym",
        "organisation__acronym_en",
        "organisation__name_fr",
        "organisation__name_en",
    ):
        words[row[0]].extend(row[1:])
    for row in Indicator.objects.filter(programme_id__in=programme_ids).values_list(
        "programme_id", "name_fr", "name_en"
    ):
        words[row[0]].extend(row[1:])
    return {pk: parts_text(words.get(pk, ()), codes.get(pk, ())) for pk in programme_ids}


def place_and_sector_words(AdminUnit, Sector) -> tuple[dict, dict]:
    """({unit id: (its P-codes and its ancestors', their names)}, {sector id: (code, name_fr, name_en)})."""
    units = {
        row[0]: row[1:]
        for row in AdminUnit.objects.values_list("pk", "pcode", "parent_id", "name_fr", "name_en", "name_alt")
    }
    sectors = {
        pk: (code, fr, en) for pk, code, fr, en in Sector.objects.values_list("pk", "code", "name_fr", "name_en")
    }
    return _unit_words(units), sectors


def parts_text(words: Iterable[str], codes: Iterable[str]) -> tuple[str, str]:
    """(the folded words of a programme's parts, its place_codes), from its parts' words in order (sectors,
    places, partners, indicators) and its places' P-codes: what part_words gives, for a caller that holds
    the parts in memory (seed_demo)."""
    unique = list(dict.fromkeys(w for w in words if w))
    place_codes = sorted(set(codes))
    # Folding the words one by one gives the same text as folding them joined (a space stops decomposition
    # and case folding), and the same words come back for thousands of programmes.
    text = " ".join(map(_folded_word, [*place_codes, *unique]))
    return text, f" {' '.join(place_codes)} " if place_codes else ""


@lru_cache(maxsize=8192)
def _folded_word(word: str) -> str:
    return fold_text(word)


def search_text_of(own: str, parts: str) -> str:
    """The whole search_text: the programme's own words (build_search_text) and its parts' (parts_text)."""
    return _joined(own, parts)


def current_models() -> dict:
    from partners.models import Organisation  # noqa: F401 — the relation the participations follow
    from regions.models import AdminUnit

    from .models import Indicator, Participation, Programme, ProgrammeLocation, Sector

    return {
        "Programme": Programme,
        "Through": Programme.secondary_sectors.through,
        "ProgrammeLocation": ProgrammeLocation,
        "Participation": Participation,
        "Indicator": Indicator,
        "AdminUnit": AdminUnit,
        "Sector": Sector,
    }


def _joined(own: str, parts: str) -> str:
    own = own.partition(SEARCH_PARTS_SEPARATOR)[0]
    return own + SEARCH_PARTS_SEPARATOR + parts if parts else own


def refresh_search(programme) -> None:
    """Rebuild one programme's search words and place codes from its stored parts (the services call this)."""
    from .models import Programme

    parts, place_codes = part_words([programme.pk], current_models())[programme.pk]
    own = programme.build_search_text()
    programme.search_text = _joined(own, parts)
    programme.place_codes = place_codes
    Programme.objects.filter(pk=programme.pk).update(search_text=programme.search_text, place_codes=place_codes)


def refresh_search_many(programmes: list) -> None:
    """refresh_search for many programmes at once (programme_create_many): seven queries whatever their number."""
    from .models import Programme

    if not programmes:
        return
    parts = part_words([programme.pk for programme in programmes], current_models())
    for programme in programmes:
        words, place_codes = parts[programme.pk]
        programme.search_text = _joined(programme.build_search_text(), words)
        programme.place_codes = place_codes
    _write(Programme, [(programme.pk, programme.search_text, programme.place_codes) for programme in programmes])


def place_codes_of(pcodes) -> str:
    """ " NE006 NE006012 NE006012007 ": each P-code with its ancestors' (a P-code starts with its parent's)."""
    codes = {pcode[:length] for pcode in pcodes for length in (5, 8, 11) if len(pcode) >= length}
    return f" {' '.join(sorted(codes))} " if codes else ""


def refresh_place_codes(programme_id: int) -> None:
    """The place codes of one programme from its stored locations (two queries): any door adding a place."""
    from .models import Programme, ProgrammeLocation

    pcodes = ProgrammeLocation.objects.filter(programme_id=programme_id).values_list("admin_unit__pcode", flat=True)
    Programme.objects.filter(pk=programme_id).update(place_codes=place_codes_of(list(pcodes)))


def rebuild(models=None, *, ids: Iterable[int] | None = None) -> Iterator[int]:
    """Rebuild the search words and place codes of every programme (or of `ids`), in batches; yields the
    number done after each batch."""
    models = models or current_models()
    Programme = models["Programme"]
    queryset = Programme.objects.order_by("pk")
    if ids is not None:
        queryset = queryset.filter(pk__in=list(ids))
    all_ids = list(queryset.values_list("pk", flat=True))
    done = 0
    for start in range(0, len(all_ids), BATCH):
        batch_ids = all_ids[start : start + BATCH]
        parts = part_words(batch_ids, models)
        rows = list(
            Programme.objects.filter(pk__in=batch_ids).only(
                "pk", "code", "title_fr", "title_en", "summary_fr", "summary_en", "search_text", "place_codes"
            )
        )
        for row in rows:
            own = fold_text(
                " ".join(p for p in (row.code, row.title_fr, row.title_en, row.summary_fr, row.summary_en) if p)
            )
            row.search_text = _joined(own, parts[row.pk][0])
            row.place_codes = parts[row.pk][1]
        _write(Programme, [(row.pk, row.search_text, row.place_codes) for row in rows])
        done += len(rows)
        yield done


def _write(Programme, rows: list[tuple[int, str, str]]) -> None:
    """One UPDATE ... FROM (VALUES ...) per batch (bulk_update's CASE per row is quadratic in the batch)."""
    from django.db import connections, router

    if not rows:
        return
    table = Programme._meta.db_table
    values = ", ".join(["(%s, %s, %s)"] * len(rows))
    sql = (
        f"WITH v(i, s, c) AS (VALUES {values}) "  # noqa: S608 — table name from the model
        f"UPDATE {table} SET search_text = v.s, place_codes = v.c FROM v WHERE {table}.id = v.i"
    )
    with connections[router.db_for_write(Programme)].cursor() as cursor:
        cursor.execute(sql, [value for row in rows for value in row])


@contextmanager
def trigram_indexes_set_aside(Programme) -> Iterator[None]:
    """For a bulk load on PostgreSQL (seed_demo, the migration filling every row): the programme table's trigram
    indexes are dropped, then created again in one pass, much faster than updating them row by row. The
    table is locked meanwhile: not for a live database (`rebuild_search_text` keeps them)."""
    from django.db import connections, router

    connection = connections[router.db_for_write(Programme)]
    if connection.vendor != "postgresql":
        yield
        return
    table = Programme._meta.db_table
    # Inside a transaction, the deferred foreign key checks must run before an index is dropped or built.
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s AND indexdef LIKE %s",
            [table, "%gin_trgm_ops%"],
        )
        indexes = cursor.fetchall()
        for name, _definition in indexes:
            cursor.execute(f'DROP INDEX IF EXISTS "{name}"')
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            for _name, definition in indexes:
                cursor.execute(definition)
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def indicator_titles_added(indicator) -> bool:
    """An indicator saved through any door: its titles become searchable at once (one query). True when
    they were not in the search text yet (a new or renamed title: the signal then rebuilds a renamed one's
    programme). A deleted indicator's title stays findable until the programme's next save or
    `rebuild_search_text`."""
    from django.db.models import Value
    from django.db.models.functions import Concat

    from .models import Programme

    titles = fold_text(" ".join(t for t in (indicator.name_fr, indicator.name_en) if t))
    if not titles:
        return False
    return bool(
        Programme.objects.filter(pk=indicator.programme_id)
        .exclude(search_text__contains=titles)
        .update(search_text=Concat("search_text", Value(SEARCH_PARTS_SEPARATOR + titles)))
    )
