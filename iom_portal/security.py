"""Security plumbing: session lifetime, and the log of logins, lockouts and refused accesses."""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import time

from axes.signals import user_locked_out
from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.core import signing
from django.core.cache import cache
from django.core.exceptions import SuspiciousOperation
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers

logger = logging.getLogger("iom_portal.security")

LOGIN_TIME_KEY = "_portal_login_time"


def client_ip(request: HttpRequest | None) -> str:
    """The client's address: the connecting one, or, behind TRUSTED_PROXY_COUNT proxies, the address
    the outermost trusted proxy saw (read from the right of X-Forwarded-For; what a client writes
    there itself is further left and ignored). The same rule as DRF's NUM_PROXIES (API throttles)."""
    if request is None:
        return "-"
    remote = request.META.get("REMOTE_ADDR", "") or "-"
    proxies = settings.TRUSTED_PROXY_COUNT
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if proxies <= 0 or not forwarded:
        return remote
    hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
    if not hops:
        return remote
    candidate = hops[-min(proxies, len(hops))]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return remote


def axes_client_ip(request: HttpRequest) -> str | None:
    """AXES_CLIENT_IP_CALLABLE: django-axes locks (username, client address), not (username, proxy).
    None when unknown (e.g. force_login's bare request): axes stores addresses in an inet column."""
    address = client_ip(request)
    return None if address == "-" else address


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


# --- Per-username slow-down of password guessing -----------------------------------------------
# django-axes locks (username, address) pairs; an attacker with many addresses is slowed here
# instead: after LOGIN_USERNAME_FREE_FAILURES failures for one username (from anywhere, within an
# hour), each further attempt must wait 1, 2, 4 ... seconds after the previous failure, at most
# LOGIN_USERNAME_MAX_DELAY. Nobody is locked out for longer than that delay, and a browser that
# has signed in to the account before (signed device cookie) is not slowed at all.
DEVICE_COOKIE = "portal_device"
DEVICE_COOKIE_SALT = "iom_portal.security.device"
USERNAME_WINDOW = 60 * 60


def _username_key(username: str) -> str:
    digest = hashlib.sha256(username.strip().lower().encode("utf-8", "replace")).hexdigest()
    return f"login-failures:{digest}"


def _trusted_device(request: HttpRequest, username: str) -> bool:
    value = request.COOKIES.get(DEVICE_COOKIE)
    if not value:
        return False
    try:
        known = signing.loads(value, salt=DEVICE_COOKIE_SALT)
    except signing.BadSignature:
        return False
    return isinstance(known, list) and username.strip().lower() in known


def login_delay(request: HttpRequest, username: str, now: float | None = None) -> int:
    """Seconds this login attempt must still wait (0: go ahead)."""
    if not username or _trusted_device(request, username):
        return 0
    state = cache.get(_username_key(username))
    if not state:
        return 0
    failures, last = state
    excess = failures - settings.LOGIN_USERNAME_FREE_FAILURES
    if excess < 0:
        return 0
    delay = min(2**excess, settings.LOGIN_USERNAME_MAX_DELAY)
    remaining = last + delay - (time.time() if now is None else now)
    return max(0, int(remaining + 0.999))


def record_login_failure(request: HttpRequest | None, username: str) -> None:
    if not username or (request is not None and _trusted_device(request, username)):
        return
    key = _username_key(username)
    failures, _last = cache.get(key) or (0, 0.0)
    cache.set(key, (failures + 1, time.time()), USERNAME_WINDOW)


@receiver(user_login_failed)
def count_login_failure(sender, credentials, request=None, **kwargs) -> None:
    record_login_failure(request, str(credentials.get("username") or ""))


@receiver(user_logged_in)
def remember_device(sender, request, user, **kwargs) -> None:
    if request is None:
        return
    cache.delete(_username_key(user.get_username()))
    request._portal_device_username = user.get_username().strip().lower()


class LoginThrottleMiddleware:
    """Applies login_delay to POSTs of the login pages (site and admin) and sets the device cookie."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        username = getattr(request, "_portal_device_username", None)
        if username:
            known = []
            try:
                known = signing.loads(request.COOKIES.get(DEVICE_COOKIE, ""), salt=DEVICE_COOKIE_SALT)
            except signing.BadSignature:
                known = []
            known = [*[name for name in known if name != username][-9:], username]
            response.set_cookie(
                DEVICE_COOKIE,
                signing.dumps(known, salt=DEVICE_COOKIE_SALT),
                max_age=365 * 24 * 3600,
                secure=settings.SESSION_COOKIE_SECURE,
                httponly=True,
                samesite="Lax",
            )
        return response

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs):
        match = getattr(request, "resolver_match", None)
        if request.method != "POST" or match is None or match.url_name != "login":
            return None
        username = request.POST.get("username", "")
        wait = login_delay(request, username)
        if not wait:
            return None
        logger.warning("login-slowed user=%s ip=%s wait=%s", username[:150], client_ip(request), wait)
        response = render(request, "registration/slowed_down.html", {"wait": wait}, status=429)
        response["Retry-After"] = str(wait)
        return response
