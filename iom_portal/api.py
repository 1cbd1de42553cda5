"""The REST API's shared parts: token authentication, errors, throttles, pagination, schema and the router."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, JsonResponse
from django.urls import include, path, re_path
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiResponse
from rest_framework import exceptions, serializers, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.settings import api_settings
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle

# --- Authentication (the class itself is in partners/authentication.py, free of view imports) ---------------------------------------------------------------------------


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = "partners.authentication.ApiTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": str(
                _(
                    "A personal API token from /<lang>/accounts/tokens/: `Authorization: Token <secret>` or `Bearer <secret>`."
                )
            ),
        }


# --- Permissions ------------------------------------------------------------------------------


class ReadOrEditProgrammes(BasePermission):
    """Any signed-in user reads what `visible_to` lets them see; only staff with edit rights write.

    Writes to one programme are checked on the object, after the lookup through `visible_to`, so that
    someone else's programme is a 404 and a visible one a 403.
    """

    def has_permission(self, request, view) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        if request.method in SAFE_METHODS or getattr(view, "action", None) != "create":
            return True
        return request.user.can_edit_programmes

    def has_object_permission(self, request, view, obj) -> bool:
        return request.method in SAFE_METHODS or request.user.can_edit_programmes


# --- Errors -----------------------------------------------------------------------------------


class PreconditionRequired(exceptions.APIException):
    status_code = 428
    default_detail = _("Send the If-Match header with the ETag of the version you edited.")
    default_code = "precondition_required"


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = _("The programme is under review: it can be edited again once a revision is requested.")
    default_code = "locked"


class PreconditionFailed(exceptions.APIException):
    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_detail = _(
        "Someone saved this programme since you loaded it: fetch it again, reapply your change and send the new ETag."
    )
    default_code = "precondition_failed"


def _flatten(errors: Any, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested error structure as {"field" or "field.0.subfield": [messages]}."""
    if isinstance(errors, Mapping):
        flat: dict[str, list[str]] = {}
        for key, value in errors.items():
            flat.update(_flatten(value, f"{prefix}.{key}" if prefix else str(key)))
        return flat
    if isinstance(errors, list) and any(isinstance(e, Mapping | list) for e in errors):
        flat = {}
        for index, value in enumerate(errors):
            flat.update(_flatten(value, f"{prefix}.{index}" if prefix else str(index)))
        return flat
    messages = errors if isinstance(errors, list) else [errors]
    return {prefix or api_settings.NON_FIELD_ERRORS_KEY: [str(m) for m in messages]}


def _code(exc: Exception, response_status: int) -> str:
    if isinstance(exc, exceptions.ValidationError):
        return "invalid"
    if isinstance(exc, exceptions.APIException):
        return exc.default_code
    return {404: "not_found", 403: "permission_denied"}.get(response_status, "error")


def api_exception_handler(exc: Exception, context: dict) -> Any:
    """Every API error has the same body: {"status", "code", "detail", "errors": {field: [messages]}}."""
    from rest_framework.views import exception_handler as drf_exception_handler

    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(serializers.as_serializer_error(exc))
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()  # the translated message, never "No Programme matches the given query"
    response = drf_exception_handler(exc, context)  # also rolls back the request's transaction
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        detail = str(_("The request is not valid: see the errors of each field."))
        errors = _flatten(response.data)
    else:
        data = response.data if isinstance(response.data, Mapping) else {}
        detail = str(data.get("detail", "")) or str(exc)
        errors = {}
    response.data = {
        "status": response.status_code,
        "code": _code(exc, response.status_code),
        "detail": detail,
        "errors": errors,
    }
    return response


class ApiErrorSerializer(serializers.Serializer):
    """The body of every error response."""

    status = serializers.IntegerField(help_text=_("The HTTP status code."))
    code = serializers.CharField(help_text=_("A stable machine-readable code, e.g. invalid, not_found, throttled."))
    detail = serializers.CharField(help_text=_("A message in the language of Accept-Language (French by default)."))
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text=_("For 400: the messages of each field, keyed by field name (nested: participations.0.role)."),
    )


ERROR_DESCRIPTIONS = {
    400: _("Invalid input: the errors of each field."),
    401: _("No credentials, or an invalid or revoked token."),
    403: _("Signed in, but not allowed to do this (e.g. a partner or a read-only user writing)."),
    404: _("No such object among those you may see."),
    409: _("The programme is under review: edits wait for a request for revision."),
    415: _("Send JSON: Content-Type must be application/json."),
    412: _("If-Match does not match the current ETag: someone saved in between; nothing was changed."),
    428: _("If-Match is missing: send the ETag you received."),
    429: _("Too many requests: wait for the number of seconds in Retry-After."),
}


def error_responses(*codes: int) -> dict[int, OpenApiResponse]:
    return {code: OpenApiResponse(ApiErrorSerializer, description=ERROR_DESCRIPTIONS[code]) for code in codes}


READ_ERRORS = (401, 404, 429)
LIST_ERRORS = (400, 401, 404, 429)
WRITE_ERRORS = (400, 401, 403, 404, 429)


# --- Throttles and pagination -----------------------------------------------------------------


class _LiveRateMixin:
    def get_rate(self) -> str | None:
        # DRF's throttles freeze the rates at import; reading them here lets settings overrides apply.
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)


class ApiAnonThrottle(_LiveRateMixin, AnonRateThrottle):
    """Requests without credentials, per IP address (rate API_THROTTLE_ANON)."""


class ApiUserThrottle(_LiveRateMixin, UserRateThrottle):
    """Requests of a signed-in user or token holder, per user (rate API_THROTTLE_USER)."""


class ApiPagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


def lookup_or_404(value: str, pattern) -> str:
    """Refuse lookups that cannot be an identifier before they reach the database (NUL bytes...)."""
    if not pattern.fullmatch(value):
        raise exceptions.NotFound()
    return value


# --- Schema -----------------------------------------------------------------------------------


def complete_schema(result: dict, generator, request, public) -> dict:
    """What drf-spectacular cannot say by itself: closed request bodies and the response headers."""
    for name, component in result.get("components", {}).get("schemas", {}).items():
        if name.endswith("Request") and component.get("type") == "object":
            component["additionalProperties"] = False  # unknown and read-only fields get a 400
    etag = {"description": str(_("The programme's version, to send back in If-Match.")), "schema": {"type": "string"}}
    retry_after = {"description": str(_("Seconds to wait before trying again.")), "schema": {"type": "string"}}
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            for code, response in operation["responses"].items():
                ref = response.get("content", {}).get("application/json", {}).get("schema", {}).get("$ref", "")
                if code in ("200", "201") and ref.endswith("/Programme"):
                    response.setdefault("headers", {})["ETag"] = etag
                if code == "429":
                    response.setdefault("headers", {})["Retry-After"] = retry_after
    return result


# --- Router and documentation ---------------------------------------------------------------
# DRF imports this module (throttles, pagination) while it imports its views, so nothing here may
# import rest_framework.views, routers or drf_spectacular.views at module level.


def build_router():
    """The one router of /api/v1/; its root view lists the endpoints."""
    from rest_framework.routers import DefaultRouter

    from partners.api import OrganisationViewSet
    from programmes.api import KeyFigureViewSet, ProgrammeViewSet, SectorViewSet
    from regions.api import AdminUnitViewSet

    router = DefaultRouter()
    router.include_format_suffixes = False
    router.register("programmes", ProgrammeViewSet, basename="programme")
    router.register("partners", OrganisationViewSet, basename="organisation")
    router.register("regions", AdminUnitViewSet, basename="adminunit")
    router.register("sectors", SectorViewSet, basename="sector")
    router.register("key-figures", KeyFigureViewSet, basename="keyfigure")
    from reports.api import ReportJobViewSet

    router.register("reports", ReportJobViewSet, basename="reportjob")
    return router


def api_urls() -> list:
    return [
        path("", include((build_router().urls, "api"), namespace="api")),
        # Identifiers the routes cannot match (a slash, bytes that are not UTF-8...) still get a JSON 404.
        re_path(r"^.+/$", not_found),
    ]


def not_found(request: HttpRequest) -> JsonResponse:
    body = {"status": 404, "code": "not_found", "detail": str(exceptions.NotFound.default_detail), "errors": {}}
    return JsonResponse(body, status=404)


def docs_urls() -> list:
    """/api/schema/ (OpenAPI 3), /api/docs/ (Swagger UI) and /api/docs/redoc/, from the sidecar, no CDN."""
    from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView

    class SwaggerView(SpectacularSwaggerSplitView):
        template_name = "api/swagger_ui.html"  # start-up script served as a file: no inline script

    class RedocView(SpectacularRedocView):
        template_name = "api/redoc.html"  # without the stock template's web fonts from a CDN

    return [
        path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
        path("api/docs/", SwaggerView.as_view(url_name="schema"), name="api-docs"),
        path("api/docs/redoc/", RedocView.as_view(url_name="schema"), name="api-redoc"),
    ]


def bench_floor(request: HttpRequest) -> JsonResponse:
    """The floor of bench/api.py: the cheapest JSON answer through the same middleware (BENCH_FLOOR only)."""
    return JsonResponse({"status": "ok"})
