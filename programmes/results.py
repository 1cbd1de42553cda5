"""Writing a programme's results framework: its outcomes, their outputs, and which result each indicator measures.

Doors (the edit page, the API, an importer) describe the framework they want as plain plans and call
`results_problems` to show errors next to the input, then `results_replace` to write it. The rules
live here and in the models' `clean()`; a door never decides.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from .models import RESULT_CODE_TAKEN, Indicator, Outcome, Output, Programme


@dataclass
class OutputPlan:
    """One output as the door wants it; `pk` names a stored output, None a new one."""

    code: str
    statement_fr: str
    statement_en: str = ""
    order: int | None = None
    pk: int | None = None
    remove: bool = False
    key: Any = None  # the door's handle for placing an error (e.g. its form row)


@dataclass
class OutcomePlan:
    code: str
    statement_fr: str
    statement_en: str = ""
    order: int | None = None
    pk: int | None = None
    remove: bool = False
    outputs: list[OutputPlan] = field(default_factory=list)
    key: Any = None


@dataclass
class IndicatorLink:
    """The result (outcome or output code, "" for none) an indicator measures; `pk` None for a new one."""

    result: str
    pk: int | None = None
    code: str = ""
    key: Any = None


@dataclass
class Problem:
    key: Any
    field: str | None
    message: str


class ResultsInvalid(ValidationError):
    """The requested results framework breaks a rule; `problems` says where."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__([p.message for p in problems], code="results")


def _clean_code(code: str) -> str:
    return (code or "").strip()


def results_problems(
    *, programme: Programme, outcomes: list[OutcomePlan], links: list[IndicatorLink] | None = None
) -> list[Problem]:
    """Every rule the framework as a whole must meet, checked against the planned final state.

    - each outcome and output code names one result of the programme;
    - a result that is removed has no outputs left and no indicator measuring it;
    - every indicator measures a result that exists (by its code, or the code it had before a rename).

    `links` is the complete list of the indicators the programme keeps (None: the stored ones, unchanged).
    """
    problems: list[Problem] = []
    seen: set[str] = set()
    for outcome in outcomes:
        kept_outputs = [o for o in outcome.outputs if not o.remove]
        if outcome.remove:
            if kept_outputs:
                message = _(
                    "Outcome %(code)s still has outputs (%(outputs)s): remove them too, or keep the outcome."
                ) % {"code": outcome.code, "outputs": ", ".join(o.code for o in kept_outputs)}
                problems.append(Problem(outcome.key, None, message))
            continue
        for plan in [outcome, *kept_outputs]:
            code = _clean_code(plan.code)
            if code in seen:
                problems.append(Problem(plan.key, "code", str(RESULT_CODE_TAKEN)))
            seen.add(code)
    resolve = _resolver(programme, outcomes)
    if links is None:
        links = _stored_links(programme)
    measured: dict[int, list[str]] = {}
    for link in links:
        code = _clean_code(link.result)
        if not code:
            continue
        plan = resolve(code)
        if plan is None:
            message = _("No outcome or output of this programme has the code “%(code)s”.") % {"code": code}
            problems.append(Problem(link.key, "result", message))
        elif plan.remove:
            measured.setdefault(id(plan), []).append(link.code or code)
    for outcome in outcomes:
        for plan in [outcome, *outcome.outputs]:
            if id(plan) in measured and plan.remove:
                message = _(
                    "%(code)s is still measured by indicator(s) %(indicators)s: attach them to another result "
                    "or remove them first."
                ) % {"code": plan.code, "indicators": ", ".join(sorted(measured[id(plan)]))}
                problems.append(Problem(plan.key, None, message))
    return problems


def _stored_links(programme: Programme) -> list[IndicatorLink]:
    if not programme.pk:
        return []
    indicators = Indicator.objects.filter(programme=programme).select_related("outcome", "output")
    return [IndicatorLink(result=result_code(i), pk=i.pk, code=i.code) for i in indicators]


def _resolver(programme: Programme, outcomes: list[OutcomePlan]):
    """code → plan: the planned codes first, then the stored code of a result renamed by the plan."""
    current: dict[str, OutcomePlan | OutputPlan] = {}
    removed: dict[str, OutcomePlan | OutputPlan] = {}
    for outcome in outcomes:
        for plan in [outcome, *outcome.outputs]:
            (removed if plan.remove or outcome.remove else current).setdefault(_clean_code(plan.code), plan)
    previous: dict[str, OutcomePlan | OutputPlan] = {}
    if programme.pk:
        by_pk = {("outcome", o.pk): o for o in outcomes if o.pk}
        by_pk.update({("output", p.pk): p for o in outcomes for p in o.outputs if p.pk})
        stored = [
            ("outcome", pk, code) for pk, code in Outcome.objects.filter(programme=programme).values_list("pk", "code")
        ]
        stored += [
            ("output", pk, code)
            for pk, code in Output.objects.filter(outcome__programme=programme).values_list("pk", "code")
        ]
        for kind, pk, code in stored:
            plan = by_pk.get((kind, pk))
            if plan is not None and code not in current:
                previous[code] = plan
    return lambda code: current.get(code) or previous.get(code) or removed.get(code)


def results_replace(
    *, programme: Programme, user, outcomes: list[OutcomePlan], links: list[IndicatorLink] | None = None
) -> dict[str, Outcome | Output]:
    """Write the planned framework of a saved programme; return its results by code (new and former codes).

    Stored outcomes and outputs not named in the plan are left as they are; `remove=True` removes one.
    With `links`, the indicators listed are attached to their results, and stored indicators left
    out (the caller removes them in the same transaction) are detached first. Raises ResultsInvalid.
    """
    with transaction.atomic():
        locked = Programme.objects.select_for_update(of=("self",)).get(pk=programme.pk)
        problems = results_problems(programme=locked, outcomes=outcomes, links=links)
        if problems:
            raise ResultsInvalid(problems)
        stored_outcomes = {o.pk: o for o in Outcome.objects.filter(programme=locked)}
        stored_outputs = {o.pk: o for o in Output.objects.filter(outcome__programme=locked)}
        saved: dict[int, Outcome | Output] = {}  # id(plan) → row
        next_order = (max((o.order for o in stored_outcomes.values()), default=0) or 0) + 1
        for plan in outcomes:
            if plan.remove:
                continue
            row = stored_outcomes.get(plan.pk) if plan.pk else Outcome(programme=locked)
            if plan.order is None and row.pk is None:
                plan.order, next_order = next_order, next_order + 1
            _write(row, plan, taken=[o for o in stored_outcomes.values() if o.pk != row.pk])
            saved[id(plan)] = row
        for outcome_plan in outcomes:
            if outcome_plan.remove:
                continue
            outcome = saved[id(outcome_plan)]
            siblings = [o for o in stored_outputs.values() if o.outcome_id == outcome.pk]
            next_order = max((o.order for o in siblings), default=0) + 1
            for plan in outcome_plan.outputs:
                if plan.remove:
                    continue
                row = stored_outputs.get(plan.pk) if plan.pk else Output()
                row.outcome = outcome
                if plan.order is None and row.pk is None:
                    plan.order, next_order = next_order, next_order + 1
                _write(row, plan, taken=[o for o in siblings if o.pk != row.pk])
                saved[id(plan)] = row
        resolve = _resolver(locked, outcomes)
        by_code: dict[str, Outcome | Output] = {}
        for outcome_plan in outcomes:
            for plan in [outcome_plan, *outcome_plan.outputs]:
                if id(plan) in saved:
                    by_code[_clean_code(plan.code)] = saved[id(plan)]
        for code in list(_stored_codes(stored_outcomes, stored_outputs)):
            plan = resolve(code)
            if plan is not None and id(plan) in saved:
                by_code.setdefault(code, saved[id(plan)])
        if links is not None:
            _relink(locked, links, by_code)
        for plan in [p for o in outcomes for p in o.outputs if p.remove and p.pk]:
            stored_outputs[plan.pk].delete()
        for plan in [o for o in outcomes if o.remove and o.pk]:
            stored_outcomes[plan.pk].delete()
    return by_code


def _stored_codes(outcomes: dict, outputs: dict) -> list[str]:
    return [o.code for o in outcomes.values()] + [o.code for o in outputs.values()]


def _write(row, plan, *, taken: list) -> None:
    """Save a result row if the plan changes it, freeing its new code first if a sibling still holds it."""
    code = _clean_code(plan.code)
    changes = {"code": code, "statement_fr": plan.statement_fr, "statement_en": plan.statement_en or ""}
    if plan.order is not None:
        changes["order"] = plan.order
    if row.pk and all(getattr(row, name) == value for name, value in changes.items()):
        return
    for sibling in taken:
        if sibling.code == code:  # codes swapped in one plan: park the other row's code until it is written
            type(sibling).objects.filter(pk=sibling.pk).update(code=f"~{sibling.pk}")
            sibling.code = f"~{sibling.pk}"
    for name, value in changes.items():
        setattr(row, name, value)
    row.save()


def _relink(programme: Programme, links: list[IndicatorLink], by_code: dict) -> None:
    kept = {link.pk: link for link in links if link.pk}
    stored = Indicator.objects.filter(programme=programme)
    # Indicators the caller is removing in this transaction: detached so that their results can go.
    stored.exclude(pk__in=kept).update(outcome=None, output=None)
    for indicator in stored.filter(pk__in=kept):
        outcome, output = result_fields(by_code.get(_clean_code(kept[indicator.pk].result)))
        if (indicator.outcome_id, indicator.output_id) != (getattr(outcome, "pk", None), getattr(output, "pk", None)):
            indicator.outcome, indicator.output = outcome, output
            indicator.save(update_fields=["outcome", "output"])


def result_fields(result: Outcome | Output | None) -> tuple[Outcome | None, Output | None]:
    """The (outcome, output) pair an indicator stores for the result it measures."""
    if isinstance(result, Output):
        return None, result
    return result, None


def result_code(indicator: Indicator) -> str:
    """The code of the result an indicator measures ("" for none)."""
    if indicator.output_id:
        return indicator.output.code
    return indicator.outcome.code if indicator.outcome_id else ""
