"""The obligation calendar (issue 13): IDF rules, regeneration on programme changes, evidence, waiving,
reminders and escalation (idempotent), the pages, the API and the iCalendar feed."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone, translation

from obligations.calendar import add_months
from obligations.models import Obligation, ObligationKind, ObligationRule, ObligationRuleSet, State
from obligations.reference import ensure_idf_rule_set
from obligations.services import obligation_waive, obligations_refresh, send_reminders
from obligations.views import feed_token
from outbox.models import OutgoingEmail
from partners.models import Organisation
from programmes import services
from programmes.models import IDF_ORGANISATION_CODE, Document, DocumentCategory, Role, Sector, Status, Visibility
from programmes.rules import ParticipationRow

from .conftest import make_organisation, make_programme

START, END = date(2027, 1, 1), date(2028, 12, 31)


@pytest.fixture
def fund(reference) -> Organisation:
    ensure_idf_rule_set()
    return Organisation.objects.get(code=IDF_ORGANISATION_CODE)


@pytest.fixture
def ministry(reference) -> Organisation:
    return make_organisation("min-interieur", acronym="MI", category="national_government")


def create_idf_programme(user, fund, partner, *, ministry=None, start=START, end=END, **extra):
    rows = [
        ParticipationRow(fund, Role.FUNDING, Decimal("100000")),
        ParticipationRow(partner, Role.IMPLEMENTING_PARTNER),
    ]
    if ministry is not None:
        rows.append(ParticipationRow(ministry, Role.GOVERNMENT_COUNTERPART))
    fields = {
        "code": extra.pop("code", "NE-IDF-2027-001"),
        "title_fr": "Gestion des migrations à Agadez",
        "title_en": "Migration management in Agadez",
        "primary_sector": Sector.objects.order_by("order").first(),
        "planned_start": start,
        "planned_end": end,
        "budget": Decimal("150000"),
        "currency": "USD",
        "iom_focal_point": user,
        **extra,
    }
    return services.programme_create(user=user, fields=fields, participations=rows)


@pytest.fixture
def idf_programme(django_capture_on_commit_callbacks, staff, fund, org_a, ministry):
    staff.email, staff.first_name = "alice@iom.example", "Alice"
    staff.save()
    with django_capture_on_commit_callbacks(execute=True):
        return create_idf_programme(staff, fund, org_a, ministry=ministry)


def calendar_of(programme) -> list[tuple[str, date]]:
    return [(o.kind, o.due_date) for o in Obligation.objects.filter(programme=programme).order_by("due_date", "kind")]


# --- Rules and calendar -----------------------------------------------------------------------


def test_the_idf_rule_set_is_shipped_with_reference_data(fund):
    rule_set = ObligationRuleSet.objects.get(funder=fund)
    assert rule_set.name_en == "IOM Development Fund calendar"
    rules = {r.kind: r for r in rule_set.rules.all()}
    assert set(rules) == set(ObligationKind.values)
    assert (rules["results_framework"].anchor, rules["results_framework"].offset_months) == ("start", 1)
    assert (rules["narrative_report"].period_months, rules["narrative_report"].offset_days) == (6, 42)
    assert (rules["financial_report"].period_months, rules["financial_report"].offset_days) == (6, 42)
    assert (rules["final_report"].anchor, rules["final_report"].offset_months) == ("end", 3)
    assert (rules["extension_request"].anchor, rules["extension_request"].offset_months) == ("end", -1)
    assert ensure_idf_rule_set() == rule_set  # idempotent: an administrator's edits are never overwritten


def test_months_are_added_on_the_calendar():
    assert add_months(date(2027, 1, 31), 1) == date(2027, 2, 28)
    assert add_months(date(2027, 12, 31), -1) == date(2027, 11, 30)
    assert add_months(date(2027, 1, 1), 6) == date(2027, 7, 1)


def test_an_idf_programme_created_with_dates_shows_its_whole_calendar(idf_programme, org_a, staff):
    six_weeks = timedelta(days=42)
    assert calendar_of(idf_programme) == [
        ("results_framework", date(2027, 2, 1)),
        ("financial_report", date(2027, 6, 30) + six_weeks),
        ("narrative_report", date(2027, 6, 30) + six_weeks),
        ("financial_report", date(2027, 12, 31) + six_weeks),
        ("narrative_report", date(2027, 12, 31) + six_weeks),
        ("financial_report", date(2028, 6, 30) + six_weeks),
        ("narrative_report", date(2028, 6, 30) + six_weeks),
        ("extension_request", date(2028, 11, 30)),
        ("final_report", date(2029, 3, 31)),
    ]
    narrative = Obligation.objects.filter(programme=idf_programme, kind="narrative_report").first()
    assert narrative.responsible_organisation == org_a and narrative.document_category == "progress_report"
    assert (narrative.period_start, narrative.period_end) == (date(2027, 1, 1), date(2027, 6, 30))
    final = Obligation.objects.get(programme=idf_programme, kind="final_report")
    assert final.responsible_user == staff
    client = Client()
    client.force_login(staff)
    page = client.get(f"/en/obligations/programmes/{idf_programme.code}/")
    assert page.status_code == 200
    assert page.content.decode().count('id="obligation-') == 9
    assert "Interim narrative report" in page.content.decode()


def test_a_programme_without_rules_owes_nothing(django_capture_on_commit_callbacks, staff, org_a, reference):
    with django_capture_on_commit_callbacks(execute=True):
        programme = services.programme_create(
            user=staff,
            fields={
                "code": "NE-NORULE-001",
                "title_fr": "Sans règles",
                "primary_sector": Sector.objects.first(),
                "planned_start": START,
                "planned_end": END,
            },
            participations=[ParticipationRow(org_a, Role.IMPLEMENTING_PARTNER)],
        )
    assert not Obligation.objects.filter(programme=programme).exists()


def test_changing_dates_regenerates_future_obligations_and_keeps_past_and_fulfilled(
    django_capture_on_commit_callbacks, idf_programme, staff
):
    today = date(2027, 3, 1)
    first = Obligation.objects.get(programme=idf_programme, kind="results_framework")  # due 2027-02-01: past
    fulfilled = Obligation.objects.filter(programme=idf_programme, kind="financial_report").first()
    report = Document.objects.create(
        programme=idf_programme, title="Rapport financier", category="financial_report", file="x.pdf"
    )
    Obligation.objects.filter(pk=fulfilled.pk).update(fulfilled_at=timezone.now(), fulfilled_document=report)
    # The programme is extended by a year: the end's obligations move, a new period appears.
    idf_programme.planned_end = date(2029, 12, 31)
    with django_capture_on_commit_callbacks(execute=False):
        services.programme_update(
            programme=idf_programme,
            user=staff,
            expected_version=idf_programme.version,
            fields={"planned_end": date(2029, 12, 31)},
        )
    obligations_refresh(programme_id=idf_programme.pk, today=today)
    kept = Obligation.objects.get(pk=first.pk)
    assert kept.due_date == date(2027, 2, 1)
    assert Obligation.objects.get(pk=fulfilled.pk).fulfilled_document == report
    assert Obligation.objects.get(programme=idf_programme, kind="final_report").due_date == date(2030, 3, 31)
    assert Obligation.objects.get(programme=idf_programme, kind="extension_request").due_date == date(2029, 11, 30)
    assert Obligation.objects.filter(programme=idf_programme, kind="narrative_report").count() == 5


def test_a_cancelled_programme_owes_nothing_more(idf_programme, staff):
    Obligation.objects.filter(programme=idf_programme, kind="results_framework").update(
        waived_at=timezone.now(), waived_reason="Accord séparé"
    )
    idf_programme.status = Status.CANCELLED
    idf_programme.save()
    obligations_refresh(programme_id=idf_programme.pk, today=date(2026, 12, 1))
    assert list(Obligation.objects.filter(programme=idf_programme).values_list("kind", flat=True)) == [
        "results_framework"
    ]


def test_an_agreement_carries_its_own_rules(idf_programme):
    """A donor agreement may carry its own rules: quarterly narrative report due 30 days after quarter end."""
    from programmes.models import ProgrammeAgreement

    document = Document.objects.create(programme=idf_programme, title="Accord", category="agreement", file="a.pdf")
    agreement = ProgrammeAgreement.objects.create(
        programme=idf_programme, reference="EU-1", signed_on=date(2026, 11, 1), document=document
    )
    rule_set = ObligationRuleSet.objects.create(name_fr="Accord UE", agreement=agreement)
    ObligationRule.objects.create(
        rule_set=rule_set, kind="narrative_report", anchor="period_end", period_months=3, offset_days=30
    )
    obligations_refresh(programme_id=idf_programme.pk, today=date(2026, 12, 1))
    quarterly = Obligation.objects.filter(programme=idf_programme, rule__rule_set=rule_set).order_by("due_date")
    assert [o.due_date for o in quarterly][:2] == [date(2027, 4, 30), date(2027, 7, 30)]
    assert quarterly.count() == 7  # eight quarters, the last one the final report's


# --- Evidence and waiving ------------------------------------------------------------------------


def test_an_uploaded_document_of_the_right_category_fulfils_the_obligation(
    django_capture_on_commit_callbacks, idf_programme, staff, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    upload = Document(title="Plan de travail", category=DocumentCategory.WORKPLAN, visibility=Visibility.PARTNERS)
    upload.file = SimpleUploadedFile("plan.pdf", b"%PDF-1.4 plan")
    with django_capture_on_commit_callbacks(execute=True):
        services.document_add(programme=idf_programme, user=staff, document=upload)
    workplan = Obligation.objects.get(programme=idf_programme, kind="results_framework")
    assert workplan.fulfilled_document == upload and workplan.state == State.FULFILLED
    # A progress report uploaded before the period's end is not the period's report.
    early = Document(title="Rapport", category=DocumentCategory.PROGRESS_REPORT)
    early.file = SimpleUploadedFile("r.pdf", b"%PDF-1.4 r")
    with django_capture_on_commit_callbacks(execute=True):
        services.document_add(programme=idf_programme, user=staff, document=early)
    assert (
        not Obligation.objects.filter(programme=idf_programme, kind="narrative_report")
        .exclude(fulfilled_at=None)
        .exists()
    )
    # Removing the evidence reopens the obligation.
    with django_capture_on_commit_callbacks(execute=True):
        services.document_delete(document=upload, user=staff)
    workplan.refresh_from_db()
    assert workplan.fulfilled_at is None and workplan.is_open


def test_waiving_needs_a_reason_and_an_open_obligation(idf_programme, staff):
    obligation = Obligation.objects.get(programme=idf_programme, kind="extension_request")
    with pytest.raises(ValidationError) as refused, translation.override("en"):
        obligation_waive(obligation=obligation, user=staff, reason="  ")
    assert refused.value.message_dict == {"reason": ["Give the reason for waiving this obligation."]}
    obligation_waive(obligation=obligation, user=staff, reason="No extension needed")
    assert obligation.state == State.WAIVED and obligation.waived_by == staff
    with pytest.raises(ValidationError, match="déjà remplie ou levée"):
        obligation_waive(obligation=obligation, user=staff, reason="again")


def test_the_waiver_is_in_the_history_for_iom_only(idf_programme, staff, partner_a):
    from programmes.history import programme_history

    obligation = Obligation.objects.get(programme=idf_programme, kind="extension_request")
    obligation_waive(obligation=obligation, user=staff, reason="Pas de prolongation")
    iom = programme_history(idf_programme, iom=True)
    partner = programme_history(idf_programme, iom=False)
    iom_text = " ".join(str(c) for row in iom for c in row.changes)
    partner_text = " ".join(str(c) for row in partner for c in row.changes)
    assert "Pas de prolongation" in iom_text
    assert "Pas de prolongation" not in partner_text


def test_the_waive_page_refuses_a_blank_reason_with_a_message(idf_programme, staff, viewer, partner_a):
    obligation = Obligation.objects.get(programme=idf_programme, kind="extension_request")
    client = Client()
    client.force_login(staff)
    refused = client.post(f"/en/obligations/{obligation.pk}/waive/", {"reason": " "})
    assert refused.status_code == 400
    assert "Give the reason for waiving this obligation." in refused.content.decode()
    done = client.post(f"/en/obligations/{obligation.pk}/waive/", {"reason": "No extension"})
    assert done.status_code == 302
    obligation.refresh_from_db()
    assert obligation.waived_reason == "No extension"
    for user in (viewer, partner_a):
        other = Client()
        other.force_login(user)
        assert other.post(f"/en/obligations/{obligation.pk}/waive/", {"reason": "x"}).status_code == 404


# --- Reminders -----------------------------------------------------------------------------------


def test_time_moved_past_a_due_date_gives_one_reminder_then_an_escalation_and_the_board_lists_it(
    idf_programme, staff, org_a, ministry, settings, monkeypatch
):
    """The issue's scenario, day by day (the beat task running twice each day)."""
    settings.OBLIGATION_REMINDER_DAYS_BEFORE = 14
    settings.OBLIGATION_ESCALATION_DAYS = 7
    from tests.conftest import make_user

    make_user("paul.partner", organisation=org_a, email="paul@org-a.example", preferred_language="en")
    staff.preferred_language = "fr"
    staff.save()
    due = date(2027, 2, 1)  # the results framework and workplan (the IOM focal point's)
    Obligation.objects.exclude(kind="results_framework").update(reminded_at=timezone.now())

    def run(day: date) -> list:
        mail.outbox.clear()
        first = send_reminders(today=day)
        second = send_reminders(today=day)  # beat running twice sends nothing more
        assert second == {"before": 0, "overdue": 0, "escalated": 0}
        return [(m.to[0], m.subject) for m in mail.outbox], first

    assert run(due - timedelta(days=20)) == ([], {"before": 0, "overdue": 0, "escalated": 0})
    sent, _counts = run(due - timedelta(days=14))
    assert sent == [
        ("alice@iom.example", f"Échéance proche : Cadre de résultats et plan de travail — {idf_programme.code}")
    ]
    assert run(due) == ([], {"before": 0, "overdue": 0, "escalated": 0})
    sent, counts = run(due + timedelta(days=1))
    assert counts["overdue"] == 1
    assert sent == [("alice@iom.example", f"En retard : Cadre de résultats et plan de travail — {idf_programme.code}")]
    assert run(due + timedelta(days=5))[0] == []
    sent, counts = run(due + timedelta(days=8))
    assert counts == {"before": 0, "overdue": 0, "escalated": 1}
    assert sent[0][0] == "alice@iom.example" and "Toujours en retard" in sent[0][1]
    assert run(due + timedelta(days=30))[0] == []
    # The partner's narrative report: reminded in the partner's language.
    Obligation.objects.filter(kind="narrative_report").update(reminded_at=None)
    sent, _counts = run(date(2027, 8, 1))
    assert ("paul@org-a.example", f"Due soon: Interim narrative report — {idf_programme.code}") in sent

    # The board, on the day of the escalation (time moved forward for the page's "today").
    monkeypatch.setattr(timezone, "localdate", lambda *args, **kwargs: due + timedelta(days=8))
    client = Client()
    client.force_login(staff)
    for by, label in (("programme", idf_programme.code), ("partner", "ORGA"), ("ministry", "MI")):
        board = client.get(f"/en/obligations/overdue/?by={by}")
        assert board.status_code == 200
        html = board.content.decode()
        assert label in html and "Results framework and workplan" in html, by


def test_reminders_go_through_the_outbox(idf_programme, staff, settings):
    settings.EMAIL_BACKEND = "outbox.backends.OutboxBackend"
    Obligation.objects.exclude(kind="results_framework").update(reminded_at=timezone.now())
    send_reminders(today=date(2027, 1, 25))
    send_reminders(today=date(2027, 1, 25))
    assert OutgoingEmail.objects.filter(recipients=["alice@iom.example"]).count() == 1


def test_a_deadline_already_past_when_recorded_is_listed_but_not_reminded(
    django_capture_on_commit_callbacks, staff, fund, org_a
):
    staff.email = "alice@iom.example"
    staff.save()
    with django_capture_on_commit_callbacks(execute=True):
        programme = create_idf_programme(
            staff, fund, org_a, code="NE-IDF-2024-001", start=date(2024, 1, 1), end=date(2027, 12, 31)
        )
    assert Obligation.objects.filter(programme=programme).overdue().exists()
    mail.outbox.clear()
    send_reminders()
    assert [m for m in mail.outbox if "NE-IDF-2024-001" in m.subject and "retard" in m.subject] == []


def test_the_beat_schedule_runs_the_reminders(settings):
    assert settings.CELERY_BEAT_SCHEDULE["obligations-reminders"]["task"] == "obligations.send_reminders"
    from obligations.tasks import send_reminders as task

    assert task.name == "obligations.send_reminders"


# --- Pages, My tasks, three personas -------------------------------------------------------------


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_programme_calendar_answers_the_three_personas(idf_programme, staff, partner_a, partner_b):
    url = f"/fr/obligations/programmes/{idf_programme.code}/"
    assert logged_in(staff).get(url).status_code == 200
    partner_page = logged_in(partner_a).get(url)
    assert partner_page.status_code == 200
    html = partner_page.content.decode()
    assert "Alice" not in html and "alice.staff" not in html  # no IOM person's name for partners
    assert "/waive/" not in html  # no waiving for partners
    assert logged_in(partner_b).get(url).status_code == 404


def test_the_staff_pages_are_for_iom_staff_only(idf_programme, staff, partner_a, partner_b):
    for url in ("/fr/obligations/", "/fr/obligations/overdue/", "/fr/obligations/overdue/?by=nonsense"):
        assert logged_in(staff).get(url).status_code == 200
        assert logged_in(partner_a).get(url).status_code == 404
        assert logged_in(partner_b).get(url).status_code == 404
    calendar = logged_in(staff).get("/en/obligations/").content.decode()
    assert idf_programme.code in calendar


def test_my_tasks_gains_the_obligations_due(idf_programme, staff):
    Obligation.objects.filter(programme=idf_programme, kind="results_framework").update(
        due_date=timezone.localdate() + timedelta(days=3)
    )
    page = logged_in(staff).get("/en/reviews/tasks/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Obligations due" in html and "Results framework and workplan" in html


QUERY_COUNTED = [
    "/fr/obligations/overdue/?by=programme",
    "/fr/obligations/overdue/?by=partner",
    "/fr/obligations/overdue/?by=ministry",
    "/fr/obligations/",
    "/fr/reviews/tasks/",
    "/api/v1/obligations/",
    "/api/v1/obligations/?state=overdue",
]


def test_the_pages_and_the_api_take_the_same_queries_at_any_size(staff, fund, org_a, ministry):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = logged_in(staff)

    def programmes(n: int, first: int) -> None:
        for i in range(first, first + n):
            programme = make_programme(
                org_a, code=f"NE-IDF-2024-{i:03d}", planned_start=date(2025, 1, 1), iom_focal_point=staff
            )
            programme.participations.create(organisation=fund, role=Role.FUNDING)
            programme.participations.create(organisation=ministry, role=Role.GOVERNMENT_COUNTERPART)
            obligations_refresh(programme_id=programme.pk)

    def counts() -> dict[str, int]:
        found = {}
        for url in QUERY_COUNTED:
            with CaptureQueriesContext(connection) as captured:
                assert client.get(url).status_code == 200, url
            found[url] = len(captured)
        return found

    programmes(2, 1)
    few = counts()
    programmes(12, 3)
    assert Obligation.objects.count() > 60
    assert counts() == few


# --- API -------------------------------------------------------------------------------------------


def test_the_api_lists_what_each_persona_may_see(idf_programme, staff, partner_a, partner_b):
    url = "/api/v1/obligations/"
    staff_list = logged_in(staff).get(url).json()
    assert staff_list["count"] == 9
    partner_list = logged_in(partner_a).get(url).json()
    assert partner_list["count"] == 9
    assert {o["responsible"] for o in partner_list["results"]} == {"ORGA", "OIM"}
    assert logged_in(partner_b).get(url).json()["count"] == 0
    one = Obligation.objects.filter(programme=idf_programme).first()
    assert logged_in(partner_b).get(f"{url}{one.pk}/").status_code == 404
    detail = logged_in(staff).get(f"{url}{one.pk}/").json()
    assert detail["programme"] == idf_programme.code and detail["state"] in State.values
    overdue = logged_in(staff).get(url, {"state": "overdue"}).json()
    assert overdue["count"] == 0
    bad = logged_in(staff).get(url, {"state": "late"})
    assert bad.status_code == 400 and "state" in bad.json()["errors"]


def test_the_api_waives_with_a_reason_for_editing_staff_only(idf_programme, staff, viewer, partner_a):
    obligation = Obligation.objects.get(programme=idf_programme, kind="extension_request")
    url = f"/api/v1/obligations/{obligation.pk}/waive/"
    assert logged_in(viewer).post(url, {"reason": "x"}, content_type="application/json").status_code == 403
    assert logged_in(partner_a).post(url, {"reason": "x"}, content_type="application/json").status_code == 403
    blank = logged_in(staff).post(url, {"reason": ""}, content_type="application/json")
    assert blank.status_code == 400 and "reason" in blank.json()["errors"]
    unknown = logged_in(staff).post(url, {"reason": "ok", "state": "x"}, content_type="application/json")
    assert unknown.status_code == 400 and "state" in unknown.json()["errors"]
    done = logged_in(staff).post(url, {"reason": "No extension"}, content_type="application/json")
    assert done.status_code == 200 and done.json()["state"] == "waived"
    assert done.json()["waived_reason"] == "No extension"
    partner_view = logged_in(partner_a).get(f"/api/v1/obligations/{obligation.pk}/").json()
    assert partner_view["waived_reason"] == "" and partner_view["state"] == "waived"


# --- iCalendar feed ----------------------------------------------------------------------------------


def parse_ics(raw: bytes) -> list[dict]:
    """A strict reading of RFC 5545 as the feed uses it: CRLF lines of at most 75 octets, folding,
    balanced BEGIN/END, the required properties of VCALENDAR and VEVENT."""
    assert raw.endswith(b"\r\n")
    physical = raw[:-2].split(b"\r\n")
    assert all(b"\n" not in line and b"\r" not in line for line in physical)
    assert all(len(line) <= 75 for line in physical), [line for line in physical if len(line) > 75]
    logical: list[str] = []
    for line in physical:
        if line.startswith(b" "):
            logical[-1] += line[1:].decode("utf-8")
        else:
            logical.append(line.decode("utf-8"))
    stack, events, current = [], [], None
    for line in logical:
        name, _, value = line.partition(":")
        if name == "BEGIN":
            stack.append(value)
            if value == "VEVENT":
                current = {}
        elif name == "END":
            assert stack.pop() == value
            if value == "VEVENT":
                events.append(current)
                current = None
        elif current is not None and stack[-1] == "VEVENT":
            current[name.split(";")[0]] = value
    assert stack == []
    assert logical[0] == "BEGIN:VCALENDAR" and logical[-1] == "END:VCALENDAR"
    assert "VERSION:2.0" in logical and any(line.startswith("PRODID:") for line in logical)
    for event in events:
        assert {"UID", "DTSTAMP", "DTSTART", "SUMMARY"} <= set(event)
        assert len(event["DTSTAMP"]) == 16 and event["DTSTAMP"].endswith("Z")
    assert len({e["UID"] for e in events}) == len(events)
    return events


def test_the_ics_feed_is_private_and_valid(idf_programme, staff, partner_a, partner_b):
    Obligation.objects.filter(programme=idf_programme, kind="results_framework").update(
        waived_at=timezone.now(), waived_reason="x"
    )
    url = f"/fr/obligations/feed/{staff.pk}/{feed_token(staff)}.ics"
    response = Client().get(url)
    assert response.status_code == 200 and response["Content-Type"].startswith("text/calendar")
    assert "private" in response["Cache-Control"]
    events = parse_ics(response.content)
    assert len(events) == 8  # the focal point's programme, without the waived one
    assert all(e["SUMMARY"].startswith(idf_programme.code) for e in events)
    assert Client().get(f"/fr/obligations/feed/{staff.pk}/{'0' * 40}.ics").status_code == 404
    assert Client().get(f"/fr/obligations/feed/{staff.pk}/{feed_token(partner_a)}.ics").status_code == 404
    partner_feed = parse_ics(Client().get(f"/fr/obligations/feed/{partner_a.pk}/{feed_token(partner_a)}.ics").content)
    assert {e["SUMMARY"].split(" — ")[1].split(" (")[0] for e in partner_feed} == {"Rapport narratif intermédiaire"}
    assert "Alice" not in str(partner_feed)
    assert parse_ics(Client().get(f"/fr/obligations/feed/{partner_b.pk}/{feed_token(partner_b)}.ics").content) == []
    # A new password ends the old address.
    old = feed_token(staff)
    staff.set_password("another-long-password-2026")
    staff.save()
    assert Client().get(f"/fr/obligations/feed/{staff.pk}/{old}.ics").status_code == 404


def test_long_lines_are_folded_without_splitting_characters():
    from obligations.ical import fold

    line = "SUMMARY:" + "é" * 100
    folded = fold(line)
    parts = folded.split("\r\n")
    assert all(len(p.encode()) <= 75 for p in parts)
    assert "".join(p[1:] if i else p for i, p in enumerate(parts)) == line


# --- Demo data and door parity ---------------------------------------------------------------------


def test_the_demo_has_an_idf_programme_with_its_calendar_and_one_overdue_obligation(reference, settings):
    from django.core.management import call_command

    from obligations.demo import demo_programme

    settings.DEBUG = True
    call_command("seed_demo", "--programmes", "40")
    programme = demo_programme()
    assert programme is not None and programme.is_idf_funded
    obligations = Obligation.objects.filter(programme=programme)
    assert obligations.count() >= 5
    assert obligations.overdue().count() == 1
    assert obligations.in_state(State.FULFILLED).exists()
    partner = logged_in(Organisation.objects.get(code="anltp-tim").users.get(username="partner.anltp"))
    assert partner.get(f"/fr/obligations/programmes/{programme.code}/").status_code == 200


def test_a_blank_waiver_reason_gets_the_same_message_at_every_door_and_changes_nothing(idf_programme, staff):
    obligation = Obligation.objects.get(programme=idf_programme, kind="extension_request")
    message = "Indiquez le motif de la levée de cette obligation."
    page = logged_in(staff).post(f"/fr/obligations/{obligation.pk}/waive/", {"reason": ""})
    api = logged_in(staff).post(
        f"/api/v1/obligations/{obligation.pk}/waive/", {"reason": " "}, content_type="application/json"
    )
    assert page.status_code == 400 and message in page.content.decode()
    assert api.status_code == 400 and api.json()["errors"]["reason"] == [message]
    obligation.refresh_from_db()
    assert obligation.is_open and obligation.waived_reason == ""


def test_rule_sets_are_edited_in_the_admin_and_obligations_only_read(
    django_capture_on_commit_callbacks, idf_programme, admin_user, fund
):
    client = logged_in(admin_user)
    rule_set = ObligationRuleSet.objects.get(funder=fund)
    assert client.get("/admin/obligations/obligationruleset/").status_code == 200
    page = client.get(f"/admin/obligations/obligationruleset/{rule_set.pk}/change/")
    assert page.status_code == 200
    rules = list(rule_set.rules.order_by("order", "pk"))
    data = {
        "name_fr": rule_set.name_fr,
        "name_en": rule_set.name_en,
        "funder": fund.pk,
        "is_active": "on",
        "rules-TOTAL_FORMS": str(len(rules)),
        "rules-INITIAL_FORMS": str(len(rules)),
        "rules-MIN_NUM_FORMS": "0",
        "rules-MAX_NUM_FORMS": "1000",
    }
    for i, rule in enumerate(rules):
        data |= {
            f"rules-{i}-id": rule.pk,
            f"rules-{i}-rule_set": rule_set.pk,
            f"rules-{i}-order": rule.order,
            f"rules-{i}-kind": rule.kind,
            f"rules-{i}-anchor": rule.anchor,
            f"rules-{i}-period_months": rule.period_months or "",
            f"rules-{i}-offset_months": rule.offset_months,
            f"rules-{i}-offset_days": 30 if rule.kind == "narrative_report" else rule.offset_days,
            f"rules-{i}-evidence": rule.evidence,
            f"rules-{i}-document_category": rule.document_category,
            f"rules-{i}-responsible": rule.responsible,
        }
    with django_capture_on_commit_callbacks(execute=True):
        saved = client.post(f"/admin/obligations/obligationruleset/{rule_set.pk}/change/", data)
    assert saved.status_code == 302
    assert rule_set.rules.get(kind="narrative_report").offset_days == 30
    # The programmes it applies to follow at once (their obligations to come).
    narrative = Obligation.objects.filter(programme=idf_programme, kind="narrative_report").order_by("due_date")
    assert narrative.first().due_date == date(2027, 6, 30) + timedelta(days=30)
    # A period rule without its period is refused with a message.
    data["rules-1-period_months"] = ""
    refused = client.post(f"/admin/obligations/obligationruleset/{rule_set.pk}/change/", data)
    assert refused.status_code == 200
    assert "a besoin de la durée de la période" in refused.content.decode()
    obligation = Obligation.objects.filter(programme=idf_programme).first()
    assert client.get("/admin/obligations/obligation/").status_code == 200
    assert client.get(f"/admin/obligations/obligation/{obligation.pk}/change/").status_code == 200
    assert client.get("/admin/obligations/obligation/add/").status_code == 403


# --- Results reports (the reporting app) --------------------------------------------------------------


def test_a_submitted_results_report_fulfils_the_partners_narrative_report_and_a_returned_one_reopens_it(
    django_capture_on_commit_callbacks, staff, fund, org_a, partner_a, validator
):
    from programmes.models import Indicator, Participation
    from reporting.services import (
        ReportedValue,
        results_report_open,
        results_report_return,
        results_report_save,
        results_report_submit,
    )

    with django_capture_on_commit_callbacks(execute=True):
        programme = create_idf_programme(
            staff, fund, org_a, code="NE-IDF-2025-001", start=date(2025, 1, 1), end=date(2027, 12, 31)
        )
    Participation.objects.filter(programme=programme, organisation=org_a).update(reports_results=True)
    indicator = Indicator.objects.create(
        programme=programme, code="IND1", name_fr="Personnes", unit="personnes", people=True, reporting_partner=org_a
    )
    narrative = Obligation.objects.filter(programme=programme, kind="narrative_report").order_by("due_date").first()
    assert narrative.evidence == "results_report" and narrative.responsible_organisation == org_a
    assert (narrative.period_start, narrative.period_end) == (date(2025, 1, 1), date(2025, 6, 30))
    assert narrative.is_open
    report = results_report_open(
        programme=programme, user=partner_a, period_start=date(2025, 4, 1), period_end=date(2025, 6, 30)
    )
    results_report_save(report=report, user=partner_a, values=[ReportedValue(indicator=indicator.pk, achieved=40)])
    with django_capture_on_commit_callbacks(execute=True):
        results_report_submit(report=report, user=partner_a)
    narrative.refresh_from_db()
    assert narrative.fulfilled_report_id == report.pk and narrative.state == State.FULFILLED
    # The other periods stay open: the report covers the first half-year only.
    assert (
        Obligation.objects.filter(programme=programme, kind="narrative_report")
        .exclude(pk=narrative.pk)
        .filter(fulfilled_at__isnull=False)
        .count()
        == 0
    )
    with django_capture_on_commit_callbacks(execute=True):
        results_report_return(report=report, user=validator, reason="Chiffres incomplets")
    narrative.refresh_from_db()
    assert narrative.is_open and narrative.fulfilled_report is None
