"""Who reads and writes what through the REST API: staff, viewer, partner A, partner B and anonymous."""

import pytest
from django.test import override_settings

from programmes.models import Programme, Sector

from . import api_support
from .api_support import add_results

as_persona = api_support.as_persona  # the fixture

PERSONAS = ["staff", "viewer", "partner_a", "partner_b"]


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/",
        "/api/v1/programmes/",
        "/api/v1/programmes/TEST-00001/",
        "/api/v1/partners/",
        "/api/v1/partners/org-a/",
        "/api/v1/regions/",
        "/api/v1/regions/NE006/",
        "/api/v1/regions/geojson/?level=1",
        "/api/v1/regions/NE006/geojson/",
        "/api/v1/sectors/",
        "/api/v1/sectors/CT/",
        "/api/v1/key-figures/",
        "/api/v1/key-figures/live/",
    ],
)
def test_anonymous_gets_401_with_a_www_authenticate_header_on_every_endpoint(as_persona, reference, url):
    response = as_persona(None).get(url)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Token")
    assert response.json()["code"] == "not_authenticated"


def test_anonymous_cannot_write(as_persona, programme_a):
    client = as_persona(None)
    assert client.post("/api/v1/programmes/", {}, format="json").status_code == 401
    assert client.patch(f"/api/v1/programmes/{programme_a.code}/", {}, format="json").status_code == 401


def test_api_root_lists_the_endpoints(as_persona, reference):
    body = as_persona("partner_a").get("/api/v1/").json()
    assert {"programmes", "partners", "regions", "sectors", "key-figures"} <= set(body)
    assert body["programmes"].endswith("/api/v1/programmes/")


@pytest.mark.parametrize("persona", PERSONAS)
def test_programme_list_shows_each_persona_only_its_programmes(as_persona, persona, programme_a, programme_b, draft_a):
    body = as_persona(persona).get("/api/v1/programmes/").json()
    codes = {row["code"] for row in body["results"]}
    expected = {
        "staff": {programme_a.code, programme_b.code, draft_a.code},
        "viewer": {programme_a.code, programme_b.code, draft_a.code},
        "partner_a": {programme_a.code, draft_a.code},
        "partner_b": {programme_b.code},
    }[persona]
    assert codes == expected
    assert body["count"] == len(expected)


@pytest.mark.parametrize(
    ("persona", "status"), [("staff", 200), ("viewer", 200), ("partner_a", 200), ("partner_b", 404)]
)
def test_programme_detail_is_a_404_for_other_organisations(as_persona, persona, status, programme_a):
    response = as_persona(persona).get(f"/api/v1/programmes/{programme_a.code}/")
    assert response.status_code == status
    if status == 404:
        assert programme_a.title_fr not in response.content.decode()
        assert response.json() == {"status": 404, "code": "not_found", "detail": "Non trouvé.", "errors": {}}


@pytest.mark.parametrize("persona", ["partner_a", "partner_b"])
def test_partner_search_and_filters_never_reveal_other_programmes(as_persona, persona, programme_a, programme_b):
    client = as_persona(persona)
    for params in ({"q": "Agadez"}, {"q": "Tillabéri"}, {"area": "NE006"}, {"partner": "org-a"}, {"status": "active"}):
        codes = {row["code"] for row in client.get("/api/v1/programmes/", params).json().get("results", [])}
        own = programme_a.code if persona == "partner_a" else programme_b.code
        assert codes <= {own}, (persona, params)


def test_partner_filter_on_another_organisation_is_a_400_not_a_hint(as_persona, programme_a, programme_b):
    response = as_persona("partner_b").get("/api/v1/programmes/", {"partner": "org-a"})
    assert response.status_code == 400
    assert "partner" in response.json()["errors"]


def test_programme_detail_carries_partners_places_and_results(as_persona, programme_a):
    add_results(programme_a)
    body = as_persona("staff", "en").get(f"/api/v1/programmes/{programme_a.code}/").json()
    assert body["title"] == "Reintegration of migrants in Tillabéri"
    assert [p["organisation"] for p in body["participations"]] == ["org-a"]
    assert body["locations"] == ["NE006012007"]
    assert body["location_details"][0]["path"].startswith("Tillabéri › ")
    assert body["outcomes"][0]["outputs"][0]["code"] == "OP1.1"
    indicator = body["indicators"][0]
    assert indicator["output"] == "OP1.1"
    assert [v["achieved"] for v in indicator["values"]] == ["40.00", "3.00", "37.00"]
    assert "internal_notes" in body


def test_partners_never_see_small_disaggregated_counts_nor_internal_notes(as_persona, programme_a):
    add_results(programme_a)
    Programme.objects.filter(pk=programme_a.pk).update(internal_notes="Confidentiel IOM")
    response = as_persona("partner_a").get(f"/api/v1/programmes/{programme_a.code}/")
    body = response.json()
    values = body["indicators"][0]["values"]
    # 3 is hidden, and so is 37: the total (40) minus 37 would reveal the 3.
    assert [(v["achieved"], v["suppressed"]) for v in values] == [("40.00", False), (None, True), (None, True)]
    assert "internal_notes" not in body and "Confidentiel" not in response.content.decode()


@pytest.mark.parametrize("persona", ["viewer", "partner_a"])
def test_visible_programme_writes_are_403_for_read_only_personas(as_persona, persona, programme_a):
    client = as_persona(persona)
    url = f"/api/v1/programmes/{programme_a.code}/"
    headers = {"HTTP_IF_MATCH": f'"{programme_a.version}"'}
    assert client.patch(url, {"title_fr": "Piraté"}, format="json", **headers).status_code == 403
    assert client.put(url, {"title_fr": "Piraté"}, format="json", **headers).status_code == 403
    assert client.post(f"{url}transition/", {"status": "suspended"}, format="json").status_code == 403
    assert client.post("/api/v1/programmes/", {"code": "NE-X-1"}, format="json").status_code == 403
    programme_a.refresh_from_db()
    assert programme_a.title_fr != "Piraté" and programme_a.status == "active"


def test_invisible_programme_writes_are_404_for_partners(as_persona, programme_a):
    client = as_persona("partner_b")
    url = f"/api/v1/programmes/{programme_a.code}/"
    assert client.patch(url, {"title_fr": "x"}, format="json", HTTP_IF_MATCH='"1"').status_code == 404
    assert client.post(f"{url}transition/", {"status": "suspended"}, format="json").status_code == 404


def test_staff_with_edit_rights_create_a_programme(as_persona, org_a, reference):
    payload = {
        "code": "NE-CT-2026-900",
        "title_fr": "Lutte contre la traite à Zinder",
        "primary_sector": "CT",
        "secondary_sectors": ["AVRR"],
        "planned_start": "2026-01-01",
        "planned_end": "2027-06-30",
        "budget": "250000.00",
        "currency": "XOF",
        "locations": ["NE007", "NE006012007"],
        "participations": [{"organisation": "org-a", "role": "funding", "contribution": "1000.00"}],
    }
    response = as_persona("staff").post("/api/v1/programmes/", payload, format="json")
    assert response.status_code == 201, response.json()
    assert response["ETag"] == '"1"'
    assert response["Location"].endswith("/api/v1/programmes/NE-CT-2026-900/")
    programme = Programme.objects.get(code="NE-CT-2026-900")
    assert programme.status == "pipeline" and programme.created_by.username == "alice.staff"
    assert sorted(programme.locations.values_list("admin_unit__pcode", flat=True)) == ["NE006012007", "NE007"]
    assert list(programme.secondary_sectors.values_list("code", flat=True)) == ["AVRR"]
    assert programme.participations.get().contribution == 1000
    assert (
        Programme.objects.visible_to(org_a.users.model(organisation=org_a, is_active=True))
        .filter(pk=programme.pk)
        .exists()
    )


@pytest.mark.parametrize("persona", PERSONAS)
def test_organisations_are_scoped_like_the_web(as_persona, persona, programme_a, programme_b, org_a, org_b):
    client = as_persona(persona)
    codes = {row["code"] for row in client.get("/api/v1/partners/", {"page_size": 200}).json()["results"]}
    if persona in ("staff", "viewer"):
        assert {"org-a", "org-b"} <= codes and len(codes) > 2
    else:
        own = "org-a" if persona == "partner_a" else "org-b"
        assert codes == {own}
        other = "org-b" if own == "org-a" else "org-a"
        assert client.get(f"/api/v1/partners/{other}/").status_code == 404
        detail = client.get(f"/api/v1/partners/{own}/").json()
        assert {p["programme"] for p in detail["participations"]} == {
            programme_a.code if own == "org-a" else programme_b.code
        }


def test_organisation_detail_lists_only_programmes_the_reader_may_see(as_persona, org_a, programme_a, programme_b):
    from programmes.models import Participation

    Participation.objects.create(programme=programme_b, organisation=org_a, role="funding")
    rows = as_persona("partner_a").get("/api/v1/partners/org-a/").json()["participations"]
    assert {r["programme"] for r in rows} == {programme_a.code, programme_b.code}  # A now takes part in both
    Participation.objects.filter(programme=programme_b, organisation=org_a).delete()
    rows = as_persona("partner_a").get("/api/v1/partners/org-a/").json()["participations"]
    assert {r["programme"] for r in rows} == {programme_a.code}


@pytest.mark.parametrize("persona", PERSONAS)
def test_reference_data_is_the_same_for_every_persona(as_persona, persona, reference):
    client = as_persona(persona)
    assert client.get("/api/v1/regions/", {"level": 1}).json()["count"] == 8
    assert client.get("/api/v1/sectors/").json()["count"] == Sector.objects.count()
    assert client.get("/api/v1/sectors/CT/").status_code == 200
    assert client.get("/api/v1/key-figures/").status_code == 200


def test_admin_unit_detail_has_its_parent_chain_and_children(as_persona, reference):
    client = as_persona("partner_a", "fr")
    commune = client.get("/api/v1/regions/NE006012007/").json()
    assert commune["level"] == 3 and commune["parent"] == "NE006012"
    assert [a["pcode"] for a in commune["ancestors"]] == ["NE006", "NE006012"]
    region = client.get("/api/v1/regions/NE006/").json()
    assert region["ancestors"] == [] and {c["level"] for c in region["children"]} == {2}
    assert client.get("/api/v1/regions/NE999/").status_code == 404
    assert client.get("/api/v1/regions/not-a-pcode/").status_code == 404
    assert client.get("/api/v1/regions/", {"level": 7}).status_code == 400
    departments = client.get("/api/v1/regions/", {"parent": "NE006", "page_size": 200}).json()["results"]
    assert departments and all(d["parent"] == "NE006" for d in departments)


def test_geojson_of_regions_and_of_one_unit(as_persona, reference):
    client = as_persona("partner_b")
    collection = client.get("/api/v1/regions/geojson/", {"level": 1}).json()
    assert collection["type"] == "FeatureCollection" and len(collection["features"]) == 8
    feature = collection["features"][0]
    assert feature["type"] == "Feature" and feature["geometry"]["type"] in {"Polygon", "MultiPolygon"}
    assert feature["properties"]["level"] == 1
    one = client.get("/api/v1/regions/NE006012007/geojson/").json()
    assert one["id"] == "NE006012007" and one["properties"]["parent"] == "NE006012"


@pytest.mark.parametrize("persona", PERSONAS)
def test_live_key_figures_count_only_visible_programmes(as_persona, persona, programme_a, programme_b, draft_a):
    body = as_persona(persona).get("/api/v1/key-figures/live/").json()
    expected = {"staff": 3, "viewer": 3, "partner_a": 2, "partner_b": 1}[persona]
    assert body["total_programmes"] == expected


def test_schema_and_docs_are_public_and_served_without_a_cdn(client, db):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert schema.status_code == 200 and "/api/v1/programmes/{code}/" in schema.json()["paths"]
    for url in ("/api/docs/", "/api/docs/redoc/"):
        html = client.get(url).content.decode()
        assert "/static/drf_spectacular_sidecar/" in html, url
        assert "cdn" not in html.lower() and "googleapis" not in html, url
        assert "<script>" not in html, url  # scripts come from files: a strict CSP holds
    script = client.get("/api/docs/?script=")
    assert script.status_code == 200 and "SwaggerUIBundle" in script.content.decode()


def test_throttling_answers_429_with_retry_after_once_the_rate_is_spent(as_persona, reference, settings):
    from django.core.cache import cache

    cache.clear()
    rates = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"anon": "2/minute", "user": "3/minute"}}
    with override_settings(REST_FRAMEWORK=rates):
        client = as_persona("partner_a")
        statuses = [client.get("/api/v1/sectors/").status_code for _ in range(4)]
        anonymous = [as_persona(None).get("/api/schema/").status_code for _ in range(3)]
        last = client.get("/api/v1/sectors/")
    cache.clear()
    assert statuses == [200, 200, 200, 429]
    assert anonymous == [200, 200, 429]
    assert last.status_code == 429 and int(last["Retry-After"]) > 0 and last.json()["code"] == "throttled"


def test_the_api_refuses_to_edit_a_programme_under_review(as_persona, programme_a):
    Programme.objects.filter(pk=programme_a.pk).update(status="under_review")
    client = as_persona("staff")
    etag = client.get(f"/api/v1/programmes/{programme_a.code}/")["ETag"]
    response = client.patch(
        f"/api/v1/programmes/{programme_a.code}/",
        {"title_en": "Changed during review"},
        format="json",
        HTTP_IF_MATCH=etag,
    )
    assert response.status_code == 409
    programme_a.refresh_from_db()
    assert programme_a.title_en != "Changed during review"


def test_partners_added_through_the_api_appear_in_the_change_history(as_persona, programme_a, org_b):
    from auditlog.models import LogEntry

    client = as_persona("staff")
    etag = client.get(f"/api/v1/programmes/{programme_a.code}/")["ETag"]
    participations = [
        {"organisation": "org-a", "role": "implementing_partner"},
        {"organisation": org_b.code, "role": "funding", "contribution": "1000.00"},
    ]
    response = client.patch(
        f"/api/v1/programmes/{programme_a.code}/", {"participations": participations}, format="json", HTTP_IF_MATCH=etag
    )
    assert response.status_code == 200, response.content
    created = LogEntry.objects.filter(content_type__model="participation", action=LogEntry.Action.CREATE)
    assert [e.object_repr for e in created if "ORGB" in e.object_repr or "org-b" in e.object_repr.lower()]
