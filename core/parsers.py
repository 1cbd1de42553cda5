"""The API's JSON parser: bounded nesting, refused as 400 before any view runs. (NUL characters are
refused by the fields — DRF's CharField — and by the services, with the field named.)"""

from __future__ import annotations

from django.utils.translation import gettext as _
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

# Deep enough for every body the API documents (a programme with its nested parts is 4 levels).
MAX_DEPTH = 32


def check_json(data: object, max_depth: int = MAX_DEPTH) -> None:
    """Raise ParseError when `data` nests deeper than max_depth. Walks iteratively: a hostile body
    cannot exhaust the stack here either."""
    stack: list[tuple[object, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if not isinstance(value, dict | list):
            continue
        if depth > max_depth:
            raise ParseError(_("The JSON body is nested too deeply (at most %(n)s levels).") % {"n": max_depth})
        for item in value.values() if isinstance(value, dict) else value:
            stack.append((item, depth + 1))


class SafeJSONParser(JSONParser):
    """DRF's JSON parser, plus the limits above; Python's own recursion limit becomes a 400 too."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError as error:
            raise ParseError(
                _("The JSON body is nested too deeply (at most %(n)s levels).") % {"n": MAX_DEPTH}
            ) from error
        check_json(data)
        return data
