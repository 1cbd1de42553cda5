"""The REST API's shared support, imported by every app's api.py: the token scheme, errors, throttles, pagination."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiResponse
from rest_framework import exceptions, serializers, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.settings import api_settings
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle

# DRF imports this module (throttles, pagination, the exception handler) while it imports its views, so
# nothing here may import rest_framework.views, routers or drf_spectacular.views at module level.

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


# --- Errors -----------------------------------------------------------------------------------


class PreconditionRequired(exceptions.APIException):
    status_code = 428
    default_detail = _("Send the If-Match header with the ETag of the version you edited.")
    default_code = "precondition_required"


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = _("The programme is under review: it can be edited again once a revision is requested.")
    default_code = "locked"


class EditConflict(exceptions.APIException):
    """A save based on an older version changed some of the same things differently; `errors` names them."""

    status_code = status.HTTP_409_CONFLICT
    default_code = "edit_conflict"

    def __init__(self, detail: str, errors: dict[str, list[str]]) -> None:
        super().__init__(detail)
        self.errors = errors


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
        errors = dict(getattr(exc, "errors", {}))
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
        help_text=_(
            "For 400: the messages of each field, keyed by field name (nested: participations.0.role). "
            "For 409 edit_conflict: each field changed both by you and, meanwhile, by someone else "
            "(e.g. title_fr, participations.org-a.notes, locations.NE001), with both values."
        ),
    )


ERROR_DESCRIPTIONS = {
    400: _("Invalid input: the errors of each field."),
    401: _("No credentials, or an invalid or revoked token."),
    403: _("Signed in, but not allowed to do this (e.g. a partner or a read-only user writing)."),
    404: _("No such object among those you may see."),
    409: _(
        "The programme is under review (code locked), or someone saved since your ETag and changed some of "
        "the same fields differently (code edit_conflict: errors lists them); nothing was changed."
    ),
    415: _("Send JSON: Content-Type must be application/json."),
    412: _(
        "If-Match names a version that cannot be merged with the current one (unknown here): fetch the "
        "programme again; nothing was changed."
    ),
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

    def get_schema_operation_parameters(self, view) -> list[dict]:
        """`page` and `page_size` as integers, with the cap stated (a larger page_size gives the cap)."""
        return [
            {
                "name": self.page_query_param,
                "required": False,
                "in": "query",
                "description": str(_("Page number, from 1.")),
                "schema": {"type": "integer", "minimum": 1},
            },
            {
                "name": self.page_size_query_param,
                "required": False,
                "in": "query",
                "description": str(
                    _("Items per page: %(default)s by default, at most %(cap)s (a larger value gives %(cap)s).")
                    % {"default": self.page_size, "cap": self.max_page_size}
                ),
                "schema": {"type": "integer", "minimum": 1, "maximum": self.max_page_size, "default": self.page_size},
            },
        ]


def lookup_or_404(value: str, pattern) -> str:
    """Refuse lookups that cannot be an identifier before they reach the database (NUL bytes...)."""
    if not pattern.fullmatch(value):
        raise exceptions.NotFound()
    return value


# --- Entity tags (RFC 9110 §8.8.3, §13.1) ------------------------------------------------------------
# A response compressed on the fly gets its strong tag with this suffix (see core.middleware), so that a
# client can still send it in If-Match: weakening it, as Django's GZipMiddleware does, would make every
# If-Match fail under strong comparison.
ENCODED_TAG_SUFFIX = '-gzip"'


def _tags(header: str) -> list[str]:
    return [tag.strip() for tag in header.split(",") if tag.strip()]


def _identity(tag: str) -> str:
    """The tag of the uncompressed representation: "3-gzip" → "3"."""
    return tag[: -len(ENCODED_TAG_SUFFIX)] + '"' if tag.endswith(ENCODED_TAG_SUFFIX) else tag


def if_match_passes(header: str, current: str) -> bool:
    """If-Match: strong comparison; a weak tag (W/"3") never matches, "*" always does."""
    return any(tag == "*" or (not tag.startswith("W/") and _identity(tag) == current) for tag in _tags(header))


def if_match_tags(header: str) -> list[str]:
    """If-Match's strong tags as those of the uncompressed representation ("3-gzip" → "3"), "*" kept."""
    return [tag if tag == "*" else _identity(tag) for tag in _tags(header) if not tag.startswith("W/")]


def if_none_match_hits(header: str, current: str) -> bool:
    """If-None-Match: weak comparison; True when the client's copy is current (answer 304)."""
    return any(tag == "*" or _identity(tag.removeprefix("W/")) == current for tag in _tags(header))
