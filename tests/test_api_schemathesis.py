"""Schemathesis fuzzes every operation of /api/schema/ as anonymous, a partner and IOM staff: no 5xx, no answer off the schema."""

import json
import os

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from partners.models import ApiToken

# Per operation and persona: enough to reach the validators' branches, bounded so that the file runs in
# about two minutes on two cores. API_FUZZ_EXAMPLES=200 for a deeper run.
MAX_EXAMPLES = int(os.environ.get("API_FUZZ_EXAMPLES", "15"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]


def load_schema() -> schemathesis.schemas.BaseSchema:
    """The document /api/schema/ serves, generated at collection (where the database is out of reach)
    and bound to the WSGI app, so that every request of the tests reaches the test database.
    (schemathesis' lazy `from_fixture` loader does not run under pytest 9.)"""
    document = json.loads(OpenApiJsonRenderer().render(SchemaGenerator().get_schema(request=None, public=True)))
    loaded = schemathesis.openapi.from_dict(document)
    loaded.app = get_wsgi_application()
    return loaded


schema = load_schema()
schema.config.generation.update(
    modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
    max_examples=MAX_EXAMPLES,
    deterministic=True,
    database="none",
)


@pytest.fixture(autouse=True)
def keep_the_test_connection():
    """The real WSGI handler closes connections after each request, as Django's test client does not:
    on PostgreSQL that would close the test transaction's connection."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def personas(programme_a, programme_b, draft_a):
    """Programmes of partner A and of another organisation, so that both 200s and 404s are met."""


# The in-process WSGI client does not decompress: ask for plain bodies (GZipMiddleware is on).
PLAIN = {"Accept-Encoding": "identity"}


def token_header(user) -> dict:
    _token, secret = ApiToken.create_for(user, "schemathesis")
    return {**PLAIN, "Authorization": f"Token {secret}"}


FUZZ = settings(deadline=None, suppress_health_check=list(HealthCheck))


@schema.parametrize()
@FUZZ
def test_anonymous_gets_only_documented_answers(case, personas):
    case.call_and_validate(headers=PLAIN, checks=CHECKS)


@schema.parametrize()
@FUZZ
def test_partner_gets_only_documented_answers(case, personas, partner_a):
    case.call_and_validate(headers=token_header(partner_a), checks=CHECKS)


@schema.parametrize()
@FUZZ
def test_staff_gets_only_documented_answers(case, personas, staff):
    case.call_and_validate(headers=token_header(staff), checks=CHECKS)
