"""Forms of the results framework on the programme edit page: outcomes, each with its outputs.

They only read the input: the framework's rules are checked by `programmes.results` (codes, removals,
which result an indicator measures) and the models (each row), and `results_replace` writes it.
"""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from .models import Outcome, Output, Programme
from .results import IndicatorLink, OutcomePlan, OutputPlan, Problem, results_problems, results_replace

STATEMENT = forms.Textarea(attrs={"rows": 2})
ORDER = forms.NumberInput(attrs={"min": "0", "step": "1", "class": "result-order"})


class WholeSetForm(forms.ModelForm):
    """A row checked together with the other submitted rows (by the service), not against the stored ones:
    so that a code can move from one row to another, or a removed row's code be reused, in one save."""

    parent_field = ""

    def validate_unique(self) -> None:
        exclude = self._get_validation_exclusions() | {self.parent_field}
        try:
            self.instance.validate_unique(exclude=exclude)
            self.instance.validate_constraints(exclude=exclude)
        except ValidationError as error:
            self._update_errors(error)


class ResultForm(WholeSetForm):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["order"].required = False
        self.fields["order"].help_text = ""
        self.fields["code"].widget.attrs["size"] = 8
        if not self.instance.pk:
            self.initial["order"] = None  # a new row goes last unless given a place

    def plan_fields(self) -> dict:
        data = self.cleaned_data
        return {
            "code": data.get("code", ""),
            "statement_fr": data.get("statement_fr", ""),
            "statement_en": data.get("statement_en", ""),
            "order": data.get("order"),
            "pk": self.instance.pk,
            "key": self,
        }


class OutcomeForm(ResultForm):
    parent_field = "programme"

    class Meta:
        model = Outcome
        fields = ["order", "code", "statement_fr", "statement_en"]
        widgets = {"statement_fr": STATEMENT, "statement_en": STATEMENT, "order": ORDER}


class OutputForm(ResultForm):
    parent_field = "outcome"

    class Meta:
        model = Output
        fields = ["order", "code", "statement_fr", "statement_en"]
        widgets = {"statement_fr": STATEMENT, "statement_en": STATEMENT, "order": ORDER}


class BaseOutputFormSet(forms.BaseInlineFormSet):
    """Outputs of one outcome; the rows come prefetched for the whole programme (no query per outcome)."""

    def __init__(self, *args, prefetched: list | None = None, **kwargs) -> None:
        self.prefetched = prefetched
        super().__init__(*args, **kwargs)

    def get_queryset(self):
        if self.prefetched is not None:
            return self.prefetched
        return super().get_queryset()

    @property
    def empty_form(self):
        form = self.form(
            auto_id=self.auto_id,
            prefix=self.add_prefix("__oprefix__"),
            empty_permitted=True,
            use_required_attribute=False,
            **self.get_form_kwargs(None),
            renderer=self.renderer,
        )
        self.add_fields(form, None)
        return form

    def validate_unique(self) -> None:
        """Codes are checked across the whole framework by `results_problems`."""


OutputFormSet = forms.inlineformset_factory(
    Outcome, Output, form=OutputForm, formset=BaseOutputFormSet, extra=1, can_delete=True
)


class BaseOutcomeFormSet(forms.BaseInlineFormSet):
    """Outcomes of a programme in their order, each carrying the formset of its outputs (`form.outputs`)."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("queryset", Outcome.objects.order_by("order", "code"))
        super().__init__(*args, **kwargs)
        outputs: dict[int, list[Output]] = {}
        if self.instance.pk:
            for output in Output.objects.filter(outcome__programme=self.instance).order_by("order", "code"):
                outputs.setdefault(output.outcome_id, []).append(output)
        for form in self.forms:
            form.outputs = self._outputs_formset(form, outputs.get(form.instance.pk, []))

    def _outputs_formset(self, form, prefetched: list) -> BaseOutputFormSet:
        return OutputFormSet(
            self.data if self.is_bound else None,
            instance=form.instance,
            prefix=f"{form.prefix}-outputs",
            prefetched=prefetched if form.instance.pk else [],
        )

    @property
    def empty_form(self):
        form = super().empty_form
        form.outputs = self._outputs_formset(form, [])
        return form

    def is_valid(self) -> bool:
        valid = super().is_valid()
        return all([valid, *(form.outputs.is_valid() for form in self.forms)])

    def validate_unique(self) -> None:
        """Codes are checked across the whole framework by `results_problems`."""

    def clean(self) -> None:
        for form in self.forms:
            blank_new = not form.instance.pk and not form.has_changed()
            if blank_new and any(f.has_changed() for f in form.outputs.forms):
                form.add_error("code", _("Fill in the outcome before its outputs."))
        super().clean()

    def plan(self) -> list[OutcomePlan]:
        """The framework as submitted (rows left blank are ignored)."""
        plans = []
        for form in self.forms:
            if not form.instance.pk and not form.has_changed():
                continue
            outputs = [
                OutputPlan(**f.plan_fields(), remove=form.outputs._should_delete_form(f))
                for f in form.outputs.forms
                if f.instance.pk or f.has_changed()
            ]
            plans.append(OutcomePlan(**form.plan_fields(), remove=self._should_delete_form(form), outputs=outputs))
        return plans

    def problems(self, links: list[IndicatorLink]) -> list[Problem]:
        return results_problems(programme=self.instance, outcomes=self.plan(), links=links)

    @property
    def stored_results(self) -> list[Outcome | Output]:
        """The stored outcomes and outputs on the page, in order (offered to indicators as codes)."""
        rows: list[Outcome | Output] = []
        for form in self.forms:
            if form.instance.pk:
                rows.append(form.instance)
                rows += [f.instance for f in form.outputs.forms if f.instance.pk]
        return rows

    def save_results(self, *, programme: Programme, user, links: list[IndicatorLink]) -> dict:
        return results_replace(programme=programme, user=user, outcomes=self.plan(), links=links)


OutcomeFormSet = forms.inlineformset_factory(
    Programme, Outcome, form=OutcomeForm, formset=BaseOutcomeFormSet, extra=1, can_delete=True
)
