"""REST API of partner organisations: IOM staff see them all, a partner user its own organisation only."""

from __future__ import annotations

from django.db.models import Prefetch
from django.utils.translation import gettext_lazy as _
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, viewsets

from core.api import LIST_ERRORS, READ_ERRORS, error_responses, lookup_or_404
from partners.api import ORGANISATION_CODE, OrganisationFilter, OrganisationSerializer
from partners.models import Organisation

from .models import Participation, Programme


class OrganisationParticipationSerializer(serializers.ModelSerializer):
    programme = serializers.SlugRelatedField(slug_field="code", read_only=True)
    programme_title = serializers.CharField(source="programme.title", read_only=True)

    class Meta:
        model = Participation
        fields = ["programme", "programme_title", "role", "contribution"]


class OrganisationDetailSerializer(OrganisationSerializer):
    participations = OrganisationParticipationSerializer(
        source="visible_participations",
        many=True,
        read_only=True,
        help_text=_("Its part in the programmes you may see."),
    )

    class Meta(OrganisationSerializer.Meta):
        fields = [*OrganisationSerializer.Meta.fields, "participations"]


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
