"""Forms that edit programmes: the programme itself, its partners, places, indicators and status."""

from __future__ import annotations

import hashlib
import json
import re
from decimal import Decimal

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from partners.models import Organisation, User
from regions.models import PCODE_REGEX, AdminUnit, Place, places

from .models import (
    Document,
    DocumentCategory,
    Indicator,
    IndicatorValue,
    Participation,
    Programme,
    ProgrammeLocation,
    Role,
    Status,
    fold_text,
    indicator_value_set_errors,
    period_locks_for,
)
from .results import IndicatorLink, result_code, result_fields
from .rules import ParticipationRow, row_key
from .services import EDITABLE_FIELDS

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
            "iom_focal_point",
            "internal_notes",
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


# --- What changed since the editor loaded the page ------------------------------------------------


def programme_state(programme: Programme) -> dict[str, str]:
    """A readable value per edited field and related list, as stored now (used to explain conflicts)."""
    state = {name: display_value(programme, name) for name in ProgrammeForm.Meta.fields if name != "secondary_sectors"}
    state["secondary_sectors"] = ", ".join(sorted(s.code for s in programme.secondary_sectors.all()))
    state["status"] = programme.get_status_display()
    participations = programme.participations.select_related("organisation")
    state["participations"] = participations_label((p.organisation, p.role, p.contribution) for p in participations)
    state["locations"] = ", ".join(
        sorted(loc.admin_unit.pcode for loc in programme.locations.select_related("admin_unit"))
    )
    state["indicators"] = indicators_label((i.code, i.target) for i in programme.indicators.all())
    return state


def participations_label(rows) -> str:
    labels = []
    for organisation, role, contribution in rows:
        label = f"{organisation.short_name} ({Role(role).label}"
        label += f", {contribution.normalize():f})" if contribution is not None else ")"
        labels.append(label)
    return "; ".join(sorted(labels))


def indicators_label(rows) -> str:
    return "; ".join(
        sorted(f"{code} → {target.normalize():f}" if target is not None else code for code, target in rows)
    )


def digest(value: str) -> str:
    return hashlib.sha256(str(value).encode()).hexdigest()[:12]


def state_fingerprint(state: dict[str, str]) -> str:
    """A compact hidden-field value: a short hash of each value, enough to see who changed what."""
    return json.dumps({key: digest(value) for key, value in state.items()}, separators=(",", ":"))


def read_fingerprint(fingerprint: str) -> dict[str, str] | None:
    """The hashes the editor loaded, or None if the hidden field is missing or unreadable."""
    try:
        loaded = json.loads(fingerprint)
    except (TypeError, ValueError):
        return None
    return loaded if isinstance(loaded, dict) else None


def form_values(programme: Programme) -> dict[str, str | list[str]]:
    """The programme's stored values as the form posts them (to merge someone else's changes)."""
    unbound = ProgrammeForm(instance=programme)
    values: dict[str, str | list[str]] = {}
    for name in ProgrammeForm.Meta.fields:
        value = unbound[name].value()
        if isinstance(value, list | tuple):
            values[name] = [str(v) for v in value]
        elif value is None:
            values[name] = ""
        elif hasattr(value, "isoformat"):
            values[name] = value.isoformat()
        else:
            values[name] = str(value)
    return values


def posted_state(form: ProgrammeForm, formsets: dict) -> dict[str, str]:
    """The same readable values as `programme_state`, for what the editor submitted (after validation)."""
    # form.instance already carries the posted values; many-to-many values come from cleaned_data.
    names = [name for name in ProgrammeForm.Meta.fields if name != "secondary_sectors"]
    state = {name: display_value(form.instance, name) for name in names}
    state["secondary_sectors"] = ", ".join(sorted(s.code for s in form.cleaned_data.get("secondary_sectors", [])))
    # Rows with errors count with what could be read from them.
    rows = [f.cleaned_data for f in live_forms(formsets["participations"])]
    state["participations"] = participations_label(
        (row["organisation"], row["role"], row.get("contribution"))
        for row in rows
        if row.get("organisation") and row.get("role")
    )
    rows = [f.cleaned_data for f in live_forms(formsets["locations"])]
    state["locations"] = ", ".join(sorted(row["admin_unit"].pcode for row in rows if row.get("admin_unit")))
    rows = [f.cleaned_data for f in live_forms(formsets["indicators"])]
    state["indicators"] = indicators_label((row["code"], row.get("target")) for row in rows if row.get("code"))
    return state


def display_value(programme: Programme, name: str) -> str:
    field = Programme._meta.get_field(name)
    value = getattr(programme, name)
    if value is None or value == "":
        return ""
    if field.choices:
        return str(getattr(programme, f"get_{name}_display")())
    if isinstance(value, Decimal):
        return f"{value.normalize():f}"
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if name == "iom_focal_point":
        return value.get_full_name() or value.username
    return str(value)
