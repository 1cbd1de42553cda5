"""Money in one currency: the exchange rate in force on a date, USD equivalents, spent against budget.

The rule of "the rate in force" is written once, in `rate_in_force`: the latest ExchangeRate of the
currency dated on or before the day (a US dollar is always 1). Without such a rate nothing is converted
and the callers say so: a rate is never guessed. Pages, lists and reports load the small rate table once
(`RateTable.load()`) and pass it, so converting a thousand rows costs no more queries than one.
"""

from __future__ import annotations

import bisect
import hashlib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Sum
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from .models import SPENDING_KINDS, ExchangeRate, Transaction

USD = "USD"
CENT = Decimal("0.01")


@dataclass(frozen=True)
class RateUsed:
    """One rate as it was applied: 1 USD = `rate` units of `currency`, in force from `since`."""

    currency: str
    since: date | None
    rate: Decimal
    source: str

    # The names of ExchangeRate's fields, for callers that show the row.
    @property
    def units_per_usd(self) -> Decimal:
        return self.rate

    @property
    def as_of(self) -> date | None:
        return self.since

    def to_usd(self, amount: Decimal) -> Decimal:
        """The amount in USD, rounded half-up to the cent."""
        return (amount / self.rate).quantize(CENT, rounding=ROUND_HALF_UP)

    def describe(self) -> str:
        return _("1 USD = %(rate)s %(currency)s (%(source)s, from %(date)s)") % {
            "rate": f"{self.rate.normalize():f}",
            "currency": self.currency,
            "source": self.source,
            "date": date_format(self.since, "SHORT_DATE_FORMAT") if self.since else "",
        }


class RateTable:
    """The exchange rates, read in one query, by currency in date order."""

    def __init__(self, rows: Iterable[tuple[str, date, Decimal, str]]) -> None:
        self._by_currency: dict[str, list[tuple[date, Decimal, str]]] = defaultdict(list)
        for currency, day, rate, source in sorted(rows, key=lambda r: (r[0], r[1])):
            self._by_currency[currency].append((day, rate, source))

    @classmethod
    def load(cls, currencies: Iterable[str] | None = None) -> RateTable:
        rates = ExchangeRate.objects.all()
        if currencies is not None:
            rates = rates.filter(currency__in=list(currencies))
        return cls(rates.values_list("currency", "as_of", "units_per_usd", "source"))

    def entries(self, currency: str) -> list[tuple[date, Decimal, str]]:
        return self._by_currency.get(currency, [])

    def fingerprint(self) -> str:
        """Changes whenever a rate is added, changed or removed (for caches of what the rates gave)."""
        return hashlib.sha256(repr(sorted(self._by_currency.items())).encode()).hexdigest()


def rate_in_force(currency: str, on: date, table: RateTable | None = None) -> RateUsed | None:
    """THE rate of `currency` on `on`: the latest recorded on or before that day; None when there is none."""
    if currency == USD:
        return RateUsed(USD, None, Decimal("1"), "")
    table = table if table is not None else RateTable.load([currency])
    entries = table.entries(currency)
    index = bisect.bisect_right([day for day, _rate, _source in entries], on)
    if index == 0:
        return None
    day, rate, source = entries[index - 1]
    return RateUsed(currency, day, rate, source)


def to_usd(
    amount: Decimal, currency: str, on: date, table: RateTable | None = None
) -> tuple[Decimal | None, RateUsed | None]:
    """(amount in US dollars, the rate used) — (None, None) when no rate is in force on that day."""
    used = rate_in_force(currency, on, table)
    if used is None:
        return None, None
    return used.to_usd(amount), used


def convert(amount: Decimal, currency: str, into: str, on: date, table: RateTable | None = None) -> Decimal | None:
    """An amount in another currency through the US dollar, at the rates in force on `on` (None: no rate)."""
    if currency == into:
        return amount
    usd, _used = to_usd(amount, currency, on, table)
    target = rate_in_force(into, on, table)
    if usd is None or target is None:
        return None
    return (usd * target.rate).quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass
class Totals:
    """Amounts kept in their own currencies, with their sum in US dollars at the rates in force on `on`."""

    on: date
    by_currency: dict[str, Decimal] = field(default_factory=dict)
    usd: Decimal = Decimal("0")
    rates: dict[str, RateUsed] = field(default_factory=dict)
    unconverted: set[str] = field(default_factory=set)  # currencies without a rate in force

    @property
    def complete(self) -> bool:
        return not self.unconverted

    def rates_text(self) -> str:
        """Which rates the USD figure used (and which currencies it leaves out), for the page and files."""
        parts = [used.describe() for currency, used in sorted(self.rates.items()) if currency != USD]
        text = "; ".join(parts) if parts else _("all amounts are in US dollars")
        if self.unconverted:
            text += " — " + _("no exchange rate in force for %(currencies)s: left out of the USD total") % {
                "currencies": ", ".join(sorted(self.unconverted))
            }
        return text


def totals(pairs: Iterable[tuple[str, Decimal]], *, on: date | None = None, table: RateTable | None = None) -> Totals:
    """Sum (currency, amount) pairs per currency and in US dollars at the rates in force on `on` (today)."""
    result = Totals(on=on or timezone.localdate())
    for currency, amount in pairs:
        if amount is None:
            continue
        result.by_currency[currency] = result.by_currency.get(currency, Decimal("0")) + amount
    table = table if table is not None else RateTable.load(result.by_currency)
    for currency, amount in sorted(result.by_currency.items()):
        usd, used = to_usd(amount, currency, result.on, table)
        if usd is None:
            result.unconverted.add(currency)
            continue
        result.usd += usd
        result.rates[currency] = used
    return result


@dataclass
class Spending:
    """What a programme spent (disbursements and expenditure), in its own currency, against its budget."""

    budget: Decimal
    currency: str
    spent: Decimal = Decimal("0")
    unconverted: int = 0  # transactions in another currency without a rate on their date

    def add(self, amount: Decimal, currency: str, day: date, table: RateTable | None) -> None:
        """Count a disbursement or expenditure, converted on its own date when in another currency."""
        converted = convert(amount, currency, self.currency, day, table)
        if converted is None:
            self.unconverted += 1
        else:
            self.spent += converted

    @property
    def share(self) -> Decimal | None:
        """Spent as a percentage of the budget (None without a budget)."""
        if not self.budget:
            return None
        return (self.spent * 100 / self.budget).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def spending(programmes: Iterable, table: RateTable | None = None) -> dict[int, Spending]:
    """Spent vs budget for each programme (objects with pk, budget, currency), in two queries at most.

    A transaction in another currency is converted on its own date through the US dollar.
    """
    programmes = list(programmes)
    result = {p.pk: Spending(p.budget or Decimal("0"), p.currency) for p in programmes}
    rows = (
        Transaction.objects.filter(programme_id__in=list(result), kind__in=SPENDING_KINDS)
        .values_list("programme_id", "currency", "date")
        .annotate(total=Sum("value"))
        .order_by()
    )
    rows = list(rows)
    if table is None and any(currency != result[pid].currency for pid, currency, _d, _t in rows):
        table = RateTable.load()
    for pid, currency, day, total in rows:
        result[pid].add(total, currency, day, table)
    return result
