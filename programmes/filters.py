"""The programme filters, shared by the web list, the CSV download, the API and the reports."""

from __future__ import annotations

import copy

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from django_filters.fields import ModelChoiceField
from django_filters.filters import FilterMethod

from partners.models import Organisation
from regions.models import AdminUnit, Country, Region, cached_reference

from .models import Currency, Programme, Role, Scope, Sector, Status

ORDERING = {
    "code": ("code",),
    "-code": ("-code",),
    "title": ("title_fr",),
    "start": ("planned_start", "code"),
    "-start": ("-planned_start", "code"),
    "budget": ("budget", "code"),
    "-budget": ("-budget", "code"),
    "status": ("status", "code"),
}


def _organisations(request) -> object:
    user = getattr(request, "user", None)
    return Organisation.objects.visible_to(user) if user is not None else Organisation.objects.none()


class _CopiedPerFilterSet:
    """A filter that each filterset copies without deep-copying what it holds (querysets, choices, labels: the
    deep copy of 14 filters was a tenth of the list page's time). What differs per filterset is its own: the
    `extra` arguments (the queryset is set in them), the form field, and the filter method bound to the copy."""

    def __deepcopy__(self, memo):
        clone = copy.copy(self)
        memo[id(self)] = clone
        clone.extra = dict(self.extra)
        clone.__dict__.pop("_field", None)
        clone.__dict__.pop("parent", None)
        if isinstance(self.__dict__.get("filter"), FilterMethod):
            clone.method = self.method  # a FilterMethod of the copy, resolved against the copy's filterset
        return clone


class CharFilter(_CopiedPerFilterSet, django_filters.CharFilter):
    pass


class ChoiceFilter(_CopiedPerFilterSet, django_filters.ChoiceFilter):
    pass


class MultipleChoiceFilter(_CopiedPerFilterSet, django_filters.MultipleChoiceFilter):
    pass


class ModelChoiceFilter(_CopiedPerFilterSet, django_filters.ModelChoiceFilter):
    pass


class DateFilter(_CopiedPerFilterSet, django_filters.DateFilter):
    pass


class ReferenceChoiceField(ModelChoiceField):
    """A choice among reference data (sectors, places) found in the cached reference list (`cached_reference`:
    rebuilt when they change) instead of one query per request; the same value, the same error."""

    def to_python(self, value):
        if value in self.empty_values:
            return None
        if self.null_label is not None and value == self.null_value:
            return value
        self.validate_no_null_characters(value)
        key = self.to_field_name or "pk"
        queryset = self.queryset
        by_key = cached_reference(
            f"filter-choices:{queryset.model._meta.label}:{key}", lambda: {str(getattr(o, key)): o for o in queryset}
        )
        found = by_key.get(str(getattr(value, key, value)))
        if found is None:
            raise ValidationError(self.error_messages["invalid_choice"], code="invalid_choice", params={"value": value})
        return found


class ReferenceChoiceFilter(ModelChoiceFilter):
    field_class = ReferenceChoiceField


class ProgrammeFilterForm(forms.Form):
    def clean(self) -> dict:
        data = super().clean()
        start, end = data.get("active_from"), data.get("active_to")
        if start and end and end < start:
            self.add_error("active_to", _("The end of the period cannot be before its start."))
        return data


class ProgrammeFilter(django_filters.FilterSet):
    """Filters in the URL, so that a search can be shared: ?q=&sector=&status=&region=... ."""

    q = CharFilter(label=_("Search"), method="filter_search")
    sector = ReferenceChoiceFilter(
        label=_("Sector"), queryset=Sector.objects.all(), to_field_name="code", method="filter_sector"
    )
    status = MultipleChoiceFilter(label=_("Status"), choices=Status.choices)
    scope = ChoiceFilter(label=_("Scope"), choices=Scope.choices)
    currency = ChoiceFilter(label=_("Currency"), choices=Currency.choices)
    area = ReferenceChoiceFilter(
        label=_("Region, department or commune"),
        queryset=AdminUnit.objects.without_boundary(),
        to_field_name="pcode",
        method="filter_area",
        help_text=_("A P-code: a programme in a commune is found under its department and region."),
    )
    country = ModelChoiceFilter(
        label=_("Recipient country"),
        queryset=Country.objects.all(),
        to_field_name="code",
        method="filter_country",
        help_text=_("An ISO 3166-1 code, e.g. NE."),
    )
    region = ModelChoiceFilter(
        label=_("Recipient region"),
        queryset=Region.objects.all(),
        to_field_name="code",
        method="filter_region",
        help_text=_("A code of the IATI Region codelist, e.g. 289 (South of Sahara)."),
    )
    partner = ModelChoiceFilter(
        label=_("Partner organisation"), queryset=_organisations, to_field_name="code", method="filter_partner"
    )
    role = ChoiceFilter(label=_("Partner role"), choices=Role.choices, method="filter_role")
    funder = ModelChoiceFilter(
        label=_("Funding source"), queryset=_organisations, to_field_name="code", method="filter_funder"
    )
    active_from = DateFilter(
        label=_("Active from"), method="filter_active_from", widget=forms.DateInput(attrs={"type": "date"})
    )
    active_to = DateFilter(
        label=_("Active until"), method="filter_active_to", widget=forms.DateInput(attrs={"type": "date"})
    )
    ordering = ChoiceFilter(
        label=_("Sort by"),
        method="filter_ordering",
        empty_label=None,
        choices=[
            ("", _("Best match first (when searching), then newest")),
            ("-start", _("Newest first")),
            ("start", _("Oldest first")),
            ("code", _("Code")),
            ("title", _("Title")),
            ("-budget", _("Largest budget")),
            ("budget", _("Smallest budget")),
            ("status", _("Status")),
        ],
    )

    class Meta:
        model = Programme
        form = ProgrammeFilterForm
        fields: list[str] = []

    def rank_by(self) -> str:
        """The search to rank the rows by (best matches first), when the user searched and chose no order."""
        data = self.form.cleaned_data
        return (data.get("q") or "") if not data.get("ordering") else ""

    def is_plain(self) -> bool:
        """No filter but the order: the list is every visible programme (its count is in the summary)."""
        data = self.form.cleaned_data
        return not any(data.get(name) for name in self.filters if name != "ordering")

    def filter_search(self, queryset, name, value):
        return queryset.search(value)

    def filter_sector(self, queryset, name, value):
        return queryset.in_sector(value)

    def filter_area(self, queryset, name, value):
        return queryset.in_admin_unit(value)

    def filter_country(self, queryset, name, value):
        return queryset.for_country(value)

    def filter_region(self, queryset, name, value):
        return queryset.for_region(value)

    def filter_partner(self, queryset, name, value):
        return queryset.with_partner(value, role=self.form.cleaned_data.get("role") or None)

    def filter_role(self, queryset, name, value):
        """With a partner, the role narrows the partner filter (see filter_partner); alone, any partner in it."""
        if self.form.cleaned_data.get("partner"):
            return queryset
        return queryset.with_role(value)

    def filter_funder(self, queryset, name, value):
        return queryset.funded_by(value)

    def filter_active_from(self, queryset, name, value):
        return queryset.active_between(value, None)

    def filter_active_to(self, queryset, name, value):
        return queryset.active_between(None, value)

    def filter_ordering(self, queryset, name, value):
        return queryset.order_by(*ORDERING.get(value, ORDERING["-start"]))
