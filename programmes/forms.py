"""Forms that edit programmes: the programme itself, its partners, places, indicators and status."""

from __future__ import annotations

import re
from decimal import Decimal

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db.models import Q
from django.http import QueryDict
from django.utils.translation import gettext_lazy as _

from partners.models import Organisation, User
from regions.models import PCODE_REGEX, AdminUnit, Place, places

from . import edit_merge
from .models import (
    Document,
    DocumentCategory,
    Indicator,
    IndicatorValue,
    Participation,
    Programme,
    ProgrammeLocation,
    RecipientCountry,
    RecipientRegion,
    Status,
    Transaction,
    fold_text,
    indicator_value_set_errors,
    period_locks_for,
)
from .results import IndicatorLink, result_code, result_fields
from .rules import ParticipationRow, RecipientRow, row_key
from .services import EDITABLE_FIELDS, TRANSACTION_FIELDS

DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
NEGATIVE = _("This amount cannot be negative.")


class FocalPointField(forms.ModelChoiceField):
    """Offers active IOM staff; reads any user, so that the domain rule explains a wrong choice."""

    def label_from_instance(self, obj: User) -> str:
        return obj.get_full_name() or obj.username

    def to_python(self, value) -> User | None:
        if value in self.empty_values:
            return None
        try:
            return User.objects.get(pk=int(value))
        except (TypeError, ValueError, User.DoesNotExist):
            raise ValidationError(self.error_messages["invalid_choice"], code="invalid_choice") from None


# --- The programme ----------------------------------------------------------------------------


class ProgrammeForm(forms.ModelForm):
    """The programme's own fields, with the version the editor loaded (optimistic concurrency)."""

    version = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=1)
    loaded_state = forms.CharField(widget=forms.HiddenInput, required=False)

    class Meta:
        model = Programme
        fields = [
            "code",
            "title_fr",
            "title_en",
            "summary_fr",
            "summary_en",
            "primary_sector",
            "secondary_sectors",
            "scope",
            "planned_start",
            "planned_end",
            "actual_start",
            "actual_end",
            "budget",
            "currency",
            "modality",
            "iom_focal_point",
            "internal_notes",
            "iati_publish",
            "iati_exclusion_reason",
        ]
        field_classes = {"iom_focal_point": FocalPointField}
        widgets = {
            "summary_fr": forms.Textarea(attrs={"rows": 4}),
            "summary_en": forms.Textarea(attrs={"rows": 4}),
            "internal_notes": forms.Textarea(attrs={"rows": 3}),
            "secondary_sectors": forms.CheckboxSelectMultiple,
            "planned_start": DATE_WIDGET,
            "planned_end": DATE_WIDGET,
            "actual_start": DATE_WIDGET,
            "actual_end": DATE_WIDGET,
            "budget": forms.NumberInput(attrs={"min": "0", "step": "0.01"}),
        }
        help_texts = {
            "code": _("Capital letters, digits, dots or hyphens, e.g. NE-CT-2026-001. It cannot change later."),
        }

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        focal_points = User.objects.iom_staff()
        if self.instance.iom_focal_point_id:
            # Keep the current focal point selectable even if they have left since.
            focal_points = User.objects.filter(
                Q(pk__in=focal_points.values("pk")) | Q(pk=self.instance.iom_focal_point_id)
            ).order_by("last_name", "first_name", "username")
        self.fields["iom_focal_point"].queryset = focal_points
        if self.instance.pk:
            # The code names the programme in URLs, exports and IATI: it is fixed once created.
            self.fields["code"].disabled = True
            self.fields["code"].help_text = ""
            self.fields["version"].required = True
            self.fields["version"].error_messages["required"] = _(
                "The form lost track of the version you loaded. Reload the page before saving."
            )
            self.initial.setdefault("version", self.instance.version)

    def clean_code(self) -> str:
        return (self.cleaned_data.get("code") or "").strip().upper()

    def service_fields(self) -> dict:
        """The programme's own fields as the services take them (the rules live in programmes/rules.py)."""
        return {name: self.cleaned_data[name] for name in EDITABLE_FIELDS if name in self.cleaned_data}


# --- Shared choices -----------------------------------------------------------------------------


class SharedChoicesFormSetMixin:
    """Evaluate each select's choices once per formset instead of once per row (constant queries)."""

    shared_choice_fields: tuple[str, ...] = ()

    def get_form_kwargs(self, index):
        kwargs = super().get_form_kwargs(index)
        if not hasattr(self, "_shared_choices"):
            template = self.form(**self.form_extra_kwargs())
            # iter() first: list() on the choice iterator would ask for its len(), an extra COUNT query.
            self._shared_choices = {
                name: list(iter(template.fields[name].choices)) for name in self.shared_choice_fields
            }
        return {**kwargs, **self.form_extra_kwargs(), "shared_choices": self._shared_choices}

    def form_extra_kwargs(self) -> dict:
        return {}


class SharedChoicesForm(forms.ModelForm):
    def __init__(self, *args, shared_choices: dict | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for name, choices in (shared_choices or {}).items():
            self.fields[name].choices = choices


# --- Partners ---------------------------------------------------------------------------------


class ParticipationForm(SharedChoicesForm):
    class Meta:
        model = Participation
        fields = ["organisation", "role", "contribution", "notes", "reports_results"]
        widgets = {"contribution": forms.NumberInput(attrs={"min": "0", "step": "0.01"})}
        help_texts = {"contribution": _("Funding partners only, in the programme's currency.")}

    def __init__(self, *args, organisations=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["organisation"].queryset = organisations


class BaseParticipationFormSet(SharedChoicesFormSetMixin, forms.BaseInlineFormSet):
    shared_choice_fields = ("organisation",)

    def __init__(self, *args, user=None, **kwargs) -> None:
        self.user = user
        super().__init__(*args, **kwargs)

    def form_extra_kwargs(self) -> dict:
        # Active organisations the user may see, plus any inactive one already on the programme.
        current = Participation.objects.filter(programme_id=self.instance.pk or 0).values("organisation_id")
        organisations = Organisation.objects.visible_to(self.user).filter(Q(is_active=True) | Q(pk__in=current))
        return {"organisations": organisations}

    def validate_unique(self) -> None:
        """One role per organisation is a domain rule: the service says it next to the row."""

    def service_rows(self) -> list[ParticipationRow]:
        return [
            ParticipationRow.from_mapping(form.cleaned_data)
            for form in live_forms(self)
            if form.cleaned_data.get("organisation")
        ]


ParticipationFormSet = forms.inlineformset_factory(
    Programme, Participation, form=ParticipationForm, formset=BaseParticipationFormSet, extra=1, can_delete=True
)


# --- Places -----------------------------------------------------------------------------------


def find_places(text: str, limit: int = 20) -> list[Place]:
    """Places whose P-code or name (French, English or alternative spelling) matches, ignoring accents."""
    query = fold_text(text).strip()
    if not query:
        return []
    if re.fullmatch(r"ne[0-9]*", query):
        found = [place for place in places() if place.pcode.lower().startswith(query)]
    else:
        words = query.split()
        found = [place for place in places() if all(word in fold_text(place.names) for word in words)]
    # Exact names first, then names starting with the text, then by level and path.
    found.sort(key=lambda p: (_rank(p, query), p.level, fold_text(p.label)))
    return found[:limit]


def _rank(place: Place, query: str) -> int:
    name = fold_text(place.label.rsplit(" › ", 1)[-1])
    if name == query or place.pcode.lower() == query:
        return 0
    return 1 if name.startswith(query) else 2


LABEL_SEPARATOR = re.compile(r"\s*[›>]\s*")


def _label_key(label: str) -> str:
    """'tillaberi › kollo › namaro' for 'Tillabéri›Kollo > Namaro': labels compared without accents or spacing."""
    return " › ".join(" ".join(part.split()) for part in LABEL_SEPARATOR.split(fold_text(label).strip()))


class PlaceInput(forms.TextInput):
    """A P-code text box; static/js/picker.js turns it into a search by name."""

    def __init__(self, attrs=None) -> None:
        defaults = {"data-place-picker": "", "autocomplete": "off", "spellcheck": "false"}
        super().__init__({**defaults, **(attrs or {})})


class PlaceField(forms.Field):
    """A place given by its P-code, its full label, or a name that designates exactly one place."""

    widget = PlaceInput
    default_error_messages = {
        "unknown_pcode": _("No place has the P-code %(value)s."),
        "unknown_name": _("No place is called “%(value)s”. Pick one from the list or type its P-code."),
        "ambiguous": _(
            "Several places are called “%(value)s” (%(places)s): pick one from the list or type its P-code."
        ),
    }

    def to_python(self, value) -> AdminUnit | None:
        text = (value or "").strip()
        if not text:
            return None
        if re.fullmatch(PCODE_REGEX, text.upper()):
            unit = AdminUnit.objects.without_boundary().filter(pcode=text.upper()).first()
            if unit is None:
                raise ValidationError(self.error_messages["unknown_pcode"], params={"value": text.upper()})
            return unit
        if LABEL_SEPARATOR.search(text):
            # A full label, as the picker shows it: "Agadez › Tchirozerine › Agadez".
            key = _label_key(text)
            exact = [p for p in places() if _label_key(p.label) == key]
        else:
            exact = [p for p in find_places(text, limit=50) if _rank(p, fold_text(text).strip()) == 0]
        if not exact:
            raise ValidationError(self.error_messages["unknown_name"], params={"value": text})
        if len(exact) > 1:
            candidates = "; ".join(f"{p.label} = {p.pcode}" for p in exact)
            raise ValidationError(self.error_messages["ambiguous"], params={"value": text, "places": candidates})
        return AdminUnit.objects.without_boundary().get(pcode=exact[0].pcode)

    def prepare_value(self, value):
        return value.pcode if isinstance(value, AdminUnit) else value

    def has_changed(self, initial, data) -> bool:
        return str(initial or "").strip().upper() != str(data or "").strip().upper()


class LocationForm(forms.ModelForm):
    admin_unit = PlaceField(
        label=_("Place"), widget=PlaceInput(attrs={"placeholder": _("Name or P-code, e.g. NE006012007")})
    )

    class Meta:
        model = ProgrammeLocation
        fields = ["admin_unit"]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            unit = self.instance.admin_unit
            self.initial["admin_unit"] = unit.pcode
            self.fields["admin_unit"].widget.attrs["data-label"] = unit.path_label


class BaseLocationFormSet(forms.BaseInlineFormSet):
    def validate_unique(self) -> None:
        """A place listed twice is a domain rule: the service says it next to the row."""

    def service_units(self) -> list[AdminUnit]:
        return [form.cleaned_data["admin_unit"] for form in live_forms(self) if form.cleaned_data.get("admin_unit")]


LocationFormSet = forms.inlineformset_factory(
    Programme, ProgrammeLocation, form=LocationForm, formset=BaseLocationFormSet, extra=1, can_delete=True
)


# --- Recipient countries and regions ------------------------------------------------------------


class RecipientForm(SharedChoicesForm):
    """A recipient country or region with its percentage; the rules (sum, scope) are the services'."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["percentage"].widget.attrs.update({"min": "0.01", "max": "100", "step": "0.01"})


class BaseRecipientFormSet(SharedChoicesFormSetMixin, forms.BaseInlineFormSet):
    key = ""
    shared_choice_fields: tuple[str, ...] = ()

    def validate_unique(self) -> None:
        """A country listed twice is a domain rule: the service says it next to the row."""

    def service_rows(self) -> list[RecipientRow]:
        return [
            RecipientRow(form.cleaned_data[self.key], form.cleaned_data.get("percentage"))
            for form in live_forms(self)
            if form.cleaned_data.get(self.key)
        ]


class BaseRecipientCountryFormSet(BaseRecipientFormSet):
    key = "country"
    shared_choice_fields = ("country",)


class BaseRecipientRegionFormSet(BaseRecipientFormSet):
    key = "region"
    shared_choice_fields = ("region",)


class RecipientCountryForm(RecipientForm):
    class Meta:
        model = RecipientCountry
        fields = ["country", "percentage"]


class RecipientRegionForm(RecipientForm):
    class Meta:
        model = RecipientRegion
        fields = ["region", "percentage"]


RecipientCountryFormSet = forms.inlineformset_factory(
    Programme,
    RecipientCountry,
    form=RecipientCountryForm,
    formset=BaseRecipientCountryFormSet,
    extra=1,
    can_delete=True,
)
RecipientRegionFormSet = forms.inlineformset_factory(
    Programme,
    RecipientRegion,
    form=RecipientRegionForm,
    formset=BaseRecipientRegionFormSet,
    extra=1,
    can_delete=True,
)


# --- Indicators and their period values ---------------------------------------------------------


class IndicatorValueForm(forms.ModelForm):
    class Meta:
        model = IndicatorValue
        fields = ["period_start", "period_end", "sex", "age_group", "target", "achieved", "comment"]
        widgets = {
            "period_start": DATE_WIDGET,
            "period_end": DATE_WIDGET,
            "target": forms.NumberInput(attrs={"min": "0", "step": "any"}),
            "achieved": forms.NumberInput(attrs={"min": "0", "step": "any"}),
        }
        error_messages = {"target": {"min_value": NEGATIVE}, "achieved": {"min_value": NEGATIVE}}

    def validate_unique(self) -> None:
        # The submitted values of the indicator are checked as a set by the formset (ValueSetMixin).
        exclude = self._get_validation_exclusions() | {"indicator"}
        try:
            self.instance.validate_unique(exclude=exclude)
            self.instance.validate_constraints(exclude=exclude)
        except ValidationError as error:
            self._update_errors(error)


class ValueSetMixin:
    """A formset of one indicator's values: the submitted set meets `indicator_value_set_errors`
    (one value per cell, breakdowns within their total), the rule the model applies to stored values."""

    def clean(self) -> None:
        rows = [form for form in live_forms(self) if not form.errors]
        indicator = self.instance
        programme = getattr(indicator, "programme", None) if indicator.programme_id else None
        for form in getattr(self, "deleted_forms", []):
            value = form.instance
            if value.pk and programme is not None:
                locked = period_locks_for(programme).problem(
                    value.period_start, value.period_end, indicator.reporting_partner_id
                )
                if locked:
                    raise ValidationError(locked)
        for index, fields in indicator_value_set_errors([form.instance for form in rows]).items():
            for name, messages in fields.items():
                for message in messages:
                    rows[index].add_error(name, message)
        super().clean()


class BaseIndicatorValueFormSet(ValueSetMixin, forms.BaseInlineFormSet):
    """Values of one indicator; the rows can come prefetched for the whole programme (no query each)."""

    def __init__(self, *args, prefetched: list | None = None, **kwargs) -> None:
        self.prefetched = prefetched
        super().__init__(*args, **kwargs)

    def get_queryset(self):
        if self.prefetched is not None:
            return self.prefetched
        return super().get_queryset()

    @property
    def empty_form(self):
        # Its own placeholder, so that the indicator template's __prefix__ can be replaced separately.
        form = self.form(
            auto_id=self.auto_id,
            prefix=self.add_prefix("__vprefix__"),
            empty_permitted=True,
            use_required_attribute=False,
            **self.get_form_kwargs(None),
            renderer=self.renderer,
        )
        self.add_fields(form, None)
        return form


IndicatorValueFormSet = forms.inlineformset_factory(
    Indicator, IndicatorValue, form=IndicatorValueForm, formset=BaseIndicatorValueFormSet, extra=1, can_delete=True
)


class IndicatorForm(SharedChoicesForm):
    result = forms.CharField(
        label=_("Result measured"),
        required=False,
        max_length=20,
        widget=forms.TextInput(attrs={"list": "result-codes", "autocomplete": "off", "size": 8}),
        help_text=_("Code of an outcome or output above, e.g. OC1 or OP1.1; empty for none."),
    )

    class Meta:
        model = Indicator
        fields = ["code", "name_fr", "name_en", "unit", "measure", "people", "cumulative", "frequency"]
        fields += ["baseline", "target", "key_indicator", "reporting_partner"]
        widgets = {
            "baseline": forms.NumberInput(attrs={"min": "0", "step": "any"}),
            "target": forms.NumberInput(attrs={"min": "0", "step": "any"}),
        }
        error_messages = {"baseline": {"min_value": NEGATIVE}, "target": {"min_value": NEGATIVE}}
        # Explained once above the list rather than under every row.
        help_texts = {"cumulative": "", "unit": "", "people": ""}

    def __init__(self, *args, reporters=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if reporters is not None:
            self.fields["reporting_partner"].queryset = reporters
        self.fields["reporting_partner"].empty_label = _("IOM")
        if self.instance.pk:
            self.initial.setdefault("result", result_code(self.instance))

    def clean_result(self) -> str:
        return (self.cleaned_data.get("result") or "").strip()

    def link(self) -> IndicatorLink:
        return IndicatorLink(
            result=self.cleaned_data.get("result", ""),
            pk=self.instance.pk,
            code=self.cleaned_data.get("code", ""),
            key=self,
        )


class BaseIndicatorFormSet(SharedChoicesFormSetMixin, forms.BaseInlineFormSet):
    """Indicators of a programme, each carrying the formset of its period values (`form.values`).

    With `results` (the outcomes formset of the same page), the result each indicator measures is
    checked against the submitted framework, and saved once `results` has been written (`resolved`).
    """

    shared_choice_fields = ("reporting_partner",)

    def form_extra_kwargs(self) -> dict:
        # The organisations taking part in the programme (the rule says which of them may report).
        return {"reporters": Organisation.objects.filter(participations__programme_id=self.instance.pk or 0)}

    def __init__(self, *args, results=None, **kwargs) -> None:
        self.results = results
        self.resolved: dict | None = None
        kwargs.setdefault("queryset", Indicator.objects.select_related("outcome", "output"))
        super().__init__(*args, **kwargs)
        values_by_indicator: dict[int, list] = {}
        if self.instance.pk:
            for value in IndicatorValue.objects.filter(indicator__programme=self.instance):
                values_by_indicator.setdefault(value.indicator_id, []).append(value)
        for form in self.forms:
            form.values = self._values_formset(form, values_by_indicator.get(form.instance.pk, []))

    def _values_formset(self, form, prefetched: list) -> BaseIndicatorValueFormSet:
        return IndicatorValueFormSet(
            self.data if self.is_bound else None,
            instance=form.instance,
            prefix=f"{form.prefix}-values",
            prefetched=prefetched if form.instance.pk else [],
        )

    @property
    def empty_form(self):
        form = super().empty_form
        form.values = self._values_formset(form, [])
        return form

    def is_valid(self) -> bool:
        valid = super().is_valid()
        kept = [f for f in self.forms if hasattr(f, "cleaned_data") and not self._should_delete_form(f)]
        valid = all([valid, *(form.values.is_valid() for form in kept)])
        if self.results is None:
            return valid
        # The framework and the indicators pointing into it are checked together, once both parse.
        if not hasattr(self, "_results_checked"):
            self._results_checked = True
            if valid and self.results.is_valid():
                for problem in self.results.problems(self.links()):
                    problem.key.add_error(problem.field, problem.message)
        return valid and self.results.is_valid() and not any(f.errors for f in kept)

    def links(self) -> list[IndicatorLink]:
        """The indicators the programme keeps, with the result each measures."""
        return [form.link() for form in live_forms(self)]

    def clean(self) -> None:
        for form in self.forms:
            if not form.instance.pk and not form.has_changed() and form.values.has_changed():
                form.add_error("code", _("Fill in the indicator before its period values."))
        seen: set[str] = set()
        for form in live_forms(self):
            code = form.cleaned_data.get("code")
            if code:
                if code in seen:
                    form.add_error("code", _("Another indicator of this programme already uses this code."))
                seen.add(code)
        super().clean()

    def save_new(self, form, commit: bool = True):
        self._attach(form)
        return super().save_new(form, commit=commit)

    def save_existing(self, form, obj, commit: bool = True):
        self._attach(form)
        return super().save_existing(form, obj, commit=commit)

    def _attach(self, form) -> None:
        if self.resolved is not None:
            result = self.resolved.get(form.cleaned_data.get("result", ""))
            form.instance.outcome, form.instance.output = result_fields(result)

    def save(self, commit: bool = True):
        indicators = super().save(commit=commit)
        for form in self.forms:
            if form in self.deleted_forms or not form.instance.pk:
                continue
            form.values.instance = form.instance
            form.values.save()
        return indicators


IndicatorFormSet = forms.inlineformset_factory(
    Programme, Indicator, form=IndicatorForm, formset=BaseIndicatorFormSet, extra=1, can_delete=True
)


def show_refusal(refused: ValidationError, form: forms.BaseForm, lists: dict[str, tuple]) -> None:
    """Put a service's refusal next to the fields it names. `lists` maps a list name (participations,
    locations) to (formset, forms in the order the service received the rows, see programmes/rules.py)."""
    errors = refused.message_dict if hasattr(refused, "error_dict") else {NON_FIELD_ERRORS: refused.messages}
    for key, messages in errors.items():
        found = row_key(key)
        if found and found[0] in lists and found[1] < len(lists[found[0]][1]):
            row_form = lists[found[0]][1][found[1]]
            row_form.add_error(found[2] if found[2] in row_form.fields else None, messages)
        elif key in lists:
            lists[key][0].non_form_errors().extend(messages)
        elif key in form.fields:
            form.add_error(key, messages)
        else:
            form.add_error(None, messages)


def live_forms(formset) -> list[forms.Form]:
    """The validated rows that will be saved: filled in and not ticked for deletion."""
    rows = []
    for form in formset.forms:
        if not hasattr(form, "cleaned_data"):
            continue
        if formset.can_delete and formset._should_delete_form(form):
            continue
        if not form.has_changed() and not form.instance.pk:
            continue
        rows.append(form)
    return rows


# --- Status -------------------------------------------------------------------------------------


class StatusChangeForm(forms.Form):
    """One step along the programme lifecycle: parses the step, the reason and the actual end.

    What the step needs (road, recorded basis, reason, actual end) is decided by
    `programme_change_status`, never here.
    """

    to_status = forms.ChoiceField(label=_("New status"), choices=Status.choices)
    reason = forms.CharField(
        label=_("Reason"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Required to suspend, request a revision, and for the steps that cannot be undone."),
    )
    actual_end = forms.DateField(
        label=_("Actual end"),
        required=False,
        help_text=_("When the programme actually ended (completing or closing it); today if left empty."),
        widget=forms.DateInput(
            attrs={
                "type": "date",
                "class": "form-control form-control-sm w-auto",
                "aria-describedby": "status-actual-end-help",
            },
            format="%Y-%m-%d",
        ),
    )
    confirmed = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, programme: Programme, **kwargs) -> None:
        self.programme = programme
        super().__init__(*args, **kwargs)


class AgreementForm(forms.Form):
    """The signed agreement or donor contract of a programme on the agreement road."""

    reference = forms.CharField(label=_("Agreement reference"), max_length=100)
    signed_on = forms.DateField(label=_("Date signed"), widget=DATE_WIDGET)
    document = forms.ModelChoiceField(
        label=_("Signed agreement"),
        queryset=Document.objects.none(),
        help_text=_("Upload it first as a document of the programme in the category “Agreement”."),
    )

    def __init__(self, *args, programme: Programme, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["document"].queryset = Document.objects.filter(
            programme=programme, category=DocumentCategory.AGREEMENT
        ).order_by("-uploaded_at")


# --- Concurrent edits: the page as a state of programmes/edit_merge.py, and back -------------------


def form_edit_state(form: ProgrammeForm, formsets: dict) -> edit_merge.State:
    """What the editor submitted (a valid page), in the shape of `edit_merge.stored_state`."""
    state: edit_merge.State = {}
    for name in edit_merge.FIELDS:
        if name in form.cleaned_data:
            edit_merge.add_field(state, name, form.cleaned_data[name])
    for sector in form.cleaned_data.get("secondary_sectors") or []:
        edit_merge.add_sector(state, sector)
    for row in live_forms(formsets["participations"]):
        data = row.cleaned_data
        if data.get("organisation"):
            edit_merge.add_participation(
                state,
                data["organisation"],
                data.get("role"),
                data.get("contribution"),
                data.get("notes"),
                data.get("reports_results"),
            )
    for row in live_forms(formsets["locations"]):
        if row.cleaned_data.get("admin_unit"):
            edit_merge.add_location(state, row.cleaned_data["admin_unit"])
    for kind, key in edit_merge.RECIPIENT_KEYS.items():
        for row in live_forms(formsets[kind]):
            if row.cleaned_data.get(key):
                edit_merge.add_recipient(state, kind, row.cleaned_data[key], row.cleaned_data.get("percentage"))
    outcomes = formsets["outcomes"]
    for outcome in outcomes.forms:
        if (not outcome.instance.pk and not outcome.has_changed()) or outcomes._should_delete_form(outcome):
            continue
        parent = _add_form_row(state, "outcomes", outcome)
        for output in outcome.outputs.forms:
            if (not output.instance.pk and not output.has_changed()) or outcome.outputs._should_delete_form(output):
                continue
            _add_form_row(state, "outputs", output, outcome=parent)
    for indicator in live_forms(formsets["indicators"]):
        parent = _add_form_row(state, "indicators", indicator)
        for value in live_forms(indicator.values):
            _add_form_row(state, "values", value, indicator=parent, indicator_code=indicator.cleaned_data.get("code"))
    return state


def _add_form_row(state: edit_merge.State, kind: str, row: forms.BaseForm, indicator_code: str = "", **parent) -> str:
    data = row.cleaned_data
    # A stored row removed meanwhile keeps the id the page had for it (see only_vanished_rows).
    vanished = row.data.get(row.add_prefix("id")) if "id" in row.errors else None
    rid = str(row.instance.pk) if row.instance.pk else str(vanished or f"new:{row.prefix}")
    cells = {
        name: data.get(name)
        for name in edit_merge.ROW_FIELDS[kind]
        if name in data and (kind, name) not in edit_merge.PARENTS  # the parent is given as its row id
    }
    if kind == "values":
        label = edit_merge.value_label(
            indicator_code, data.get("period_start"), data.get("period_end"), data.get("sex"), data.get("age_group")
        )
    else:
        label = data.get("code") or ""
    return edit_merge.add_row(state, kind, rid, label=label, pk=row.instance.pk, **cells, **parent)


def only_vanished_rows(form: ProgrammeForm, formsets: dict) -> bool:
    """The page is refused only because rows it shows were removed meanwhile (their id is unknown now):
    an outdated page can still be merged, those rows matched by the id they had."""

    def fine(formset) -> bool:
        if formset.non_form_errors():
            return False
        for row in formset.forms:
            if formset.can_delete and formset._should_delete_form(row):
                continue
            if set(row.errors) - {"id"}:
                return False
            nested = getattr(row, "outputs", None) or getattr(row, "values", None)
            if nested is not None and not fine(nested):
                return False
        return True

    return not form.errors and all(fine(formset) for formset in formsets.values())


def merged_form_data(state: edit_merge.State, theirs: edit_merge.State, programme: Programme) -> QueryDict:
    """The page's data for a merged state, bound to the programme as stored now (`theirs`).

    Stored rows the merge removes are posted ticked for deletion; rows it keeps that are no longer
    stored (changed here, removed there) come back as new rows, with what the editor typed.
    """
    data = QueryDict(mutable=True)
    data["version"] = str(programme.version)
    data["loaded_state"] = edit_merge.fingerprint(theirs)
    data["code"] = programme.code
    for name in edit_merge.FIELDS:
        if (name,) in state:
            _put(data, name, state[(name,)].value)
    data.setlist(
        "secondary_sectors", [str(row[""].value.pk) for row in edit_merge.rows(state, "secondary_sectors").values()]
    )
    _put_formset(data, "participations", state, theirs, "participations", ("organisation",))
    _put_formset(data, "locations", state, theirs, "locations", ("admin_unit",))
    for kind, key in edit_merge.RECIPIENT_KEYS.items():
        _put_formset(data, kind, state, theirs, kind, (key,))
    _put_formset(data, "outcomes", state, theirs, "outcomes", (), children=("outputs", "outcome", "outputs"))
    _put_formset(data, "indicators", state, theirs, "indicators", (), children=("values", "indicator", "values"))
    return data


def _put(data: QueryDict, name: str, value) -> None:
    if isinstance(value, bool):
        if value:
            data[name] = "on"
        return
    if isinstance(value, AdminUnit):
        data[name] = value.pcode
    elif hasattr(value, "pk"):
        data[name] = str(value.pk)
    elif isinstance(value, Decimal):
        data[name] = str(value)
    else:
        data[name] = edit_merge.canonical(value) if value is not None else ""


def _put_formset(data, prefix, state, theirs, kind, identity, children=None, parent=None) -> None:
    """One formset's rows: `children` = (child list, parent cell, child prefix) for nested formsets."""
    merged = edit_merge.rows(state, kind)
    stored = edit_merge.rows(theirs, kind)
    if parent is not None:  # a nested formset: the rows of this parent only
        cell = "outcome" if kind == "outputs" else "indicator"
        merged = {rid: row for rid, row in merged.items() if row[cell].text == parent[0]}
        stored = {rid: row for rid, row in stored.items() if row[cell].text == parent[0]} if parent[1] else {}
    every_stored = set(edit_merge.rows(theirs, kind))
    index = 0
    for rid, row in stored.items():
        kept = merged.pop(rid, None)
        _put_row(data, f"{prefix}-{index}", kind, kept or row, identity, pk=row[""].pk, delete=kept is None)
        if children:
            _put_formset(data, f"{prefix}-{index}-{children[2]}", state, theirs, children[0], (), parent=(rid, True))
        index += 1
    initial = index
    for rid, row in merged.items():
        if rid in every_stored:  # stored under another parent: written there
            continue
        _put_row(data, f"{prefix}-{index}", kind, row, identity, pk=None, delete=False)
        if children:
            _put_formset(data, f"{prefix}-{index}-{children[2]}", state, theirs, children[0], (), parent=(rid, False))
        index += 1
    data[f"{prefix}-TOTAL_FORMS"] = str(index)
    data[f"{prefix}-INITIAL_FORMS"] = str(initial)
    data[f"{prefix}-MIN_NUM_FORMS"] = "0"
    data[f"{prefix}-MAX_NUM_FORMS"] = "1000"


def _put_row(data, prefix, kind, row, identity, *, pk, delete) -> None:
    if pk is not None:
        data[f"{prefix}-id"] = str(pk)
    if delete:
        data[f"{prefix}-DELETE"] = "on"
    for name in identity:
        _put(data, f"{prefix}-{name}", row[""].value)
    for name in edit_merge.ROW_FIELDS[kind]:
        if (kind, name) not in edit_merge.PARENTS and name in row:
            _put(data, f"{prefix}-{name}", row[name].value)


# --- Money ------------------------------------------------------------------------------------------


class TransactionForm(forms.ModelForm):
    """One transaction of a programme, as staff record it (the services check and save it)."""

    class Meta:
        model = Transaction
        fields = list(TRANSACTION_FIELDS)
        widgets = {
            "date": DATE_WIDGET,
            "value": forms.NumberInput(attrs={"min": "0.01", "step": "0.01"}),
        }

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        organisations = Organisation.objects.filter(is_active=True).order_by("name_fr")
        self.fields["provider"].queryset = organisations
        self.fields["receiver"].queryset = organisations

    def _post_clean(self) -> None:
        """The rules are the services' (programmes/rules.py), applied when saving."""

    def service_fields(self) -> dict:
        return {name: self.cleaned_data[name] for name in TRANSACTION_FIELDS if name in self.cleaned_data}
