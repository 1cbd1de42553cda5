"""Hostile input answered with the API's JSON error body (never a 500), and the protective headers."""

import json

import pytest
from django.urls import reverse

from iom_portal.security import PERMISSIONS_POLICY
from reports.models import ReportJob

from .api_support import as_persona  # noqa: F401 — fixture

ERROR_KEYS = {"status", "code", "detail", "errors"}


def test_a_json_body_nested_100000_levels_deep_is_a_400_with_the_api_error_body(as_persona, staff):  # noqa: F811
    body = "[" * 100_000 + "]" * 100_000
    response = as_persona("staff").post("/api/v1/programmes/", body, content_type="application/json")
    assert response.status_code == 400
    assert set(response.json()) == ERROR_KEYS and response.json()["code"] == "parse_error"


def test_a_json_body_nested_a_little_too_deep_is_refused_before_any_serializer_runs(as_persona, staff):  # noqa: F811
    body = json.dumps(
        {"title_fr": "x", "participations": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}
    )
    response = as_persona("staff").post("/api/v1/programmes/", body, content_type="application/json")
    assert response.status_code == 400 and response.json()["code"] == "parse_error"


@pytest.mark.parametrize("persona", ["staff", "partner_a"])
def test_a_nul_character_in_report_parameters_is_a_400_naming_the_parameter_and_records_no_job(
    as_persona,  # noqa: F811
    persona,
    programme_a,
):
    body = {"type": "factsheet_pdf", "parameters": {"programme": "A\u0000"}}
    response = as_persona(persona).post("/api/v1/reports/", body, format="json")
    assert response.status_code == 400
    assert set(response.json()) == ERROR_KEYS
    assert "parameters.programme" in response.json()["errors"]
    assert not ReportJob.objects.exists()


def test_the_report_service_refuses_a_nul_character_whatever_the_door(partner_a, programme_a):
    from django.core.exceptions import ValidationError

    from reports.services import report_job_create

    with pytest.raises(ValidationError) as refused:
        report_job_create(user=partner_a, type="portfolio_xlsx", parameters={"q": "a\x00b"}, language="fr")
    assert "q" in refused.value.message_dict
    assert not ReportJob.objects.exists()


def test_an_unexpected_api_error_is_a_500_with_the_api_json_body(as_persona, staff, monkeypatch):  # noqa: F811
    from programmes.api import ProgrammeViewSet

    def explode(self, *args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(ProgrammeViewSet, "list", explode)
    client = as_persona("staff")
    client.raise_request_exception = False
    response = client.get("/api/v1/programmes/")
    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "status": 500,
        "code": "server_error",
        "detail": response.json()["detail"],
        "errors": {},
    }
    assert "boom" not in response.content.decode()


def test_a_too_large_api_body_is_a_json_error_not_an_html_page(as_persona, staff, settings):  # noqa: F811
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100
    response = as_persona("staff").post(
        "/api/v1/programmes/", json.dumps({"title_fr": "x" * 500}), content_type="application/json"
    )
    assert response.status_code in (400, 413)
    assert set(response.json()) == ERROR_KEYS


# --- Headers ------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/fr/accounts/login/", "/healthz", "/api/v1/"])
def test_every_response_carries_a_permissions_policy(client, path, reference):
    response = client.get(path)
    assert response["Permissions-Policy"] == PERMISSIONS_POLICY
    assert "camera=()" in response["Permissions-Policy"] and "geolocation=()" in response["Permissions-Policy"]


@pytest.mark.parametrize("persona", ["staff", "partner_a", "partner_b"])
def test_pages_shown_to_a_signed_in_user_are_private_and_never_stored(client, request, persona, programme_a):
    client.force_login(request.getfixturevalue(persona))
    for path in ["/fr/", "/fr/programmes/", reverse("regions:map_regions")]:
        response = client.get(path)
        assert response["Cache-Control"] == "private, no-store", path
        assert "Cookie" in response["Vary"]


@pytest.mark.parametrize("persona", ["staff", "partner_a", "partner_b", None])
def test_api_responses_are_private_and_never_stored(as_persona, persona, programme_a):  # noqa: F811
    for path in ["/api/v1/programmes/", "/api/v1/key-figures/live/", f"/api/v1/programmes/{programme_a.code}/"]:
        response = as_persona(persona).get(path)
        assert response["Cache-Control"] == "private, no-store", (path, response.status_code)
