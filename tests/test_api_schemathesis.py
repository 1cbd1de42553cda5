"""Schemathesis fuzzes every operation of /api/schema/ as anonymous, a partner and IOM staff: no 5xx, no answer off the schema."""

import copy
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
# Schemathesis' coverage phase sends every boundary case the schema defines (missing, wrong-typed and
# out-of-range values of each parameter, each undocumented method...): three quarters of this file's requests,
# whatever MAX_EXAMPLES is. The parameters are parsed the same way whoever asks, so `make test` runs that phase
# as IOM staff, who reach every operation's validators; anonymous and partner requests get the examples and
# the generated (positive and negative) cases. API_FUZZ_COVERAGE=all runs it for every persona.
COVERAGE_FOR_ALL = os.environ.get("API_FUZZ_COVERAGE", "staff") == "all"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]


def schema_document() -> dict:
    """The document /api/schema/ serves, generated at collection (where the database is out of reach)."""
    return json.loads(OpenApiJsonRenderer().render(SchemaGenerator().get_schema(request=None, public=True)))


def load_schema(document: dict, *, coverage: bool) -> schemathesis.schemas.BaseSchema:
    """The schema bound to the WSGI app, so that every request of the tests reaches the test database.
    (schemathesis' lazy `from_fixture` loader does not run under pytest 9.)"""
    loaded = schemathesis.openapi.from_dict(document)
    loaded.app = get_wsgi_application()
    loaded.config.generation.update(
        modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
        max_examples=MAX_EXAMPLES,
        deterministic=True,
        database="none",
    )
    loaded.config.phases.coverage.enabled = coverage
    return loaded


DOCUMENT = schema_document()
schema = load_schema(DOCUMENT, coverage=True)
generated_only = schema if COVERAGE_FOR_ALL else load_schema(copy.deepcopy(DOCUMENT), coverage=False)


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


@generated_only.parametrize()
@FUZZ
def test_anonymous_gets_only_documented_answers(case, personas):
    case.call_and_validate(headers=PLAIN, checks=CHECKS)


@generated_only.parametrize()
@FUZZ
def test_partner_gets_only_documented_answers(case, personas, partner_a):
    case.call_and_validate(headers=token_header(partner_a), checks=CHECKS)


@schema.parametrize()
@FUZZ
def test_staff_gets_only_documented_answers(case, personas, staff):
    case.call_and_validate(headers=token_header(staff), checks=CHECKS)
