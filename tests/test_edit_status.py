"""Status actions in the web interface: one POST per allowed transition, recorded; anything else refused."""

from __future__ import annotations

import pytest

from programmes.models import (
    IRREVERSIBLE_STATUSES,
    REASON_REQUIRED,
    REVIEW_STEPS,
    TRANSITIONS,
    ProgrammeStatusChange,
    Status,
)

from .conftest import make_programme
from .lifecycle_support import fund_by_idf, record_basis

LEGAL = [(a, b) for a, targets in TRANSITIONS.items() for b in targets if (a, b) not in REVIEW_STEPS]
ILLEGAL = [(Status.PIPELINE, Status.ACTIVE), (Status.ACTIVE, Status.PIPELINE), (Status.CLOSED, Status.ACTIVE)]


def status_url(programme) -> str:
    return f"/fr/programmes/{programme.code}/status/"


@pytest.mark.parametrize(("from_status", "to_status"), LEGAL)
def test_each_legal_status_action_works_and_is_recorded(client, staff, from_status, to_status):
    programme = make_programme(status=from_status)
    if (from_status, to_status) == (Status.PIPELINE, Status.APPROVED):
        record_basis(programme, staff)
    client.force_login(staff)

    data = {"to_status": to_status, "reason": "Décision du comité"}
    if to_status in IRREVERSIBLE_STATUSES:
        data["confirmed"] = "1"
    response = client.post(status_url(programme), data)

    assert response.status_code == 302 and response["Location"] == programme.get_absolute_url()
    programme.refresh_from_db()
    assert programme.status == to_status
    change = ProgrammeStatusChange.objects.get(programme=programme)
    assert (change.from_status, change.to_status, change.changed_by, change.reason) == (
        from_status,
        to_status,
        staff,
        "Décision du comité",
    )


@pytest.mark.parametrize(("from_status", "to_status"), ILLEGAL)
@pytest.mark.parametrize("lang", ["fr", "en"])
def test_an_illegal_status_action_is_refused_with_a_translated_message(client, staff, lang, from_status, to_status):
    programme = make_programme(status=from_status)
    client.force_login(staff)

    response = client.post(f"/{lang}/programmes/{programme.code}/status/", {"to_status": to_status, "reason": "x"})

    assert response.status_code == 400
    expected = {"fr": "Un programme ne peut pas passer de", "en": "A programme cannot go from"}[lang]
    assert expected in response.content.decode()
    programme.refresh_from_db()
    assert programme.status == from_status
    assert not ProgrammeStatusChange.objects.exists()


def test_an_unknown_status_is_refused(client, staff):
    programme = make_programme(status=Status.PIPELINE)
    client.force_login(staff)
    assert client.post(status_url(programme), {"to_status": "teleported"}).status_code == 400
    programme.refresh_from_db()
    assert programme.status == Status.PIPELINE


MANUAL_WITH_REASON = sorted(
    s for s in REASON_REQUIRED if any(s in b and (a, s) not in REVIEW_STEPS for a, b in TRANSITIONS.items())
)


@pytest.mark.parametrize("to_status", MANUAL_WITH_REASON)
@pytest.mark.parametrize("lang", ["fr", "en"])
def test_decisions_that_need_a_reason_are_refused_without_one(client, staff, lang, to_status):
    from_status = next(a for a, b in TRANSITIONS.items() if to_status in b and (a, to_status) not in REVIEW_STEPS)
    programme = make_programme(status=from_status)
    client.force_login(staff)

    response = client.post(
        f"/{lang}/programmes/{programme.code}/status/", {"to_status": to_status, "reason": "  ", "confirmed": "1"}
    )

    assert response.status_code == 400
    page = response.content.decode()
    expected = {"fr": "Indiquez un motif pour passer le programme au statut", "en": "Give a reason to move"}[lang]
    assert expected in page and 'id="status-reason-error"' in page
    programme.refresh_from_db()
    assert programme.status == from_status


def test_the_status_panel_shows_one_button_per_allowed_transition_for_editors_only(client, staff, viewer):
    programme = make_programme(status=Status.ACTIVE)
    client.force_login(staff)
    page = client.get(status_url(programme)).content.decode()
    for target in Status:
        offered = f'name="to_status" value="{target.value}"' in page or f"status/?to={target.value}" in page
        assert offered == (target in TRANSITIONS[Status.ACTIVE])


@pytest.mark.parametrize(("from_status", "to_status"), sorted(REVIEW_STEPS))
def test_review_steps_are_not_status_actions(client, staff, from_status, to_status):
    programme = fund_by_idf(make_programme(status=from_status))
    client.force_login(staff)
    page = client.get(status_url(programme)).content.decode()
    assert f'name="to_status" value="{to_status}"' not in page

    response = client.post(status_url(programme), {"to_status": to_status, "reason": "Contournement de la revue"})

    assert response.status_code == 400
    programme.refresh_from_db()
    assert programme.status == from_status


def test_the_status_panel_include_renders_nothing_for_read_only_staff(rf, viewer, staff):
    from django.template.loader import render_to_string

    programme = make_programme(status=Status.ACTIVE)
    request = rf.get("/")
    for user, shown in ((viewer, False), (staff, True)):
        request.user = user
        html = render_to_string(
            "programmes/includes/status_actions.html", {"programme": programme, "user": user}, request=request
        )
        assert ('name="to_status"' in html) == shown
