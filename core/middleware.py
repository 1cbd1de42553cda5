"""GZip that keeps the API's entity tags usable in If-Match (strong comparison, RFC 9110)."""

from __future__ import annotations

from django.middleware.gzip import GZipMiddleware as DjangoGZipMiddleware

from .api import ENCODED_TAG_SUFFIX


class GZipMiddleware(DjangoGZipMiddleware):
    """Django weakens a strong ETag when it compresses (W/"3"). For the API a compressed representation
    gets its own strong tag instead ("3-gzip"), which the API accepts in If-Match as the version "3"."""

    def process_response(self, request, response):
        etag = response.get("ETag", "")
        response = super().process_response(request, response)
        if etag.startswith('"') and response.get("Content-Encoding") == "gzip" and request.path.startswith("/api/"):
            response["ETag"] = etag[:-1] + ENCODED_TAG_SUFFIX
        return response
