"""Small-cell suppression of disaggregated figures shown to partners (aggregates only, never a person)."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.utils.translation import gettext as _

REST = "_rest"


def suppress_small_cells(
    total: Decimal | None, cells: dict[str, Decimal | None], threshold: int | None = None
) -> tuple[str | Decimal | None, dict[str, str | Decimal | None]]:
    """Return the (total, cells) to display, with counts between 1 and threshold-1 shown as "< N".

    Cells that could be recovered by subtraction from the total are suppressed too (complementary
    suppression): whenever a small count is hidden, at least two unknowns remain in the group. Cells
    not adding up to the total leave an implicit remainder, which counts as a hidden cell.
    """
    threshold = settings.SMALL_CELL_THRESHOLD if threshold is None else threshold
    small_label = _("< %(n)s") % {"n": threshold}

    def is_small(value: Decimal | None) -> bool:
        return value is not None and 0 < value < threshold

    if total is not None and is_small(total):
        return small_label, {name: (small_label if value is not None else None) for name, value in cells.items()}

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
            shown[name] = small_label
        elif name in hidden:
            shown[name] = "•"
        else:
            shown[name] = value
    return total, shown


def cells_hidden_from_partners(values: list, threshold: int | None = None) -> set[int]:
    """Primary keys of an indicator's IndicatorValue rows that partners must not see.

    Per reporting period, the total row (all sexes, all ages) is the total; the sex cells and the
    age cells are two groups adding up to it. Rows that cross sex and age are never shown to
    partners. A small total hides its whole period.
    """
    from .models import AgeGroup, Sex

    hidden: set[int] = set()
    periods: dict[tuple, list] = {}
    for value in values:
        periods.setdefault((value.period_start, value.period_end), []).append(value)
    for rows in periods.values():
        total_row = next((v for v in rows if v.sex == Sex.ALL and v.age_group == AgeGroup.ALL), None)
        total = total_row.achieved if total_row is not None else None
        by_sex = {v.pk: v.achieved for v in rows if v.sex != Sex.ALL and v.age_group == AgeGroup.ALL}
        by_age = {v.pk: v.achieved for v in rows if v.sex == Sex.ALL and v.age_group != AgeGroup.ALL}
        hidden |= {v.pk for v in rows if v.sex != Sex.ALL and v.age_group != AgeGroup.ALL}
        for group in (by_sex, by_age):
            shown_total, shown = suppress_small_cells(total, group, threshold)
            hidden |= {pk for pk, display in shown.items() if isinstance(display, str)}
            if isinstance(shown_total, str) and total_row is not None:
                hidden.add(total_row.pk)
    return hidden
