"""REST API of obligations: the calendar as the pages show it, and waiving by IOM staff with edit rights."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field, extend_schema_view
from rest_framework import exceptions, mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from core.api import LIST_ERRORS, READ_ERRORS, WRITE_ERRORS, error_responses, lookup_or_404
from partners.models import is_iom_staff

from .models import Obligation, State
from .services import obligation_waive

OBLIGATION_ID = re.compile(r"[0-9]{1,18}")


class ObligationSerializer(serializers.ModelSerializer):
    programme = serializers.SlugRelatedField(slug_field="code", read_only=True)
    title = serializers.CharField(read_only=True)
    state = serializers.SerializerMethodField(help_text=_("upcoming, due, overdue, fulfilled or waived (today)."))
    responsible = serializers.SerializerMethodField(
        help_text=_("The responsible partner's name, the IOM person's name (IOM staff only), or “IOM”.")
    )
    fulfilled_document = serializers.SerializerMethodField(
        help_text=_("The id of the document that fulfilled it (IOM staff only).")
    )
    waived_reason = serializers.SerializerMethodField(help_text=_("Why it was waived (IOM staff only)."))

    class Meta:
        model = Obligation
        fields = [
            "id",
            "programme",
            "kind",
            "title",
            "period_start",
            "period_end",
            "due_date",
            "state",
            "responsible",
            "evidence",
            "document_category",
            "fulfilled_at",
            "fulfilled_document",
            "waived_at",
            "waived_reason",
        ]
        read_only_fields = fields

    def _iom(self) -> bool:
        request = self.context.get("request")
        return bool(request and is_iom_staff(request.user))

    @extend_schema_field(serializers.ChoiceField(choices=State.choices))
    def get_state(self, obligation: Obligation) -> str:
        return obligation.state_on(self.context.get("today") or timezone.localdate())

    def get_responsible(self, obligation: Obligation) -> str:
        if obligation.responsible_organisation_id or self._iom():
            return obligation.responsible_name
        return str(_("IOM"))

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_fulfilled_document(self, obligation: Obligation) -> int | None:
        return obligation.fulfilled_document_id if self._iom() else None

    def get_waived_reason(self, obligation: Obligation) -> str:
        return obligation.waived_reason if self._iom() else ""


class WaiveSerializer(serializers.Serializer):
    # Blank or missing: the service refuses it with the same message as the page.
    reason = serializers.CharField(
        max_length=2000,
        required=False,
        allow_blank=True,
        default="",
        help_text=_("Why the obligation is waived (required)."),
    )

    def to_internal_value(self, data):
        unknown = set(data) - {"reason"} if hasattr(data, "keys") else set()
        value = super().to_internal_value(data)
        if unknown:
            raise serializers.ValidationError({key: [_("Unknown field.")] for key in sorted(unknown)})
        return value


@extend_schema_view(
    list=extend_schema(
        summary=_("Obligations of the programmes you may see"),
        parameters=[
            OpenApiParameter("programme", OpenApiTypes.STR, description=_("A programme code.")),
            OpenApiParameter("state", OpenApiTypes.STR, enum=State.values, description=_("Only this state.")),
        ],
        responses={200: ObligationSerializer(many=True), **error_responses(*LIST_ERRORS)},
    ),
    retrieve=extend_schema(
        summary=_("One obligation"), responses={200: ObligationSerializer, **error_responses(*READ_ERRORS)}
    ),
    waive=extend_schema(
        summary=_("Waive an open obligation, with a reason (IOM staff with edit rights)"),
        request=WaiveSerializer,
        responses={200: ObligationSerializer, **error_responses(*WRITE_ERRORS)},
    ),
)
class ObligationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Obligations through `visible_to`: partners see those of their joint programmes; another's is a 404."""

    queryset = Obligation.objects.none()
    serializer_class = ObligationSerializer

    def get_queryset(self):
        obligations = Obligation.objects.visible_to(self.request.user).for_list()
        if self.action != "list":
            return obligations
        params = self.request.query_params
        if params.get("programme"):
            obligations = obligations.filter(programme__code=params["programme"])
        state = params.get("state")
        if state:
            if state not in State.values:
                raise serializers.ValidationError({"state": [_("Choose one of: %s.") % ", ".join(State.values)]})
            obligations = obligations.in_state(state)
        return obligations

    def get_object(self) -> Obligation:
        lookup_or_404(str(self.kwargs["pk"]), OBLIGATION_ID)
        return super().get_object()

    @action(detail=True, methods=["post"])
    def waive(self, request: Request, pk: str | None = None) -> Response:
        obligation = self.get_object()
        if not request.user.can_edit_programmes:
            raise exceptions.PermissionDenied()
        serializer = WaiveSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            obligation_waive(obligation=obligation, user=request.user, reason=serializer.validated_data["reason"])
        except DjangoValidationError as refused:
            raise serializers.ValidationError(refused.message_dict) from None
        obligation = self.get_queryset().get(pk=obligation.pk)
        return Response(ObligationSerializer(obligation, context=self.get_serializer_context()).data)
