"""Error pages in the visitor's language; refused accesses are logged, stack traces never shown."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template import loader

from .security import log_refused


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    log_refused(request, "not-found-or-out-of-scope", 404)
    return render(request, "404.html", status=404)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    log_refused(request, "permission-denied", 403)
    return render(request, "403.html", status=403)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    return render(request, "400.html", status=400)


def server_error(request: HttpRequest) -> HttpResponse:
    # No request context: the page must render even when the database or a context processor fails.
    return HttpResponse(loader.get_template("500.html").render(), status=500)
