"""The only write path for results reports: open, save values, submit, return, approve, unlock; and the
administrators' "lock every period before a date".

Every door (the reporting pages, the API, the admin) parses its input into `ReportedValue`s and calls
these functions; a refusal is a `ValidationError` with the same translated message everywhere (errors
of one value are keyed `values-<index>-<field>`), a user without the right gets `PermissionDenied`.
Nothing is saved when anything is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from partners.models import is_iom_staff, partner_organisation_id
from programmes.models import (
    AgeGroup,
    IndicatorValue,
    LockBefore,
    Measure,
    Participation,
    PeriodLock,
    PeriodLocks,
    Programme,
    Sex,
    indicator_value_set_errors,
    lock_date,
    measure_value_problem,
)
from programmes.rules import EARLIEST_DATE, Errors, add, normalise_text, raise_if

from .models import ResultsReport, ResultsReportStep, ResultsReportValue, State, can_prepare_for_iom, can_validate
from .signals import results_report_approved, results_report_returned, results_report_submitted


@dataclass
class ReportedValue:
    """One cell as a door received it: the indicator by primary key, total unless sex/age say otherwise."""

    indicator: int
    achieved: Decimal | None = None
    comment: str = ""
    sex: str = Sex.ALL
    age_group: str = AgeGroup.ALL
    key: Any = None


# --- Who reports -------------------------------------------------------------------------------


def reporter_of(user, programme: Programme) -> int | None:
    """The organisation this user reports for on this programme (None: IOM); PermissionDenied if none."""
    if can_prepare_for_iom(user):
        return None
    organisation_id = partner_organisation_id(user)
    if organisation_id is not None:
        if Participation.objects.filter(
            programme=programme, organisation_id=organisation_id, reports_results=True
        ).exists():
            return organisation_id
        raise PermissionDenied(_("Your organisation does not report results for this programme."))
    raise PermissionDenied(_("You may not prepare results reports."))


def _must_author(report: ResultsReport, user) -> None:
    if is_iom_staff(user):
        if report.organisation_id is None and can_prepare_for_iom(user):
            return
    elif report.organisation_id is not None and report.organisation_id == partner_organisation_id(user):
        return
    raise PermissionDenied(_("Only the reporter of this report may change it."))


def must_validate(user) -> None:
    if not can_validate(user):
        raise PermissionDenied(_("Only IOM staff with the validation right approve or return results reports."))


def _state_error(report: ResultsReport, *allowed: str) -> None:
    if report.state not in allowed:
        raise ValidationError(
            _("This report is %(state)s: that cannot be done now (reload the page).")
            % {"state": report.get_state_display().lower()},
            code="state",
        )


# --- Rules -------------------------------------------------------------------------------------


def period_errors(
    programme: Programme, organisation_id: int | None, period_start: date | None, period_end: date | None
) -> Errors:
    errors: Errors = {}
    if period_start is None:
        add(errors, "period_start", _("Give the first day of the period."))
    if period_end is None:
        add(errors, "period_end", _("Give the last day of the period."))
    if errors:
        return errors
    if period_end < period_start:
        add(errors, "period_end", _("The period end cannot be before its start."))
        return errors
    if period_start < EARLIEST_DATE:
        add(errors, "period_start", _("This date is too far in the past: check the year."))
    today = timezone.localdate()
    if period_end > today:
        add(
            errors,
            "period_end",
            _("This period has not ended yet (it ends on %(end)s): report it once it is over.")
            % {"end": date_format(period_end, "SHORT_DATE_FORMAT")},
        )
    locked = PeriodLocks.of(programme.pk).problem(period_start, period_end, organisation_id)
    if locked:
        add(errors, "period_start", locked)
    return errors


def value_errors(report: ResultsReport, values: list[ReportedValue]) -> Errors:
    """The reported cells: indicators assigned to the reporter, values the indicator can take, one per cell,
    breakdowns within their total."""
    errors: Errors = {}
    indicators = {i.pk: i for i in report.indicators()}
    cells: list[tuple[int, IndicatorValue]] = []
    for index, value in enumerate(values):
        prefix = f"values-{index}-"
        if value.achieved is not None and not isinstance(value.achieved, Decimal):
            try:
                value.achieved = Decimal(str(value.achieved))
            except ArithmeticError:
                add(errors, prefix + "achieved", _("Enter a number."))
                continue
        indicator = indicators.get(value.indicator)
        if indicator is None:
            add(
                errors,
                prefix + "indicator",
                _("This indicator is not assigned to %(reporter)s: you cannot report on it.")
                % {"reporter": report.reporter_label},
            )
            continue
        if value.sex not in Sex.values or value.age_group not in AgeGroup.values:
            add(errors, prefix + "sex", _("Unknown sex or age group."))
            continue
        total = value.sex == Sex.ALL and value.age_group == AgeGroup.ALL
        if not total and not indicator.disaggregated:
            add(errors, prefix + "sex", _("This indicator is not reported by sex and age group."))
            continue
        if value.achieved is not None and value.achieved < 0:
            add(errors, prefix + "achieved", _("Values cannot be negative."))
            continue
        people = indicator.counts_people or (indicator.measure == Measure.UNIT and not total)
        problem = measure_value_problem(indicator.measure, value.achieved, people=people)
        if problem:
            add(errors, prefix + "achieved", problem)
            continue
        if len(value.comment or "") > 255:
            add(errors, prefix + "comment", _("At most 255 characters."))
            continue
        cell = IndicatorValue(
            indicator=indicator,
            period_start=report.period_start,
            period_end=report.period_end,
            sex=value.sex,
            age_group=value.age_group,
            achieved=value.achieved,
        )
        cells.append((index, cell))
    by_indicator: dict[int, list[tuple[int, IndicatorValue]]] = {}
    for index, cell in cells:
        by_indicator.setdefault(cell.indicator_id, []).append((index, cell))
    for rows in by_indicator.values():
        for position, fields in indicator_value_set_errors([cell for _i, cell in rows]).items():
            for name, messages in fields.items():
                for message in messages:
                    add(errors, f"values-{rows[position][0]}-{'sex' if name == 'period_start' else name}", message)
    return errors


def reports_in_progress_problem(programme: Programme, organisation) -> str:
    """Why this organisation may not stop reporting for the programme: reports not yet approved, or "".

    Registered with programmes.rules.register_stop_reporting_check (reporting/apps.py): every door that
    changes a programme's partners (edit page, API, admin, importer) refuses with this message."""
    periods = [
        f"{date_format(start, 'SHORT_DATE_FORMAT')} – {date_format(end, 'SHORT_DATE_FORMAT')}"
        for start, end in ResultsReport.objects.filter(
            programme_id=programme.pk,
            organisation_id=organisation.pk,
            state__in=[State.DRAFT, State.SUBMITTED, State.RETURNED],
        )
        .order_by("period_start")
        .values_list("period_start", "period_end")
    ]
    if not periods:
        return ""
    return _(
        "%(organisation)s has results reports in progress for this programme (%(periods)s): have them approved "
        "or deleted before %(organisation)s stops reporting or leaves the programme."
    ) % {"organisation": organisation.short_name, "periods": "; ".join(periods)}


def indicator_values_in_progress_problem(indicator, previous_reporter_id: int | None) -> str:
    """Why this indicator may not leave its reporter: values of it wait in that reporter's report in progress
    (they would be published under the wrong reporter, or stranded). Registered in reporting/apps.py."""
    reports = (
        ResultsReport.objects.filter(
            programme_id=indicator.programme_id,
            organisation_id=previous_reporter_id,
            state__in=[State.DRAFT, State.SUBMITTED, State.RETURNED],
            values__indicator_id=indicator.pk,
        )
        .select_related("organisation")
        .distinct()
        .order_by("period_start")
    )
    periods = [
        f"{date_format(r.period_start, 'SHORT_DATE_FORMAT')} – {date_format(r.period_end, 'SHORT_DATE_FORMAT')}"
        for r in reports
    ]
    if not periods:
        return ""
    return _(
        "%(reporter)s has values of this indicator in a results report in progress (%(periods)s): have the report "
        "approved, or remove these values, before giving the indicator to another reporter."
    ) % {"reporter": reports[0].reporter_label, "periods": "; ".join(periods)}


# --- The workflow --------------------------------------------------------------------------------


def _existing(programme: Programme, organisation_id: int | None, period_start: date) -> ResultsReport | None:
    return ResultsReport.objects.filter(
        programme=programme, organisation_id=organisation_id, period_start=period_start
    ).first()


def open_errors(
    programme: Programme, organisation_id: int | None, period_start: date | None, period_end: date | None
) -> Errors:
    """What results_report_open refuses for this reporter and period (for a door that checks before saving):
    the period's rules, and another report of the reporter for the period that is not still being prepared."""
    errors = period_errors(programme, organisation_id, period_start, period_end)
    if not errors:
        existing = _existing(programme, organisation_id, period_start)
        if existing is not None and not (existing.is_editable and existing.period_end == period_end):
            add(errors, "period_start", _("There is already a report of this reporter for this period."))
    return errors


def results_report_open(*, programme: Programme, user, period_start: date, period_end: date) -> ResultsReport:
    """A new draft report of the user's reporter for this period (or its existing report if there is one
    still being prepared). Refused: a period not ended yet, a locked period, a user who does not report."""
    organisation_id = reporter_of(user, programme)
    raise_if(open_errors(programme, organisation_id, period_start, period_end))
    existing = _existing(programme, organisation_id, period_start)
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            return ResultsReport.objects.create(
                programme=programme,
                organisation_id=organisation_id,
                period_start=period_start,
                period_end=period_end,
                created_by=user,
            )
    except IntegrityError as error:  # opened twice at once
        raise ValidationError(
            {"period_start": [_("There is already a report of this reporter for this period.")]}
        ) from error


class StaleReport(ValidationError):
    """Someone saved the report's values after this user loaded them: this save is refused, nothing lost."""

    def __init__(self, current: ResultsReport):
        self.current = current
        super().__init__(
            _(
                "Someone saved this report while you were filling it in (now version %(version)s). Nothing was "
                "saved: your values are kept in the form; check them and save again."
            )
            % {"version": current.version},
            code="stale",
        )


def _locked_report(report: ResultsReport) -> ResultsReport:
    return ResultsReport.objects.select_for_update(of=("self",)).select_related("programme").get(pk=report.pk)


def results_report_save(
    *, report: ResultsReport, user, values: list[ReportedValue], expected_version: int | None = None
) -> ResultsReport:
    """Replace the report's values (draft or returned). Empty cells (no number, no comment) are dropped.
    Comments are normalised like every free text (NFC, no control characters). With `expected_version`
    (the version the door showed), a save made on values someone changed since is refused (StaleReport)."""
    _must_author(report, user)
    with transaction.atomic():
        report = _locked_report(report)
        _state_error(report, State.DRAFT, State.RETURNED)
        if expected_version is not None and expected_version != report.version:
            raise StaleReport(report)
        for value in values:
            value.comment = normalise_text(value.comment or "").strip()
        raise_if(period_errors(report.programme, report.organisation_id, report.period_start, report.period_end))
        raise_if(value_errors(report, values))
        report.values.all().delete()
        ResultsReportValue.objects.bulk_create(
            ResultsReportValue(
                report=report,
                indicator_id=v.indicator,
                sex=v.sex,
                age_group=v.age_group,
                achieved=v.achieved,
                comment=v.comment,
            )
            for v in values
            if v.achieved is not None or v.comment
        )
        report.version += 1
        report.save(update_fields=["version", "updated_at"])
    return report


def results_report_submit(*, report: ResultsReport, user) -> ResultsReport:
    """Draft or returned → submitted, for the validators. Refused when empty or the period is locked."""
    _must_author(report, user)
    with transaction.atomic():
        report = _locked_report(report)
        _state_error(report, State.DRAFT, State.RETURNED)
        raise_if(period_errors(report.programme, report.organisation_id, report.period_start, report.period_end))
        if not report.values.exists():
            raise ValidationError(_("Enter at least one value before submitting the report."), code="empty")
        now = timezone.now()
        report.state, report.submitted_at, report.submitted_by = State.SUBMITTED, now, user
        report.save(update_fields=["state", "submitted_at", "submitted_by", "updated_at"])
        ResultsReportStep.objects.create(report=report, action=ResultsReportStep.Action.SUBMIT, by=user, at=now)
        results_report_submitted.send(sender=ResultsReport, report=report, user=user)
    return report


def results_report_return(*, report: ResultsReport, user, reason: str) -> ResultsReport:
    """Submitted → returned to its reporter, with the reason (required) shown next to the form."""
    must_validate(user)
    reason = normalise_text(reason or "").strip()
    if not reason:
        raise ValidationError({"reason": [_("Say why the report is returned.")]})
    with transaction.atomic():
        report = _locked_report(report)
        _state_error(report, State.SUBMITTED)
        now = timezone.now()
        report.state, report.return_reason, report.decided_at, report.decided_by = State.RETURNED, reason, now, user
        report.save(update_fields=["state", "return_reason", "decided_at", "decided_by", "updated_at"])
        ResultsReportStep.objects.create(
            report=report, action=ResultsReportStep.Action.RETURN, by=user, at=now, reason=reason
        )
        results_report_returned.send(sender=ResultsReport, report=report, user=user)
    return report


def results_report_approve(*, report: ResultsReport, user) -> ResultsReport:
    """Submitted → approved: the values become the programme's indicator values and the period locks."""
    must_validate(user)
    with transaction.atomic():
        report = _locked_report(report)
        _state_error(report, State.SUBMITTED)
        locked = PeriodLocks.of(report.programme_id).problem(
            report.period_start, report.period_end, report.organisation_id
        )
        if locked:
            raise ValidationError(locked, code="locked")
        _publish_values(report)
        now = timezone.now()
        report.state, report.decided_at, report.decided_by = State.APPROVED, now, user
        report.save(update_fields=["state", "decided_at", "decided_by", "updated_at"])
        PeriodLock.objects.create(
            programme_id=report.programme_id,
            organisation_id=report.organisation_id,
            period_start=report.period_start,
            period_end=report.period_end,
            locked_at=now,
            locked_by=user,
        )
        ResultsReportStep.objects.create(report=report, action=ResultsReportStep.Action.APPROVE, by=user, at=now)
        results_report_approved.send(sender=ResultsReport, report=report, user=user)
    return report


def _publish_values(report: ResultsReport) -> None:
    """Write the report's cells into the programme's indicator values (targets kept), each validated."""
    values = list(report.values.select_related("indicator__programme"))
    stored = {
        (v.indicator_id, v.sex, v.age_group): v
        for v in IndicatorValue.objects.filter(
            indicator_id__in={v.indicator_id for v in values}, period_start=report.period_start
        )
    }
    for value in values:
        row = stored.get((value.indicator_id, value.sex, value.age_group)) or IndicatorValue(
            indicator=value.indicator, period_start=report.period_start, sex=value.sex, age_group=value.age_group
        )
        row.period_end, row.achieved, row.comment = report.period_end, value.achieved, value.comment
        row.approving = True  # the report is the way into this period: its lock is made right after
        try:
            row.full_clean()
        except ValidationError as error:
            messages = [m for ms in error.message_dict.values() for m in ms]
            raise ValidationError(
                _("Indicator %(code)s cannot take these values: %(problem)s")
                % {"code": value.indicator.code, "problem": " ".join(messages)},
                code="invalid",
            ) from error
        row.save()


def results_report_unlock(*, report: ResultsReport, user, reason: str) -> ResultsReport:
    """Approved → returned to its reporter: the period's lock is lifted, with the reason, in the history."""
    must_validate(user)
    reason = normalise_text(reason or "").strip()
    if not reason:
        raise ValidationError({"reason": [_("Say why the period is unlocked.")]})
    with transaction.atomic():
        report = _locked_report(report)
        _state_error(report, State.APPROVED)
        blocked = PeriodLocks(lock_date(), []).problem(report.period_start, report.period_end, report.organisation_id)
        if blocked:
            raise ValidationError(blocked, code="locked")
        now = timezone.now()
        for lock in PeriodLock.objects.filter(
            programme_id=report.programme_id,
            organisation_id=report.organisation_id,
            lifted_at__isnull=True,
            period_start__lte=report.period_end,
            period_end__gte=report.period_start,
        ):
            lock.lifted_at, lock.lifted_by, lock.lift_reason = now, user, reason
            lock.save(update_fields=["lifted_at", "lifted_by", "lift_reason"])
        report.state, report.return_reason, report.decided_at, report.decided_by = State.RETURNED, reason, now, user
        report.save(update_fields=["state", "return_reason", "decided_at", "decided_by", "updated_at"])
        ResultsReportStep.objects.create(
            report=report, action=ResultsReportStep.Action.UNLOCK, by=user, at=now, reason=reason
        )
    return report


def lock_periods_before(*, before: date, user, reason: str = "") -> LockBefore:
    """An administrator locks every period ending before `before`, in every programme."""
    if not (is_iom_staff(user) and user.is_superuser):
        raise PermissionDenied(_("Only an administrator may lock every period before a date."))
    if before is None:
        raise ValidationError({"before": [_("Give a date.")]})
    return LockBefore.objects.create(before=before, decided_by=user, reason=(reason or "").strip())
