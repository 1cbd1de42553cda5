"""Editing a programme's results framework (outcomes, outputs, the indicators under them) and the rules of
indicator values, through the edit page, the admin and the model: the same message at every door."""

from __future__ import annotations

import html
import re
from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from programmes.models import AgeGroup, Indicator, IndicatorValue, Outcome, Output, Programme, Sex
from programmes.results import OutcomePlan, OutputPlan, ResultsInvalid, results_replace

from .edit_support import field_errors, form_data


def edit_url(programme: Programme, lang: str = "fr") -> str:
    return f"/{lang}/programmes/{programme.code}/edit/"


def page_data(client, programme: Programme, lang: str = "fr") -> dict:
    response = client.get(edit_url(programme, lang))
    assert response.status_code == 200
    return form_data(response.content.decode())


def text_of(response) -> str:
    return html.unescape(response.content.decode())


def row_errors(response) -> str:
    """The text of the row-level alerts (non-field errors of formset rows)."""
    found = re.findall(
        r'<div class="alert alert-danger py-1 px-2 small mb-2" role="alert">(.*?)</div>', text_of(response), re.S
    )
    return " ".join(found)


@pytest.fixture
def english():
    """Messages of direct (non-HTTP) calls in English, whatever ran before in this process."""
    with translation.override("en"):
        yield


@pytest.fixture
def framework(programme_a) -> Programme:
    """OC1 (with OP1.1 and OP1.2) and OC2; indicator I1 measures OP1.1, I2 measures OC2."""
    oc1 = Outcome.objects.create(programme=programme_a, code="OC1", statement_fr="Résultat un", order=1)
    oc2 = Outcome.objects.create(programme=programme_a, code="OC2", statement_fr="Résultat deux", order=2)
    op11 = Output.objects.create(outcome=oc1, code="OP1.1", statement_fr="Produit un", order=1)
    Output.objects.create(outcome=oc1, code="OP1.2", statement_fr="Produit deux", order=2)
    Indicator.objects.create(
        programme=programme_a, output=op11, code="I1", name_fr="Personnes formées", unit="personnes"
    )
    Indicator.objects.create(programme=programme_a, outcome=oc2, code="I2", name_fr="Taux de satisfaction")
    return programme_a


def find(data: dict, prefix: str, code: str) -> str:
    """The form prefix (e.g. "outcomes-1") of the row showing this code."""
    for name, value in data.items():
        if name.startswith(prefix) and name.endswith("-code") and value == code:
            return name.removesuffix("-code")
    raise AssertionError(f"no row with code {code}")


# --- Adding, renaming, reordering, removing ---------------------------------------------------------


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_staff_adds_an_outcome_with_an_output_and_an_indicator_measuring_it_in_one_save(
    client, staff, programme_a, lang
):
    client.force_login(staff)
    data = page_data(client, programme_a, lang)
    data.update(
        {
            "outcomes-0-code": "OC1",
            "outcomes-0-statement_fr": "Les victimes sont protégées.",
            "outcomes-0-statement_en": "Victims are protected.",
            "outcomes-0-outputs-0-code": "OP1.1",
            "outcomes-0-outputs-0-statement_fr": "Des centres d'accueil fonctionnent.",
            "outcomes-0-outputs-0-statement_en": "Shelters operate.",
            "indicators-0-code": "I1",
            "indicators-0-name_fr": "Victimes hébergées",
            "indicators-0-measure": "unit",
            "indicators-0-baseline": "0",
            "indicators-0-result": "OP1.1",
        }
    )
    response = client.post(edit_url(programme_a, lang), data)
    assert response.status_code == 302, field_errors(response.content.decode(), "id_outcomes-0-code")
    outcome = Outcome.objects.get(programme=programme_a)
    assert (outcome.code, outcome.statement_fr, outcome.statement_en, outcome.order) == (
        "OC1",
        "Les victimes sont protégées.",
        "Victims are protected.",
        1,
    )
    output = outcome.outputs.get()
    assert (output.code, output.statement_en) == ("OP1.1", "Shelters operate.")
    indicator = Indicator.objects.get(programme=programme_a, code="I1")
    assert (indicator.outcome, indicator.output) == (None, output)
    detail = text_of(client.get(f"/{lang}/programmes/{programme_a.code}/"))
    statement = "Victims are protected." if lang == "en" else "Les victimes sont protégées."
    assert f"OC1 — {statement}" in detail
    assert "OP1.1 — " in detail


def test_a_new_programme_is_created_with_its_outcome_and_an_indicator_measuring_it(client, staff, org_a, org_b):
    from .test_edit_forms import new_programme_data

    client.force_login(staff)
    data = new_programme_data(client, org_a, org_b)
    data.update(
        {
            "outcomes-0-code": "OC1",
            "outcomes-0-statement_fr": "Les victimes sont protégées.",
            "indicators-0-result": "OC1",
        }
    )
    assert client.post("/fr/programmes/new/", data).status_code == 302
    programme = Programme.objects.get(code="NE-CT-2026-900")
    assert programme.indicators.get().outcome == programme.outcomes.get(code="OC1")


def test_the_results_section_is_labelled_in_french_and_in_english(client, staff, framework):
    client.force_login(staff)
    french = text_of(client.get(edit_url(framework, "fr")))
    english = text_of(client.get(edit_url(framework, "en")))
    assert "Cadre de résultats : effets et produits" in french
    assert "Ajouter un effet" in french and "Ajouter un produit" in french
    assert "Résultat mesuré" in french
    assert "Results framework: outcomes and outputs" in english
    assert "Add an outcome" in english and "Add an output" in english
    assert "Result measured" in english
    # The codes stored are offered to the indicators.
    assert '<datalist id="result-codes">' in english and '<option value="OP1.2">' in english


def test_renaming_a_result_keeps_the_indicators_that_measure_it(client, staff, framework):
    client.force_login(staff)
    data = page_data(client, framework)
    oc1, op11 = find(data, "outcomes-", "OC1"), find(data, "outcomes-", "OP1.1")
    data[f"{oc1}-code"] = "R1"
    data[f"{oc1}-statement_en"] = "Outcome one"
    data[f"{op11}-code"] = "R1.1"
    data[f"{op11}-statement_fr"] = "Produit un, reformulé"
    # The indicator still names the former code: it follows the rename.
    assert client.post(edit_url(framework), data).status_code == 302
    outcome = Outcome.objects.get(programme=framework, code="R1")
    assert outcome.statement_en == "Outcome one"
    output = Output.objects.get(outcome=outcome, code="R1.1")
    assert output.statement_fr == "Produit un, reformulé"
    assert Indicator.objects.get(programme=framework, code="I1").output == output
    assert not Outcome.objects.filter(programme=framework, code="OC1").exists()


def test_two_outcomes_can_swap_their_codes_in_one_save(client, staff, framework):
    client.force_login(staff)
    data = page_data(client, framework)
    oc1, oc2 = find(data, "outcomes-", "OC1"), find(data, "outcomes-", "OC2")
    data[f"{oc1}-code"], data[f"{oc2}-code"] = "OC2", "OC1"
    data[find(data, "indicators-", "I2") + "-result"] = "OC1"  # I2 stays with the same outcome
    assert client.post(edit_url(framework), data).status_code == 302
    assert Outcome.objects.get(programme=framework, code="OC2").statement_fr == "Résultat un"
    assert Outcome.objects.get(programme=framework, code="OC1").statement_fr == "Résultat deux"
    assert Indicator.objects.get(programme=framework, code="I2").outcome.statement_fr == "Résultat deux"


def test_staff_reorders_outcomes_and_outputs_with_their_order_numbers(client, staff, framework):
    client.force_login(staff)
    data = page_data(client, framework)
    data[find(data, "outcomes-", "OC1") + "-order"] = "5"
    data[find(data, "outcomes-", "OP1.1") + "-order"] = "9"
    assert client.post(edit_url(framework), data).status_code == 302
    assert list(Outcome.objects.filter(programme=framework).values_list("code", flat=True)) == ["OC2", "OC1"]
    assert list(Output.objects.filter(outcome__code="OC1").values_list("code", flat=True)) == ["OP1.2", "OP1.1"]
    detail = text_of(client.get(framework.get_absolute_url()))
    assert detail.index("OC2 — Résultat deux") < detail.index("OC1 — Résultat un")
    assert detail.index("OP1.2 — Produit deux") < detail.index("OP1.1 — Produit un")
    # The edit page lists them in the new order too.
    edit = page_data(client, framework)
    assert find(edit, "outcomes-", "OC2") == "outcomes-0"
    assert find(edit, "outcomes-1-outputs-", "OP1.1") == "outcomes-1-outputs-1"


def test_staff_removes_an_output_and_an_outcome_that_nothing_measures(client, staff, framework):
    client.force_login(staff)
    data = page_data(client, framework)
    data[find(data, "outcomes-", "OP1.2") + "-DELETE"] = "on"
    data[find(data, "outcomes-", "OC2") + "-DELETE"] = "on"
    data[find(data, "indicators-", "I2") + "-result"] = "OC1"
    assert client.post(edit_url(framework), data).status_code == 302
    assert list(Outcome.objects.filter(programme=framework).values_list("code", flat=True)) == ["OC1"]
    assert list(Output.objects.filter(outcome__programme=framework).values_list("code", flat=True)) == ["OP1.1"]
    assert Indicator.objects.get(programme=framework, code="I2").outcome.code == "OC1"


def test_an_outcome_removed_together_with_its_indicator_goes(client, staff, framework):
    client.force_login(staff)
    data = page_data(client, framework)
    data[find(data, "outcomes-", "OC2") + "-DELETE"] = "on"
    data[find(data, "indicators-", "I2") + "-DELETE"] = "on"
    assert client.post(edit_url(framework), data).status_code == 302
    assert not Outcome.objects.filter(code="OC2").exists()
    assert not Indicator.objects.filter(code="I2").exists()


@pytest.mark.parametrize(
    ("lang", "message"),
    [
        (
            "fr",
            "OC2 est encore mesuré par l’indicateur I2 : rattachez-le à un autre résultat ou supprimez-le d’abord.",
        ),
        ("en", "OC2 is still measured by indicator I2: attach it to another result or remove it first."),
    ],
)
def test_removing_an_outcome_that_an_indicator_measures_is_refused_and_changes_nothing(
    client, staff, framework, lang, message
):
    client.force_login(staff)
    data = page_data(client, framework, lang)
    data[find(data, "outcomes-", "OC2") + "-DELETE"] = "on"
    data[find(data, "outcomes-", "OC1") + "-statement_fr"] = "Changement qui ne doit pas être enregistré"
    response = client.post(edit_url(framework, lang), data)
    assert response.status_code == 400
    assert message in row_errors(response)
    assert Outcome.objects.filter(programme=framework, code="OC2").exists()
    assert Outcome.objects.get(programme=framework, code="OC1").statement_fr == "Résultat un"
    framework.refresh_from_db()
    assert framework.version == 1


def test_removing_an_outcome_that_still_has_outputs_is_refused(client, staff, framework):
    client.force_login(staff)
    data = page_data(client, framework, "en")
    data[find(data, "outcomes-", "OC1") + "-DELETE"] = "on"
    data[find(data, "outcomes-", "OP1.1") + "-DELETE"] = "on"
    data[find(data, "indicators-", "I1") + "-result"] = ""
    response = client.post(edit_url(framework, "en"), data)
    assert response.status_code == 400
    assert "Outcome OC1 still has outputs (OP1.2): remove them too, or keep the outcome." in row_errors(response)
    assert Output.objects.filter(outcome__programme=framework).count() == 2


@pytest.mark.parametrize(
    ("lang", "message"),
    [
        ("fr", "Un autre effet ou produit de ce programme utilise déjà ce code."),
        ("en", "Another outcome or output of this programme already uses this code."),
    ],
)
def test_an_output_cannot_take_the_code_of_another_result(client, staff, framework, lang, message):
    client.force_login(staff)
    data = page_data(client, framework, lang)
    row = find(data, "outcomes-", "OP1.2")
    data[f"{row}-code"] = "OC2"
    response = client.post(edit_url(framework, lang), data)
    assert response.status_code == 400
    assert message in field_errors(response.content.decode(), f"id_{row}-code")
    assert Output.objects.filter(code="OP1.2").exists()


def test_an_indicator_must_measure_a_result_that_exists(client, staff, framework):
    client.force_login(staff)
    data = page_data(client, framework, "en")
    row = find(data, "indicators-", "I1")
    data[f"{row}-result"] = "OC9"
    response = client.post(edit_url(framework, "en"), data)
    assert response.status_code == 400
    assert "No outcome or output of this programme has the code “OC9”." in field_errors(
        response.content.decode(), f"id_{row}-result"
    )
    assert Indicator.objects.get(code="I1").output.code == "OP1.1"


def test_outputs_need_their_outcome_filled_in(client, staff, programme_a):
    client.force_login(staff)
    data = page_data(client, programme_a, "en")
    data.update({"outcomes-0-outputs-0-code": "OP1", "outcomes-0-outputs-0-statement_fr": "Produit"})
    response = client.post(edit_url(programme_a, "en"), data)
    assert response.status_code == 400
    assert "Fill in the outcome before its outputs." in field_errors(response.content.decode(), "id_outcomes-0-code")
    assert not Output.objects.exists()


def test_an_outcome_needs_its_french_statement(client, staff, programme_a):
    client.force_login(staff)
    data = page_data(client, programme_a, "en")
    data.update({"outcomes-0-code": "OC1", "outcomes-0-statement_en": "Only English"})
    response = client.post(edit_url(programme_a, "en"), data)
    assert response.status_code == 400
    assert "This field is required." in field_errors(response.content.decode(), "id_outcomes-0-statement_fr")
    assert not Outcome.objects.exists()


# --- The service, as any other door calls it ---------------------------------------------------------


def test_the_results_service_refuses_what_the_page_refuses(staff, framework, english):
    oc2 = Outcome.objects.get(programme=framework, code="OC2")
    plan = [OutcomePlan(code="OC2", statement_fr="Résultat deux", pk=oc2.pk, remove=True)]
    with pytest.raises(ResultsInvalid) as refused:
        results_replace(programme=framework, user=staff, outcomes=plan)
    assert refused.value.messages == [
        "OC2 is still measured by indicator I2: attach it to another result or remove it first."
    ]
    assert Outcome.objects.filter(pk=oc2.pk).exists()


def test_the_results_service_adds_an_outcome_at_the_end(staff, framework):
    plan = [OutcomePlan(code="OC3", statement_fr="Trois", outputs=[OutputPlan(code="OP3.1", statement_fr="x")])]
    saved = results_replace(programme=framework, user=staff, outcomes=plan)
    assert saved["OC3"].order == 3
    assert list(Outcome.objects.filter(programme=framework).values_list("code", flat=True)) == ["OC1", "OC2", "OC3"]
    assert saved["OP3.1"].outcome == saved["OC3"]


# --- Indicator values: the consistency rules at every door ----------------------------------------------

PERIOD = {"period_start": "2025-01-01", "period_end": "2025-12-31"}
DATES = {"period_start": date(2025, 1, 1), "period_end": date(2025, 12, 31)}


def value_rows(*rows: dict) -> dict:
    """POST fields of the first indicator's values (the indicator I1 of `framework`)."""
    data = {}
    for n, row in enumerate(rows):
        cell = {**PERIOD, "sex": "all", "age_group": "all", "target": "", "achieved": "", "comment": "", **row}
        for name, value in cell.items():
            data[f"indicators-0-values-{n}-{name}"] = value
    data["indicators-0-values-TOTAL_FORMS"] = str(len(rows))
    return data


VALUE_RULES = [
    # (name, rows, field id, French message, English message)
    (
        "sexes above the total",
        [{"achieved": "600"}, {"sex": "female", "achieved": "350"}, {"sex": "male", "achieved": "268"}],
        "id_indicators-0-values-2-achieved",
        "Les valeurs par sexe totalisent 618, plus que le total de 600 de cette période.",
        "The values by sex add up to 618, more than this period's total of 600.",
    ),
    (
        "age groups above the total",
        [{"target": "100"}, {"age_group": "0-17", "target": "60"}, {"age_group": "18-59", "target": "41"}],
        "id_indicators-0-values-1-target",
        "Les valeurs par tranche d’âge totalisent 101, plus que le total de 100 de cette période.",
        "The values by age group add up to 101, more than this period's total of 100.",
    ),
    (
        "half a person",
        [{"achieved": "12.5"}],
        "id_indicators-0-values-0-achieved",
        "Un nombre de personnes est un nombre entier.",
        "A count of people is a whole number.",
    ),
    (
        "period before the programme",
        [{"period_start": "2024-07-01", "period_end": "2024-12-31", "achieved": "4"}],
        "id_indicators-0-values-0-period_start",
        "Cette période sort des dates du programme (01/01/2025 – 31/12/2026) : corrigez-la, ou expliquez "
        "pourquoi dans le commentaire.",
        "This period lies outside the programme's dates (01/01/2025 – 12/31/2026): correct it, or explain why in "
        "the comment.",
    ),
]


@pytest.mark.parametrize("lang", ["fr", "en"])
@pytest.mark.parametrize(
    ("rows", "field_id", "message_fr", "message_en"), [r[1:] for r in VALUE_RULES], ids=[r[0] for r in VALUE_RULES]
)
def test_each_value_rule_is_refused_on_the_edit_page_next_to_its_field(
    client, staff, framework, lang, rows, field_id, message_fr, message_en
):
    client.force_login(staff)
    data = page_data(client, framework, lang)
    assert find(data, "indicators-", "I1") == "indicators-0"
    data.update(value_rows(*rows))
    response = client.post(edit_url(framework, lang), data)
    assert response.status_code == 400
    assert (message_fr if lang == "fr" else message_en) in field_errors(response.content.decode(), field_id)
    assert not IndicatorValue.objects.exists()
    assert form_data(response.content.decode())[field_id.removeprefix("id_")] == data[field_id.removeprefix("id_")]


@pytest.mark.parametrize(
    ("rows", "field_id", "message_fr", "message_en"), [r[1:] for r in VALUE_RULES], ids=[r[0] for r in VALUE_RULES]
)
def test_each_value_rule_is_refused_by_the_admin_with_the_same_message(
    client, admin_user, framework, rows, field_id, message_fr, message_en
):
    """Through the admin's indicator page and its inline values (the admin is in English here)."""
    indicator = Indicator.objects.get(programme=framework, code="I1")
    client.force_login(admin_user)
    data = {
        "programme": framework.pk,
        "code": "I1",
        "name_fr": indicator.name_fr,
        "name_en": "",
        "unit": indicator.unit,
        "measure": "unit",
        "baseline": "0",
        "target": "",
        "baseline_year": "",
        "key_indicator": "",
        "outcome": "",
        "output": indicator.output_id,
        "values-TOTAL_FORMS": str(len(rows)),
        "values-INITIAL_FORMS": "0",
        "values-MIN_NUM_FORMS": "0",
        "values-MAX_NUM_FORMS": "1000",
    }
    for n, row in enumerate(rows):
        cell = {**PERIOD, "sex": "all", "age_group": "all", "target": "", "achieved": "", "comment": "", **row}
        data.update({f"values-{n}-{name}": value for name, value in cell.items()})
    response = client.post(f"/admin/programmes/indicator/{indicator.pk}/change/", data, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400  # the form again, with the error (a refusal is a client error)
    assert message_en in text_of(response)
    assert not IndicatorValue.objects.exists()


@pytest.mark.parametrize(
    ("rows", "message"),
    [(r[1], r[4]) for r in VALUE_RULES],
    ids=[r[0] for r in VALUE_RULES],
)
def test_each_value_rule_is_refused_by_the_model_for_any_other_door(framework, english, rows, message):
    """What an importer or the API gets from `full_clean()`: the stored values count with the new one."""
    indicator = Indicator.objects.get(programme=framework, code="I1")
    *stored, last = rows
    for row in stored:
        IndicatorValue.objects.create(
            indicator=indicator,
            **{**DATES, **{k: Decimal(v) if k in ("target", "achieved") else v for k, v in row.items()}},
        )
    value = IndicatorValue(indicator=indicator, **{**PERIOD, "sex": "all", "age_group": "all", **last})
    with pytest.raises(ValidationError) as refused:
        value.full_clean()
    assert message in refused.value.messages


def test_a_breakdown_within_its_total_is_accepted(client, staff, framework):
    """The total of 600 with Femmes 219 + Hommes 268: the parts do not exceed the total."""
    client.force_login(staff)
    data = page_data(client, framework)
    data.update(
        value_rows(
            {"achieved": "600"},
            {"sex": "female", "achieved": "219"},
            {"sex": "male", "achieved": "268"},
            {"age_group": "0-17", "achieved": "100"},
            {"sex": "female", "age_group": "0-17", "achieved": "40"},
        )
    )
    assert client.post(edit_url(framework), data).status_code == 302
    assert IndicatorValue.objects.filter(indicator__code="I1").count() == 5


def test_a_period_outside_the_programme_is_accepted_with_an_explanation(client, staff, framework):
    client.force_login(staff)
    data = page_data(client, framework)
    data.update(
        value_rows(
            {
                "period_start": "2024-07-01",
                "period_end": "2024-12-31",
                "achieved": "4",
                "comment": "Activités préparatoires financées avant le démarrage.",
            }
        )
    )
    assert client.post(edit_url(framework), data).status_code == 302
    assert IndicatorValue.objects.get().period_start == date(2024, 7, 1)


def test_moving_the_programme_end_is_refused_while_values_lie_beyond_it(client, staff, framework):
    indicator = Indicator.objects.get(programme=framework, code="I1")
    IndicatorValue.objects.create(
        indicator=indicator, period_start=date(2026, 1, 1), period_end=date(2026, 12, 31), achieved=Decimal("5")
    )
    client.force_login(staff)
    data = page_data(client, framework, "en")
    data["planned_end"] = "2026-06-30"
    response = client.post(edit_url(framework, "en"), data)
    assert response.status_code == 400
    assert "This period lies outside the programme's dates (01/01/2025 – 06/30/2026)" in text_of(response)
    framework.refresh_from_db()
    assert framework.planned_end == date(2026, 12, 31)


def test_percentages_may_have_decimals_and_counts_of_sessions_too(framework):
    share = Indicator.objects.get(programme=framework, code="I2")
    share.measure = "percentage"
    share.save()
    IndicatorValue(indicator=share, **PERIOD, achieved=Decimal("62.5")).full_clean()
    sessions = Indicator.objects.create(programme=framework, code="I3", name_fr="Sessions", unit="sessions")
    IndicatorValue(indicator=sessions, **PERIOD, achieved=Decimal("2.5")).full_clean()
    # ... but a cell by sex or age counts people.
    with pytest.raises(ValidationError):
        IndicatorValue(indicator=sessions, **PERIOD, sex=Sex.FEMALE, achieved=Decimal("2.5")).full_clean()
    with pytest.raises(ValidationError):
        IndicatorValue(indicator=sessions, **PERIOD, age_group=AgeGroup.ADULTS, achieved=Decimal("0.5")).full_clean()


def test_lowering_a_total_below_its_breakdown_is_refused_by_the_model(framework, english):
    indicator = Indicator.objects.get(programme=framework, code="I1")
    total = IndicatorValue.objects.create(indicator=indicator, **DATES, achieved=Decimal("600"))
    IndicatorValue.objects.create(indicator=indicator, **DATES, sex=Sex.FEMALE, achieved=Decimal("219"))
    IndicatorValue.objects.create(indicator=indicator, **DATES, sex=Sex.MALE, achieved=Decimal("268"))
    total.full_clean()
    total.achieved = Decimal("400")
    with pytest.raises(ValidationError) as refused:
        total.full_clean()
    assert refused.value.message_dict["achieved"] == [
        "The values by sex add up to 487, more than this period's total of 400."
    ]


# --- The admin keeps the framework whole ----------------------------------------------------------------


def test_the_admin_refuses_to_delete_an_outcome_that_an_indicator_measures(client, admin_user, framework):
    client.force_login(admin_user)
    oc2 = Outcome.objects.get(programme=framework, code="OC2")
    response = client.post(f"/admin/programmes/outcome/{oc2.pk}/delete/", {"post": "yes"})
    assert response.status_code == 200  # the page explaining what prevents the deletion
    assert Outcome.objects.filter(pk=oc2.pk).exists()


def test_a_programme_with_its_results_can_still_be_deleted(framework):
    framework.delete()
    assert not Outcome.objects.exists() and not Indicator.objects.exists()


def test_the_admin_refuses_an_outcome_code_already_used_by_an_output(client, admin_user, framework):
    client.force_login(admin_user)
    response = client.post(
        "/admin/programmes/outcome/add/",
        {"programme": framework.pk, "code": "OP1.1", "statement_fr": "Doublon", "statement_en": "", "order": "3"},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 200
    assert "Another outcome or output of this programme already uses this code." in text_of(response)
    assert Outcome.objects.filter(programme=framework).count() == 2


# --- Who sees what --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("persona", "detail", "edit"), [("staff", 200, 200), ("partner_a", 200, 404), ("partner_b", 404, 404)]
)
def test_partners_see_the_results_of_their_programmes_but_never_the_edit_page(
    client, request, framework, persona, detail, edit
):
    client.force_login(request.getfixturevalue(persona))
    response = client.get(framework.get_absolute_url())
    assert response.status_code == detail
    if detail == 200:
        assert "OC1 — Résultat un" in text_of(response) and "OP1.1 — Produit un" in text_of(response)
    else:
        assert "Résultat un" not in text_of(response)
    assert client.get(edit_url(framework)).status_code == edit
    if edit == 404:
        assert client.post(edit_url(framework), {"outcomes-TOTAL_FORMS": "0"}).status_code == 404
    assert Outcome.objects.filter(programme=framework).count() == 2


# --- Speed ----------------------------------------------------------------------------------------------


def test_the_edit_page_query_count_is_the_same_for_1_and_20_outcomes(client, staff, programme_a):
    client.force_login(staff)

    def add_outcomes(first: int, last: int) -> None:
        for n in range(first, last + 1):
            outcome = Outcome.objects.create(programme=programme_a, code=f"OC{n}", statement_fr=f"Effet {n}", order=n)
            output = Output.objects.create(outcome=outcome, code=f"OP{n}.1", statement_fr=f"Produit {n}")
            for target in (outcome, output):
                indicator = Indicator.objects.create(
                    programme=programme_a,
                    code=f"I{target.code}",
                    name_fr="Indicateur",
                    **{"outcome" if target is outcome else "output": target},
                )
                IndicatorValue.objects.create(indicator=indicator, **DATES, achieved=3)

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            response = client.get(edit_url(programme_a))
        assert response.status_code == 200
        return len(queries)

    add_outcomes(1, 1)
    small = count()
    add_outcomes(2, 20)
    assert count() == small
    assert text_of(client.get(edit_url(programme_a))).count('name="outcomes-') > 20 * 5


def test_demo_results_meet_the_rules_so_that_demo_programmes_can_be_edited(reference):
    from programmes.demo import seed_demo

    seed_demo(programmes=40, seed=2026)
    values = IndicatorValue.objects.select_related("indicator__programme")
    assert values.exists()
    for value in values:
        value.full_clean()
    for indicator in Indicator.objects.all():
        indicator.full_clean()
