"""The API contract (issue 12): one OpenAPI document whatever the language, real media types, declared
filters and page sizes, and conditional requests as HTTP defines them."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

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


def _code_without_docstrings(source: str) -> str:
    """A module's code as its syntax tree, docstrings left out (they carry the translated descriptions)."""
    tree = ast.parse(source)
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr):
            value = body[0].value
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                node.body = body[1:] or [ast.Pass()]
    return ast.dump(tree, include_attributes=False)


def _generated_client(client, language: str, tmp_path: Path) -> dict[str, str]:
    """openapi-python-client run on the document served in `language`: {file: code without docstrings}."""
    document = tmp_path / f"openapi-{language}.json"
    document.write_text(json.dumps(_schema(client, language)), encoding="utf-8")
    config = tmp_path / "config.yaml"
    config.write_text("post_hooks: []\n", encoding="utf-8")  # no formatter run: the raw generated code
    out = tmp_path / f"client-{language}"
    command = [sys.executable, "-m", "openapi_python_client", "generate", "--path", str(document)]
    command += ["--meta", "none", "--config", str(config), "--output-path", str(out), "--fail-on-warning"]
    subprocess.run(
        command,
        check=True,
        capture_output=True,
        text=True,
    )
    return {
        str(path.relative_to(out)): _code_without_docstrings(path.read_text(encoding="utf-8"))
        for path in sorted(out.rglob("*.py"))
    }


def test_a_client_generated_in_french_and_in_english_is_the_same_client(client, tmp_path):
    """The independent check of issue 12: openapi-python-client generates the same modules, classes,
    functions, parameters, types and enum members from the French and the English document; only the
    docstrings (the translated descriptions) differ."""
    french, english = _generated_client(client, "fr", tmp_path), _generated_client(client, "en", tmp_path)
    assert sorted(french) == sorted(english)
    assert "api/programmes/programmes_list.py" in french and "models/programme_status_enum.py" in french
    assert "models/modality_enum.py" in french
    different = [name for name in french if french[name] != english[name]]
    assert different == []
