"""Small-cell suppression of the figures shown to partners (aggregates only, never a person).

The method (docs/PRIVACY.md):

1. Primary suppression: a count of people between 1 and SMALL_CELL_THRESHOLD-1 (an IndicatorValue of
   a "unit" indicator) is shown to partners as "< N".
2. Complementary suppression inside a table: whenever a cell hides, enough other cells of the same
   group (the sex cells, the age cells of one period; an indicator's overall against its periods)
   hide too that subtraction cannot give it back (`suppress_small_cells`, `hidden_cells`).
3. Totals across tables are built from visible figures only: every total a partner sees (live key
   figures on the dashboard, sector pages, the API and the key figures report) adds up the period
   totals the partner can see, and leaves the hidden ones out (`partner_hidden_total_q`). Each
   number a partner can see is then a function of the numbers the partner can see, so no
   difference between any two of them — or any sum of differences — can reveal a hidden count.
   The price: a partner's total can be a few people below IOM's; the pages say so.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.utils.translation import gettext as _

REST = "_rest"
# Shown instead of a count hidden only to protect a small one (it could be recovered by subtraction).
HIDDEN_MARK = "•"


def partner_hidden_total_q(threshold: int | None = None):
    """The IndicatorValue rows partners never see as a number (for querysets of totals rows): counts of
    people between 1 and threshold-1. Exclude them from every aggregate shown to a partner."""
    from django.db.models import Q

    from .models import Measure

    threshold = settings.SMALL_CELL_THRESHOLD if threshold is None else threshold
    return Q(indicator__measure=Measure.UNIT, achieved__gt=0, achieved__lt=threshold)


def small_label(threshold: int | None = None) -> str:
    """How a small count is shown to partners: "< 5"."""
    return _("< %(n)s") % {"n": settings.SMALL_CELL_THRESHOLD if threshold is None else threshold}


def suppress_small_cells(
    total: Decimal | None, cells: dict[str, Decimal | None], threshold: int | None = None
) -> tuple[str | Decimal | None, dict[str, str | Decimal | None]]:
    """Return the (total, cells) to display, with counts between 1 and threshold-1 shown as "< N".

    Cells that could be recovered by subtraction from the total are suppressed too (complementary
    suppression): whenever a small count is hidden, at least two unknowns remain in the group. Cells
    not adding up to the total leave an implicit remainder, which counts as a hidden cell.
    """
    threshold = settings.SMALL_CELL_THRESHOLD if threshold is None else threshold
    label = small_label(threshold)

    def is_small(value: Decimal | None) -> bool:
        return value is not None and 0 < value < threshold

    if total is not None and is_small(total):
        return label, {name: (label if value is not None else None) for name, value in cells.items()}

    known = {name: value for name, value in cells.items() if value is not None}
    values = dict(known)
    if total is not None:
        rest = total - sum(known.values(), Decimal(0))
        if rest > 0:
            values[REST] = rest
    small = {name for name, value in values.items() if is_small(value)}
    hidden = set(small) | ({REST} if REST in values else set())
    if small and total is not None and len(hidden) < 2:
        candidates = sorted((value, name) for name, value in known.items() if name not in hidden)
        if candidates:
            hidden.add(candidates[0][1])
    shown = {}
    for name, value in cells.items():
        if value is None:
            shown[name] = None
        elif name in small:
            shown[name] = label
        elif name in hidden:
            shown[name] = HIDDEN_MARK
        else:
            shown[name] = value
    return total, shown


def hidden_cells(cells, threshold: int | None = None) -> set:
    """Keys of the cells that partners must not see, from (key, period, sex, age_group, achieved) tuples.

    Per reporting period, the total row (all sexes, all ages) is the total; the sex cells and the
    age cells are two groups adding up to it. Cells that cross sex and age are never shown to
    partners. A small total hides itself and its cells.
    """
    from .models import AgeGroup, Sex

    hidden: set = set()
    periods: dict[object, list] = {}
    for cell in cells:
        periods.setdefault(cell[1], []).append(cell)
    for rows in periods.values():
        total_row = next((c for c in rows if c[2] == Sex.ALL and c[3] == AgeGroup.ALL), None)
        total = total_row[4] if total_row is not None else None
        by_sex = {c[0]: c[4] for c in rows if c[2] != Sex.ALL and c[3] == AgeGroup.ALL}
        by_age = {c[0]: c[4] for c in rows if c[2] == Sex.ALL and c[3] != AgeGroup.ALL}
        hidden |= {c[0] for c in rows if c[2] != Sex.ALL and c[3] != AgeGroup.ALL}
        for group in (by_sex, by_age):
            shown_total, shown = suppress_small_cells(total, group, threshold)
            hidden |= {key for key, display in shown.items() if isinstance(display, str)}
            if isinstance(shown_total, str) and total_row is not None:
                hidden.add(total_row[0])
    return hidden


def cells_hidden_from_partners(values: list, threshold: int | None = None) -> set[int]:
    """Primary keys of an indicator's IndicatorValue rows that partners must not see (see hidden_cells)."""
    return hidden_cells(
        ((v.pk, (v.period_start, v.period_end), v.sex, v.age_group, v.achieved) for v in values), threshold
    )
