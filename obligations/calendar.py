"""A programme's calendar of obligations, computed from its dates and its rules (no database writes here)."""

from __future__ import annotations

import calendar as _calendar
from dataclasses import dataclass
from datetime import date, timedelta

from .models import Anchor, ObligationRule

# An open-ended programme (no planned end) gets its reporting periods this far ahead of today.
OPEN_ENDED_HORIZON = timedelta(days=366)


def add_months(day: date, months: int) -> date:
    """The same day `months` later (or earlier), on the month's last day when it is shorter: 31 Jan + 1 → 28 Feb."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = _calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


@dataclass(frozen=True)
class Planned:
    """One obligation as the rules want it."""

    key: str
    rule: ObligationRule
    due_date: date
    period_start: date | None = None
    period_end: date | None = None
    opens_on: date | None = None


def programme_dates(programme) -> tuple[date | None, date | None]:
    """The start and end the obligations count from: actual dates when recorded, else planned ones."""
    return (programme.actual_start or programme.planned_start, programme.actual_end or programme.planned_end)


def plan(programme, rules: list[ObligationRule], *, today: date) -> list[Planned]:
    """Every obligation the rules give the programme, in date order."""
    start, end = programme_dates(programme)
    if start is None:
        return []
    planned: list[Planned] = []
    for rule in rules:

        def due(anchor: date, rule=rule) -> date:
            return add_months(anchor, rule.offset_months) + timedelta(days=rule.offset_days)

        if rule.anchor == Anchor.START:
            planned.append(Planned(f"{rule.pk}:start", rule, due(start)))
        elif rule.anchor == Anchor.END:
            if end is not None:
                after = rule.offset_months > 0 or (rule.offset_months == 0 and rule.offset_days >= 0)
                planned.append(Planned(f"{rule.pk}:end", rule, due(end), opens_on=end if after else None))
        else:
            # Periods of `period_months` from the start; the last, partial one is the final report's.
            last = end if end is not None else max(today, start) + OPEN_ENDED_HORIZON
            n = 1
            while True:
                period_end = add_months(start, rule.period_months * n) - timedelta(days=1)
                if period_end >= last:
                    break
                period_start = add_months(start, rule.period_months * (n - 1))
                planned.append(
                    Planned(
                        f"{rule.pk}:p{n}",
                        rule,
                        due(period_end),
                        period_start=period_start,
                        period_end=period_end,
                        opens_on=period_end,
                    )
                )
                n += 1
    planned.sort(key=lambda p: (p.due_date, p.rule.order, p.key))
    return planned
