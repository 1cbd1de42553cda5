"""DRF authentication by personal API token; kept free of view imports, as DRF loads it while importing views."""

from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header

from .models import ApiToken


class ApiTokenAuthentication(BaseAuthentication):
    """`Authorization: Token <secret>` (or `Bearer <secret>`) with a personal token from the portal."""

    keywords = (b"token", b"bearer")

    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() not in self.keywords:
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(_("Invalid token header: give the keyword and the token."))
        try:
            secret = parts[1].decode("ascii")
        except UnicodeError:
            raise exceptions.AuthenticationFailed(_("Invalid token.")) from None
        token = ApiToken.authenticate(secret)
        if token is None:
            raise exceptions.AuthenticationFailed(_("Invalid or revoked token."))
        return (token.user, token)

    def authenticate_header(self, request) -> str:
        # Its presence makes DRF answer 401 (not 403) to a request without credentials.
        return 'Token realm="api"'
