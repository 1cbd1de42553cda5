"""REST API of report jobs: ask for a report, poll it, download its file — scoped like the pages."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import FileResponse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field, extend_schema_view
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import JSONParser

from core.api import LIST_ERRORS, READ_ERRORS, error_responses

from .models import ReportJob, ReportType
from .services import report_job_create, report_job_file_response


class ReportJobSerializer(serializers.ModelSerializer):
    type = serializers.ChoiceField(choices=ReportType.choices)
    parameters = serializers.DictField(
        required=False,
        default=dict,
        help_text=_(
            "The programme list filters (q, sector, status, scope, currency, area, partner, role, funder, "
            "active_from, active_to, ordering), or {'programme': code} for a factsheet."
        ),
    )
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = ReportJob
        fields = [
            "uuid",
            "type",
            "parameters",
            "language",
            "status",
            "progress",
            "attempts",
            "error_message",
            "validation_messages",
            "row_count",
            "size",
            "sha256",
            "created_at",
            "started_at",
            "finished_at",
            "expires_at",
            "download_url",
        ]
        read_only_fields = [f for f in fields if f not in ("type", "parameters", "language")]

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_download_url(self, job: ReportJob) -> str | None:
        if not job.is_ready:
            return None
        view = self.context.get("view")
        if view is not None and getattr(view, "basename", None):
            return view.reverse_action("download", kwargs={"uuid": job.uuid})
        return job.get_download_url()

    def create(self, validated_data: dict) -> ReportJob:
        try:
            return report_job_create(
                user=self.context["request"].user,
                type=validated_data["type"],
                parameters=validated_data.get("parameters") or {},
                language=validated_data.get("language") or "fr",
            )
        except DjangoValidationError as error:
            raise serializers.ValidationError({"parameters": error.message_dict}) from error


@extend_schema_view(
    list=extend_schema(
        summary=_("Report jobs you can see (yours; IOM staff: everyone's)"),
        responses={200: ReportJobSerializer(many=True), **error_responses(*LIST_ERRORS)},
    ),
    retrieve=extend_schema(
        summary=_("One report job (poll it until status is succeeded or failed)"),
        responses={200: ReportJobSerializer, **error_responses(*READ_ERRORS)},
    ),
    create=extend_schema(
        summary=_("Ask for a report"),
        responses={201: ReportJobSerializer, **error_responses(400, 401, 415, 429)},
    ),
)
class ReportJobViewSet(
    mixins.CreateModelMixin, mixins.RetrieveModelMixin, mixins.ListModelMixin, viewsets.GenericViewSet
):
    """Background report jobs. Another user's job is a 404."""

    queryset = ReportJob.objects.none()  # the router's basename ("reportjob"); get_queryset() scopes it
    serializer_class = ReportJobSerializer
    lookup_field = "uuid"
    parser_classes = [JSONParser]

    def get_queryset(self):
        return ReportJob.objects.visible_to(self.request.user).select_related("requester")

    @extend_schema(
        summary=_("Download the report file (404 until it is ready)"),
        responses={200: OpenApiResponse(OpenApiTypes.BINARY), **error_responses(*READ_ERRORS)},
    )
    @action(detail=True, methods=["get"])
    def download(self, request, uuid=None) -> FileResponse:
        job = self.get_object()
        return report_job_file_response(job)
