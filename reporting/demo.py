"""Demo results reports, seeded at the end of `seed_demo` (signal programmes.demo.demo_seeded).

partner.anltp (ANLTP/TIM) reports for one of its joint programmes: an indicator of victims identified is
assigned to it, quarterly. Four quarters before the demo's "today" give a report in each state:
approved (published, locked), returned (with its reason), submitted (waiting for IOM), draft (the
programme that started first is used, its start moved back to the first of these quarters). `staff`
is given the validation right (group "IOM results validators") and follows the programme.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.contrib.auth.models import Group

from partners.models import User
from programmes.demo import TODAY
from programmes.models import Frequency, Indicator, Participation, Programme, Status, last_ended_period

from . import services
from .roles import VALIDATORS, ensure_validator_group

DEMO_INDICATOR = "IND3"


def _quarters(count: int) -> list[tuple]:
    """The `count` calendar quarters that ended last before the demo's today, oldest first."""
    quarters, day = [], TODAY
    for _ in range(count):
        start, end = last_ended_period(day, Frequency.QUARTERLY)
        quarters.insert(0, (start, end))
        day = start - timedelta(days=1)
    return quarters


def seed_reporting_demo() -> Programme | None:
    ensure_validator_group()
    staff = User.objects.filter(username="staff").first()
    partner = User.objects.filter(username="partner.anltp").select_related("organisation").first()
    if staff is None or partner is None:
        return None
    staff.groups.add(Group.objects.get(name=VALIDATORS))
    quarters = _quarters(4)
    # The active joint programme that started first; its start is moved back to the first quarter if needed.
    programme = (
        Programme.objects.filter(
            status=Status.ACTIVE,
            participations__organisation=partner.organisation,
            planned_end__gte=quarters[-1][1],
        )
        .order_by("planned_start", "code")
        .first()
    )
    if programme is None:
        return None
    if programme.planned_start > quarters[0][0]:
        programme.planned_start = programme.actual_start = quarters[0][0]
        programme.save(update_fields=["planned_start", "actual_start"])
    Participation.objects.filter(programme=programme, organisation=partner.organisation).update(reports_results=True)
    programme.iom_focal_point = staff
    programme.save(update_fields=["iom_focal_point"])
    indicator = Indicator.objects.create(
        programme=programme,
        output=programme.outcomes.first().outputs.first() if programme.outcomes.exists() else None,
        code=DEMO_INDICATOR,
        name_fr="Victimes de la traite identifiées et orientées",
        name_en="Victims of trafficking identified and referred",
        unit="personnes",
        unit_en="persons",
        people=True,
        disaggregated=True,
        frequency=Frequency.QUARTERLY,
        target=Decimal("400"),
        baseline=Decimal("0"),
        baseline_year=programme.planned_start.year,  # none identified through the programme before it began
        reporting_partner=partner.organisation,
    )
    values = [(Decimal("42"), Decimal("25")), (Decimal("38"), Decimal("20")), (Decimal("51"), Decimal("30"))]
    values.append((Decimal("12"), None))
    for (start, end), (total, women) in zip(quarters, values, strict=True):
        report = services.results_report_open(programme=programme, user=partner, period_start=start, period_end=end)
        cells = [services.ReportedValue(indicator.pk, total, "Données des centres de transit")]
        if women is not None:
            cells.append(services.ReportedValue(indicator.pk, women, sex="female"))
        services.results_report_save(report=report, user=partner, values=cells)
        if report.period_start == quarters[3][0]:
            continue  # the latest quarter: still a draft
        services.results_report_submit(report=report, user=partner)
        if report.period_start == quarters[0][0]:
            services.results_report_approve(report=report, user=staff)
        elif report.period_start == quarters[1][0]:
            services.results_report_return(
                report=report,
                user=staff,
                reason="Le nombre de femmes manque pour Agadez : complétez la ventilation par sexe.",
            )
    return programme
