"""Every rule of a programme and of its results reports, tried through the pages, the API, the admin and the
services: the same French message and a 4xx at each door, and nothing changed in the database."""

from __future__ import annotations

import unicodedata
from datetime import date
from decimal import Decimal

import pytest

from programmes.models import Programme, Status

from .conftest import make_user
from .parity_support import DOOR_FUNCTIONS, DOORS, REFUSED, Change, snapshot
from .reporting_parity_support import DOOR_FUNCTIONS as RDOOR_FUNCTIONS
from .reporting_parity_support import DOORS as RDOORS
from .reporting_parity_support import Step as RStep
from .reporting_parity_support import snapshot as rsnapshot


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


# --- A reporting partner leaving, or no longer reporting (issue 13: nothing orphaned) ----------------


def _org_a_reports_ind1(programme: Programme) -> None:
    from programmes.models import Indicator, Participation

    Participation.objects.filter(programme=programme, organisation__code="org-a").update(reports_results=True)
    Indicator.objects.create(
        programme=programme, code="IND1", name_fr="Personnes assistées", people=True, reporting_partner_id=_org_a()
    )
    Indicator.objects.create(
        programme=programme, code="IND4", name_fr="Ménages", people=True, reporting_partner_id=_org_a()
    )


def _org_a_has_a_draft(programme: Programme) -> None:
    from programmes.models import Participation
    from reporting.models import ResultsReport

    Participation.objects.filter(programme=programme, organisation__code="org-a").update(reports_results=True)
    ResultsReport.objects.create(
        programme=programme, organisation_id=_org_a(), period_start=date(2025, 1, 1), period_end=date(2025, 3, 31)
    )


def _org_a() -> int:
    from partners.models import Organisation

    return Organisation.objects.get(code="org-a").pk


ASSIGNED = (
    "ORGA déclare les indicateurs IND1, IND4 de ce programme : attribuez-les à l’OIM ou à un autre partenaire "
    "déclarant avant que ORGA cesse de déclarer ou quitte le programme."
)
IN_PROGRESS = (
    "ORGA a des rapports de résultats en cours pour ce programme (01/01/2025 – 31/03/2025) : faites-les "
    "approuver ou supprimer avant que ORGA cesse de déclarer ou quitte le programme."
)
STOP_REPORTING_RULES = [
    (
        "reporting partner removed while indicators are assigned to it",
        _org_a_reports_ind1,
        Change(participations=[]),
        ASSIGNED,
    ),
    (
        "reporting unticked while indicators are assigned to it",
        _org_a_reports_ind1,
        Change(participations=[{"organisation": "org-a", "role": "implementing_partner", "reports_results": False}]),
        ASSIGNED,
    ),
    (
        "reporting partner removed while it has a report in progress",
        _org_a_has_a_draft,
        Change(participations=[]),
        IN_PROGRESS,
    ),
    (
        "reporting unticked while it has a report in progress",
        _org_a_has_a_draft,
        Change(participations=[{"organisation": "org-a", "role": "implementing_partner", "reports_results": False}]),
        IN_PROGRESS,
    ),
]


@pytest.mark.parametrize("door", DOORS)
@pytest.mark.parametrize(
    ("setup", "change", "message"), [r[1:] for r in STOP_REPORTING_RULES], ids=[r[0] for r in STOP_REPORTING_RULES]
)
def test_a_reporting_partner_with_work_in_hand_cannot_stop_reporting_at_any_door(
    client, staff, admin_user, programme_a, door, setup, change, message
):
    from reporting.models import ResultsReport

    setup(programme_a)
    user = admin_user if door == "admin" else staff
    before = {**snapshot(), "reports": list(ResultsReport.objects.values())}

    answer = DOOR_FUNCTIONS[door](client, user, programme_a, change)

    assert REFUSED[door](answer.status), (answer.status, answer.text[:3000])
    assert answer.shows(message), answer.errors()
    assert {**snapshot(), "reports": list(ResultsReport.objects.values())} == before


@pytest.mark.parametrize("door", DOORS)
def test_a_reporting_partner_leaves_once_its_indicators_are_reassigned_and_its_reports_approved(
    client, staff, admin_user, programme_a, door
):
    from programmes.models import Indicator
    from reporting.models import ResultsReport

    _org_a_reports_ind1(programme_a)
    ResultsReport.objects.create(
        programme=programme_a,
        organisation_id=_org_a(),
        period_start=date(2024, 1, 1),
        period_end=date(2024, 3, 31),
        state="approved",
    )
    Indicator.objects.filter(programme=programme_a).update(reporting_partner=None)  # reassigned to IOM
    user = admin_user if door == "admin" else staff

    answer = DOOR_FUNCTIONS[door](
        client,
        user,
        programme_a,
        Change(participations=[{"organisation": "org-a", "role": "implementing_partner", "reports_results": False}]),
    )

    assert answer.status in (200, 302), answer.text[:3000]
    assert not programme_a.participations.get().reports_results


# --- Results reports: every rule of the reporting cycle, at every door (issue 13) -------------------
#
# Each case prepares a report (IOM's own, so that the admin's users may act on it), names the step to
# try and who tries it, and gives the message in French; the same step must be refused with that
# message and a 4xx at the reporting pages, the API, the admin and the services, nothing changed.


def _iom_report(state: str = "draft", values: tuple = ()):
    from reporting.models import ResultsReport, ResultsReportValue

    from .reporting_support import Q1

    programme = Programme.objects.get(code__startswith="TEST-")
    report = ResultsReport.objects.create(programme=programme, period_start=Q1[0], period_end=Q1[1], state=state)
    for indicator, achieved in values:
        ResultsReportValue.objects.create(report=report, indicator_id=indicator, achieved=Decimal(achieved))
    return report


def _share():
    from programmes.models import Indicator

    return Indicator.objects.get(code="IND2").pk


def _case_future_period(r):
    return RStep("open", programme=r["programme"], period=(date(2099, 1, 1), date(2099, 3, 31)))


def _case_open_locked(r):
    from programmes.models import LockBefore

    LockBefore.objects.create(before=date(2025, 7, 1))
    return RStep("open", programme=r["programme"], period=(date(2025, 1, 1), date(2025, 3, 31)))


def _case_submit_locked(r):
    from programmes.models import LockBefore

    report = _iom_report(values=[(_share(), "40")])
    LockBefore.objects.create(before=date(2025, 7, 1))
    return RStep("submit", report=report)


def _case_submit_empty(r):
    return RStep("submit", report=_iom_report())


def _case_percentage_above_100(r):
    return RStep("save", report=_iom_report(), values=[{"indicator": _share(), "achieved": "140"}])


def _case_people_not_whole(r):
    from programmes.models import Indicator

    counted = Indicator.objects.create(programme=r["programme"], code="IND3", name_fr="Agents formés", people=True)
    return RStep("save", report=_iom_report(), values=[{"indicator": counted.pk, "achieved": "2.5"}])


def _case_approve_a_draft(r):
    return RStep("approve", report=_iom_report(values=[(_share(), "40")]))


def _case_return_without_reason(r):
    return RStep("return", report=_iom_report("submitted", values=[(_share(), "40")]), reason="  ")


def _case_unlock_without_reason(r):
    return RStep("unlock", report=_iom_report("approved", values=[(_share(), "40")]), reason="")


def _case_return_a_draft(r):
    return RStep("return", report=_iom_report(values=[(_share(), "40")]), reason="Chiffres incomplets")


def _case_approve_without_the_right(r):
    return RStep("approve", report=_iom_report("submitted", values=[(_share(), "40")]))


def _case_return_without_the_right(r):
    return RStep("return", report=_iom_report("submitted", values=[(_share(), "40")]), reason="Incomplet")


def _fr(text: str, **params) -> str:
    from django.utils import translation
    from django.utils.formats import date_format
    from django.utils.translation import gettext

    with translation.override("fr"):
        translated = gettext(text)
        assert translated != text, f"not translated into French: {text}"
        values = {
            k: date_format(v, "SHORT_DATE_FORMAT") if isinstance(v, date) else gettext(v) for k, v in params.items()
        }
        return translated % values if values else translated


def _lock_message() -> str:
    from django.utils import translation

    from programmes.models import PeriodLocks

    from .reporting_support import Q1

    with translation.override("fr"):
        return PeriodLocks.of(Programme.objects.get(code__startswith="TEST-").pk).problem(Q1[0], Q1[1], None)


def _state_draft() -> str:
    from django.utils import translation
    from django.utils.translation import gettext

    with translation.override("fr"):
        return _fr(STATE) % {"state": gettext("Draft").lower()}


NOT_VALIDATOR = "Only IOM staff with the validation right approve or return results reports."
STATE = "This report is %(state)s: that cannot be done now (reload the page)."

# (name, case, who acts: preparer | validator | officer, French message (a callable: read after the case))
REPORTING_RULES = [
    (
        "a period not ended yet",
        _case_future_period,
        "preparer",
        lambda: _fr(
            "This period has not ended yet (it ends on %(end)s): report it once it is over.", end=date(2099, 3, 31)
        ),
    ),
    ("a period locked by an administrator", _case_open_locked, "preparer", _lock_message),
    ("submitted when the period is locked", _case_submit_locked, "preparer", _lock_message),
    (
        "submitted without any value",
        _case_submit_empty,
        "preparer",
        lambda: _fr("Enter at least one value before submitting the report."),
    ),
    (
        "a percentage above 100",
        _case_percentage_above_100,
        "preparer",
        lambda: _fr("A percentage must lie between 0 and 100."),
    ),
    (
        "a number of people not whole",
        _case_people_not_whole,
        "preparer",
        lambda: _fr("A count of people is a whole number."),
    ),
    ("a draft approved", _case_approve_a_draft, "validator", _state_draft),
    ("a draft returned", _case_return_a_draft, "validator", _state_draft),
    (
        "returned without a reason",
        _case_return_without_reason,
        "validator",
        lambda: _fr("Say why the report is returned."),
    ),
    (
        "unlocked without a reason",
        _case_unlock_without_reason,
        "validator",
        lambda: _fr("Say why the period is unlocked."),
    ),
    ("approved without the validation right", _case_approve_without_the_right, "officer", lambda: _fr(NOT_VALIDATOR)),
    ("returned without the validation right", _case_return_without_the_right, "officer", lambda: _fr(NOT_VALIDATOR)),
]


@pytest.fixture
def officer(reference):
    """A programme officer (prepares IOM's reports) who may open the reports' admin but not validate."""
    from django.contrib.auth.models import Permission

    user = make_user("olga.officer", is_staff=True, group="IOM programme officers")
    user.user_permissions.add(Permission.objects.get(codename="view_resultsreport"))
    return user


@pytest.mark.parametrize("door", RDOORS)
@pytest.mark.parametrize(
    ("case", "who", "message"), [r[1:] for r in REPORTING_RULES], ids=[r[0] for r in REPORTING_RULES]
)
def test_each_reporting_rule_is_refused_at_every_door_with_the_same_message_and_nothing_changes(
    client, staff, validator, officer, admin_user, reporting_a, door, case, who, message
):
    step = case(reporting_a)
    actor = {"preparer": staff, "validator": validator, "officer": officer}[who]
    if door == "admin" and who != "officer":
        actor = admin_user  # the admin is the administrators' door (a superuser prepares and validates)
    expected = message()
    before = rsnapshot()

    answer = RDOOR_FUNCTIONS[door](client, actor, step)

    assert 400 <= answer.status < 500, (answer.status, answer.text[:3000])
    assert expected in answer.text, (expected, answer.errors())
    assert rsnapshot() == before


@pytest.mark.parametrize("door", RDOORS)
def test_every_reporting_door_takes_a_report_through_its_life(client, staff, validator, admin_user, reporting_a, door):
    """The accepted road at each door: open, save, submit, return with a reason, resubmit, approve, unlock."""
    from reporting.models import ResultsReport

    from .reporting_support import Q1

    preparer, decider = (admin_user, admin_user) if door == "admin" else (staff, validator)
    act = RDOOR_FUNCTIONS[door]
    programme = reporting_a["programme"]

    def ok(answer):
        assert answer.status in (200, 201, 302), (answer.status, answer.text[:3000])

    ok(act(client, preparer, RStep("open", programme=programme, period=Q1)))
    report = ResultsReport.objects.get()
    ok(act(client, preparer, RStep("save", report=report, values=[{"indicator": _share(), "achieved": "40"}])))
    ok(act(client, preparer, RStep("submit", report=report)))
    ok(act(client, decider, RStep("return", report=report, reason="Sources manquantes")))
    report.refresh_from_db()
    assert (report.state, report.return_reason) == ("returned", "Sources manquantes")
    ok(act(client, preparer, RStep("submit", report=report)))
    ok(act(client, decider, RStep("approve", report=report)))
    report.refresh_from_db()
    assert report.state == "approved"
    ok(act(client, decider, RStep("unlock", report=report, reason="Correction du bailleur")))
    report.refresh_from_db()
    assert report.state == "returned"
    assert [s.action for s in report.steps.all()] == ["submit", "return", "submit", "approve", "unlock"]


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
