"""REST API of imports: upload a file (multipart), read its preview and result, confirm or reject it."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from core.api import LIST_ERRORS, READ_ERRORS, error_responses

from .models import ImportJob
from .services import ImportRefused, import_job_confirm, import_job_create, import_job_reject


class ImportJobSerializer(serializers.ModelSerializer):
    file = serializers.FileField(
        write_only=True, help_text=_("An IATI 2.03 XML file, or an XLSX/CSV sheet with HXL hashtags.")
    )
    counts = serializers.DictField(child=serializers.IntegerField(), read_only=True)
    # One row per activity (ImportPreviewItem), read back as the list it always was.
    preview = serializers.JSONField(read_only=True, label=_("Preview"))

    class Meta:
        model = ImportJob
        fields = [
            "uuid",
            "file",
            "format",
            "original_filename",
            "size",
            "sha256",
            "language",
            "status",
            "progress",
            "error_message",
            "counts",
            "preview",
            "result",
            "decision_reason",
            "created_at",
            "previewed_at",
            "applied_at",
        ]
        read_only_fields = [f for f in fields if f not in ("file", "language")]


class ImportDecisionSerializer(serializers.Serializer):
    create_organisations = serializers.BooleanField(required=False, default=False)
    reason = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")


@extend_schema_view(
    list=extend_schema(
        summary=_("Imports you can see (IOM staff: all; partners: their organisation's submissions)"),
        responses={200: ImportJobSerializer(many=True), **error_responses(*LIST_ERRORS)},
    ),
    retrieve=extend_schema(
        summary=_("One import with its preview (per activity: new, update, unchanged or error) and its result"),
        responses={200: ImportJobSerializer, **error_responses(*READ_ERRORS)},
    ),
    create=extend_schema(
        summary=_("Upload a file: its preview is prepared, nothing is written until it is confirmed"),
        request={"multipart/form-data": ImportJobSerializer},
        responses={201: ImportJobSerializer, **error_responses(400, 401, 403, 415, 429)},
    ),
)
class ImportJobViewSet(
    mixins.CreateModelMixin, mixins.RetrieveModelMixin, mixins.ListModelMixin, viewsets.GenericViewSet
):
    """Imports; another organisation's submission is a 404."""

    queryset = ImportJob.objects.none()
    serializer_class = ImportJobSerializer
    lookup_field = "uuid"
    parser_classes = [MultiPartParser, JSONParser]

    def get_queryset(self):
        return ImportJob.objects.visible_to(self.request.user).prefetch_related("preview_items")

    def create(self, request: Request, *args, **kwargs) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            job = import_job_create(
                user=request.user,
                upload=serializer.validated_data["file"],
                language=serializer.validated_data.get("language") or get_language() or "fr",
            )
        except ImportRefused as refused:
            raise serializers.ValidationError({"file": refused.messages}) from None
        except DjangoPermissionDenied:
            raise exceptions.PermissionDenied() from None
        job.refresh_from_db()
        return Response(self.get_serializer(job).data, status=status.HTTP_201_CREATED)

    def _decide(self, request: Request, decide) -> Response:
        job = self.get_object()
        serializer = ImportDecisionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            job = decide(job, serializer.validated_data)
        except DjangoPermissionDenied:
            raise exceptions.PermissionDenied() from None
        except DjangoValidationError as refused:
            raise serializers.ValidationError(
                refused.message_dict if hasattr(refused, "error_dict") else {"detail": refused.messages}
            ) from None
        job.refresh_from_db()
        return Response(ImportJobSerializer(job).data)

    @extend_schema(
        summary=_("Confirm the preview: the import runs (IOM staff with edit rights)"),
        request=ImportDecisionSerializer,
        responses={200: ImportJobSerializer, **error_responses(400, 401, 403, 404, 429)},
    )
    @action(detail=True, methods=["post"], parser_classes=[JSONParser])
    def confirm(self, request: Request, uuid=None) -> Response:
        return self._decide(
            request,
            lambda job, data: import_job_confirm(
                job=job, user=request.user, create_organisations=data["create_organisations"]
            ),
        )

    @extend_schema(
        summary=_("Reject or discard the preview, with a reason (IOM staff with edit rights)"),
        request=ImportDecisionSerializer,
        responses={200: ImportJobSerializer, **error_responses(400, 401, 403, 404, 429)},
    )
    @action(detail=True, methods=["post"], parser_classes=[JSONParser])
    def reject(self, request: Request, uuid=None) -> Response:
        return self._decide(
            request, lambda job, data: import_job_reject(job=job, user=request.user, reason=data["reason"])
        )
