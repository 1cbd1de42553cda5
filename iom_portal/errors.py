"""Error pages in the visitor's language; refused accesses are logged, stack traces never shown.

Under /api/ every error, a 500 included, has the API's JSON body {status, code, detail, errors}."""

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template import loader
from django.utils.translation import gettext as _
from rest_framework import exceptions

from .security import log_refused

API_PREFIX = "/api/"


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith(API_PREFIX)


def api_error(status: int, code: str, detail: str) -> JsonResponse:
    return JsonResponse({"status": status, "code": code, "detail": str(detail), "errors": {}}, status=status)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    log_refused(request, "not-found-or-out-of-scope", 404)
    if _is_api(request):
        return api_error(404, "not_found", exceptions.NotFound.default_detail)
    return render(request, "404.html", status=404)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    log_refused(request, "permission-denied", 403)
    if _is_api(request):
        return api_error(403, "permission_denied", exceptions.PermissionDenied.default_detail)
    # The rule's own message when the domain gave one (e.g. "Only IOM staff with the validation right…").
    message = str(exception) if isinstance(exception, PermissionDenied) and exception.args else ""
    return render(request, "403.html", {"exception": message}, status=403)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        return api_error(400, "bad_request", _("The request could not be understood."))
    return render(request, "400.html", status=400)


def server_error(request: HttpRequest) -> HttpResponse:
    # No request context: the page must render even when the database or a context processor fails.
    if _is_api(request):
        return api_error(500, "server_error", _("An unexpected error occurred. It has been logged; try again later."))
    return HttpResponse(loader.get_template("500.html").render(), status=500)
