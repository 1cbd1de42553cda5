"""The reporting pages' forms: they only parse; the rules are the services' (reporting/services.py)."""

from __future__ import annotations

from dataclasses import dataclass

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from programmes.models import AgeGroup, Indicator, Measure, Sex

from .models import ResultsReport
from .services import ReportedValue

DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class PeriodForm(forms.Form):
    period_start = forms.DateField(label=_("First day of the period"), widget=DATE_WIDGET)
    period_end = forms.DateField(label=_("Last day of the period"), widget=DATE_WIDGET)


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"), required=False, widget=forms.Textarea(attrs={"rows": 3}), max_length=2000
    )


@dataclass
class Cell:
    indicator: Indicator
    sex: str
    age_group: str
    prefix: str

    @property
    def label(self) -> str:
        if self.sex == Sex.ALL and self.age_group == AgeGroup.ALL:
            return str(_("Total"))
        return str(Sex(self.sex).label if self.age_group == AgeGroup.ALL else AgeGroup(self.age_group).label)


def cells_of(indicator: Indicator) -> list[tuple[str, str]]:
    cells = [(Sex.ALL, AgeGroup.ALL)]
    if indicator.disaggregated:
        cells += [(Sex.FEMALE, AgeGroup.ALL), (Sex.MALE, AgeGroup.ALL)]
        cells += [(Sex.ALL, age) for age in (AgeGroup.CHILDREN, AgeGroup.ADULTS, AgeGroup.OLDER)]
    return cells


class ReportValuesForm(forms.Form):
    """One achieved value and one comment per indicator and cell of the report."""

    # The version of the values the page showed: a save over someone else's newer save is refused.
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, report: ResultsReport, indicators: list[Indicator], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["version"].initial = report.version
        stored = {(v.indicator_id, v.sex, v.age_group): v for v in report.values.all()}
        self.rows: list[tuple[Indicator, list[Cell]]] = []
        for indicator in indicators:
            cells = []
            for sex, age in cells_of(indicator):
                prefix = f"v{indicator.pk}-{sex}-{age}"
                value = stored.get((indicator.pk, sex, age))
                if indicator.measure != Measure.TEXT:
                    self.fields[f"{prefix}-achieved"] = forms.DecimalField(
                        label=_("Achieved"),
                        required=False,
                        max_digits=14,
                        decimal_places=2,
                        initial=value.achieved if value else None,
                        widget=forms.NumberInput(attrs={"step": "any", "min": "0"}),
                    )
                self.fields[f"{prefix}-comment"] = forms.CharField(
                    label=_("Comment"), required=False, max_length=255, initial=value.comment if value else ""
                )
                cells.append(Cell(indicator, sex, age, prefix))
            self.rows.append((indicator, cells))
        self.cells = [cell for _i, cells in self.rows for cell in cells]

    def bound(self, cell: Cell, name: str):
        key = f"{cell.prefix}-{name}"
        return self[key] if key in self.fields else None

    def values(self) -> list[ReportedValue]:
        return [
            ReportedValue(
                indicator=cell.indicator.pk,
                achieved=self.cleaned_data.get(f"{cell.prefix}-achieved"),
                comment=self.cleaned_data.get(f"{cell.prefix}-comment", ""),
                sex=cell.sex,
                age_group=cell.age_group,
                key=cell.prefix,
            )
            for cell in self.cells
        ]

    def show_refusal(self, error: ValidationError, values: list[ReportedValue]) -> None:
        """Each message of the service next to the input it is about; the rest above the form. After a
        save refused as stale, the form carries the current version (saving again is the user's choice)."""
        current = getattr(error, "current", None)
        if current is not None:
            self.data = self.data.copy()
            self.data["version"] = str(current.version)
        if not hasattr(error, "error_dict"):
            self.add_error(None, error.messages)
            return
        for key, messages in error.message_dict.items():
            parts = key.split("-")
            if parts[0] == "values" and len(parts) == 3 and parts[1].isdigit() and int(parts[1]) < len(values):
                prefix = values[int(parts[1])].key
                name = "comment" if parts[2] == "comment" or f"{prefix}-achieved" not in self.fields else "achieved"
                self.add_error(f"{prefix}-{name}", messages)
            else:
                self.add_error(None, messages)


def default_period(frequency: str | None):
    from programmes.models import Frequency, last_ended_period

    return last_ended_period(timezone.localdate(), frequency or Frequency.QUARTERLY)
