"""Writing a programme's results framework: its outcomes, their outputs, and which result each indicator measures.

Doors (the edit page, the API, an importer) describe the framework they want as plain plans and call
`results_problems` to show errors next to the input, then `results_replace` to write it. The rules
live here and in the models' `clean()`; a door never decides.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from .models import RESULT_CODE_TAKEN, Indicator, Outcome, Output, Programme


@dataclass(eq=False)
class OutputPlan:
    """One output as the door wants it; `pk` names a stored output, None a new one."""

    code: str
    statement_fr: str
    statement_en: str = ""
    order: int | None = None
    pk: int | None = None
    remove: bool = False
    key: Any = None  # the door's handle for placing an error (e.g. its form row)
    untouched: bool = False  # a stored result the door did not name: kept as it is


@dataclass(eq=False)
class OutcomePlan:
    code: str
    statement_fr: str
    statement_en: str = ""
    order: int | None = None
    pk: int | None = None
    remove: bool = False
    outputs: list[OutputPlan] = field(default_factory=list)
    key: Any = None
    untouched: bool = False


@dataclass(eq=False)
class IndicatorLink:
    """The result (outcome or output code, "" for none) an indicator measures; `pk` None for a new one."""

    result: str
    pk: int | None = None
    code: str = ""
    key: Any = None


@dataclass(eq=False)
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


class _Framework:
    """The planned framework completed with the stored results the plan does not name (kept unchanged)."""

    def __init__(self, programme: Programme, outcomes: list[OutcomePlan]) -> None:
        self.outcomes = {o.pk: o for o in Outcome.objects.filter(programme=programme)} if programme.pk else {}
        self.outputs = {o.pk: o for o in Output.objects.filter(outcome__programme=programme)} if programme.pk else {}
        plans = [replace(o, outputs=list(o.outputs)) for o in outcomes]
        by_outcome = {o.pk: o for o in plans if o.pk}
        for row in self.outcomes.values():
            if row.pk not in by_outcome:
                by_outcome[row.pk] = OutcomePlan(
                    row.code, row.statement_fr, row.statement_en, row.order, row.pk, untouched=True
                )
                plans.append(by_outcome[row.pk])
        named = {p.pk for o in plans for p in o.outputs if p.pk}
        for row in self.outputs.values():
            if row.pk not in named:
                plan = OutputPlan(row.code, row.statement_fr, row.statement_en, row.order, row.pk, untouched=True)
                by_outcome[row.outcome_id].outputs.append(plan)
        self.plans = plans

    def stored_code(self, plan) -> str | None:
        rows = self.outcomes if isinstance(plan, OutcomePlan) else self.outputs
        row = rows.get(plan.pk) if plan.pk else None
        return row.code if row is not None else None

    def kept(self) -> list:
        """Outcomes and outputs that remain, outcomes first within each outcome."""
        return [p for o in self.plans if not o.remove for p in [o, *o.outputs] if not p.remove]

    def resolver(self):
        """code → plan: the planned codes first, then the former code of a renamed result, then removed ones."""
        current = {}
        for plan in self.kept():
            current.setdefault(_clean_code(plan.code), plan)
        previous, removed = {}, {}
        for outcome in self.plans:
            for plan in [outcome, *outcome.outputs]:
                former = self.stored_code(plan)
                if plan.remove or outcome.remove:
                    removed.setdefault(_clean_code(plan.code), plan)
                    if former:
                        removed.setdefault(former, plan)
                elif former and former not in current:
                    previous[former] = plan
        return lambda code: current.get(code) or previous.get(code) or removed.get(code)


def results_problems(
    *, programme: Programme, outcomes: list[OutcomePlan], links: list[IndicatorLink] | None = None
) -> list[Problem]:
    """Every rule the framework as a whole must meet, checked against the planned final state.

    - each outcome and output code names one result of the programme;
    - a result that is removed has no outputs left and no indicator measuring it;
    - every indicator measures a result that exists (by its code, or the code it had before a rename).

    Stored results the plan does not name stay as they are. `links` is the complete list of the
    indicators the programme keeps (None: the stored ones, unchanged).
    """
    return _problems(_Framework(programme, outcomes), programme, links)


def _problems(framework: _Framework, programme: Programme, links: list[IndicatorLink] | None) -> list[Problem]:
    problems: list[Problem] = []
    for outcome in framework.plans:
        for plan in [outcome, *outcome.outputs]:
            if plan.pk and framework.stored_code(plan) is None:
                message = _("This outcome or output no longer exists (someone removed it): reload the page.")
                return [Problem(plan.key, None, message)]
    for outcome in framework.plans:
        kept_outputs = [o for o in outcome.outputs if not o.remove]
        if outcome.remove and kept_outputs:
            message = _("Outcome %(code)s still has outputs (%(outputs)s): remove them too, or keep the outcome.") % {
                "code": outcome.code,
                "outputs": ", ".join(o.code for o in kept_outputs),
            }
            problems.append(Problem(outcome.key, None, message))
    holders: dict[str, list] = {}
    for plan in framework.kept():
        holders.setdefault(_clean_code(plan.code), []).append(plan)
    for plans in holders.values():
        if len(plans) > 1:
            # Blame the rows the editor changed; the untouched one keeps its code.
            changed = [p for p in plans if framework.stored_code(p) != _clean_code(p.code)] or plans
            problems += [Problem(p.key, "code", str(RESULT_CODE_TAKEN)) for p in changed]
    resolve = framework.resolver()
    if links is None:
        links = _stored_links(programme)
    kept = {id(plan) for plan in framework.kept()}
    measured: dict[int, list[str]] = {}
    for link in links:
        code = _clean_code(link.result)
        if not code:
            continue
        plan = resolve(code)
        if plan is None:
            message = _("No outcome or output of this programme has the code “%(code)s”.") % {"code": code}
            problems.append(Problem(link.key, "result", message))
        elif id(plan) not in kept:
            measured.setdefault(id(plan), []).append(link.code or code)
    for outcome in framework.plans:
        for plan in [outcome, *outcome.outputs]:
            if id(plan) in measured:
                codes = sorted(measured[id(plan)])
                message = ngettext(
                    "%(code)s is still measured by indicator %(indicators)s: attach it to another result "
                    "or remove it first.",
                    "%(code)s is still measured by indicators %(indicators)s: attach them to another result "
                    "or remove them first.",
                    len(codes),
                ) % {"code": plan.code, "indicators": ", ".join(codes)}
                problems.append(Problem(plan.key, None, message))
    return problems


def _stored_links(programme: Programme) -> list[IndicatorLink]:
    if not programme.pk:
        return []
    indicators = Indicator.objects.filter(programme=programme).select_related("outcome", "output")
    return [IndicatorLink(result=result_code(i), pk=i.pk, code=i.code) for i in indicators]


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
        framework = _Framework(locked, outcomes)
        problems = _problems(framework, locked, links)
        if problems:
            raise ResultsInvalid(problems)
        resolve = framework.resolver()
        former = {plan.pk: framework.stored_code(plan) for plan in framework.kept() if plan.pk}
        saved: dict[int, Outcome | Output] = {}  # id(plan) → row
        next_order = max((o.order for o in framework.outcomes.values()), default=0) + 1
        for plan in framework.plans:
            if plan.remove:
                continue
            row = framework.outcomes[plan.pk] if plan.pk else Outcome(programme=locked)
            if plan.order is None and row.pk is None:
                plan.order, next_order = next_order, next_order + 1
            if not plan.untouched:
                _write(row, plan, siblings=framework.outcomes.values())
            saved[id(plan)] = row
        for outcome_plan in framework.plans:
            if outcome_plan.remove:
                continue
            outcome = saved[id(outcome_plan)]
            siblings = [o for o in framework.outputs.values() if o.outcome_id == outcome.pk]
            next_order = max((o.order for o in siblings), default=0) + 1
            for plan in outcome_plan.outputs:
                if plan.remove:
                    continue
                row = framework.outputs[plan.pk] if plan.pk else Output()
                moved = row.pk is not None and row.outcome_id != outcome.pk
                row.outcome = outcome
                if plan.order is None and row.pk is None:
                    plan.order, next_order = next_order, next_order + 1
                if not plan.untouched:
                    _write(row, plan, siblings=siblings, moved=moved)
                saved[id(plan)] = row
        by_code: dict[str, Outcome | Output] = {}
        for plan in framework.kept():
            by_code[_clean_code(plan.code)] = saved[id(plan)]
        for code in former.values():
            plan = resolve(code)
            if plan is not None and id(plan) in saved:
                by_code.setdefault(code, saved[id(plan)])
        if links is not None:
            _relink(locked, links, by_code)
        removed = [p for o in framework.plans for p in [*o.outputs, o] if p.pk and (p.remove or o.remove)]
        for plan in removed:  # outputs before their outcome
            rows = framework.outcomes if isinstance(plan, OutcomePlan) else framework.outputs
            rows[plan.pk].delete()
    return by_code


def _write(row, plan, *, siblings, moved: bool = False) -> None:
    """Save a result row if the plan changes it, freeing its new code first if a sibling still holds it."""
    code = _clean_code(plan.code)
    changes = {"code": code, "statement_fr": plan.statement_fr, "statement_en": plan.statement_en or ""}
    if plan.order is not None:
        changes["order"] = plan.order
    if row.pk and not moved and _same(row, changes):
        return
    for sibling in siblings:
        if sibling.pk != row.pk and sibling.code == code:
            # Codes exchanged within one plan: park the other row's code until its own turn.
            type(sibling).objects.filter(pk=sibling.pk).update(code=f"~{sibling.pk}")
            sibling.code = f"~{sibling.pk}"
    for name, value in changes.items():
        setattr(row, name, value)
    row.save()


def _same(row, changes: dict) -> bool:
    return all(getattr(row, name) == value for name, value in changes.items())


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
