"""Money (issue 12): exchange rates and the one rule of the rate in force, US dollar equivalents beside the
original amounts, transactions written through the services at every door, spent against budget."""

from __future__ import annotations

import json
import re
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import Sum as models_sum
from django.test import Client

from imports.services import import_job_confirm, import_job_create
from partners.models import OrganisationCategory
from programmes.models import ExchangeRate, Participation, Programme, Role, Status, Transaction, TransactionKind
from programmes.money import RateTable, rate_in_force, spending, to_usd, totals
from programmes.services import transaction_add

from .api_support import token_client
from .conftest import make_organisation, make_programme

IOM_FILE = Path(__file__).parent / "data" / "iati" / "iom-niger-activities.xml"
PROVIDER_NEEDED = "Des fonds entrants ont une provenance : choisissez le bailleur qui les fournit."


@pytest.fixture
def rates(reference):
    ExchangeRate.objects.all().delete()
    ExchangeRate.objects.create(currency="XOF", as_of=date(2025, 1, 1), units_per_usd=Decimal("600"), source="ONU")
    ExchangeRate.objects.create(currency="XOF", as_of=date(2025, 7, 1), units_per_usd=Decimal("500"), source="ONU")
    ExchangeRate.objects.create(currency="EUR", as_of=date(2025, 1, 1), units_per_usd=Decimal("0.8"), source="ONU")


@pytest.fixture
def donor(reference):
    return make_organisation("ue", acronym="UE", name_fr="Union européenne", category=OrganisationCategory.DONOR)


# --- The rate in force ---------------------------------------------------------------------------


def test_the_rate_in_force_is_the_latest_on_or_before_the_day_and_never_guessed(rates):
    assert rate_in_force("XOF", date(2025, 6, 30)).rate == Decimal("600")
    assert rate_in_force("XOF", date(2025, 7, 1)).rate == Decimal("500")
    assert rate_in_force("XOF", date(2024, 12, 31)) is None  # before any rate: nothing converted
    assert rate_in_force("USD", date(2000, 1, 1)).rate == Decimal("1")
    table = RateTable.load()
    assert rate_in_force("XOF", date(2026, 1, 1), table) == rate_in_force("XOF", date(2026, 1, 1))
    assert to_usd(Decimal("600000"), "XOF", date(2025, 3, 1)) == (
        Decimal("1000.00"),
        rate_in_force("XOF", date(2025, 3, 1)),
    )


def test_totals_keep_each_currency_and_say_which_rates_gave_the_usd_figure(rates):
    result = totals([("XOF", Decimal("500000")), ("EUR", Decimal("800")), ("USD", Decimal("10"))], on=date(2025, 8, 1))
    assert result.by_currency == {"XOF": Decimal("500000"), "EUR": Decimal("800"), "USD": Decimal("10")}
    assert result.usd == Decimal("2010.00")
    assert "1 USD = 500 XOF (ONU" in result.rates_text() and "1 USD = 0.8 EUR" in result.rates_text()
    early = totals([("XOF", Decimal("1")), ("USD", Decimal("5"))], on=date(2024, 1, 1))
    assert early.usd == Decimal("5") and early.unconverted == {"XOF"} and not early.complete


# --- Transactions: the services and their rules ---------------------------------------------------


def test_spent_against_budget_converts_other_currencies_on_their_own_date(rates, staff, org_a, donor):
    programme = make_programme(org_a, budget=Decimal("1000000"), currency="XOF")
    add = {"programme": programme, "user": staff}
    transaction_add(**add, fields={"kind": "expenditure", "date": date(2025, 3, 1), "value": Decimal("100000")})
    transaction_add(
        **add, fields={"kind": "disbursement", "date": date(2025, 8, 1), "value": Decimal("100"), "currency": "USD"}
    )
    transaction_add(
        **add,
        fields={"kind": "incoming_funds", "date": date(2025, 2, 1), "value": Decimal("500000"), "provider": donor},
    )
    transaction_add(
        **add, fields={"kind": "expenditure", "date": date(2024, 3, 1), "value": Decimal("1"), "currency": "EUR"}
    )
    result = spending([programme])[programme.pk]
    # 100,000 XOF + 100 USD at 500 XOF (August) = 150,000 XOF; incoming funds are not spending.
    assert result.spent == Decimal("150000.00") and result.share == Decimal("15.0")
    assert result.unconverted == 1  # the EUR expenditure of 2024 has no rate: not counted, and said


def test_incoming_money_needs_a_provider_and_a_refusal_saves_nothing(staff, programme_a):
    with pytest.raises(Exception) as refused:
        transaction_add(
            programme=programme_a,
            user=staff,
            fields={"kind": "incoming_commitment", "date": date(2025, 1, 1), "value": Decimal("5")},
        )
    assert refused.value.message_dict["provider"] == [PROVIDER_NEEDED]
    assert not Transaction.objects.exists()


def test_transactions_wait_while_the_programme_is_under_review(staff, programme_a):
    Programme.objects.filter(pk=programme_a.pk).update(status=Status.UNDER_REVIEW)
    with pytest.raises(Exception, match="examen"):
        transaction_add(
            programme=programme_a,
            user=staff,
            fields={"kind": "expenditure", "date": date(2025, 1, 1), "value": Decimal("5")},
        )


# --- Door parity: the page, the API and the admin -------------------------------------------------


def _through_page(client, staff, programme, data):
    client.force_login(staff)
    return client.post(f"/fr/programmes/{programme.code}/transactions/", data)


def _through_api(client, staff, programme, data):
    body = {k: v for k, v in data.items() if v != ""}
    return token_client(staff, "fr").post(f"/api/v1/programmes/{programme.code}/transactions/", body, format="json")


def _through_admin(client, admin, programme, data):
    client.force_login(admin)
    return client.post(
        "/admin/programmes/transaction/add/",
        {**data, "programme": programme.pk, "_save": "Enregistrer"},
        HTTP_ACCEPT_LANGUAGE="fr",
    )


@pytest.mark.parametrize("door", [_through_page, _through_api, _through_admin], ids=["page", "API", "admin"])
def test_incoming_money_without_provider_is_refused_at_every_door_with_the_same_message(
    client, staff, admin_user, programme_a, door
):
    data = {
        "kind": "incoming_funds",
        "date": "2025-03-01",
        "value": "1000",
        "currency": "USD",
        "provider": "",
        "receiver": "",
    }
    user = admin_user if door is _through_admin else staff
    response = door(client, user, programme_a, data)
    assert response.status_code in (200, 400)
    text = response.content.decode()
    assert PROVIDER_NEEDED in (
        json.dumps(response.json(), ensure_ascii=False) if door is _through_api else text.replace("&#x27;", "'")
    )
    assert not Transaction.objects.exists()


def test_staff_record_correct_and_delete_a_transaction_on_its_page(client, staff, programme_a, donor, rates):
    client.force_login(staff)
    url = f"/fr/programmes/{programme_a.code}/transactions/"
    page = client.get(url)
    assert page.status_code == 200 and "Aucune transaction enregistrée" in page.content.decode()
    response = client.post(
        url,
        {
            "kind": "incoming_commitment",
            "date": "2025-03-01",
            "value": "25000",
            "currency": "USD",
            "provider": donor.pk,
        },
    )
    assert response.status_code == 302
    record = Transaction.objects.get()
    assert (record.kind, record.value, record.provider) == ("incoming_commitment", Decimal("25000.00"), donor)
    edit = f"{url}{record.pk}/"
    assert client.get(edit).status_code == 200
    response = client.post(
        edit,
        {
            "kind": "incoming_commitment",
            "date": "2025-03-02",
            "value": "26000",
            "currency": "USD",
            "provider": donor.pk,
        },
    )
    assert response.status_code == 302
    record.refresh_from_db()
    assert record.value == Decimal("26000.00") and record.date == date(2025, 3, 2)
    # A bad amount: 400, the message, and what was typed is still there.
    response = client.post(
        url, {"kind": "expenditure", "date": "2025-03-02", "value": "-3", "description": "Carburant"}
    )
    assert response.status_code == 400 and "Carburant" in response.content.decode()
    assert client.post(f"{edit}delete/").status_code == 302
    assert not Transaction.objects.exists()


def test_the_api_reads_and_writes_transactions_with_their_usd_equivalent(staff, partner_a, programme_a, rates, donor):
    api = token_client(staff, "en")
    url = f"/api/v1/programmes/{programme_a.code}/transactions/"
    created = api.post(
        url, {"kind": "expenditure", "date": "2025-08-01", "value": "50000", "currency": "XOF"}, format="json"
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["value_usd"] == "100.00" and "1 USD = 500 XOF" in body["rate_used"]
    changed = api.patch(f"{url}{body['id']}/", {"value": "60000"}, format="json")
    assert changed.status_code == 200 and changed.json()["value_usd"] == "120.00"
    unknown = api.post(url, {"kind": "expenditure", "date": "2025-08-01", "value": "5", "programme": 3}, format="json")
    assert unknown.status_code == 400
    assert token_client(partner_a, "en").get(url).status_code == 404  # IOM's accounting
    assert api.delete(f"{url}{body['id']}/").status_code == 204
    assert not Transaction.objects.exists()


def test_the_transactions_list_costs_the_same_queries_for_1_and_10_rows(
    staff, programme_a, rates, django_assert_num_queries
):
    api = token_client(staff, "en")
    url = f"/api/v1/programmes/{programme_a.code}/transactions/"
    fields = {"kind": "expenditure", "date": date(2025, 8, 1), "value": Decimal("5"), "currency": "XOF"}
    transaction_add(programme=programme_a, user=staff, fields=fields)
    api.get(url)  # warm the token and session lookups
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as one:
        assert len(api.get(url).json()) == 1
    for _ in range(9):
        transaction_add(programme=programme_a, user=staff, fields=fields)
    with django_assert_num_queries(len(one.captured_queries)):
        assert len(api.get(url).json()) == 10


# --- Where amounts are shown: three personas, both languages --------------------------------------


@pytest.mark.parametrize("language", ["fr", "en"])
def test_the_programme_page_shows_usd_beside_the_budget_and_spending_to_staff_only(
    staff, partner_a, partner_b, org_a, rates, language
):
    programme = make_programme(org_a, budget=Decimal("1000000"), currency="XOF")
    transaction_add(
        programme=programme,
        user=staff,
        fields={"kind": "expenditure", "date": date(2025, 8, 1), "value": Decimal("250000")},
    )
    url = f"/{language}/programmes/{programme.code}/"
    pages = {}
    for persona, user in (("staff", staff), ("partner_a", partner_a), ("partner_b", partner_b)):
        client = Client()
        client.force_login(user)
        pages[persona] = client.get(url)
    assert pages["partner_b"].status_code == 404
    staff_page, partner_page = pages["staff"].content.decode(), pages["partner_a"].content.decode()
    rate_text = "1 USD = 500 XOF"
    for page in (staff_page, partner_page):
        assert 'id="budget-usd"' in page and rate_text in page
    assert 'id="spending"' in staff_page and "25.0" in staff_page.replace(",", ".")
    assert 'id="spending"' not in partner_page
    word = {"fr": "Dépensé par rapport au budget", "en": "Spent against budget"}[language]
    assert word in staff_page


@pytest.mark.parametrize("language", ["fr", "en"])
def test_the_dashboard_and_the_list_give_usd_totals_and_the_rates_used(
    staff, partner_a, partner_b, org_a, org_b, rates, language
):
    make_programme(org_a, budget=Decimal("1000000"), currency="XOF")
    make_programme(org_a, budget=Decimal("800"), currency="EUR")
    make_programme(org_b, budget=Decimal("5000"), currency="USD")
    expected = {
        "staff": "8\u00a0000" if language == "fr" else "8,000",
        "partner_a": "3\u00a0000" if language == "fr" else "3,000",
    }
    for persona, user in (("staff", staff), ("partner_a", partner_a), ("partner_b", partner_b)):
        client = Client()
        client.force_login(user)
        dashboard = client.get(f"/{language}/").content.decode()
        listing = client.get(f"/{language}/programmes/").content.decode()
        # staff: 2,000 + 1,000 + 5,000 USD; partner A: its two programmes; partner B: its own only.
        total = expected.get(persona, "5\u00a0000" if language == "fr" else "5,000")
        assert 'id="figure-budget-usd"' in dashboard and f"{total} <span" in dashboard
        assert 'id="budget-totals"' in listing and f"{total} USD" in listing
        if persona != "partner_b":
            assert "1 USD = 500 XOF" in dashboard and "1 USD = 500 XOF" in listing


# --- The importer records transactions through the same service ----------------------------------


def test_imported_transactions_become_transactions_and_a_second_import_does_not_double_them(settings, tmp_path, staff):
    settings.MEDIA_ROOT = tmp_path

    def run():
        job = import_job_create(
            user=staff, upload=SimpleUploadedFile(IOM_FILE.name, IOM_FILE.read_bytes()), language="fr"
        )
        import_job_confirm(job=job, user=staff, create_organisations=True)

    run()
    programme = Programme.objects.get(code="CT.0412")
    (record,) = Transaction.objects.filter(programme=programme)
    assert (record.kind, record.date, record.value, record.currency) == (
        TransactionKind.INCOMING_COMMITMENT,
        date(2025, 1, 15),
        Decimal("1000000.00"),
        "USD",
    )
    funder = Participation.objects.get(programme=programme, role=Role.FUNDING).organisation
    assert record.provider == funder and funder.iati_identifier == "XM-DAC-918-3"
    Transaction.objects.filter(pk=record.pk).update(value=Decimal("1"))  # the file is the source: re-read
    from imports.models import ImportedActivity

    ImportedActivity.objects.update(content_hash="changed")
    run()
    assert list(Transaction.objects.filter(programme=programme).values_list("value", flat=True)) == [
        Decimal("1000000.00")
    ]


# --- Reports ---------------------------------------------------------------------------------------


def test_the_portfolio_workbook_gives_usd_and_spent_to_staff_and_no_spending_to_partners(
    staff, partner_a, org_a, rates, django_capture_on_commit_callbacks, settings, tmp_path
):
    from reports.models import ReportType

    from .test_reports_formats import sheet_rows
    from .test_reports_jobs import run_job

    settings.MEDIA_ROOT = tmp_path
    programme = make_programme(org_a, budget=Decimal("1000000"), currency="XOF")
    transaction_add(
        programme=programme,
        user=staff,
        fields={"kind": "expenditure", "date": date(2025, 8, 1), "value": Decimal("250000")},
    )
    for user, spent in ((staff, (Decimal("250000"), Decimal("25"))), (partner_a, (None, None))):
        job = run_job(django_capture_on_commit_callbacks, user, ReportType.PORTFOLIO_XLSX, language="en")
        rows = sheet_rows(job.path, "Programmes")
        row = dict(zip(rows[0], rows[1], strict=True))
        assert row["Budget (USD equivalent)"] == 2000
        assert (row["Spent"], row["Spent (% of budget)"]) == spent
        figures = [
            r for r in sheet_rows(job.path, "Key figures") if r[0] == "Budget of active programmes (USD equivalent)"
        ]
        assert figures[0][1] == 2000 and figures[0][2] == "USD" and "1 USD = 500 XOF" in figures[0][4]


def test_the_admin_records_and_corrects_a_transaction_through_the_services(client, admin_user, programme_a, donor):
    client.force_login(admin_user)
    data = {"kind": "incoming_funds", "date": "2025-03-01", "value": "1000", "currency": "USD", "provider": donor.pk}
    response = client.post("/admin/programmes/transaction/add/", {**data, "programme": programme_a.pk, "_save": "Save"})
    assert response.status_code == 302, response.content.decode()[:2000]
    record = Transaction.objects.get()
    assert record.programme == programme_a and record.provider == donor
    response = client.post(
        f"/admin/programmes/transaction/{record.pk}/change/", {**data, "value": "1500", "provider": "", "_save": "Save"}
    )
    assert response.status_code == 200  # refused: incoming money needs its provider
    record.refresh_from_db()
    assert record.value == Decimal("1000.00")
    from auditlog.models import LogEntry

    assert LogEntry.objects.get_for_object(record).filter(actor=admin_user).exists()


@pytest.mark.parametrize("language", ["fr", "en"])
def test_sector_and_place_pages_list_programmes_with_their_usd_equivalent(
    staff, partner_a, partner_b, org_a, rates, language
):
    programme = make_programme(org_a, budget=Decimal("1000000"), currency="XOF")
    Programme.objects.filter(pk=programme.pk).update(status=Status.ACTIVE)
    from programmes.models import ProgrammeLocation
    from regions.models import AdminUnit

    ProgrammeLocation.objects.create(programme=programme, admin_unit=AdminUnit.objects.get(pcode="NE006012007"))
    amount = "2\u00a0000 USD" if language == "fr" else "2,000 USD"
    for user, shown in ((staff, True), (partner_a, True), (partner_b, False)):
        client = Client()
        client.force_login(user)
        for url in (f"/{language}/programmes/sectors/{programme.primary_sector.code}/", f"/{language}/regions/NE006/"):
            page = client.get(url).content.decode()
            assert (amount in page and "1 USD = 500 XOF" in page) is shown, (url, user)


# --- USD equivalents in the factsheet and the live key figures -------------------------------------


@pytest.mark.parametrize("language", ["fr", "en"])
def test_the_factsheet_gives_the_usd_equivalent_and_rate_to_all_and_spending_to_staff_only(
    staff, partner_a, partner_b, org_a, rates, language, django_capture_on_commit_callbacks, settings, tmp_path
):
    from django.core.exceptions import ValidationError
    from django.db.models import Sum

    from reports.builders.factsheet import factsheet_context
    from reports.models import JobStatus, ReportType

    from .test_reports_formats import pdf_text
    from .test_reports_jobs import run_job

    settings.MEDIA_ROOT = tmp_path
    programme = make_programme(org_a, budget=Decimal("1000000"), currency="XOF", modality="in-kind")
    transaction_add(
        programme=programme,
        user=staff,
        fields={"kind": "expenditure", "date": date(2025, 8, 1), "value": Decimal("250000")},
    )
    # The figures against the database: the budget at today's rate (500 XOF), spent = the expenditure rows.
    context = factsheet_context(programme)
    budget = Programme.objects.get(pk=programme.pk).budget
    assert context["budget_usd"].usd == budget / Decimal("500") == Decimal("2000")
    assert context["spending"].spent == Transaction.objects.filter(programme=programme).aggregate(s=Sum("value"))["s"]
    assert factsheet_context(programme, suppress_below=5)["spending"] is None

    words = {
        # (the label "Spent against budget" may wrap in its column: its first word is looked for)
        "fr": ("2 000 USD", "1 USD = 500 XOF (ONU", "Dépensé", "Assistance en nature"),
        "en": ("2,000 USD", "1 USD = 500 XOF (ONU", "Spent", "In-kind assistance"),
    }[language]
    texts = {}
    for persona, user in (("staff", staff), ("partner_a", partner_a)):
        job = run_job(
            django_capture_on_commit_callbacks,
            user,
            ReportType.FACTSHEET_PDF,
            {"programme": programme.code},
            language=language,
        )
        assert job.status == JobStatus.SUCCEEDED, job.error_message
        texts[persona] = " ".join(pdf_text(job.path).replace("\u202f", " ").replace("\u00a0", " ").split())
    for text in texts.values():
        assert words[0] in text and words[1] in text and words[3] in text, text[:1500]
    digits = re.sub(r"(?<=\d)[ ,](?=\d{3})", "", texts["staff"]).replace("25,0", "25.0")  # 250 000 / 250,000
    assert words[2] in texts["staff"] and "250000 XOF (25.0 %)" in digits
    assert words[2] not in texts["partner_a"]
    with pytest.raises(ValidationError):
        run_job(django_capture_on_commit_callbacks, partner_b, ReportType.FACTSHEET_PDF, {"programme": programme.code})


@pytest.mark.parametrize("language", ["fr", "en"])
def test_the_live_key_figures_give_the_usd_total_of_what_each_persona_sees_and_the_rates(
    staff, partner_a, partner_b, org_a, org_b, rates, language
):
    make_programme(org_a, budget=Decimal("1000000"), currency="XOF")
    make_programme(org_a, budget=Decimal("800"), currency="EUR")
    make_programme(org_b, budget=Decimal("5000"), currency="USD")
    make_programme(org_b, budget=Decimal("7"), currency="USD", status=Status.PIPELINE)  # not active: not counted
    for persona, user in (("staff", staff), ("partner_a", partner_a), ("partner_b", partner_b)):
        body = token_client(user, language).get("/api/v1/key-figures/live/").json()
        usd = body["budget_usd"]
        # The database's own totals, per currency, over the active programmes this persona may see.
        db_totals = dict(
            Programme.objects.visible_to(user)
            .filter(status=Status.ACTIVE)
            .values_list("currency")
            .annotate(t=models_sum("budget"))
            .order_by()
        )
        expected = sum((to_usd(total, currency, date.today())[0] for currency, total in db_totals.items()), Decimal(0))
        assert Decimal(usd["total"]) == expected, persona
        assert {r["currency"]: Decimal(r["total"]) for r in body["budget_by_currency"]} == db_totals
        if persona == "partner_b":
            assert (Decimal(usd["total"]), usd["rates"]) == (Decimal("5000"), [])
            assert usd["rates_text"] == {"en": "all amounts are in US dollars"}.get(language, usd["rates_text"])
        else:
            assert {r["currency"]: Decimal(r["units_per_usd"]) for r in usd["rates"]} == {
                "XOF": Decimal("500"),
                "EUR": Decimal("0.8"),
            }
            assert "1 USD = 500 XOF (ONU" in usd["rates_text"] and usd["unconverted_currencies"] == []
    assert Decimal(token_client(staff).get("/api/v1/key-figures/live/").json()["budget_usd"]["total"]) == Decimal(
        "8000"
    )
