"""Which builder writes which report type: one entry per ReportType, the only place that knows the formats.

Each entry takes a BuildContext (the programmes already scoped to the requester, where to write, the
job's options) and returns what to record on the job: the row count and any validation messages.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from django.db.models import QuerySet

from ..models import ReportType
from . import factsheet, iati, matrix, portfolio
from .records import Progress, _no_progress


class NothingToReport(Exception):
    """The report has no subject (a factsheet whose programme is gone or no longer shared)."""


@dataclass
class BuildContext:
    programmes: QuerySet
    path: Path
    parameters: dict = field(default_factory=dict)
    suppress_below: int = 0  # 0 for IOM staff; the small-cell threshold for partners
    created: datetime | None = None
    progress: Progress = _no_progress

    @property
    def problems(self) -> list:
        return list(getattr(self.progress, "problems", []))


def _count(context: BuildContext) -> None:
    if hasattr(context.progress, "total"):
        context.progress.total = context.programmes.count()


def _portfolio(context: BuildContext) -> dict:
    _count(context)
    count = portfolio.write_portfolio_workbook(
        context.programmes,
        context.path,
        suppress_below=context.suppress_below,
        created=context.created,
        progress=context.progress,
    )
    return {"row_count": count, "validation_messages": context.problems}


def _matrix_options(context: BuildContext) -> dict:
    _count(context)
    return {
        # Proposals, rejected and cancelled programmes only when the request filters on status.
        "statuses_chosen": bool(context.parameters.get("status")),
        "suppress_below": context.suppress_below,
        "progress": context.progress,
    }


def _matrix_csv(context: BuildContext) -> dict:
    with open(context.path, "w", encoding="utf-8", newline="") as out:
        rows = matrix.write_matrix_csv(context.programmes, out, **_matrix_options(context))
    return {"row_count": rows, "validation_messages": context.problems}


def _matrix_xlsx(context: BuildContext) -> dict:
    rows = matrix.write_matrix_xlsx(
        context.programmes, context.path, created=context.created, **_matrix_options(context)
    )
    return {"row_count": rows, "validation_messages": context.problems}


def _iati(context: BuildContext) -> dict:
    _count(context)
    count, problems = iati.write_iati_xml(
        context.programmes,
        str(context.path),
        generated=context.created,
        progress=context.progress,
        suppress_below=context.suppress_below,
    )
    return {"row_count": count, "validation_messages": context.problems + problems}


def _key_figures(context: BuildContext) -> dict:
    _count(context)
    portfolio.write_key_figures(
        context.programmes, context.path, created=context.created, suppress_small=bool(context.suppress_below)
    )
    return {"row_count": getattr(context.progress, "total", 0), "validation_messages": context.problems}


def _factsheet(context: BuildContext) -> dict:
    programme = context.programmes.first()
    if programme is None:
        raise NothingToReport
    return {"row_count": factsheet.write_factsheet_pdf(programme, context.path, suppress_below=context.suppress_below)}


BUILDERS: dict[str, Callable[[BuildContext], dict]] = {
    ReportType.PORTFOLIO_XLSX: _portfolio,
    ReportType.FACTSHEET_PDF: _factsheet,
    ReportType.MATRIX_3W_CSV: _matrix_csv,
    ReportType.MATRIX_3W_XLSX: _matrix_xlsx,
    ReportType.IATI_XML: _iati,
    ReportType.KEY_FIGURES: _key_figures,
}


def build(kind: str, context: BuildContext) -> dict:
    return BUILDERS[ReportType(kind)](context)
