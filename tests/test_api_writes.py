"""Programme writes through the API: ETag / If-Match, status transitions, and bad input that never becomes a 500."""

import json

import pytest

from programmes.models import Programme, ProgrammeStatusChange

from . import api_support

as_persona = api_support.as_persona  # the fixture


def patch(client, programme, data, *, if_match: str | None = None, raw: str | None = None):
    headers = {"HTTP_IF_MATCH": if_match} if if_match is not None else {}
    url = f"/api/v1/programmes/{programme.code}/"
    if raw is not None:
        return client.generic("PATCH", url, raw, content_type="application/json", **headers)
    return client.patch(url, data, format="json", **headers)


def test_get_carries_an_etag_and_a_patch_with_it_saves_and_bumps_the_version(as_persona, programme_a):
    client = as_persona("staff")
    etag = client.get(f"/api/v1/programmes/{programme_a.code}/")["ETag"]
    assert etag == f'"{programme_a.version}"'
    response = patch(client, programme_a, {"title_en": "Reintegration, phase 2"}, if_match=etag)
    assert response.status_code == 200, response.json()
    assert response["ETag"] == f'"{programme_a.version + 1}"' and response.json()["version"] == programme_a.version + 1
    programme_a.refresh_from_db()
    assert programme_a.title_en == "Reintegration, phase 2" and programme_a.updated_by.username == "alice.staff"


def test_if_match_uses_strong_comparison_a_weak_etag_is_refused(as_persona, programme_a):
    """RFC 9110 §13.1.1: If-Match compares strongly, so W/"1" never matches; nothing is saved."""
    response = patch(as_persona("staff"), programme_a, {"budget": "5.00"}, if_match=f'W/"{programme_a.version}"')
    assert response.status_code == 412
    programme_a.refresh_from_db()
    assert programme_a.budget != 5


def test_the_etag_of_a_compressed_answer_stays_strong_and_usable(as_persona, programme_a):
    client = as_persona("staff")
    got = client.get(f"/api/v1/programmes/{programme_a.code}/", HTTP_ACCEPT_ENCODING="gzip")
    assert got["Content-Encoding"] == "gzip"
    assert got["ETag"] == f'"{programme_a.version}-gzip"'  # not W/"1": Django's GZip would weaken it
    response = patch(client, programme_a, {"budget": "5.00"}, if_match=got["ETag"])
    assert response.status_code == 200, response.content


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
def test_writes_without_if_match_get_428_and_change_nothing(as_persona, programme_a, method):
    client = as_persona("staff", "en")
    url = f"/api/v1/programmes/{programme_a.code}/"
    response = client.generic(method, url, json.dumps({"title_fr": "Écrasé"}), content_type="application/json")
    assert response.status_code == 428
    assert response.json()["code"] == "precondition_required" and "If-Match" in response.json()["detail"]
    programme_a.refresh_from_db()
    assert programme_a.title_fr != "Écrasé"


def test_a_stale_if_match_changing_the_same_field_is_a_409_and_the_other_edit_survives(as_persona, programme_a):
    client = as_persona("staff")
    stale = client.get(f"/api/v1/programmes/{programme_a.code}/")["ETag"]
    assert patch(client, programme_a, {"title_fr": "Première modification"}, if_match=stale).status_code == 200
    response = patch(client, programme_a, {"title_fr": "Seconde modification"}, if_match=stale)
    assert response.status_code == 409 and response.json()["code"] == "edit_conflict"
    assert list(response.json()["errors"]) == ["title_fr"]
    programme_a.refresh_from_db()
    assert programme_a.title_fr == "Première modification" and programme_a.version == 2


def test_an_if_match_naming_a_version_never_seen_gets_412(as_persona, programme_a):
    client = as_persona("staff")
    response = patch(client, programme_a, {"title_fr": "Écrasé"}, if_match='"7"')
    assert response.status_code == 412 and response.json()["code"] == "precondition_failed"
    programme_a.refresh_from_db()
    assert programme_a.title_fr != "Écrasé"


def test_put_replaces_fields_and_the_lists_it_sends(as_persona, programme_a, org_b):
    client = as_persona("staff")
    current = client.get(f"/api/v1/programmes/{programme_a.code}/").json()
    payload = {
        "code": current["code"],
        "title_fr": "Titre remplacé",
        "primary_sector": "AVRR",
        "planned_start": "2025-02-01",
        "locations": ["NE001"],
        "participations": [{"organisation": "org-b", "role": "implementing_partner"}],
    }
    response = client.put(
        f"/api/v1/programmes/{programme_a.code}/",
        payload,
        format="json",
        HTTP_IF_MATCH=current["version"] and f'"{current["version"]}"',
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["locations"] == ["NE001"] and [p["organisation"] for p in body["participations"]] == ["org-b"]
    assert body["primary_sector"] == "AVRR"


def test_the_code_of_an_existing_programme_cannot_change(as_persona, programme_a):
    response = patch(as_persona("staff"), programme_a, {"code": "NE-NEW-001"}, if_match=f'"{programme_a.version}"')
    assert response.status_code == 400 and "code" in response.json()["errors"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("status", "closed"),
        ("organisation", "org-b"),
        ("created_by", "ada.admin"),
        ("version", 99),
        ("url", "http://x/"),
        ("outcomes", []),
        ("colour", "blue"),
    ],
)
def test_read_only_and_unknown_fields_are_rejected_with_400_and_never_applied(as_persona, programme_a, field, value):
    response = patch(
        as_persona("staff"), programme_a, {field: value, "title_fr": "Jamais"}, if_match=f'"{programme_a.version}"'
    )
    assert response.status_code == 400
    assert list(response.json()["errors"]) == [field]
    programme_a.refresh_from_db()
    assert programme_a.title_fr != "Jamais" and programme_a.status == "active" and programme_a.version == 1


def test_error_body_names_each_field_and_follows_accept_language(as_persona, programme_a):
    bad = {"budget": "beaucoup", "planned_start": "2025-13-45", "scope": "galactic", "colour": "x"}
    fr = patch(as_persona("staff", "fr"), programme_a, bad, if_match=f'"{programme_a.version}"').json()
    en = patch(as_persona("staff", "en"), programme_a, bad, if_match=f'"{programme_a.version}"').json()
    assert fr["status"] == en["status"] == 400 and fr["code"] == en["code"] == "invalid"
    assert set(fr["errors"]) == set(en["errors"]) == {"budget", "planned_start", "scope", "colour"}
    assert en["errors"]["colour"] == ["Unknown field."] and fr["errors"]["colour"] == ["Champ inconnu."]
    assert "date" in en["errors"]["planned_start"][0].lower() and "date" in fr["errors"]["planned_start"][0].lower()
    assert en["detail"] != fr["detail"]
    assert "valid" in en["errors"]["scope"][0] and "valide" in fr["errors"]["scope"][0]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"budget": "1" * 40}, "budget"),
        ({"budget": "NaN"}, "budget"),
        ({"budget": [1, 2]}, "budget"),
        ({"title_fr": {"a": 1}}, "title_fr"),
        ({"title_fr": "x" * 300}, "title_fr"),
        ({"title_fr": "nul\x00byte"}, "title_fr"),
        ({"title_fr": ""}, "title_fr"),
        ({"planned_start": "yesterday"}, "planned_start"),
        ({"planned_start": "0000-01-01"}, "planned_start"),
        ({"planned_end": "2020-01-01"}, "planned_end"),
        ({"actual_start": "2025-06-01", "actual_end": "2025-01-01"}, "actual_end"),
        ({"locations": ["NE999999999"]}, "locations"),
        ({"locations": ["Tillabéri"]}, "locations.0"),
        ({"locations": "NE006"}, "locations"),
        ({"locations": ["NE006", "NE006"]}, "locations.1"),
        ({"secondary_sectors": ["NOPE"]}, "secondary_sectors"),
        ({"primary_sector": None}, "primary_sector"),
        ({"iom_focal_point": "bob.partner-a"}, "iom_focal_point"),
        ({"participations": [{"organisation": "nobody", "role": "funding"}]}, "participations.0.organisation"),
        ({"participations": [{"organisation": "org-a", "role": "boss"}]}, "participations.0.role"),
        (
            {"participations": [{"organisation": "org-a", "role": "implementing_partner", "contribution": "5"}]},
            "participations.0.contribution",
        ),
        (
            {
                "participations": [
                    {"organisation": "org-a", "role": "funding"},
                    {"organisation": "org-a", "role": "funding"},
                ]
            },
            "participations.1.organisation",
        ),
        ({"participations": [{"organisation": "org-a", "role": "funding", "id": 3}]}, "participations.0.id"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_never_a_500(as_persona, programme_a, partner_a, payload, field):
    response = patch(as_persona("staff"), programme_a, payload, if_match=f'"{programme_a.version}"')
    assert response.status_code == 400, response.content
    assert field in response.json()["errors"], response.json()
    programme_a.refresh_from_db()
    assert programme_a.version == 1


def test_numbers_beyond_json_floats_are_a_400(as_persona, programme_a):
    response = patch(as_persona("staff"), programme_a, None, raw='{"budget": 1e400}', if_match='"1"')
    assert response.status_code == 400 and "budget" in response.json()["errors"]


@pytest.mark.parametrize("raw", ["{", "[1, 2]", '"text"', "null", '{"title_fr": }', "\ud800"])
def test_malformed_json_is_a_400(as_persona, programme_a, raw):
    response = patch(as_persona("staff"), programme_a, None, raw=raw.encode("utf-8", "surrogatepass"), if_match='"1"')
    assert response.status_code == 400
    assert response.json()["status"] == 400


def test_creating_with_a_taken_code_or_a_bad_code_is_a_400(as_persona, programme_a):
    client = as_persona("staff")
    base = {"title_fr": "T", "primary_sector": "CT", "planned_start": "2026-01-01"}
    assert (
        "code" in client.post("/api/v1/programmes/", {**base, "code": programme_a.code}, format="json").json()["errors"]
    )
    assert "code" in client.post("/api/v1/programmes/", {**base, "code": "lower case"}, format="json").json()["errors"]
    missing = client.post("/api/v1/programmes/", {}, format="json").json()["errors"]
    assert {"code", "title_fr", "primary_sector", "planned_start"} <= set(missing)


def test_session_writes_need_the_csrf_token(client, staff, programme_a):
    from rest_framework.test import APIClient

    api = APIClient(enforce_csrf_checks=True)
    api.force_login(staff)
    response = api.patch(
        f"/api/v1/programmes/{programme_a.code}/", {"title_fr": "x"}, format="json", HTTP_IF_MATCH='"1"'
    )
    assert response.status_code == 403 and "CSRF" in response.json()["detail"]
    assert api.get(f"/api/v1/programmes/{programme_a.code}/").status_code == 200


def test_transition_moves_the_status_and_records_it(as_persona, programme_a):
    client = as_persona("staff")
    response = client.post(
        f"/api/v1/programmes/{programme_a.code}/transition/",
        {"status": "suspended", "reason": "Sécurité"},
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "suspended" and response["ETag"] == '"2"'
    change = ProgrammeStatusChange.objects.get(programme=programme_a)
    assert (change.from_status, change.to_status, change.reason) == ("active", "suspended", "Sécurité")


def test_a_transition_outside_the_lifecycle_is_a_translated_400(as_persona, programme_a):
    response = as_persona("staff", "en").post(
        f"/api/v1/programmes/{programme_a.code}/transition/", {"status": "pipeline"}, format="json"
    )
    assert response.status_code == 400
    assert "cannot go from" in response.json()["errors"]["status"][0]
    assert Programme.objects.get(pk=programme_a.pk).status == "active"
    unknown = as_persona("staff").post(
        f"/api/v1/programmes/{programme_a.code}/transition/", {"status": "x", "y": 1}, format="json"
    )
    assert set(unknown.json()["errors"]) == {"status", "y"}


def test_a_transition_with_a_stale_if_match_is_a_412(as_persona, programme_a):
    response = as_persona("staff").post(
        f"/api/v1/programmes/{programme_a.code}/transition/",
        {"status": "suspended"},
        format="json",
        HTTP_IF_MATCH='"7"',
    )
    assert response.status_code == 412
    assert Programme.objects.get(pk=programme_a.pk).status == "active"


@pytest.mark.parametrize("code", ["%00", "a" * 80, "..", "x y", "NE-%C3%A9"])
def test_odd_lookups_are_json_404s(as_persona, reference, code):
    response = as_persona("staff").get(f"/api/v1/programmes/{code}/")
    assert response.status_code == 404 and response.json()["code"] == "not_found"


@pytest.mark.parametrize(
    "params",
    [
        {"page": "0"},
        {"page": "999"},
        {"page": "abc"},
        {"status": "nope"},
        {"area": "NE\x00"},
        {"active_from": "2025-99-01"},
        {"sector": "ZZ"},
    ],
)
def test_bad_list_parameters_are_4xx_json(as_persona, programme_a, params):
    response = as_persona("staff").get("/api/v1/programmes/", params)
    assert response.status_code in (400, 404)
    assert response.json()["status"] == response.status_code


def test_page_size_is_capped_at_200(as_persona, programme_a):
    Programme.objects.bulk_create(
        Programme(
            code=f"BULK-{n:04d}",
            title_fr="Lot",
            primary_sector=programme_a.primary_sector,
            planned_start=programme_a.planned_start,
        )
        for n in range(205)
    )
    body = as_persona("staff").get("/api/v1/programmes/", {"page_size": 100000}).json()
    assert body["count"] == 206 and len(body["results"]) == 200
    assert len(as_persona("staff").get("/api/v1/programmes/", {"page_size": 7}).json()["results"]) == 7
