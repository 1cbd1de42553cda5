"""REST API of report jobs: ask for a report, poll it, download its file — scoped like the pages."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import FileResponse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action

from core.api import LIST_ERRORS, READ_ERRORS, error_responses

from .models import REPORT_FORMATS, WAITING_MESSAGE, ReportJob, ReportType
from .services import report_job_create, report_job_file_response

# The file of a report, by its real media type (CSV, XLSX, PDF, XML), as raw bytes.
DOWNLOAD_MEDIA_TYPES = sorted({content_type.split(";")[0] for _extension, content_type in REPORT_FORMATS.values()})
DOWNLOAD = OpenApiResponse(
    OpenApiTypes.BINARY, description=_("The report file, as an attachment, in the media type of its format.")
)


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
    waiting_for_worker = serializers.BooleanField(
        read_only=True,
        help_text=_("True while the task queue is unreachable: the job is recorded and starts once it is back."),
    )
    status_detail = serializers.SerializerMethodField(help_text=_("The status in words, in your language."))

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
            "waiting_for_worker",
            "status_detail",
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

    def get_status_detail(self, job: ReportJob) -> str:
        return str(WAITING_MESSAGE) if job.waiting_for_worker else str(job.get_status_display())

    def create(self, validated_data: dict) -> ReportJob:
        request = self.context["request"]
        try:
            return report_job_create(
                user=request.user,
                type=validated_data["type"],
                parameters=validated_data.get("parameters") or {},
                language=validated_data.get("language") or "fr",
                idempotency_key=request.headers.get("Idempotency-Key", ""),
            )
        except DjangoValidationError as error:
            if "idempotency_key" in error.message_dict:
                raise serializers.ValidationError(error.message_dict) from error
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
        description=_(
            "Answers at once with the recorded job, even when the task queue is down (waiting_for_worker). "
            "Send an Idempotency-Key header (e.g. a UUID) to make retries safe: the same key returns the same "
            "job (200) instead of a new one (201)."
        ),
        parameters=[
            OpenApiParameter(
                "Idempotency-Key",
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                required=False,
                description=_("1 to 64 letters, digits or . _ : - ; a UUID works."),
            )
        ],
        responses={201: ReportJobSerializer, 200: ReportJobSerializer, **error_responses(400, 401, 415, 429)},
    ),
)
class ReportJobViewSet(
    mixins.CreateModelMixin, mixins.RetrieveModelMixin, mixins.ListModelMixin, viewsets.GenericViewSet
):
    """Background report jobs. Another user's job is a 404."""

    queryset = ReportJob.objects.none()  # the router's basename ("reportjob"); get_queryset() scopes it
    serializer_class = ReportJobSerializer
    lookup_field = "uuid"

    def create(self, request, *args, **kwargs):
        response = super().create(request, *args, **kwargs)
        if getattr(response.data.serializer.instance, "replayed", False):
            response.status_code = 200  # the same Idempotency-Key again: the first job, not a new one
        return response

    def get_queryset(self):
        return ReportJob.objects.visible_to(self.request.user).select_related("requester")

    @extend_schema(
        summary=_("Download the report file (404 until it is ready)"),
        responses={
            **{(200, media_type): DOWNLOAD for media_type in DOWNLOAD_MEDIA_TYPES},
            **error_responses(*READ_ERRORS),
        },
    )
    @action(detail=True, methods=["get"])
    def download(self, request, uuid=None) -> FileResponse:
        job = self.get_object()
        return report_job_file_response(job)
