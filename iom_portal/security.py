"""Security plumbing: session lifetime, and the log of logins, lockouts and refused accesses."""

from __future__ import annotations

import logging
import time

from axes.signals import user_locked_out
from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.core.exceptions import SuspiciousOperation
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_vary_headers

logger = logging.getLogger("iom_portal.security")

LOGIN_TIME_KEY = "_portal_login_time"


def client_ip(request: HttpRequest | None) -> str:
    return request.META.get("REMOTE_ADDR", "-") if request is not None else "-"


@receiver(user_logged_in)
def log_login(sender, request, user, **kwargs) -> None:
    if request is not None and hasattr(request, "session"):
        request.session[LOGIN_TIME_KEY] = int(time.time())
    logger.info("login user=%s id=%s ip=%s", user.get_username(), user.pk, client_ip(request))


@receiver(user_logged_out)
def log_logout(sender, request, user, **kwargs) -> None:
    logger.info("logout user=%s ip=%s", user.get_username() if user else "-", client_ip(request))


@receiver(user_login_failed)
def log_login_failure(sender, credentials, request=None, **kwargs) -> None:
    # Only the username: never the password or any other credential.
    logger.warning("login-failed user=%s ip=%s", credentials.get("username", "-"), client_ip(request))


@receiver(user_locked_out)
def log_lockout(sender, request, username=None, ip_address=None, **kwargs) -> None:
    logger.warning("lockout user=%s ip=%s", username or "-", ip_address or client_ip(request))


def log_refused(request: HttpRequest, what: str, status: int) -> None:
    """Record a refused access (a 403, or a 404 for an object outside the user's scope)."""
    user = getattr(request, "user", None)
    username = user.get_username() if user is not None and user.is_authenticated else "anonymous"
    logger.warning(
        "refused status=%s user=%s ip=%s path=%s what=%s", status, username, client_ip(request), request.path, what
    )


class SessionLifetimeMiddleware:
    """Ends a session SESSION_ABSOLUTE_AGE seconds after login, however active it has been."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            started = request.session.get(LOGIN_TIME_KEY)
            if started is None or time.time() - started > settings.SESSION_ABSOLUTE_AGE:
                logger.info("session-expired user=%s ip=%s", user.get_username(), client_ip(request))
                logout(request)
        return self.get_response(request)


class RejectNulBytesMiddleware:
    """A NUL byte in a page's path or query string is a 400: PostgreSQL cannot store or compare it.

    The API answers such requests itself, with its JSON error body (see iom_portal/api.py)."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        query = request.META.get("QUERY_STRING", "")
        if request.path.startswith("/api/"):
            return self.get_response(request)
        if "\x00" in request.path or "%00" in query or "\x00" in query:
            raise SuspiciousOperation("NUL byte in the request URL")
        return self.get_response(request)


# Browser features the portal never uses: denied to the page and to anything it embeds.
PERMISSIONS_POLICY = (
    "accelerometer=(), camera=(), fullscreen=(self), geolocation=(), gyroscope=(), magnetometer=(), "
    "microphone=(), payment=(), usb=()"
)
PRIVATE_NO_STORE = "private, no-store"


class ResponseHeadersMiddleware:
    """Permissions-Policy on every response; `Cache-Control: private, no-store` on whatever may carry
    partner-scoped data: every API response and every page served to a signed-in user, so that
    neither a shared proxy nor the browser's disk keeps one user's view for the next."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        user = getattr(request, "user", None)
        signed_in = user is not None and user.is_authenticated
        if signed_in or request.path.startswith("/api/v1/"):
            response.headers["Cache-Control"] = PRIVATE_NO_STORE
            response.headers.pop("Expires", None)
            if signed_in:
                patch_vary_headers(response, ["Cookie"])
        return response
