"""REST API of Niger's administrative units (P-codes, parent chain, GeoJSON): reference data for every user."""

from __future__ import annotations

import re

import django_filters
from django.db.models import Prefetch, Q
from django.utils.translation import gettext_lazy as _
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from core.api import LIST_ERRORS, READ_ERRORS, error_responses, lookup_or_404

from .models import PCODE_REGEX, AdminLevel, AdminUnit

PCODE = re.compile(PCODE_REGEX.strip("^$"))
NO_BOUNDARIES = ("boundary", "parent__boundary", "parent__parent__boundary")


class AdminUnitRefSerializer(serializers.ModelSerializer):
    name = serializers.CharField(read_only=True)

    class Meta:
        model = AdminUnit
        fields = ["pcode", "name", "level"]


class AdminUnitSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api:adminunit-detail", lookup_field="pcode")
    name = serializers.CharField(read_only=True, help_text=_("In the language of Accept-Language."))
    parent = serializers.SlugRelatedField(slug_field="pcode", read_only=True, allow_null=True)
    ancestors = AdminUnitRefSerializer(many=True, read_only=True, help_text=_("Region first, then department."))

    class Meta:
        model = AdminUnit
        fields = ["url", "pcode", "name", "name_fr", "name_en", "name_alt", "level", "parent", "ancestors"]
        fields += ["centroid_lat", "centroid_lon"]


class AdminUnitDetailSerializer(AdminUnitSerializer):
    children = AdminUnitRefSerializer(many=True, read_only=True)

    class Meta(AdminUnitSerializer.Meta):
        fields = [*AdminUnitSerializer.Meta.fields, "children"]


class FeaturePropertiesSerializer(serializers.Serializer):
    pcode = serializers.CharField()
    name = serializers.CharField()
    level = serializers.IntegerField()
    parent = serializers.CharField(allow_null=True)


class FeatureSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=["Feature"])
    id = serializers.CharField()
    geometry = serializers.JSONField(allow_null=True, help_text=_("GeoJSON geometry (WGS 84), from OCHA COD-AB."))
    properties = FeaturePropertiesSerializer()


class FeatureCollectionSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=["FeatureCollection"])
    features = FeatureSerializer(many=True)


def as_feature(unit: AdminUnit) -> dict:
    return {
        "type": "Feature",
        "id": unit.pcode,
        "geometry": unit.boundary,
        "properties": {
            "pcode": unit.pcode,
            "name": unit.name,
            "level": unit.level,
            "parent": unit.parent.pcode if unit.parent else None,
        },
    }


class AdminUnitFilter(django_filters.FilterSet):
    level = django_filters.TypedChoiceFilter(label=_("Level"), choices=AdminLevel.choices, coerce=int)
    parent = django_filters.CharFilter(
        label=_("Parent P-code"), method="filter_parent", max_length=11, help_text=_("Units directly below this one.")
    )
    within = django_filters.CharFilter(
        label=_("Within P-code"),
        method="filter_within",
        max_length=11,
        help_text=_("The unit and every unit below it."),
    )
    q = django_filters.CharFilter(label=_("Search"), method="filter_search", max_length=100)

    class Meta:
        model = AdminUnit
        fields: list[str] = []

    def filter_parent(self, queryset, name, value):
        return queryset.filter(parent__pcode=value)

    def filter_within(self, queryset, name, value):
        return queryset.filter(pcode__startswith=value)

    def filter_search(self, queryset, name, value):
        return queryset.filter(Q(name_fr__icontains=value) | Q(name_en__icontains=value) | Q(name_alt__icontains=value))


# The filters of the GeoJSON collection (AdminUnitFilter), which drf-spectacular does not list for an action.
GEOJSON_PARAMETERS = [
    OpenApiParameter(
        "level",
        OpenApiTypes.INT,
        OpenApiParameter.QUERY,
        enum=[level for level, _label in AdminLevel.choices],
        description=_("1 regions, 2 departments, 3 communes."),
    ),
    OpenApiParameter(
        "parent", OpenApiTypes.STR, OpenApiParameter.QUERY, description=_("Units directly below this P-code.")
    ),
    OpenApiParameter(
        "within", OpenApiTypes.STR, OpenApiParameter.QUERY, description=_("The unit and every unit below it (P-code).")
    ),
    OpenApiParameter("q", OpenApiTypes.STR, OpenApiParameter.QUERY, description=_("Search in the names.")),
]


@extend_schema_view(
    list=extend_schema(
        summary=_("Regions, departments and communes of Niger"),
        description=_("Reference data, the same for every signed-in user; ?level=1 for the 8 regions."),
        responses={200: AdminUnitSerializer(many=True), **error_responses(*LIST_ERRORS)},
    ),
    retrieve=extend_schema(
        summary=_("One administrative unit by P-code"),
        responses={200: AdminUnitDetailSerializer, **error_responses(*READ_ERRORS)},
    ),
    geojson=extend_schema(
        summary=_("Boundaries as a GeoJSON FeatureCollection (filter with level, parent, within)"),
        parameters=GEOJSON_PARAMETERS,
        responses={200: FeatureCollectionSerializer, **error_responses(*LIST_ERRORS)},
    ),
    feature=extend_schema(
        operation_id="regions_feature_retrieve",
        summary=_("One unit's boundary as a GeoJSON Feature"),
        responses={200: FeatureSerializer, **error_responses(*READ_ERRORS)},
    ),
)
class AdminUnitViewSet(viewsets.ReadOnlyModelViewSet):
    """Administrative units by P-code; boundaries only through the GeoJSON endpoints, which are heavy."""

    lookup_field = "pcode"
    lookup_value_regex = "[^/]+"
    filter_backends = [DjangoFilterBackend]
    filterset_class = AdminUnitFilter

    def get_queryset(self):
        units = AdminUnit.objects.select_related("parent__parent")
        if self.action in ("geojson", "feature"):
            return units.defer(*NO_BOUNDARIES[1:])
        units = units.defer(*NO_BOUNDARIES)
        if self.action == "retrieve":
            units = units.prefetch_related(Prefetch("children", queryset=AdminUnit.objects.defer("boundary")))
        return units

    def get_serializer_class(self):
        if self.action == "retrieve":
            return AdminUnitDetailSerializer
        if self.action == "geojson":
            return FeatureCollectionSerializer
        if self.action == "feature":
            return FeatureSerializer
        return AdminUnitSerializer

    def filter_queryset(self, queryset):
        return super().filter_queryset(queryset) if self.action in ("list", "geojson") else queryset

    def get_object(self) -> AdminUnit:
        lookup_or_404(self.kwargs["pcode"], PCODE)
        return super().get_object()

    @action(detail=False, pagination_class=None)
    def geojson(self, request: Request) -> Response:
        units = self.filter_queryset(self.get_queryset())
        return Response({"type": "FeatureCollection", "features": [as_feature(unit) for unit in units]})

    @action(detail=True, url_path="geojson")
    def feature(self, request: Request, pcode: str | None = None) -> Response:
        return Response(as_feature(self.get_object()))
