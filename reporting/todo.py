"""What a user has to do about results reports: reports to prepare (with the returned ones and their
reasons) and, for validators, reports to validate. A constant number of queries whatever the numbers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.utils import timezone

from partners.models import partner_organisation_id
from programmes.models import FREQUENCY_MONTHS, Frequency, Indicator, Programme, last_ended_period, programme_span

from .models import ResultsReport, State, can_prepare_for_iom, can_validate


@dataclass
class ToPrepare:
    programme: Programme
    period_start: date
    period_end: date
    report: ResultsReport | None  # the draft or returned report, None when not yet opened


def _reporting_programmes(user):
    """(programme queryset, organisation id or None for IOM) of the reports this user prepares."""
    organisation_id = partner_organisation_id(user)
    if organisation_id is not None:
        programmes = Programme.objects.visible_to(user).filter(
            participations__organisation_id=organisation_id, participations__reports_results=True
        )
        return programmes, organisation_id
    if can_prepare_for_iom(user):  # IOM: the programmes the user is the focal point of
        return Programme.objects.filter(iom_focal_point=user), None
    return Programme.objects.none(), None


def reports_to_prepare(user, today: date | None = None) -> list[ToPrepare]:
    """Per programme the user reports for: the latest ended period (of its most frequent indicator) that
    has no submitted or approved report yet; plus every report returned to it."""
    today = today or timezone.localdate()
    programmes, organisation_id = _reporting_programmes(user)
    programmes = {
        p.pk: p
        for p in programmes.only(
            "pk", "code", "title_fr", "title_en", "planned_start", "planned_end", "actual_start", "actual_end"
        )
    }
    if not programmes:
        return []
    frequencies: dict[int, str] = {}
    for programme_id, frequency in Indicator.objects.filter(
        programme_id__in=list(programmes), reporting_partner_id=organisation_id
    ).values_list("programme_id", "frequency"):
        current = frequencies.get(programme_id)
        if current is None or FREQUENCY_MONTHS[Frequency(frequency)] < FREQUENCY_MONTHS[Frequency(current)]:
            frequencies[programme_id] = frequency
    reports = {
        (r.programme_id, r.period_start): r
        for r in ResultsReport.objects.filter(programme_id__in=list(programmes), organisation_id=organisation_id)
    }
    todo: list[ToPrepare] = []
    for programme_id, frequency in frequencies.items():
        programme = programmes[programme_id]
        start, end = last_ended_period(today, frequency)
        first, last = programme_span(programme)
        if (first and end < first) or (last and start > last):
            continue
        report = reports.get((programme_id, start))
        if report is None or report.is_editable:
            todo.append(ToPrepare(programme, start, end, report))
    listed = {t.report.pk for t in todo if t.report}
    for report in reports.values():
        if report.is_editable and report.pk not in listed:
            todo.append(ToPrepare(programmes[report.programme_id], report.period_start, report.period_end, report))
    todo.sort(key=lambda t: (t.report is None or t.report.state != State.RETURNED, t.period_end, t.programme.code))
    return todo


def reports_to_validate(user):
    if not can_validate(user):
        return ResultsReport.objects.none()
    return (
        ResultsReport.objects.filter(state=State.SUBMITTED)
        .select_related("programme", "organisation")
        .order_by("submitted_at", "pk")
    )


def report_tasks(user) -> dict:
    """The context "My tasks" adds (templates/reporting/_tasks.html)."""
    return {
        "reports_to_prepare": reports_to_prepare(user),
        "reports_to_validate": list(reports_to_validate(user)),
        "can_validate_reports": can_validate(user),
    }
