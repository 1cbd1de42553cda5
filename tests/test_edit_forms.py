"""Creating and editing programmes in the browser forms: saving, validation messages, no lost input."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from programmes.models import (
    Indicator,
    IndicatorValue,
    Participation,
    Programme,
    ProgrammeLocation,
    Role,
    Sector,
    Status,
)
from regions.models import AdminUnit

from .conftest import make_programme
from .edit_support import field_errors, form_data

NEW_URL = "/{lang}/programmes/new/"


def edit_url(programme: Programme, lang: str = "fr") -> str:
    return f"/{lang}/programmes/{programme.code}/edit/"


def new_programme_data(client, org_a, org_b, lang: str = "fr") -> dict:
    """A complete new programme as a staff member fills it in: two partners, a commune, an indicator."""
    data = form_data(client.get(NEW_URL.format(lang=lang)).content.decode())
    data.update(
        {
            "code": "ne-ct-2026-900",
            "title_fr": "Protection des victimes de la traite à Niamey",
            "title_en": "Protection of victims of trafficking in Niamey",
            "summary_fr": "Appui aux centres d'accueil.",
            "primary_sector": str(Sector.objects.get(code="CT").pk),
            "secondary_sectors": [str(Sector.objects.get(code="VM").pk)],
            "scope": "national",
            "planned_start": "2026-01-01",
            "planned_end": "2027-12-31",
            "budget": "250000",
            "currency": "EUR",
            "participations-TOTAL_FORMS": "2",
            "participations-0-organisation": str(org_a.pk),
            "participations-0-role": Role.IMPLEMENTING_PARTNER,
            "participations-1-organisation": str(org_b.pk),
            "participations-1-role": Role.FUNDING,
            "participations-1-contribution": "100000",
            "participations-1-notes": "",
            "participations-1-id": "",
            "participations-1-programme": "",
            "locations-0-admin_unit": "NE006012007",
            "indicators-0-code": "I1",
            "indicators-0-name_fr": "Victimes assistées",
            "indicators-0-name_en": "Victims assisted",
            "indicators-0-unit": "personnes",
            "indicators-0-measure": "unit",
            "indicators-0-baseline": "0",
            "indicators-0-target": "300",
            "indicators-0-values-0-period_start": "2026-01-01",
            "indicators-0-values-0-period_end": "2026-06-30",
            "indicators-0-values-0-sex": "all",
            "indicators-0-values-0-age_group": "all",
            "indicators-0-values-0-target": "150",
            "indicators-0-values-0-achieved": "90",
        }
    )
    return data


def test_staff_creates_a_programme_with_two_partners_a_commune_and_an_indicator(client, staff, org_a, org_b):
    client.force_login(staff)
    response = client.post(NEW_URL.format(lang="fr"), new_programme_data(client, org_a, org_b))

    programme = Programme.objects.get(code="NE-CT-2026-900")
    assert response.status_code == 302 and response["Location"] == programme.get_absolute_url()
    assert (programme.status, programme.version, programme.created_by, programme.updated_by) == (
        Status.PIPELINE,
        1,
        staff,
        staff,
    )
    assert list(programme.secondary_sectors.values_list("code", flat=True)) == ["VM"]
    assert set(Participation.objects.filter(programme=programme).values_list("organisation__code", "role")) == {
        ("org-a", Role.IMPLEMENTING_PARTNER),
        ("org-b", Role.FUNDING),
    }
    assert Participation.objects.get(programme=programme, role=Role.FUNDING).contribution == Decimal("100000")
    assert list(programme.locations.values_list("admin_unit__pcode", flat=True)) == ["NE006012007"]
    value = IndicatorValue.objects.get(indicator__programme=programme)
    assert (value.indicator.code, value.target, value.achieved) == ("I1", Decimal("150"), Decimal("90"))


def test_a_place_can_be_given_by_a_unique_name_without_javascript(client, staff, org_a, org_b):
    client.force_login(staff)
    data = new_programme_data(client, org_a, org_b)
    data["locations-0-admin_unit"] = "namaro"
    assert client.post(NEW_URL.format(lang="fr"), data).status_code == 302
    assert list(ProgrammeLocation.objects.values_list("admin_unit__pcode", flat=True)) == ["NE006008010"]


def test_staff_edits_a_programme_partners_and_places(client, staff, programme_a, org_b):
    client.force_login(staff)
    data = form_data(client.get(edit_url(programme_a)).content.decode())
    data.update(
        {
            "title_fr": "Nouveau titre",
            "participations-1-organisation": str(org_b.pk),
            "participations-1-role": Role.ENDORSING_AUTHORITY,
            "locations-0-DELETE": "on",
            "locations-1-admin_unit": "NE006008006",
        }
    )
    response = client.post(edit_url(programme_a), data)

    assert response.status_code == 302
    programme_a.refresh_from_db()
    assert (programme_a.title_fr, programme_a.version, programme_a.updated_by) == ("Nouveau titre", 2, staff)
    assert programme_a.participations.count() == 2
    assert list(programme_a.locations.values_list("admin_unit__pcode", flat=True)) == ["NE006008006"]


def test_the_code_of_an_existing_programme_cannot_be_changed(client, staff, programme_a):
    client.force_login(staff)
    data = form_data(client.get(edit_url(programme_a)).content.decode())
    data["code"] = "HIJACKED-1"
    assert client.post(edit_url(programme_a), data).status_code == 302
    assert Programme.objects.filter(code=programme_a.code).exists()
    assert not Programme.objects.filter(code="HIJACKED-1").exists()


# --- Validation: every rule, next to its field, in French and in English ------------------------

RULES = [
    # (name, changes, field id, French message, English message)
    (
        "planned end before start",
        {"planned_end": "2025-12-31"},
        "id_planned_end",
        "La fin prévue ne peut pas précéder le début prévu.",
        "The planned end cannot be before the planned start.",
    ),
    (
        "actual end before start",
        {"actual_start": "2026-03-01", "actual_end": "2026-02-01"},
        "id_actual_end",
        "La fin effective ne peut pas précéder le début effectif.",
        "The actual end cannot be before the actual start.",
    ),
    (
        "negative budget",
        {"budget": "-5"},
        "id_budget",
        "Le budget ne peut pas être négatif.",
        "The budget cannot be negative.",
    ),
    (
        "badly formed code",
        {"code": "x"},
        "id_code",
        "Utilisez 3 à 32 majuscules, chiffres, points ou tirets, p. ex. NE-CT-2026-001.",
        "Use 3 to 32 capital letters, digits, dots or hyphens, e.g. NE-CT-2026-001.",
    ),
    (
        "code already used",
        {"code": "TAKEN-001"},
        "id_code",
        "Un autre programme utilise déjà ce code.",
        "Another programme already uses this code.",
    ),
    (
        "primary sector also secondary",
        {"secondary_sectors": ["__CT__"]},
        "id_secondary_sectors",
        "Le secteur principal ne peut pas être aussi un secteur secondaire.",
        "The primary sector cannot also be a secondary sector.",
    ),
    (
        "contribution of a non-funder",
        {"participations-0-contribution": "1000"},
        "id_participations-0-contribution",
        "Seul un partenaire financier a une contribution : choisissez le rôle Financement ou videz ce champ.",
        "Only a funding partner has a contribution: choose the role Funding or clear it.",
    ),
    (
        "negative contribution",
        {"participations-1-contribution": "-1"},
        "id_participations-1-contribution",
        "Ce montant ne peut pas être négatif.",
        "This amount cannot be negative.",
    ),
    (
        "same organisation twice",
        {"participations-1-organisation": "__ORG_A__"},
        "id_participations-1-organisation",
        "ORGA — Organisation org-a figure deux fois : une organisation a un seul rôle par programme.",
        "ORGA — Organisation org-a is listed twice: an organisation has one role per programme.",
    ),
    (
        "unknown P-code",
        {"locations-0-admin_unit": "NE999999999"},
        "id_locations-0-admin_unit",
        "Aucun lieu n’a le P-code NE999999999.",
        "No place has the P-code NE999999999.",
    ),
    (
        "unknown place name",
        {"locations-0-admin_unit": "Atlantis"},
        "id_locations-0-admin_unit",
        "Aucun lieu ne s’appelle « Atlantis ». Choisissez-en un dans la liste ou saisissez son P-code.",
        "No place is called “Atlantis”. Pick one from the list or type its P-code.",
    ),
    (
        "same place twice",
        {"locations-TOTAL_FORMS": "2", "locations-1-admin_unit": "NE006012007", "locations-1-id": ""},
        "id_locations-1-admin_unit",
        "Ce lieu figure déjà dans le programme.",
        "This place is already listed for the programme.",
    ),
    (
        "percentage above 100",
        {"indicators-0-measure": "percentage", "indicators-0-target": "120"},
        "id_indicators-0-target",
        "Un pourcentage doit être compris entre 0 et 100.",
        "A percentage must lie between 0 and 100.",
    ),
    (
        "percentage value above 100",
        {"indicators-0-measure": "percentage", "indicators-0-target": "80", "indicators-0-values-0-achieved": "101"},
        "id_indicators-0-values-0-achieved",
        "Un pourcentage doit être compris entre 0 et 100.",
        "A percentage must lie between 0 and 100.",
    ),
    (
        "negative baseline",
        {"indicators-0-baseline": "-3"},
        "id_indicators-0-baseline",
        "Ce montant ne peut pas être négatif.",
        "This amount cannot be negative.",
    ),
    (
        "negative achieved value",
        {"indicators-0-values-0-achieved": "-3"},
        "id_indicators-0-values-0-achieved",
        "Ce montant ne peut pas être négatif.",
        "This amount cannot be negative.",
    ),
    (
        "period end before start",
        {"indicators-0-values-0-period_end": "2025-06-30"},
        "id_indicators-0-values-0-period_end",
        "La fin de période ne peut pas précéder son début.",
        "The period end cannot be before its start.",
    ),
    (
        "same period cell twice",
        {
            "indicators-0-values-TOTAL_FORMS": "2",
            "indicators-0-values-1-period_start": "2026-01-01",
            "indicators-0-values-1-period_end": "2026-06-30",
            "indicators-0-values-1-sex": "all",
            "indicators-0-values-1-age_group": "all",
            "indicators-0-values-1-achieved": "5",
        },
        "id_indicators-0-values-1-period_start",
        "Une valeur existe déjà pour cette période, ce sexe et cette tranche d'âge.",
        "There is already a value for this period, sex and age group.",
    ),
    (
        "same indicator code twice",
        {
            "indicators-TOTAL_FORMS": "2",
            "indicators-1-code": "I1",
            "indicators-1-name_fr": "Autre",
            "indicators-1-measure": "unit",
            "indicators-1-baseline": "0",
            "indicators-1-values-TOTAL_FORMS": "0",
            "indicators-1-values-INITIAL_FORMS": "0",
        },
        "id_indicators-1-code",
        "Un autre indicateur de ce programme utilise déjà ce code.",
        "Another indicator of this programme already uses this code.",
    ),
]


@pytest.mark.parametrize("lang", ["fr", "en"])
@pytest.mark.parametrize(
    ("changes", "field_id", "message_fr", "message_en"), [r[1:] for r in RULES], ids=[r[0] for r in RULES]
)
def test_each_invalid_input_gets_a_translated_error_next_to_its_field_and_nothing_is_lost(
    client, staff, org_a, org_b, lang, changes, field_id, message_fr, message_en
):
    make_programme(code="TAKEN-001")
    client.force_login(staff)
    data = new_programme_data(client, org_a, org_b, lang=lang)
    replacements = {"__CT__": str(Sector.objects.get(code="CT").pk), "__ORG_A__": str(org_a.pk)}
    for name, value in changes.items():
        data[name] = (
            [replacements.get(v, v) for v in value] if isinstance(value, list) else replacements.get(value, value)
        )

    response = client.post(NEW_URL.format(lang=lang), data)

    page = response.content.decode()
    assert response.status_code == 400
    assert (message_fr if lang == "fr" else message_en) in field_errors(page, field_id)
    assert not Programme.objects.filter(title_fr=data["title_fr"]).exists()
    resubmitted = form_data(page)
    for name in ("code", "title_fr", "title_en", "summary_fr", "budget", "locations-0-admin_unit", *changes):
        assert resubmitted.get(name) == data[name], name


def test_an_ambiguous_place_name_lists_the_candidates(client, staff, org_a, org_b):
    client.force_login(staff)
    data = new_programme_data(client, org_a, org_b)
    data["locations-0-admin_unit"] = "tillaberi"
    page = client.post(NEW_URL.format(lang="fr"), data).content.decode()
    [error] = field_errors(page, "id_locations-0-admin_unit")
    assert "NE006 " not in error and "NE006" in error and "NE006012" in error and "NE006012007" in error


def test_values_without_their_indicator_are_refused_not_dropped(client, staff, org_a, org_b):
    client.force_login(staff)
    data = new_programme_data(client, org_a, org_b)
    for name in ("code", "name_fr", "name_en", "unit", "target"):
        data[f"indicators-0-{name}"] = ""
    response = client.post(NEW_URL.format(lang="en"), data)
    assert response.status_code == 400
    assert "Fill in the indicator before its period values." in field_errors(
        response.content.decode(), "id_indicators-0-code"
    )
    assert not Programme.objects.filter(code="NE-CT-2026-900").exists()


def test_a_focal_point_must_be_active_iom_staff(client, staff, partner_a, org_a, org_b):
    client.force_login(staff)
    page = client.get(NEW_URL.format(lang="fr")).content.decode()
    select = re.search(r'<select name="iom_focal_point".*?</select>', page, re.S).group(0)
    assert re.findall(r'<option value="(\d+)"', select) == [str(staff.pk)]
    data = new_programme_data(client, org_a, org_b)
    data["iom_focal_point"] = str(partner_a.pk)
    response = client.post(NEW_URL.format(lang="en"), data)
    assert response.status_code == 400
    assert field_errors(response.content.decode(), "id_iom_focal_point")


def test_the_edit_page_query_count_does_not_grow_with_the_number_of_programmes(client, staff, programme_a, org_a):
    client.force_login(staff)
    indicator = Indicator.objects.create(programme=programme_a, code="I1", name_fr="Indicateur")
    IndicatorValue.objects.create(
        indicator=indicator, period_start=date(2025, 1, 1), period_end=date(2025, 6, 30), achieved=3
    )

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(edit_url(programme_a)).status_code == 200
        return len(queries)

    sector = Sector.objects.first()
    Programme.objects.bulk_create(
        Programme(code=f"BULK-{n:05d}", title_fr="x", primary_sector=sector, planned_start=date(2025, 1, 1))
        for n in range(9)
    )
    small = count()
    Programme.objects.bulk_create(
        Programme(code=f"BULK-{n:05d}", title_fr="x", primary_sector=sector, planned_start=date(2025, 1, 1))
        for n in range(9, 999)
    )
    assert Programme.objects.count() == 1000
    assert count() == small


def test_the_place_search_ignores_accents_and_case_and_shows_the_path(client, staff):
    client.force_login(staff)
    results = client.get("/fr/programmes/places/", {"q": "NAMARO"}).json()["results"]
    assert results == [{"pcode": "NE006008010", "label": "Tillabéri › Kollo › Namaro", "level": "Commune"}]
    pcodes = [r["pcode"] for r in client.get("/fr/programmes/places/", {"q": "tillaberi"}).json()["results"]]
    assert pcodes[:3] == ["NE006", "NE006012", "NE006012007"]
    assert client.get("/fr/programmes/places/", {"q": "ne006012007"}).json()["results"][0]["pcode"] == "NE006012007"
    assert client.get("/fr/programmes/places/", {"q": ""}).json() == {"results": []}
    assert AdminUnit.objects.filter(pcode="NE006008010").exists()


def test_adding_an_organisation_already_on_the_programme_is_a_field_error_not_a_500(client, staff, programme_a, org_a):
    client.force_login(staff)
    data = form_data(client.get(edit_url(programme_a, "en")).content.decode())
    data.update({"participations-1-organisation": str(org_a.pk), "participations-1-role": Role.FUNDING})
    response = client.post(edit_url(programme_a, "en"), data)
    assert response.status_code == 400
    assert field_errors(response.content.decode(), "id_participations-1-organisation") == [
        "ORGA — Organisation org-a is listed twice: an organisation has one role per programme."
    ]
    assert programme_a.participations.count() == 1


def test_inactive_organisations_are_offered_only_where_already_chosen(client, staff, programme_a, org_a, org_b):
    org_a.is_active = False
    org_a.save()
    org_b.is_active = False
    org_b.save()
    client.force_login(staff)
    page = client.get(edit_url(programme_a)).content.decode()
    select = re.search(r'<select name="participations-0-organisation".*?</select>', page, re.S).group(0)
    assert f'value="{org_a.pk}"' in select and f'value="{org_b.pk}"' not in select


def test_a_database_clash_during_the_save_is_reported_and_rolled_back(client, staff, programme_a, monkeypatch):
    from django.db import IntegrityError

    from programmes.forms import BaseIndicatorFormSet

    def clash(self, commit=True):
        raise IntegrityError("duplicate key")

    client.force_login(staff)
    data = form_data(client.get(edit_url(programme_a, "en")).content.decode())
    data["title_fr"] = "Jamais enregistré"
    monkeypatch.setattr(BaseIndicatorFormSet, "save", clash)
    response = client.post(edit_url(programme_a, "en"), data)
    assert response.status_code == 409
    assert "Your changes clash with data saved meanwhile" in response.content.decode()
    programme_a.refresh_from_db()
    assert (programme_a.title_fr, programme_a.version) != ("Jamais enregistré", 2)
    assert form_data(response.content.decode())["title_fr"] == "Jamais enregistré"
