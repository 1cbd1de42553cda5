"""Results reports: the workflow, its refusals (nothing saved), period locks, and what approval publishes."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import translation

from programmes.models import (
    Indicator,
    IndicatorValue,
    LockBefore,
    Measure,
    PeriodLock,
    last_ended_period,
    period_of,
    total_over_periods,
)
from programmes.stats import results_framework
from reporting import services
from reporting.models import ResultsReport, ResultsReportStep, ResultsReportValue, State
from reporting.services import ReportedValue

from .reporting_support import Q1, Q2

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def in_english():
    with translation.override("en"):
        yield


def _report(world, partner, period=Q1, value="120"):
    report = services.results_report_open(
        programme=world["programme"], user=partner, period_start=period[0], period_end=period[1]
    )
    services.results_report_save(
        report=report,
        user=partner,
        values=[
            ReportedValue(world["people"].pk, Decimal(value), "ok"),
            ReportedValue(world["people"].pk, Decimal("70"), sex="female"),
        ],
    )
    return report


def test_the_one_aggregation_rule():
    values = [Decimal("10"), None, Decimal("30")]
    assert total_over_periods(Measure.UNIT, False, values) == Decimal("40")
    assert total_over_periods(Measure.UNIT, True, values) == Decimal("30")  # never a sum of running totals
    assert total_over_periods(Measure.PERCENTAGE, False, values) == Decimal("30")
    assert total_over_periods(Measure.YES_NO, False, [Decimal(0), Decimal(1)]) == Decimal(1)
    assert total_over_periods(Measure.TEXT, False, values) is None
    assert total_over_periods(Measure.UNIT, False, [None]) is None


def test_calendar_periods():
    assert period_of(date(2025, 5, 10), "quarterly") == (date(2025, 4, 1), date(2025, 6, 30))
    assert period_of(date(2025, 11, 3), "half_yearly") == (date(2025, 7, 1), date(2025, 12, 31))
    assert period_of(date(2025, 12, 3), "monthly") == (date(2025, 12, 1), date(2025, 12, 31))
    assert last_ended_period(date(2025, 5, 10), "quarterly") == (date(2025, 1, 1), date(2025, 3, 31))
    assert last_ended_period(date(2025, 12, 31), "yearly") == (date(2025, 1, 1), date(2025, 12, 31))


def test_a_quarter_submitted_returned_resubmitted_approved_and_locked(reporting_a, partner_a, validator):
    report = _report(reporting_a, partner_a)
    services.results_report_submit(report=report, user=partner_a)
    with pytest.raises(ValidationError) as refused:
        services.results_report_return(report=report, user=validator, reason="  ")
    assert "Say why the report is returned." in str(refused.value)
    services.results_report_return(report=report, user=validator, reason="Le total dépasse la cible.")
    report.refresh_from_db()
    assert report.state == State.RETURNED and report.return_reason == "Le total dépasse la cible."
    assert not IndicatorValue.objects.exists()  # nothing shown before approval
    services.results_report_save(
        report=report, user=partner_a, values=[ReportedValue(reporting_a["people"].pk, Decimal("110"))]
    )
    services.results_report_submit(report=report, user=partner_a)
    services.results_report_approve(report=report, user=validator)
    report.refresh_from_db()
    assert report.state == State.APPROVED
    value = IndicatorValue.objects.get()
    assert (value.period_start, value.period_end, value.achieved) == (*Q1, Decimal("110"))
    lock = PeriodLock.objects.get()
    assert lock.organisation_id == reporting_a["people"].reporting_partner_id and lock.lifted_at is None
    assert [s.action for s in ResultsReportStep.objects.order_by("pk")] == ["submit", "return", "submit", "approve"]
    # The programme page now shows the approved value.
    framework = results_framework(reporting_a["programme"], disaggregated=False)
    assert framework[0]["indicators"][0]["achieved"] == Decimal("110")


def test_a_locked_period_refuses_new_values_at_the_edit_doors_until_a_validator_unlocks_it(
    reporting_a, partner_a, validator
):
    report = _report(reporting_a, partner_a)
    services.results_report_submit(report=report, user=partner_a)
    services.results_report_approve(report=report, user=validator)
    stored = IndicatorValue.objects.get(sex="all")
    stored.achieved = Decimal("200")
    with pytest.raises(ValidationError) as refused:
        stored.full_clean()
    assert "locked" in str(refused.value)
    # unlock needs a reason; then the report is back with its reporter
    with pytest.raises(ValidationError):
        services.results_report_unlock(report=report, user=validator, reason="")
    services.results_report_unlock(report=report, user=validator, reason="Erreur de saisie signalée")
    report.refresh_from_db()
    assert report.state == State.RETURNED and report.return_reason == "Erreur de saisie signalée"
    lock = PeriodLock.objects.get()
    assert lock.lifted_at is not None and lock.lift_reason == "Erreur de saisie signalée"
    stored = IndicatorValue.objects.get(sex="all")
    stored.achieved = Decimal("200")
    stored.full_clean()  # no longer locked


def test_a_new_report_for_a_locked_period_is_refused(reporting_a, partner_a, validator, staff):
    report = _report(reporting_a, partner_a)
    services.results_report_submit(report=report, user=partner_a)
    services.results_report_approve(report=report, user=validator)
    # IOM's own indicators are not locked by the partner's approval
    services.results_report_open(programme=reporting_a["programme"], user=staff, period_start=Q1[0], period_end=Q1[1])
    LockBefore.objects.create(before=date(2025, 7, 1))
    with pytest.raises(ValidationError) as refused:
        services.results_report_open(
            programme=reporting_a["programme"], user=partner_a, period_start=Q2[0], period_end=Q2[1]
        )
    assert "locked by an administrator" in str(refused.value)
    assert ResultsReport.objects.count() == 2


@pytest.mark.parametrize(
    ("value", "indicator", "message"),
    [
        ("12.5", "people", "A count of people is a whole number."),
        ("120", "share", "This indicator is not assigned to ORGA: you cannot report on it."),
        ("-3", "people", "Values cannot be negative."),
    ],
)
def test_bad_values_are_refused_and_nothing_is_saved(reporting_a, partner_a, value, indicator, message):
    report = services.results_report_open(
        programme=reporting_a["programme"], user=partner_a, period_start=Q1[0], period_end=Q1[1]
    )
    services.results_report_save(
        report=report, user=partner_a, values=[ReportedValue(reporting_a["people"].pk, Decimal("3"))]
    )
    with pytest.raises(ValidationError) as refused:
        services.results_report_save(
            report=report, user=partner_a, values=[ReportedValue(reporting_a[indicator].pk, Decimal(value))]
        )
    assert message in str(refused.value)
    assert list(ResultsReportValue.objects.values_list("achieved", flat=True)) == [Decimal("3")]


def test_a_future_period_is_refused(reporting_a, partner_a):
    with pytest.raises(ValidationError) as refused:
        services.results_report_open(
            programme=reporting_a["programme"],
            user=partner_a,
            period_start=date(2099, 1, 1),
            period_end=date(2099, 3, 31),
        )
    assert "has not ended yet" in str(refused.value)
    assert not ResultsReport.objects.exists()


def test_who_may_do_what(reporting_a, partner_a, partner_b, staff, viewer, validator):
    with pytest.raises(PermissionDenied):  # B does not take part, let alone report
        services.results_report_open(
            programme=reporting_a["programme"], user=partner_b, period_start=Q1[0], period_end=Q1[1]
        )
    with pytest.raises(PermissionDenied):
        services.results_report_open(
            programme=reporting_a["programme"], user=viewer, period_start=Q1[0], period_end=Q1[1]
        )
    report = _report(reporting_a, partner_a)
    with pytest.raises(PermissionDenied):  # IOM cannot write the partner's report
        services.results_report_save(report=report, user=staff, values=[])
    services.results_report_submit(report=report, user=partner_a)
    for user in (partner_a, staff):
        with pytest.raises(PermissionDenied):
            services.results_report_approve(report=report, user=user)
    assert set(ResultsReport.objects.visible_to(partner_b)) == set()
    assert set(ResultsReport.objects.visible_to(validator)) == {report}
    assert set(ResultsReport.objects.visible_to(staff)) == set()  # a partner's submitted report: authors and validators


def test_an_indicator_is_assigned_only_to_a_reporting_partner(reporting_a, org_b):
    indicator = Indicator(programme=reporting_a["programme"], code="IND9", name_fr="x", reporting_partner=org_b)
    with pytest.raises(ValidationError) as refused:
        indicator.full_clean()
    assert "does not report for this programme" in str(refused.value)


def test_approved_values_reach_the_3w_reached_and_the_key_figures(reporting_a, partner_a, validator):
    from programmes.models import Programme
    from programmes.stats import key_indicator_totals
    from reports.builders.matrix import matrix_columns, matrix_rows

    people = reporting_a["people"]
    Indicator.objects.filter(pk=people.pk).update(key_indicator="migrants_assisted")
    programmes = Programme.objects.filter(pk=reporting_a["programme"].pk)
    reached = [column.tag for column in matrix_columns()].index("#reached")

    def figures():
        return [row[reached] for row in matrix_rows(programmes)], key_indicator_totals(programmes)

    assert figures() == ([None], [])
    for period, value in ((Q1, "120"), (Q2, "80")):
        report = services.results_report_open(
            programme=reporting_a["programme"], user=partner_a, period_start=period[0], period_end=period[1]
        )
        services.results_report_save(report=report, user=partner_a, values=[ReportedValue(people.pk, Decimal(value))])
        services.results_report_submit(report=report, user=partner_a)
        assert figures()[0] == [None if period == Q1 else 120]  # submitted: not shown yet
        services.results_report_approve(report=report, user=validator)
    cells, totals = figures()
    assert cells == [200]  # incremental: the quarters add up
    assert totals[0]["total"] == Decimal("200")
    Indicator.objects.filter(pk=people.pk).update(cumulative=True)
    cells, totals = figures()
    assert cells == [80] and totals[0]["total"] == Decimal("80")  # cumulative: the latest, never a sum


def test_history_records_the_steps_and_the_unlock_reason(reporting_a, partner_a, partner_b, validator):
    from programmes.history import programme_history

    report = _report(reporting_a, partner_a)
    services.results_report_submit(report=report, user=partner_a)
    services.results_report_approve(report=report, user=validator)
    services.results_report_unlock(report=report, user=validator, reason="Correction demandée par le bailleur")
    rows = programme_history(reporting_a["programme"], iom=True)
    text = " ".join(f"{r.what} {r.changes}" for r in rows)
    assert "Correction demandée par le bailleur" in text  # the lock's lifting, with its reason
    assert "results report" in text.lower()
    partner_rows = programme_history(reporting_a["programme"], iom=False)
    assert all(r.who is None for r in partner_rows)
