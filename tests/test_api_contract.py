"""The API contract (issue 12): one OpenAPI document whatever the language, real media types, declared
filters and page sizes, and conditional requests as HTTP defines them."""

from __future__ import annotations

import pytest

from . import api_support

as_persona = api_support.as_persona  # the fixture

pytestmark = pytest.mark.django_db

TRANSLATABLE = ("description", "summary")


def _without_texts(node):
    if isinstance(node, dict):
        return {k: _without_texts(v) for k, v in node.items() if not (k in TRANSLATABLE and isinstance(v, str))}
    if isinstance(node, list):
        return [_without_texts(v) for v in node]
    return node


def _schema(client, language: str) -> dict:
    response = client.get("/api/schema/", HTTP_ACCEPT="application/json", HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200
    return response.json()


def test_one_document_whatever_the_language(client):
    french, english = _schema(client, "fr"), _schema(client, "en")
    # Everything a generated client is built from (paths, operation ids, schema, property and enum
    # names, types, required lists) is the same; only descriptions and summaries are translated.
    assert _without_texts(french) == _without_texts(english)
    assert french != english  # the texts are translated
    operation = french["paths"]["/api/v1/programmes/"]["get"]
    assert operation["operationId"] == "programmes_list"
    assert "ProgrammeStatusEnum" in french["components"]["schemas"]
    assert all(name.isascii() for name in french["components"]["schemas"])


def test_report_downloads_are_binary_with_their_media_types(client):
    responses = _schema(client, "en")["paths"]["/api/v1/reports/{uuid}/download/"]["get"]["responses"]
    content = responses["200"]["content"]
    assert set(content) == {
        "application/pdf",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/xml",
        "text/csv",
    }
    assert all(media["schema"] == {"type": "string", "format": "binary"} for media in content.values())


def test_the_geojson_endpoint_declares_its_filters(client):
    operation = _schema(client, "en")["paths"]["/api/v1/regions/geojson/"]["get"]
    parameters = {p["name"]: p for p in operation["parameters"]}
    assert {"level", "parent", "within"} <= set(parameters)
    assert parameters["level"]["schema"]["type"] == "integer" and parameters["level"]["schema"]["enum"] == [1, 2, 3]


def test_page_and_page_size_are_integers_with_the_cap_stated(client):
    parameters = {p["name"]: p for p in _schema(client, "en")["paths"]["/api/v1/programmes/"]["get"]["parameters"]}
    assert parameters["page"]["schema"]["type"] == "integer"
    size = parameters["page_size"]
    assert size["schema"]["type"] == "integer" and size["schema"]["maximum"] == 200
    assert "200" in size["description"]


@pytest.mark.parametrize("persona", ["staff", "partner_a", "partner_b"])
def test_if_none_match_gives_304_while_the_copy_is_current(as_persona, persona, programme_a):
    client = as_persona(persona)
    url = f"/api/v1/programmes/{programme_a.code}/"
    first = client.get(url)
    if persona == "partner_b":
        assert first.status_code == 404  # not shared with organisation B: no ETag, no 304 either
        assert client.get(url, HTTP_IF_NONE_MATCH=f'"{programme_a.version}"').status_code == 404
        return
    etag = first["ETag"]
    again = client.get(url, HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304 and again["ETag"] == etag and not again.content
    assert client.get(url, HTTP_IF_NONE_MATCH=f"W/{etag}").status_code == 304  # weak comparison here
    assert client.get(url, HTTP_IF_NONE_MATCH='"999"').status_code == 200


def test_a_changed_programme_is_sent_again(as_persona, programme_a):
    client = as_persona("staff")
    url = f"/api/v1/programmes/{programme_a.code}/"
    etag = client.get(url)["ETag"]
    saved = client.patch(url, {"budget": "7.00"}, format="json", HTTP_IF_MATCH=etag)
    assert saved.status_code == 200
    fresh = client.get(url, HTTP_IF_NONE_MATCH=etag)
    assert fresh.status_code == 200 and fresh["ETag"] != etag
