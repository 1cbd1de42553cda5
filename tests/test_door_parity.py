"""Every rule of a programme, tried through the edit page, the API and the admin: the same French
message at each door, and nothing changed in the database."""

from __future__ import annotations

import unicodedata
from decimal import Decimal

import pytest

from programmes.models import Programme, Status

from .conftest import make_user
from .parity_support import DOOR_FUNCTIONS, DOORS, REFUSED, Change, snapshot


def _inactive_staff(programme: Programme) -> None:
    make_user("gone.staff", is_staff=True, is_active=False)


def _partner_user(programme: Programme) -> None:
    make_user("partner.user", organisation=programme.participations.first().organisation)


def _under_review(programme: Programme) -> None:
    Programme.objects.filter(pk=programme.pk).update(status=Status.UNDER_REVIEW)


def _usd_150000(programme: Programme) -> None:
    Programme.objects.filter(pk=programme.pk).update(budget=Decimal("150000"), currency="USD")


IDF_OVER_BUDGET = [
    {"organisation": "org-a", "role": "implementing_partner"},
    {"organisation": "iom-idf", "role": "funding", "contribution": "2154400"},
]

# (name, setup, change, French message)
RULES = [
    (
        "primary sector also secondary",
        None,
        Change(secondary_sectors=["__PRIMARY__"]),
        "Le secteur principal ne peut pas être aussi un secteur secondaire.",
    ),
    (
        "focal point no longer active",
        _inactive_staff,
        Change(fields={"iom_focal_point": "gone.staff"}),
        "Le point focal OIM doit être un membre actif du personnel de l’OIM.",
    ),
    (
        "focal point is a partner user",
        _partner_user,
        Change(fields={"iom_focal_point": "partner.user"}),
        "Le point focal OIM doit être un membre actif du personnel de l’OIM.",
    ),
    (
        "planned end before start",
        None,
        Change(fields={"planned_end": "2024-12-31"}),
        "La fin prévue ne peut pas précéder le début prévu.",
    ),
    (
        "actual end before start",
        None,
        Change(fields={"actual_start": "2025-06-01", "actual_end": "2025-05-01"}),
        "La fin effective ne peut pas précéder le début effectif.",
    ),
    (
        "date beyond 2100",
        None,
        Change(fields={"planned_end": "9999-12-31"}),
        "Saisissez une date comprise entre 1990 et 2100.",
    ),
    (
        "date before 1990",
        None,
        Change(fields={"planned_start": "1900-01-01"}),
        "Saisissez une date comprise entre 1990 et 2100.",
    ),
    (
        "IDF contribution above the budget",
        _usd_150000,
        Change(participations=IDF_OVER_BUDGET),
        "Les contributions des bailleurs totalisent 2\xa0154\xa0400 USD, plus que le budget de 150\xa0000 USD.",
    ),
    (
        "budget lowered below the contributions",
        None,
        Change(
            fields={"budget": "1000"},
            participations=[
                {"organisation": "org-a", "role": "implementing_partner"},
                {"organisation": "iom-idf", "role": "funding", "contribution": "5000"},
            ],
        ),
        "Les contributions des bailleurs totalisent 5\xa0000 USD, plus que le budget de 1\xa0000 USD.",
    ),
    (
        "same organisation twice",
        None,
        Change(
            participations=[
                {"organisation": "org-a", "role": "implementing_partner"},
                {"organisation": "org-a", "role": "funding"},
            ]
        ),
        "ORGA — Organisation org-a figure deux fois : une organisation a un seul rôle par programme.",
    ),
    (
        "contribution of a non-funder",
        None,
        Change(participations=[{"organisation": "org-a", "role": "implementing_partner", "contribution": "10"}]),
        "Seul un partenaire financier a une contribution : choisissez le rôle Financement ou videz ce champ.",
    ),
    (
        "negative contribution",
        None,
        Change(participations=[{"organisation": "org-a", "role": "funding", "contribution": "-1"}]),
        "Ce montant ne peut pas être négatif.",
    ),
    (
        "negative budget",
        None,
        Change(fields={"budget": "-5"}),
        "Le budget ne peut pas être négatif.",
    ),
    (
        "same place twice",
        None,
        Change(locations=["NE006012007", "NE006012007"]),
        "Ce lieu figure déjà dans le programme.",
    ),
    (
        "kept out of IATI without a reason",
        None,
        Change(fields={"iati_publish": False, "iati_exclusion_reason": "  "}),
        "Indiquez pourquoi ce programme est exclu du fichier IATI (le fichier en donne le motif).",
    ),
    (
        "national programme given a second country",
        None,
        Change(recipient_countries=[{"country": "NE", "percentage": "50"}, {"country": "ML", "percentage": "50"}]),
        "Un programme national a un seul pays bénéficiaire et aucune région bénéficiaire : pour plusieurs, "
        "choisissez la portée régionale, multirégionale ou mondiale.",
    ),
    (
        "country percentages not adding up to 100",
        None,
        Change(
            fields={"scope": "global"},
            recipient_countries=[{"country": "NE", "percentage": "60"}, {"country": "ML", "percentage": "30"}],
        ),
        "Les pourcentages des pays bénéficiaires totalisent 90 %, et non 100 %.",
    ),
    (
        "regional programme with two regions",
        None,
        Change(
            fields={"scope": "regional"},
            recipient_countries=[],
            recipient_regions=[{"region": "289", "percentage": "50"}, {"region": "189", "percentage": "50"}],
        ),
        "Un programme régional a une seule région bénéficiaire ou plusieurs pays voisins : pour plusieurs "
        "régions, choisissez la portée multirégionale.",
    ),
    (
        "P-codes without Niger among the countries",
        None,
        Change(
            fields={"scope": "regional"},
            recipient_countries=[{"country": "ML", "percentage": "50"}, {"country": "BF", "percentage": "50"}],
            locations=["NE006012007"],
        ),
        "Les lieux (P-codes) sont au Niger : ajoutez le Niger comme pays bénéficiaire, ou retirez les lieux.",
    ),
    (
        "edited while under review",
        _under_review,
        Change(fields={"title_fr": "Changé pendant la revue"}),
        "Ce programme est en cours d’examen : il pourra de nouveau être modifié lorsqu’une révision sera demandée.",
    ),
]


@pytest.mark.parametrize("door", DOORS)
@pytest.mark.parametrize(("setup", "change", "message"), [r[1:] for r in RULES], ids=[r[0] for r in RULES])
def test_each_rule_is_refused_at_every_door_with_the_same_message_and_nothing_changes(
    client, staff, admin_user, programme_a, door, setup, change, message
):
    if setup:
        setup(programme_a)
    if change.secondary_sectors == ["__PRIMARY__"]:
        change.secondary_sectors = [programme_a.primary_sector.code]
    user = admin_user if door == "admin" else staff
    before = snapshot()

    answer = DOOR_FUNCTIONS[door](client, user, programme_a, change)

    assert REFUSED[door](answer.status), (answer.status, answer.text[:3000])
    assert answer.shows(message), answer.errors()
    assert snapshot() == before


@pytest.mark.parametrize("door", DOORS)
def test_every_door_saves_an_accepted_change_through_the_services(client, staff, admin_user, programme_a, door):
    user = admin_user if door == "admin" else staff
    change = Change(
        fields={"title_fr": "Nouveau titre", "budget": "200000"},
        participations=[
            {"organisation": "org-a", "role": "implementing_partner"},
            {"organisation": "iom-idf", "role": "funding", "contribution": "150000"},
        ],
    )

    answer = DOOR_FUNCTIONS[door](client, user, programme_a, change)

    assert answer.status in (200, 302), answer.text[:3000]
    programme_a.refresh_from_db()
    assert (programme_a.title_fr, programme_a.budget, programme_a.version) == ("Nouveau titre", Decimal("200000"), 2)
    assert programme_a.updated_by == user
    funder = programme_a.participations.get(organisation__code="iom-idf")
    assert funder.contribution == Decimal("150000")


@pytest.mark.parametrize("door", DOORS)
def test_pasted_control_characters_are_stripped_and_text_is_stored_in_nfc_at_every_door(
    client, staff, admin_user, programme_a, door
):
    user = admin_user if door == "admin" else staff
    decomposed = unicodedata.normalize("NFD", "Réintégration")
    change = Change(
        fields={"title_fr": f"{decomposed}\x0b à Tillabéri", "summary_fr": "Ligne 1\x0c\nLigne 2\tfin\x7f"},
        participations=[{"organisation": "org-a", "role": "implementing_partner", "notes": "note\x1fici"}],
    )

    answer = DOOR_FUNCTIONS[door](client, user, programme_a, change)

    assert answer.status in (200, 302), answer.text[:3000]
    programme_a.refresh_from_db()
    assert programme_a.title_fr == "Réintégration à Tillabéri"
    assert unicodedata.is_normalized("NFC", programme_a.title_fr)
    assert programme_a.summary_fr == "Ligne 1\nLigne 2\tfin"
    assert programme_a.participations.get().notes == "noteici"


@pytest.mark.parametrize("door", DOORS)
def test_every_door_saves_recipient_countries_and_regions(client, staff, admin_user, programme_a, door):
    user = admin_user if door == "admin" else staff
    change = Change(
        fields={"scope": "global"},
        recipient_countries=[
            {"country": "NE", "percentage": "50"},
            {"country": "ML", "percentage": "25"},
            {"country": "BF", "percentage": "25"},
        ],
        recipient_regions=[{"region": "289", "percentage": "100"}],
    )

    answer = DOOR_FUNCTIONS[door](client, user, programme_a, change)

    assert answer.status in (200, 302), answer.text[:3000]
    programme_a.refresh_from_db()
    assert programme_a.scope == "global"
    countries = dict(programme_a.recipient_countries.values_list("country", "percentage"))
    assert countries == {"NE": Decimal("50"), "ML": Decimal("25"), "BF": Decimal("25")}
    assert list(programme_a.recipient_regions.values_list("region", flat=True)) == ["289"]


@pytest.mark.parametrize("door", DOORS)
def test_every_door_saves_the_modality_and_refuses_an_unknown_one(client, staff, admin_user, programme_a, door):
    user = admin_user if door == "admin" else staff
    before = snapshot()

    refused = DOOR_FUNCTIONS[door](client, user, programme_a, Change(fields={"modality": "helicopter"}))

    assert REFUSED[door](refused.status), (refused.status, refused.text[:3000])
    assert "helicopter" in refused.text, refused.errors()  # each door names the value it cannot take
    assert snapshot() == before

    answer = DOOR_FUNCTIONS[door](client, user, programme_a, Change(fields={"modality": "cash"}))

    assert answer.status in (200, 302), answer.text[:3000]
    programme_a.refresh_from_db()
    assert programme_a.modality == "cash"
    assert programme_a.get_modality_display() == "Assistance monétaire"
