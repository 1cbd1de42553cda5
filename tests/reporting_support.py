"""Periods used by the reporting tests (fixtures `validator` and `reporting_a` are in conftest.py)."""

from __future__ import annotations

from datetime import date

Q1 = (date(2025, 1, 1), date(2025, 3, 31))
Q2 = (date(2025, 4, 1), date(2025, 6, 30))
