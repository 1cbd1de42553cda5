"""Who may open and submit the editing pages: editors yes, viewers 403, partners 404, anonymous to login."""

from __future__ import annotations

import pytest

from programmes.models import Programme, ProgrammeStatusChange, Status


def urls(code: str) -> list[str]:
    return [
        "/fr/programmes/new/",
        f"/fr/programmes/{code}/edit/",
        f"/fr/programmes/{code}/status/",
        "/fr/programmes/places/?q=niamey",
    ]


def post_payload() -> dict:
    return {"title_fr": "Piraté", "to_status": Status.SUSPENDED, "reason": "x", "code": "NEW-PROG-1"}


def assert_nothing_changed(programme: Programme) -> None:
    before = (programme.title_fr, programme.status, programme.version)
    programme.refresh_from_db()
    assert (programme.title_fr, programme.status, programme.version) == before
    assert not ProgrammeStatusChange.objects.exists()
    assert not Programme.objects.filter(code="NEW-PROG-1").exists()


def test_editors_reach_every_editing_page(client, staff, programme_a):
    client.force_login(staff)
    for url in urls(programme_a.code):
        assert client.get(url).status_code == 200, url


def test_read_only_staff_get_403_on_get_and_post_and_nothing_is_saved(client, viewer, programme_a):
    client.force_login(viewer)
    for url in urls(programme_a.code):
        assert client.get(url).status_code == 403, url
        assert client.post(url, post_payload()).status_code == 403, url
    assert_nothing_changed(programme_a)


@pytest.mark.parametrize("persona", ["partner_a", "partner_b"])
def test_partners_get_404_even_on_their_own_programme(client, request, persona, programme_a):
    client.force_login(request.getfixturevalue(persona))
    for url in urls(programme_a.code):
        response = client.get(url)
        assert response.status_code == 404, url
        assert programme_a.title_fr not in response.content.decode()
        assert client.post(url, post_payload()).status_code == 404, url
    assert_nothing_changed(programme_a)


def test_anonymous_visitors_are_sent_to_login(client, programme_a):
    for url in urls(programme_a.code):
        for response in (client.get(url), client.post(url, post_payload())):
            assert response.status_code == 302 and "/fr/accounts/login/" in response["Location"], url
    assert_nothing_changed(programme_a)


def test_editors_get_404_for_a_programme_that_does_not_exist(client, staff):
    client.force_login(staff)
    assert client.get("/fr/programmes/NOPE-404/edit/").status_code == 404
    assert client.post("/fr/programmes/NOPE-404/status/", {"to_status": "submitted"}).status_code == 404
