"""REST API of partner organisations: their serializer and filter (the viewset, which shows their part in
programmes, is in programmes/organisation_api.py)."""

from __future__ import annotations

import re

import django_filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from .models import Organisation, OrganisationCategory

ORGANISATION_CODE = re.compile(r"[-a-zA-Z0-9_]{1,40}")


class OrganisationSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api:organisation-detail", lookup_field="code")
    name = serializers.CharField(read_only=True, help_text=_("In the language of Accept-Language."))
    parent = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)
    admin_unit = serializers.SlugRelatedField(
        slug_field="pcode", read_only=True, allow_null=True, help_text=_("P-code.")
    )

    class Meta:
        model = Organisation
        fields = ["url", "code", "acronym", "name", "name_fr", "name_en", "category", "iati_type"]
        fields += ["iati_identifier", "parent", "admin_unit", "website", "is_active"]


class OrganisationFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(label=_("Search"), method="filter_search", max_length=100)
    category = django_filters.ChoiceFilter(label=_("Category"), choices=OrganisationCategory.choices)

    class Meta:
        model = Organisation
        fields: list[str] = []

    def filter_search(self, queryset, name, value):
        for word in value.split():
            queryset = queryset.filter(
                Q(code__icontains=word)
                | Q(acronym__icontains=word)
                | Q(name_fr__icontains=word)
                | Q(name_en__icontains=word)
            )
        return queryset
