"""The REST API's wiring: the router of /api/v1/, the schema's finishing touches and the documentation pages.

The shared support (errors, throttles, pagination, the token scheme) is in core/api.py; each app has its api.py.
"""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.urls import include, path, re_path
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions

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


TRANSLATED_KEYS = ("description", "summary")


def overlay_texts(english: dict | list, localized: dict | list) -> None:
    """Copy the translated descriptions and summaries onto the English document, where both have the
    same place; nothing else changes (no key added, no name or structure from the other language)."""
    if isinstance(english, dict) and isinstance(localized, dict):
        for key, value in english.items():
            if key not in localized:
                continue
            if key in TRANSLATED_KEYS and isinstance(value, str) and isinstance(localized[key], str):
                english[key] = localized[key]
            else:
                overlay_texts(value, localized[key])
    elif isinstance(english, list) and isinstance(localized, list) and len(english) == len(localized):
        for first, second in zip(english, localized, strict=True):
            overlay_texts(first, second)


# --- Router and documentation ---------------------------------------------------------------
# DRF imports this module (throttles, pagination) while it imports its views, so nothing here may
# import rest_framework.views, routers or drf_spectacular.views at module level.


def build_router():
    """The one router of /api/v1/; its root view lists the endpoints."""
    from rest_framework.routers import DefaultRouter

    from programmes.api import KeyFigureViewSet, ProgrammeViewSet, SectorViewSet
    from programmes.organisation_api import OrganisationViewSet
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
    from imports.api import ImportJobViewSet

    router.register("imports", ImportJobViewSet, basename="importjob")
    from obligations.api import ObligationViewSet

    router.register("obligations", ObligationViewSet, basename="obligation")
    from reporting.api import ResultsReportViewSet

    router.register("results-reports", ResultsReportViewSet, basename="resultsreport")
    return router


def api_urls() -> list:
    return [
        path("", include((build_router().urls, "api"), namespace="api")),
        # Identifiers the routes cannot match (a slash, bytes that are not UTF-8...) still get a JSON 404.
        re_path(r"^.+/$", not_found),
    ]


@csrf_exempt  # it changes nothing: a POST to an unknown API address is a JSON 404, never an HTML CSRF page
def not_found(request: HttpRequest) -> JsonResponse:
    body = {"status": 404, "code": "not_found", "detail": str(exceptions.NotFound.default_detail), "errors": {}}
    return JsonResponse(body, status=404)


def docs_urls() -> list:
    """/api/schema/ (OpenAPI 3), /api/docs/ (Swagger UI) and /api/docs/redoc/, from the sidecar, no CDN."""
    from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView
    from rest_framework.response import Response

    class SchemaView(SpectacularAPIView):
        """One document whatever the Accept-Language: built in English (operation ids, schema, property
        and enum names, the structure), with the descriptions and summaries of the asked language laid
        over it. A client generated from it does not change with the language."""

        def _get_schema_response(self, request):
            version = self.api_version or request.version or self._get_version_parameter(request)

            def build() -> dict:
                generator = self.generator_class(urlconf=self.urlconf, api_version=version, patterns=self.patterns)
                return generator.get_schema(request=request, public=self.serve_public)

            with translation.override("en"):
                schema = build()
            if translation.get_language() != "en":
                overlay_texts(schema, build())
            filename = self._get_filename(request, version)
            return Response(data=schema, headers={"Content-Disposition": f'inline; filename="{filename}"'})

    class SwaggerView(SpectacularSwaggerSplitView):
        template_name = "api/swagger_ui.html"  # start-up script served as a file: no inline script

    class RedocView(SpectacularRedocView):
        template_name = "api/redoc.html"  # without the stock template's web fonts from a CDN

    return [
        path("api/schema/", SchemaView.as_view(), name="schema"),
        path("api/docs/", SwaggerView.as_view(url_name="schema"), name="api-docs"),
        path("api/docs/redoc/", RedocView.as_view(url_name="schema"), name="api-redoc"),
    ]


def bench_floor(request: HttpRequest) -> JsonResponse:
    """The floor of bench/api.py: the cheapest JSON answer through the same middleware (BENCH_FLOOR only)."""
    return JsonResponse({"status": "ok"})
