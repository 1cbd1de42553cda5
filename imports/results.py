"""An IATI activity's results as the portal's results framework: outcomes, outputs, indicators and values.

IATI results are a flat list typed output (1), outcome (2) or impact (3); the portal nests outputs under
outcomes. An output is placed under the outcome before it in the file; an output with no outcome before
it becomes an outcome of its own, and the preview says so. Results in a file replace the programme's
framework; a file with no results leaves the framework as it is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from programmes.models import (
    AgeGroup,
    Indicator,
    IndicatorValue,
    Measure,
    Outcome,
    Output,
    Programme,
    Sex,
    indicator_value_set_errors,
)
from programmes.results import OutcomePlan, OutputPlan, results_replace

from .iati import ActivityRecord, PeriodValue

OUTPUT, OUTCOME, IMPACT = "1", "2", "3"
MEASURE_FROM_IATI = {"1": Measure.UNIT, "2": Measure.PERCENTAGE}
SEX_FROM_IATI = {"female": Sex.FEMALE, "f": Sex.FEMALE, "male": Sex.MALE, "m": Sex.MALE}
AGE_FROM_IATI = {"0-17": AgeGroup.CHILDREN, "18-59": AgeGroup.ADULTS, "60+": AgeGroup.OLDER}


@dataclass
class ValueDraft:
    period_start: object
    period_end: object
    sex: str = Sex.ALL
    age_group: str = AgeGroup.ALL
    target: Decimal | None = None
    achieved: Decimal | None = None
    comment: str = ""


@dataclass
class IndicatorDraft:
    code: str
    name_fr: str
    name_en: str
    measure: str
    result_code: str
    baseline: Decimal = Decimal("0")
    baseline_year: int | None = None
    values: list[ValueDraft] = field(default_factory=list)


@dataclass
class ResultsDraft:
    outcomes: list[OutcomePlan] = field(default_factory=list)
    indicators: list[IndicatorDraft] = field(default_factory=list)

    @property
    def signature(self) -> tuple:
        """What the draft would store, comparable with `stored_signature`."""
        results = sorted(
            (o.code, o.statement_fr, tuple(sorted((p.code, p.statement_fr) for p in o.outputs))) for o in self.outcomes
        )
        indicators = sorted(
            (
                i.code,
                i.name_fr,
                i.measure,
                i.result_code,
                tuple(
                    sorted((str(v.period_start), v.sex, v.age_group, _n(v.target), _n(v.achieved)) for v in i.values)
                ),
            )
            for i in self.indicators
        )
        return (tuple(results), tuple(indicators))


def _n(value) -> str:
    return "" if value is None else format(Decimal(value).normalize(), "f")


def stored_signature(programme: Programme) -> tuple:
    outcomes = programme.outcomes.prefetch_related("outputs")
    results = sorted(
        (o.code, o.statement_fr, tuple(sorted((p.code, p.statement_fr) for p in o.outputs.all()))) for o in outcomes
    )
    indicators = sorted(
        (
            i.code,
            i.name_fr,
            i.measure,
            i.output.code if i.output_id else (i.outcome.code if i.outcome_id else ""),
            tuple(
                sorted((str(v.period_start), v.sex, v.age_group, _n(v.target), _n(v.achieved)) for v in i.values.all())
            ),
        )
        for i in programme.indicators.select_related("outcome", "output").prefetch_related("values")
    )
    return (tuple(results), tuple(indicators))


def _value_cell(value: PeriodValue, warnings: list[str], where: str) -> tuple[str, str] | None:
    sex, age = Sex.ALL, AgeGroup.ALL
    for name, cell in value.dimensions.items():
        if name in ("sex", "gender", "sexe"):
            if cell not in SEX_FROM_IATI:
                warnings.append(
                    _("%(where)s: sex “%(value)s” is not one the portal records.") % {"where": where, "value": cell}
                )
                return None
            sex = SEX_FROM_IATI[cell]
        elif name in ("age", "age group", "age_group"):
            if cell.replace(" ", "") not in AGE_FROM_IATI:
                warnings.append(
                    _("%(where)s: age group “%(value)s” is not one the portal records.")
                    % {"where": where, "value": cell}
                )
                return None
            age = AGE_FROM_IATI[cell.replace(" ", "")]
        else:
            warnings.append(
                _("%(where)s: the dimension “%(name)s” is not one the portal records.") % {"where": where, "name": name}
            )
            return None
    return sex, age


def _without_code(title: str, result) -> str:
    """The portal's export writes "OC1 statement" for readers of IATI; its statement is what follows the code."""
    prefix = f"{result.portal_code} "
    return title[len(prefix) :] if result.portal_code and title.startswith(prefix) else title


def results_draft(record: ActivityRecord, warnings: list[str]) -> ResultsDraft | None:
    """The framework the activity describes, or None when it has no results (the stored one stays)."""
    if not record.results:
        return None
    draft = ResultsDraft()
    current: OutcomePlan | None = None
    outcome_n = output_n = indicator_n = 0
    used: set[str] = set()

    def code_for(portal_code: str, generated: str) -> str:
        """The portal's own code where its export wrote one (unique in the activity), else a generated one."""
        code = portal_code if portal_code and portal_code not in used and len(portal_code) <= 20 else generated
        used.add(code)
        return code

    for result in record.results:
        statement_fr = _without_code(result.titles.get("fr") or next(iter(result.titles.values()), ""), result)
        statement_en = _without_code(result.titles.get("en", ""), result)
        if not statement_fr:
            warnings.append(_("A result without a title was left out."))
            continue
        if result.type == OUTPUT and current is not None:
            output_n += 1
            plan = OutputPlan(
                code=code_for(result.portal_code, f"OP{output_n}"),
                statement_fr=statement_fr[:2000],
                statement_en=statement_en[:2000],
            )
            current.outputs.append(plan)
            result_code = plan.code
        else:
            if result.type == OUTPUT:
                warnings.append(
                    _("The output “%(title)s” has no outcome before it: recorded as an outcome.")
                    % {"title": statement_fr[:80]}
                )
            outcome_n += 1
            current = OutcomePlan(
                code=code_for(result.portal_code, f"OC{outcome_n}"),
                statement_fr=statement_fr[:2000],
                statement_en=statement_en[:2000],
            )
            draft.outcomes.append(current)
            result_code = current.code
        for indicator in result.indicators:
            name_fr = indicator.titles.get("fr") or next(iter(indicator.titles.values()), "")
            if not name_fr:
                warnings.append(_("An indicator without a title was left out."))
                continue
            if indicator.measure not in MEASURE_FROM_IATI:
                warnings.append(
                    _(
                        "The indicator “%(name)s” is qualitative (IATI measure %(measure)s): kept in the raw activity only."
                    )
                    % {"name": name_fr[:80], "measure": indicator.measure}
                )
                continue
            indicator_n += 1
            item = IndicatorDraft(
                code=code_for(indicator.portal_code, f"I{indicator_n}"),
                name_fr=name_fr[:255],
                name_en=indicator.titles.get("en", "")[:255],
                measure=MEASURE_FROM_IATI[indicator.measure],
                result_code=result_code,
                baseline=indicator.baseline_value if indicator.baseline_value is not None else Decimal("0"),
                baseline_year=indicator.baseline_year,
            )
            for period in indicator.periods:
                if period.start is None or period.end is None:
                    warnings.append(_("A period of “%(name)s” has no dates: left out.") % {"name": name_fr[:80]})
                    continue
                cells: dict[tuple, ValueDraft] = {}
                for kind, values in (("target", period.targets), ("achieved", period.actuals)):
                    for value in values:
                        cell = _value_cell(value, warnings, name_fr[:80])
                        if cell is None or value.value is None:
                            continue
                        row = cells.setdefault(
                            cell, ValueDraft(period.start, period.end, sex=cell[0], age_group=cell[1])
                        )
                        setattr(row, kind, value.value)
                        comment = value.comment.get("fr") or next(iter(value.comment.values()), "")
                        if comment and not row.comment:
                            row.comment = comment[:255]
                item.values.extend(cells.values())
            draft.indicators.append(item)
    return draft


def results_write(*, programme: Programme, user, draft: ResultsDraft) -> None:
    """Replace the programme's framework with the draft (inside the import's transaction; rules of the models)."""
    for indicator in programme.indicators.all():
        indicator.delete()
    for output in Output.objects.filter(outcome__programme=programme):
        output.delete()
    for outcome in programme.outcomes.all():
        outcome.delete()
    by_code = results_replace(programme=programme, user=user, outcomes=draft.outcomes) if draft.outcomes else {}
    errors: list[str] = []
    for item in draft.indicators:
        result = by_code.get(item.result_code)
        indicator = Indicator(
            programme=programme,
            outcome=result if isinstance(result, Outcome) else None,
            output=result if isinstance(result, Output) else None,
            code=item.code,
            name_fr=item.name_fr,
            name_en=item.name_en,
            measure=item.measure,
            baseline=item.baseline,
            baseline_year=item.baseline_year,
            disaggregated=any(v.sex != Sex.ALL or v.age_group != AgeGroup.ALL for v in item.values),
        )
        try:
            indicator.full_clean()
        except ValidationError as invalid:
            errors += [f"{item.name_fr[:60]}: {m}" for m in invalid.messages]
            continue
        indicator.save()
        values = [
            IndicatorValue(
                indicator=indicator,
                period_start=v.period_start,
                period_end=v.period_end,
                sex=v.sex,
                age_group=v.age_group,
                target=v.target,
                achieved=v.achieved,
                comment=v.comment,
            )
            for v in item.values
        ]
        for value in values:
            try:
                value.full_clean(exclude=["indicator"])
            except ValidationError as invalid:
                errors += [f"{item.name_fr[:60]} {value.period_start:%Y-%m}: {m}" for m in invalid.messages]
        for fields in indicator_value_set_errors(values).values():
            errors += [f"{item.name_fr[:60]}: {m}" for messages in fields.values() for m in messages]
        if not errors:
            for value in values:
                value.save()
    if errors:
        raise ValidationError(sorted(set(errors)))
