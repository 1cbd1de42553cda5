"""Concurrent edits are merged, never lost (issue 16, item 1): a three-way merge of every field and every
row of every list (programmes/edit_merge.py), through the edit page and through the API."""

from __future__ import annotations

import html
import threading
from datetime import date
from decimal import Decimal

import pytest
from django.core.cache import cache

from programmes import edit_merge
from programmes.models import Indicator, IndicatorValue, Outcome, Output, Participation, Programme, Role, Sector
from regions.models import AdminUnit

from . import api_support
from .conftest import make_organisation, make_user
from .edit_support import form_data

as_persona = api_support.as_persona  # the fixture


@pytest.fixture
def rich(programme_a, org_b) -> Programme:
    """programme_a with two partners more, two places, an outcome with an output, two indicators and a value."""
    Participation.objects.create(
        programme=programme_a, organisation=org_b, role=Role.FUNDING, contribution=Decimal("1000")
    )
    Participation.objects.create(
        programme=programme_a, organisation=make_organisation("org-d"), role=Role.IMPLEMENTING_PARTNER
    )
    programme_a.locations.create(admin_unit=AdminUnit.objects.get(pcode="NE001"))
    oc1 = Outcome.objects.create(programme=programme_a, code="OC1", statement_fr="Résultat un", order=1)
    op11 = Output.objects.create(outcome=oc1, code="OP1.1", statement_fr="Produit un", order=1)
    i1 = Indicator.objects.create(programme=programme_a, output=op11, code="I1", name_fr="Personnes formées")
    Indicator.objects.create(programme=programme_a, outcome=oc1, code="I2", name_fr="Taux de satisfaction")
    IndicatorValue.objects.create(
        indicator=i1, period_start=date(2025, 1, 1), period_end=date(2025, 12, 31), target=10, achieved=5
    )
    return programme_a


@pytest.fixture
def olga(reference):
    return make_user(
        "olga.officer", first_name="Olga", last_name="Moussa", is_staff=True, group="IOM programme officers"
    )


def edit_url(programme: Programme, lang: str = "fr") -> str:
    return f"/{lang}/programmes/{programme.code}/edit/"


def row(data: dict, prefix: str, name: str, value: str) -> str:
    """The prefix (e.g. "participations-2") of the row whose `name` is `value`."""
    for key, posted in data.items():
        if key.startswith(prefix) and key.endswith(f"-{name}") and posted == value:
            return key.removesuffix(f"-{name}")
    raise AssertionError(f"no {prefix} row with {name}={value}")


def blank(data: dict, prefix: str) -> str:
    """The prefix of the formset's empty extra row."""
    return f"{prefix}-{int(data[f'{prefix}-TOTAL_FORMS']) - 1}"


# --- The merge itself ------------------------------------------------------------------------------


def state(**cells) -> edit_merge.State:
    return {tuple(key.split("__")): edit_merge.Cell(str(value), value) for key, value in cells.items()}


def test_the_merge_takes_each_sides_own_changes_and_flags_the_same_key_changed_differently():
    base = state(title_fr="A", budget="1", locations__NE001="1", participations__x="1", participations__x__notes="n")
    theirs = state(title_fr="A", budget="2", participations__x="1", participations__x__notes="theirs")
    mine = state(title_fr="B", budget="1", locations__NE001="1", locations__NE002="1", participations__x="1")
    mine[("participations", "x", "notes")] = edit_merge.Cell("mine", "mine")

    merged = edit_merge.merge(frozenset(edit_merge.fingerprint(base).split()), theirs, mine)

    assert merged.state[("title_fr",)].text == "B" and merged.state[("budget",)].text == "2"
    assert ("locations", "NE001") not in merged.state and ("locations", "NE002") in merged.state  # removed / added
    assert [c.name for c in merged.conflicts] == ["participations.x.notes"]
    assert merged.state[("participations", "x", "notes")].text == "mine"  # the editor's value is kept


def test_a_row_removed_on_one_side_and_changed_on_the_other_is_a_conflict_and_an_unknown_base_merges_nothing():
    base = state(participations__x="1", participations__x__notes="n")
    theirs = state()
    mine = state(participations__x="1", participations__x__notes="changed")
    merged = edit_merge.merge(frozenset(edit_merge.fingerprint(base).split()), theirs, mine)
    assert [c.name for c in merged.conflicts] == ["participations.x.notes"]
    assert ("participations", "x") in merged.state  # kept, to be added again if saved as shown

    unknown = edit_merge.merge(None, state(title_fr="A", budget="2"), state(title_fr="B", budget="2"))
    assert [c.name for c in unknown.conflicts] == ["title_fr"]


# --- 20 editors through the edit page ------------------------------------------------------------


def test_twenty_editors_of_distinct_fields_and_rows_through_the_edit_page_lose_nothing(
    client, staff, rich, org_a, org_b
):
    org_c = make_organisation("org-c")
    second_sector = Sector.objects.exclude(pk=rich.primary_sector_id).order_by("order").first()
    client.force_login(staff)
    loaded = form_data(client.get(edit_url(rich)).content.decode())
    assert loaded["version"] == "1"

    def p(organisation_pk: int) -> str:  # a participation row's prefix
        return row(loaded, "participations-", "organisation", str(organisation_pk))

    outcome = row(loaded, "outcomes-", "code", "OC1")
    indicator = row(loaded, "indicators-", "code", "I1")
    changes = [
        {"title_fr": "Titre 1"},
        {"title_en": "Title 2"},
        {"summary_fr": "Résumé 3"},
        {"summary_en": "Summary 4"},
        {"internal_notes": "Notes 5"},
        {"budget": "200000"},
        {"planned_end": "2027-06-30"},
        {"secondary_sectors": [str(second_sector.pk)]},
        {f"{p(org_a.pk)}-notes": "Notes de A 9"},
        {f"{p(org_b.pk)}-contribution": "2000"},
        {
            f"{blank(loaded, 'participations')}-organisation": str(org_c.pk),
            f"{blank(loaded, 'participations')}-role": Role.IMPLEMENTING_PARTNER,
        },
        {f"{blank(loaded, 'locations')}-admin_unit": "NE006008010"},
        {f"{row(loaded, 'locations-', 'admin_unit', 'NE001')}-DELETE": "on"},
        {f"{outcome}-statement_en": "Outcome one 14"},
        {f"{row(loaded, f'{outcome}-outputs-', 'code', 'OP1.1')}-statement_en": "Output one 15"},
        {
            f"{blank(loaded, f'{outcome}-outputs')}-code": "OP1.2",
            f"{blank(loaded, f'{outcome}-outputs')}-statement_fr": "Produit deux 16",
        },
        {f"{indicator}-name_en": "People trained 17"},
        {f"{row(loaded, 'indicators-', 'code', 'I2')}-target": "50"},
        {f"{indicator}-values-0-achieved": "7"},
        {f"{blank(loaded, 'outcomes')}-code": "OC2", f"{blank(loaded, 'outcomes')}-statement_fr": "Résultat deux 20"},
    ]
    assert len(changes) == 20
    for number, change in enumerate(changes, 1):
        data = {**loaded, **change}  # every editor loaded version 1
        response = client.post(edit_url(rich), data)
        assert response.status_code == 302, (number, html.unescape(response.content.decode())[:3000])

    rich.refresh_from_db()
    assert rich.version == 21
    assert (rich.title_fr, rich.title_en, rich.summary_fr, rich.summary_en) == (
        "Titre 1",
        "Title 2",
        "Résumé 3",
        "Summary 4",
    )
    assert (rich.internal_notes, rich.budget, rich.planned_end) == ("Notes 5", Decimal("200000"), date(2027, 6, 30))
    assert list(rich.secondary_sectors.all()) == [second_sector]
    parts = {p.organisation.code: p for p in rich.participations.select_related("organisation")}
    assert sorted(parts) == ["org-a", "org-b", "org-c", "org-d"]
    assert parts["org-a"].notes == "Notes de A 9" and parts["org-b"].contribution == Decimal("2000")
    assert sorted(rich.locations.values_list("admin_unit__pcode", flat=True)) == ["NE006008010", "NE006012007"]
    outcomes = {o.code: o for o in rich.outcomes.all()}
    assert outcomes["OC1"].statement_en == "Outcome one 14" and outcomes["OC2"].statement_fr == "Résultat deux 20"
    outputs = {o.code: o for o in Output.objects.filter(outcome__programme=rich)}
    assert outputs["OP1.1"].statement_en == "Output one 15" and outputs["OP1.2"].statement_fr == "Produit deux 16"
    indicators = {i.code: i for i in rich.indicators.all()}
    assert indicators["I1"].name_en == "People trained 17" and indicators["I2"].target == Decimal("50")
    assert indicators["I1"].output == outputs["OP1.1"]
    assert IndicatorValue.objects.get(indicator=indicators["I1"]).achieved == Decimal("7")


# --- Conflicts on the edit page: both values, the input kept, French and English --------------------


@pytest.mark.parametrize(
    ("lang", "said"),
    [
        ("fr", "a enregistré ce programme pendant que vous le modifiiez"),
        ("en", "saved this programme while you were editing it (now version 2), and changed some of the same things"),
    ],
)
def test_the_same_cell_changed_differently_on_the_page_is_a_409_with_both_values(
    client, staff, olga, rich, org_a, lang, said
):
    client.force_login(staff)
    mine = form_data(client.get(edit_url(rich, lang)).content.decode())
    client.force_login(olga)
    theirs = form_data(client.get(edit_url(rich, lang)).content.decode())
    a_row = row(theirs, "participations-", "organisation", str(org_a.pk))
    theirs.update({f"{a_row}-notes": "Notes d'Olga", "budget": "150000"})
    assert client.post(edit_url(rich, lang), theirs).status_code == 302

    client.force_login(staff)
    mine.update({f"{a_row}-notes": "Notes d'Alice", "title_en": "Alice's title"})
    response = client.post(edit_url(rich, lang), mine)

    assert response.status_code == 409
    page = html.unescape(response.content.decode())
    assert said in page and "Olga Moussa" in page
    assert "Notes d'Olga" in page and "Notes d'Alice" in page  # both values
    again = form_data(response.content.decode())
    assert again[f"{a_row}-notes"] == "Notes d'Alice" and again["title_en"] == "Alice's title"  # the input kept
    assert again["budget"] == "150000.00"  # Olga's other change is merged into the form
    rich.refresh_from_db()
    assert rich.version == 2 and rich.title_en != "Alice's title"

    assert client.post(edit_url(rich, lang), again).status_code == 302  # saved as shown: Alice chose
    rich.refresh_from_db()
    assert (rich.title_en, rich.budget) == ("Alice's title", Decimal("150000"))
    assert rich.participations.get(organisation=org_a).notes == "Notes d'Alice"


def test_two_edits_that_merge_but_break_a_rule_together_are_explained_and_both_kept(client, staff, olga, rich, org_b):
    client.force_login(staff)
    mine = form_data(client.get(edit_url(rich, "en")).content.decode())
    client.force_login(olga)
    theirs = form_data(client.get(edit_url(rich, "en")).content.decode())
    theirs["budget"] = "1500"
    assert client.post(edit_url(rich, "en"), theirs).status_code == 302

    client.force_login(staff)
    b_row = row(mine, "participations-", "organisation", str(org_b.pk))
    mine[f"{b_row}-contribution"] = "2000"
    response = client.post(edit_url(rich, "en"), mine)

    assert response.status_code == 409
    page = html.unescape(response.content.decode())
    assert "your changes were merged with theirs, but together they break a rule below" in page
    again = form_data(response.content.decode())
    assert again["budget"] == "1500.00" and again[f"{b_row}-contribution"] == "2000"
    rich.refresh_from_db()
    assert rich.budget == Decimal("1500") and rich.participations.get(organisation=org_b).contribution == Decimal(
        "1000"
    )


# --- 20 editors through the API ----------------------------------------------------------------------


def writable(participations: list[dict]) -> list[dict]:
    return [{k: v for k, v in p.items() if k != "organisation_name"} for p in participations]


def test_twenty_editors_of_distinct_fields_and_rows_through_the_api_lose_nothing(as_persona, staff, rich):
    make_organisation("org-c")
    sectors = list(
        Sector.objects.exclude(pk=rich.primary_sector_id).order_by("order").values_list("code", flat=True)[:2]
    )
    url = f"/api/v1/programmes/{rich.code}/"
    clients = [as_persona("staff") for _ in range(20)]
    loaded = []
    for client in clients:  # everyone loads version 1
        response = client.get(url)
        loaded.append((response["ETag"], response.json()))
    assert {etag for etag, _ in loaded} == {'"1"'}
    body = loaded[0][1]
    parts = writable(body["participations"])

    def with_part(code: str, **changes) -> list[dict]:
        return [{**p, **changes} if p["organisation"] == code else p for p in parts]

    changes = [
        {"title_fr": "Titre 1"},
        {"title_en": "Title 2"},
        {"summary_fr": "Résumé 3"},
        {"summary_en": "Summary 4"},
        {"internal_notes": "Notes 5"},
        {"budget": "200000.00"},
        {"planned_end": "2027-06-30"},
        {"planned_start": "2025-01-15"},
        {"scope": "regional", "recipient_regions": [{"region": "289", "percentage": "100.00"}]},
        {"iom_focal_point": staff.username},
        {"secondary_sectors": [sectors[0]]},
        {"secondary_sectors": [sectors[1]]},
        {"participations": with_part("org-a", notes="Notes de A 13")},
        {"participations": with_part("org-b", contribution="2000.00")},
        {"participations": [*parts, {"organisation": "org-c", "role": "implementing_partner"}]},
        {"participations": [p for p in parts if p["organisation"] != "org-d"]},
        {"locations": [*body["locations"], "NE006008010"]},
        {"locations": [pcode for pcode in body["locations"] if pcode != "NE001"]},
        {"locations": [*body["locations"], "NE003"]},
        {"actual_start": "2025-02-01"},
    ]
    assert len(changes) == 20
    for number, (client, (etag, _), change) in enumerate(zip(clients, loaded, changes, strict=True), 1):
        response = client.patch(url, change, format="json", HTTP_IF_MATCH=etag)
        assert response.status_code == 200, (number, response.json())

    final = clients[0].get(url).json()
    assert final["version"] == 21
    for change in changes[:10] + changes[19:]:
        for name, value in change.items():
            if name != "recipient_regions":
                assert final[name] == value, name
    assert [(r["region"], r["percentage"]) for r in final["recipient_regions"]] == [("289", "100.00")]
    assert sorted(final["secondary_sectors"]) == sorted(sectors)
    got = {p["organisation"]: p for p in final["participations"]}
    assert sorted(got) == ["org-a", "org-b", "org-c"]
    assert got["org-a"]["notes"] == "Notes de A 13" and got["org-b"]["contribution"] == "2000.00"
    assert sorted(final["locations"]) == ["NE003", "NE006008010", "NE006012007"]


@pytest.mark.parametrize(
    ("lang", "said"),
    [
        ("fr", "a enregistré « Titre d'Olga » entre-temps ; vous avez envoyé « Titre d'Alice »."),
        ("en", "saved “Titre d'Olga” meanwhile; you sent “Titre d'Alice”."),
    ],
)
def test_the_same_field_changed_differently_through_the_api_is_a_409_naming_it(as_persona, rich, lang, said):
    alice, olga_client = as_persona("staff", lang), as_persona("staff", lang)
    url = f"/api/v1/programmes/{rich.code}/"
    etag = alice.get(url)["ETag"]
    olga_client.patch(url, {"title_fr": "Titre d'Olga", "budget": "5000.00"}, format="json", HTTP_IF_MATCH=etag)

    response = alice.patch(url, {"title_fr": "Titre d'Alice", "title_en": "Alice"}, format="json", HTTP_IF_MATCH=etag)

    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "edit_conflict" and list(body["errors"]) == ["title_fr"]
    assert said in body["errors"]["title_fr"][0]
    assert "title_fr" in body["detail"]
    rich.refresh_from_db()
    assert (rich.title_fr, rich.version) == ("Titre d'Olga", 2) and rich.title_en != "Alice"


def test_a_partner_removed_through_the_api_while_someone_changed_it_is_a_409_on_that_row(as_persona, rich):
    alice, olga_client = as_persona("staff", "en"), as_persona("staff", "en")
    url = f"/api/v1/programmes/{rich.code}/"
    response = alice.get(url)
    etag, parts = response["ETag"], writable(response.json()["participations"])
    changed = [{**p, "notes": "Olga's notes"} if p["organisation"] == "org-d" else p for p in parts]
    assert olga_client.patch(url, {"participations": changed}, format="json", HTTP_IF_MATCH=etag).status_code == 200

    removed = [p for p in parts if p["organisation"] != "org-d"]
    response = alice.patch(url, {"participations": removed}, format="json", HTTP_IF_MATCH=etag)

    assert response.status_code == 409
    assert list(response.json()["errors"]) == ["participations.org-d.notes"]
    assert "(removed)" in response.json()["errors"]["participations.org-d.notes"][0]
    assert rich.participations.get(organisation__code="org-d").notes == "Olga's notes"


def test_a_version_this_server_does_not_remember_is_a_412_never_a_blind_overwrite(as_persona, rich):
    alice = as_persona("staff")
    url = f"/api/v1/programmes/{rich.code}/"
    etag = alice.get(url)["ETag"]
    assert alice.patch(url, {"title_en": "First"}, format="json", HTTP_IF_MATCH=etag).status_code == 200
    cache.clear()
    response = alice.patch(url, {"title_fr": "Second"}, format="json", HTTP_IF_MATCH=etag)
    assert response.status_code == 412 and response.json()["code"] == "precondition_failed"
    rich.refresh_from_db()
    assert rich.title_en == "First" and rich.title_fr != "Second"


@pytest.mark.parametrize(("persona", "expected"), [("staff", 200), ("partner_a", 403), ("partner_b", 404)])
def test_a_stale_save_is_merged_for_iom_staff_only(as_persona, client, programme_a, persona, expected):
    staff_client = as_persona("staff")
    url = f"/api/v1/programmes/{programme_a.code}/"
    etag = staff_client.get(url)["ETag"]
    assert staff_client.patch(url, {"title_en": "First"}, format="json", HTTP_IF_MATCH=etag).status_code == 200

    response = as_persona(persona).patch(url, {"title_fr": "Second"}, format="json", HTTP_IF_MATCH=etag)

    assert response.status_code == expected
    assert "edit_conflict" not in response.content.decode()
    programme_a.refresh_from_db()
    assert programme_a.title_en == "First" and (programme_a.title_fr == "Second") == (persona == "staff")


@pytest.mark.django_db(transaction=True)
def test_twenty_editors_at_once_through_the_api_in_threads_lose_nothing(as_persona, staff, programme_a):
    """Really at the same time: the programme's row lock orders the saves, each one merged with the others."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("SQLite has no row locks; the sequential tests above cover the merge itself")
    url = f"/api/v1/programmes/{programme_a.code}/"
    clients = [as_persona("staff") for _ in range(20)]
    etag = clients[0].get(url)["ETag"]
    changes = [
        {"title_fr": "Titre"},
        {"title_en": "Title"},
        {"summary_fr": "Résumé"},
        {"summary_en": "Summary"},
        {"internal_notes": "Notes"},
        {"budget": "200000.00"},
        {"planned_end": "2027-06-30"},
        {"planned_start": "2025-01-15"},
        {"scope": "regional", "recipient_regions": [{"region": "289", "percentage": "100.00"}]},
        {"iom_focal_point": staff.username},
        {"actual_start": "2025-02-01"},
        *({"locations": ["NE006012007", pcode]} for pcode in ("NE001", "NE003", "NE006", "NE006008010", "NE006012")),
        *(
            {"secondary_sectors": [code]}
            for code in Sector.objects.exclude(pk=programme_a.primary_sector_id).values_list("code", flat=True)[:4]
        ),
    ]
    assert len(changes) == 20
    results: list = [None] * 20

    def edit(number: int) -> None:
        try:
            response = clients[number].patch(url, changes[number], format="json", HTTP_IF_MATCH=etag)
            results[number] = (response.status_code, response.json())
        finally:
            connection.close()

    threads = [threading.Thread(target=edit, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert [r[0] for r in results] == [200] * 20, results
    final = clients[0].get(url).json()
    assert final["version"] == 21
    for change in changes[:11]:
        for name, value in change.items():
            if name != "recipient_regions":
                assert final[name] == value, name
    assert [(r["region"], r["percentage"]) for r in final["recipient_regions"]] == [("289", "100.00")]
    assert sorted(final["locations"]) == sorted({"NE006012007", *(c["locations"][1] for c in changes[11:16])})
    assert sorted(final["secondary_sectors"]) == sorted(c["secondary_sectors"][0] for c in changes[16:])


# --- Recipient countries are rows like any other ----------------------------------------------------


def _recipients(programme: Programme) -> dict[str, Decimal]:
    return dict(programme.recipient_countries.values_list("country", "percentage"))


def test_recipient_countries_sent_on_a_stale_api_version_are_merged_with_the_other_editors_title(as_persona, rich):
    rich.recipient_countries.create(country_id="NE", percentage=Decimal("100"))
    alice, olga_client = as_persona("staff"), as_persona("staff")
    url = f"/api/v1/programmes/{rich.code}/"
    etag = alice.get(url)["ETag"]
    assert olga_client.patch(url, {"title_fr": "Titre d'Olga"}, format="json", HTTP_IF_MATCH=etag).status_code == 200

    countries = [{"country": "NE", "percentage": "60"}, {"country": "ML", "percentage": "40"}]
    response = alice.patch(
        url, {"scope": "regional", "recipient_countries": countries}, format="json", HTTP_IF_MATCH=etag
    )

    assert response.status_code == 200, response.content
    rich.refresh_from_db()
    assert (rich.title_fr, rich.scope, rich.version) == ("Titre d'Olga", "regional", 3)
    assert _recipients(rich) == {"NE": Decimal("60"), "ML": Decimal("40")}


def test_the_same_recipient_share_changed_differently_through_the_api_is_a_409_naming_the_row(as_persona, rich):
    rich.recipient_countries.create(country_id="NE", percentage=Decimal("100"))
    alice, olga_client = as_persona("staff"), as_persona("staff")
    url = f"/api/v1/programmes/{rich.code}/"
    etag = alice.get(url)["ETag"]
    olga_sent = [{"country": "NE", "percentage": "50"}, {"country": "ML", "percentage": "50"}]
    olga = olga_client.patch(
        url, {"scope": "regional", "recipient_countries": olga_sent}, format="json", HTTP_IF_MATCH=etag
    )
    assert olga.status_code == 200, olga.content

    alice_sent = [{"country": "NE", "percentage": "70"}, {"country": "ML", "percentage": "30"}]
    response = alice.patch(
        url, {"scope": "regional", "recipient_countries": alice_sent}, format="json", HTTP_IF_MATCH=etag
    )

    assert response.status_code == 409
    assert "recipient_countries.NE.percentage" in response.json()["errors"]
    assert _recipients(rich) == {"NE": Decimal("50"), "ML": Decimal("50")}


def test_recipient_countries_changed_on_a_stale_edit_page_are_merged_with_the_other_editors_title(
    client, staff, as_persona, rich
):
    rich.recipient_countries.create(country_id="NE", percentage=Decimal("100"))
    client.force_login(staff)
    loaded = form_data(client.get(edit_url(rich)).content.decode())
    url = f"/api/v1/programmes/{rich.code}/"
    olga_client = as_persona("staff")
    etag = olga_client.get(url)["ETag"]
    assert olga_client.patch(url, {"title_fr": "Titre d'Olga"}, format="json", HTTP_IF_MATCH=etag).status_code == 200

    niger = row(loaded, "recipient_countries-", "country", "NE")
    extra = blank(loaded, "recipient_countries")
    data = {**loaded, "scope": "regional", f"{niger}-percentage": "60", f"{extra}-country": "ML"}
    data[f"{extra}-percentage"] = "40"
    response = client.post(edit_url(rich), data)

    assert response.status_code == 302, html.unescape(response.content.decode())[:3000]
    rich.refresh_from_db()
    assert (rich.title_fr, rich.scope) == ("Titre d'Olga", "regional")
    assert _recipients(rich) == {"NE": Decimal("60"), "ML": Decimal("40")}


@pytest.mark.parametrize(
    ("kind", "form"),
    [
        ("participations", "ParticipationForm"),
        ("recipient_countries", "RecipientCountryForm"),
        ("recipient_regions", "RecipientRegionForm"),
        ("outcomes", "OutcomeForm"),
        ("outputs", "OutputForm"),
        ("indicators", "IndicatorForm"),
        ("values", "IndicatorValueForm"),
    ],
)
def test_every_field_of_every_edited_row_takes_part_in_the_merge(kind, form):
    """A field added to a row's form but not to the merge would be dropped from a merged save."""
    from programmes import forms, result_forms

    form_class = getattr(forms, form, None) or getattr(result_forms, form)
    identity = {"organisation", "country", "region", "outcome", "indicator"}
    assert set(form_class.base_fields) - identity - {"id", "DELETE"} <= set(edit_merge.ROW_FIELDS[kind])
