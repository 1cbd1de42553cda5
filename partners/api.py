"""REST API of partner organisations: IOM staff see them all, a partner user its own organisation only."""

from __future__ import annotations

import re

import django_filters
from django.db.models import Prefetch, Q
from django.utils.translation import gettext_lazy as _
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, viewsets

from iom_portal.api import LIST_ERRORS, READ_ERRORS, error_responses, lookup_or_404
from programmes.models import Participation, Programme

from .models import Organisation, OrganisationCategory

ORGANISATION_CODE = re.compile(r"[-a-zA-Z0-9_]{1,40}")


class OrganisationParticipationSerializer(serializers.ModelSerializer):
    programme = serializers.SlugRelatedField(slug_field="code", read_only=True)
    programme_title = serializers.CharField(source="programme.title", read_only=True)

    class Meta:
        model = Participation
        fields = ["programme", "programme_title", "role", "contribution"]


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


class OrganisationDetailSerializer(OrganisationSerializer):
    participations = OrganisationParticipationSerializer(
        source="visible_participations",
        many=True,
        read_only=True,
        help_text=_("Its part in the programmes you may see."),
    )

    class Meta(OrganisationSerializer.Meta):
        fields = [*OrganisationSerializer.Meta.fields, "participations"]


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


@extend_schema_view(
    list=extend_schema(
        summary=_("Partner organisations you may see"),
        description=_("IOM staff see every organisation; a partner user sees its own organisation only."),
        responses={200: OrganisationSerializer(many=True), **error_responses(*LIST_ERRORS)},
    ),
    retrieve=extend_schema(
        summary=_("One organisation and its part in the programmes you may see"),
        responses={200: OrganisationDetailSerializer, **error_responses(*READ_ERRORS)},
    ),
)
class OrganisationViewSet(viewsets.ReadOnlyModelViewSet):
    """Organisations through `visible_to`; read-only (administrators manage them in the Django admin)."""

    lookup_field = "code"
    lookup_value_regex = "[^/]+"
    filter_backends = [DjangoFilterBackend]
    filterset_class = OrganisationFilter

    def get_queryset(self):
        organisations = Organisation.objects.visible_to(self.request.user).select_related("parent", "admin_unit")
        organisations = organisations.defer("admin_unit__boundary")
        if self.action == "retrieve":
            participations = (
                Participation.objects.filter(programme__in=Programme.objects.visible_to(self.request.user))
                .select_related("programme")
                .order_by("role", "programme__code")
            )
            organisations = organisations.prefetch_related(
                Prefetch("participations", queryset=participations, to_attr="visible_participations")
            )
        return organisations

    def get_serializer_class(self):
        return OrganisationDetailSerializer if self.action == "retrieve" else OrganisationSerializer

    def filter_queryset(self, queryset):
        return super().filter_queryset(queryset) if self.action == "list" else queryset

    def get_object(self) -> Organisation:
        lookup_or_404(self.kwargs["code"], ORGANISATION_CODE)
        return super().get_object()
