"""REST API of results reports: /api/v1/results-reports/ — read, open and fill a report, submit it;
validators approve, return (with a reason) or unlock (with a reason). Another organisation's report is a 404.
The rules are the services' (reporting/services.py): a refusal has the same message as on the page."""

from __future__ import annotations

import re

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from core.api import LIST_ERRORS, READ_ERRORS, PreconditionFailed, error_responses, if_match_tags
from programmes.api import IF_MATCH_OPTIONAL
from programmes.models import AgeGroup, Programme, Sex

from . import services
from .models import ResultsReport, ResultsReportStep, ResultsReportValue


class ReportedValueSerializer(serializers.ModelSerializer):
    indicator = serializers.IntegerField(source="indicator_id", help_text=_("The indicator's id."))
    indicator_code = serializers.CharField(source="indicator.code", read_only=True)
    sex = serializers.ChoiceField(choices=Sex.choices, default=Sex.ALL)
    age_group = serializers.ChoiceField(choices=AgeGroup.choices, default=AgeGroup.ALL)
    achieved = serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True, required=False)
    comment = serializers.CharField(allow_blank=True, required=False, default="", max_length=255)

    class Meta:
        model = ResultsReportValue
        fields = ["indicator", "indicator_code", "sex", "age_group", "achieved", "comment"]


class StepSerializer(serializers.ModelSerializer):
    class Meta:
        model = ResultsReportStep
        fields = ["action", "at", "reason"]


class ResultsReportSerializer(serializers.ModelSerializer):
    programme = serializers.SlugRelatedField(slug_field="code", queryset=Programme.objects.none())
    organisation = serializers.SlugRelatedField(slug_field="code", read_only=True)
    values = ReportedValueSerializer(many=True, required=False)
    steps = StepSerializer(many=True, read_only=True)

    class Meta:
        model = ResultsReport
        fields = [
            "id",
            "programme",
            "organisation",
            "period_start",
            "period_end",
            "state",
            "return_reason",
            "submitted_at",
            "decided_at",
            "values",
            "steps",
        ]
        read_only_fields = ["id", "organisation", "state", "return_reason", "submitted_at", "decided_at", "steps"]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None:
            self.fields["programme"].queryset = Programme.objects.visible_to(request.user)
        if self.instance is not None and not isinstance(self.instance, list | tuple):
            for name in ("programme", "period_start", "period_end"):
                self.fields[name].read_only = True


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(allow_blank=True, required=False, default="", max_length=2000)


def _values(data: list[dict]) -> list[services.ReportedValue]:
    return [
        services.ReportedValue(
            indicator=row["indicator_id"],
            achieved=row.get("achieved"),
            comment=row.get("comment", ""),
            sex=row.get("sex", Sex.ALL),
            age_group=row.get("age_group", AgeGroup.ALL),
        )
        for row in data
    ]


WRITE = error_responses(400, 401, 403, 404, 415, 429)


class StaleReportPrecondition(PreconditionFailed):
    default_detail = _(
        "Someone saved this report's values since you read them: fetch the report again, reapply your values "
        "and send its new ETag in If-Match."
    )


def _etag(report: ResultsReport) -> str:
    return f'"{report.version}"'


def _expected_version(request: Request, report: ResultsReport) -> int | None:
    """If-Match is optional here: without it the values are replaced as sent; with it, a stale save is a 412."""
    header = request.headers.get("If-Match", "").strip()
    if not header:
        return None
    for tag in if_match_tags(header):
        if tag == "*":
            return None
        if re.fullmatch(r'"[0-9]{1,9}"', tag):
            return int(tag.strip('"'))
    raise StaleReportPrecondition()


@extend_schema_view(
    list=extend_schema(
        summary=_("Results reports you may see (drafts and returned ones: their authors and validators only)"),
        responses={200: ResultsReportSerializer(many=True), **error_responses(*LIST_ERRORS)},
    ),
    retrieve=extend_schema(
        summary=_("One results report with its values and steps"),
        responses={200: ResultsReportSerializer, **error_responses(*READ_ERRORS)},
    ),
    create=extend_schema(
        summary=_("Open a report for a period that has ended (and give its values)"),
        responses={201: ResultsReportSerializer, **WRITE},
    ),
    update=extend_schema(
        summary=_("Replace the values of a draft or returned report"),
        parameters=[IF_MATCH_OPTIONAL],
        responses={200: ResultsReportSerializer, **WRITE, **error_responses(412)},
    ),
    partial_update=extend_schema(
        summary=_("Replace the values of a draft or returned report"),
        parameters=[IF_MATCH_OPTIONAL],
        responses={200: ResultsReportSerializer, **WRITE, **error_responses(412)},
    ),
)
class ResultsReportViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    queryset = ResultsReport.objects.none()
    serializer_class = ResultsReportSerializer

    def get_queryset(self):
        return (
            ResultsReport.objects.visible_to(self.request.user)
            .select_related("programme", "organisation")
            .prefetch_related("values__indicator", "steps")
            .order_by("-period_start", "pk")
        )

    def create(self, request: Request, *args, **kwargs) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        report = services.results_report_open(
            programme=data["programme"],
            user=request.user,
            period_start=data["period_start"],
            period_end=data["period_end"],
        )
        if "values" in data:
            services.results_report_save(report=report, user=request.user, values=_values(data["values"]))
        return Response(self._read(report), status=status.HTTP_201_CREATED)

    def retrieve(self, request: Request, *args, **kwargs) -> Response:
        report = self.get_object()
        return Response(self.get_serializer(report).data, headers={"ETag": _etag(report)})

    def update(self, request: Request, *args, **kwargs) -> Response:
        report = self.get_object()
        serializer = self.get_serializer(report, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        try:
            services.results_report_save(
                report=report,
                user=request.user,
                values=_values(serializer.validated_data.get("values", [])),
                expected_version=_expected_version(request, report),
            )
        except services.StaleReport:
            raise StaleReportPrecondition() from None
        fresh = self._read(report)
        return Response(fresh, headers={"ETag": f'"{ResultsReport.objects.get(pk=report.pk).version}"'})

    def _read(self, report: ResultsReport) -> dict:
        try:
            fresh = self.get_queryset().get(pk=report.pk)
        except ResultsReport.DoesNotExist:
            raise NotFound() from None
        return self.get_serializer(fresh).data

    @extend_schema(
        summary=_("Submit the report to the validators"),
        request=None,
        responses={200: ResultsReportSerializer, **WRITE},
    )
    @action(detail=True, methods=["post"])
    def submit(self, request: Request, pk=None) -> Response:
        report = services.results_report_submit(report=self.get_object(), user=request.user)
        return Response(self._read(report))

    @extend_schema(
        summary=_("Approve: the values are published and the period locks (validators)"),
        request=None,
        responses={200: ResultsReportSerializer, **WRITE},
    )
    @action(detail=True, methods=["post"])
    def approve(self, request: Request, pk=None) -> Response:
        report = services.results_report_approve(report=self.get_object(), user=request.user)
        return Response(self._read(report))

    @extend_schema(
        summary=_("Return the report to its reporter, with the reason (validators)"),
        request=ReasonSerializer,
        responses={200: ResultsReportSerializer, **WRITE},
    )
    @action(detail=True, methods=["post"], url_path="return")
    def send_back(self, request: Request, pk=None) -> Response:
        reason = ReasonSerializer(data=request.data)
        reason.is_valid(raise_exception=True)
        report = services.results_report_return(
            report=self.get_object(), user=request.user, reason=reason.validated_data["reason"]
        )
        return Response(self._read(report))

    @extend_schema(
        summary=_("Unlock an approved period, with the reason: the report goes back to its reporter (validators)"),
        request=ReasonSerializer,
        responses={200: ResultsReportSerializer, **WRITE},
    )
    @action(detail=True, methods=["post"])
    def unlock(self, request: Request, pk=None) -> Response:
        reason = ReasonSerializer(data=request.data)
        reason.is_valid(raise_exception=True)
        report = services.results_report_unlock(
            report=self.get_object(), user=request.user, reason=reason.validated_data["reason"]
        )
        return Response(self._read(report))
