"""The pages' aggregates refreshed outside the requests (programmes/summary.py), and search text following
the renames of what it shows (programmes/summary_signals.py)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from programmes import services, summary
from programmes.models import Indicator, Programme, Sector, Status, Summary
from programmes.search import rebuild
from programmes.tasks import refresh_summaries
from regions.models import AdminUnit

from .conftest import make_organisation, make_programme
from .test_web_pages import html_of
from .test_web_speed import bulk_programmes

STALE_FR = "ils sont en cours de mise à jour"
STALE_EN = "they are being updated after a recent change"


def queries_of(client, url: str) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(queries), response.content.decode()


def forget_pending_refresh() -> None:
    connection.run_on_commit = [entry for entry in connection.run_on_commit if entry[1] is not summary._after_write]


@pytest.fixture
def background(settings):
    """As with a broker: pages never recompute; the refresh task runs (in-process: eager) when sent."""
    settings.SUMMARY_REFRESH = "celery"


# --- Figures change after an edit, refreshed by the task sent on commit --------------------------------


@pytest.mark.parametrize(("persona", "before", "after"), [("staff", 1, 0), ("partner_a", 1, 0), ("partner_b", 0, 0)])
def test_an_edit_refreshes_the_figures_through_the_task_sent_on_commit(
    client, request, background, django_capture_on_commit_callbacks, persona, before, after, programme_a, staff
):
    user = request.getfixturevalue(persona)
    client.force_login(user)
    assert f'id="figure-active">{before}<' in html_of(client, "/fr/")  # first view: computed, nothing to show before
    row = Summary.objects.get(scope=summary.scope_of(user), part="dashboard")
    forget_pending_refresh()  # as if the fixtures' transaction had committed
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        services.programme_change_status(programme=programme_a, to_status=Status.SUSPENDED, user=staff, reason="Crue")
    assert len(callbacks) == 1  # one refresh per writing transaction
    refreshed = Summary.objects.get(pk=row.pk)
    assert refreshed.computed_at > row.computed_at and refreshed.refreshing_since is None
    html = html_of(client, "/fr/")
    assert f'id="figure-active">{after}<' in html and STALE_FR not in html and "data-computed-at=" in html


def test_writes_of_one_transaction_send_one_refresh_and_a_rolled_back_one_none(
    background, django_capture_on_commit_callbacks, programme_a, staff
):
    from django.db import transaction

    forget_pending_refresh()
    with django_capture_on_commit_callbacks() as callbacks, transaction.atomic():
        for _ in range(3):
            summary.programmes_changed()
    assert len(callbacks) == 1
    with django_capture_on_commit_callbacks() as callbacks:
        try:
            with transaction.atomic():
                summary.programmes_changed()
                raise RuntimeError
        except RuntimeError:
            pass
    assert callbacks == []


# --- A page never recomputes a stale summary --------------------------------------------------------


@pytest.mark.parametrize("persona", ["staff", "partner_a"])
def test_a_stale_summary_being_refreshed_is_shown_marked_stale_without_recomputing_at_10_and_1000(
    client, request, background, monkeypatch, persona, org_a, programme_a
):
    asked = []
    monkeypatch.setattr(summary, "request_refresh", lambda claimed=None: asked.append(claimed))
    client.force_login(request.getfixturevalue(persona))
    urls = [
        "/fr/",
        "/fr/regions/",
        "/fr/regions/NE006/",
        "/fr/programmes/sectors/",
        programme_a.primary_sector.get_absolute_url(),
    ]
    counts = {}
    for size in (10, 990):
        bulk_programmes(size, org_a, programme_a.primary_sector)
        for url in urls:
            client.get(url)  # inline computation of a never computed part, or claim of a stale one
        Summary.objects.update(refreshing_since=timezone.now(), changes_seen=0)  # stale, a refresh under way
        kept = dict(Summary.objects.values_list("pk", "computed_at"))
        counts[size] = {}
        for url in urls:
            counts[size][url], html = queries_of(client, url)
            assert STALE_FR in html and "data-stale" in html, url
        assert dict(Summary.objects.values_list("pk", "computed_at")) == kept  # nothing recomputed
    assert counts[10] == counts[990]
    # Fresh figures read in as many queries as stale ones being refreshed.
    Summary.objects.update(refreshing_since=None, changes_seen=summary._counter())
    for url in urls:
        count, html = queries_of(client, url)
        assert count == counts[10][url] and STALE_FR not in html, url


def test_a_stale_summary_nobody_refreshes_is_claimed_once_and_the_refresh_asked_for(
    client, background, monkeypatch, staff, programme_a
):
    asked = []
    monkeypatch.setattr(summary, "request_refresh", lambda claimed=None: asked.append(claimed))
    client.force_login(staff)
    html_of(client, "/fr/")
    fresh, _html = queries_of(client, "/fr/")
    summary.programmes_changed()
    claimed, html = queries_of(client, "/fr/")
    assert claimed == fresh + 1  # the claim: one UPDATE
    assert 'id="figure-active">1<' in html and STALE_FR in html
    rows = Summary.objects.filter(scope="all", part__in=["dashboard", "places"])
    assert len(asked) == 1 and sorted(asked[0]) == sorted(rows.values_list("pk", flat=True))
    assert all(row.refreshing_since for row in rows)
    again, _html = queries_of(client, "/fr/")  # being refreshed: not asked again
    assert again == fresh and len(asked) == 1
    # The task (what a worker runs) stores the new figures and releases the claim.
    assert refresh_summaries.delay(asked[0]).get() == 2
    html = html_of(client, "/en/")
    assert STALE_EN not in html and "data-stale" not in html
    assert not Summary.objects.filter(refreshing_since__isnull=False).exists()


def test_an_abandoned_claim_is_claimed_again(client, background, monkeypatch, settings, staff, programme_a):
    asked = []
    monkeypatch.setattr(summary, "request_refresh", lambda claimed=None: asked.append(claimed))
    client.force_login(staff)
    html_of(client, "/fr/")
    summary.programmes_changed()
    long_ago = timezone.now() - timezone.timedelta(seconds=settings.SUMMARY_REFRESH_TIMEOUT + 1)
    Summary.objects.update(refreshing_since=long_ago)
    html = html_of(client, "/en/")
    assert STALE_EN in html and len(asked) == 1


def test_an_unreachable_broker_leaves_the_figures_stale_and_releases_the_claim(
    client, background, monkeypatch, staff, programme_a
):
    def refuse(*args, **kwargs):
        raise ConnectionRefusedError

    monkeypatch.setattr(refresh_summaries, "apply_async", refuse)
    client.force_login(staff)
    html_of(client, "/fr/")
    summary.programmes_changed()
    assert STALE_FR in html_of(client, "/fr/")  # no error page
    assert not Summary.objects.filter(refreshing_since__isnull=False).exists()


def test_the_refresh_task_refreshes_every_stale_scope_and_skips_parts_another_worker_computes(
    client, staff, partner_a, programme_a
):
    for user in (staff, partner_a):
        client.force_login(user)
        html_of(client, "/fr/")
    summary.programmes_changed()
    busy = Summary.objects.get(scope="all", part="places")
    Summary.objects.filter(pk=busy.pk).update(refreshing_since=timezone.now())
    assert refresh_summaries.delay().get() == Summary.objects.count() - 1
    assert Summary.objects.get(pk=busy.pk).changes_seen < summary._counter()


def test_without_a_broker_the_refresh_runs_in_one_background_thread_joining_requests(monkeypatch):
    ran, release = [], threading.Event()

    def refresh(claimed):
        release.wait(5)
        ran.append(sorted(claimed))

    monkeypatch.setattr(summary, "refresh_stale", refresh)
    worker = summary._BackgroundRefresh()
    worker.submit([1])
    worker.submit([2])  # while the first waits: joins a next run
    worker.submit([3])
    release.set()
    for _ in range(100):
        if len(ran) == 2:
            break
        threading.Event().wait(0.05)
    assert ran in ([[1], [2, 3]], [[1, 2, 3]]) or sum(len(r) for r in ran) == 3
    assert sorted(x for r in ran for x in r) == [1, 2, 3]


def test_the_default_refresh_is_a_thread_without_a_broker_and_celery_with_one(settings):
    from celery import current_app

    settings.SUMMARY_REFRESH = ""
    assert current_app.conf.task_always_eager and summary.refresh_mode() == "thread"
    current_app.conf.task_always_eager = False
    try:
        assert summary.refresh_mode() == "celery"
    finally:
        current_app.conf.task_always_eager = True


# --- Renames reach the search text -----------------------------------------------------------------


def found(client, q: str) -> str:
    return html_of(client, "/fr/programmes/", q=q)


def test_renaming_an_organisation_makes_its_programmes_found_by_the_new_acronym(client, staff, partner_b, reference):
    donor = make_organisation("donor-y", acronym="ANLTP", name_fr="Agence nationale")
    mine = [make_programme(donor) for _ in range(2)]
    other = make_programme(make_organisation("other"))
    list(rebuild())  # the partners' words, as the services write them
    client.force_login(staff)
    assert mine[0].code in found(client, "anltp")
    donor.acronym, donor.name_fr = "ANLCT", "Agence nationale de lutte contre la traite"
    donor.save()
    html = found(client, "anlct")
    assert all(p.code in html for p in mine) and other.code not in html
    assert mine[0].code not in found(client, "anltp")
    assert mine[0].code in found(client, "lutte contre la traite")
    client.force_login(partner_b)  # a partner still sees none of them
    assert mine[0].code not in found(client, "anlct")


def test_a_rename_rebuilds_in_a_number_of_queries_that_does_not_grow_with_the_programmes(reference):
    counts = []
    for n in (1, 5):
        organisation = make_organisation(f"renamed-{n}", acronym="AVANT")
        for _ in range(n):
            make_programme(organisation)
        organisation.acronym = f"APRES{n}"
        with CaptureQueriesContext(connection) as queries:
            organisation.save()
        counts.append(len(queries))
        assert Programme.objects.filter(search_text__contains=f"apres{n}").count() == n
    assert counts[0] == counts[1]


def test_renaming_a_place_a_sector_and_an_indicator_refreshes_the_search_text(client, staff, programme_a):
    client.force_login(staff)
    region = AdminUnit.objects.get(pcode="NE006")
    region.name_fr = "Tillabéri-Nord"
    region.save()
    assert programme_a.code in found(client, "tillaberi-nord")
    commune = AdminUnit.objects.get(pcode="NE006012007")
    commune.name_alt = "Ouallamkoira"
    commune.save()
    assert programme_a.code in found(client, "ouallamkoira")
    sector = Sector.objects.get(pk=programme_a.primary_sector_id)
    sector.name_fr = "Gestion des frontières humanitaires"
    sector.save()
    assert programme_a.code in found(client, "frontieres humanitaires")
    indicator = Indicator.objects.create(programme=programme_a, code="I9", name_fr="Puits réhabilités")
    assert programme_a.code in found(client, "puits")
    indicator.name_fr = "Forages réalisés"
    indicator.save()
    assert programme_a.code in found(client, "forages") and programme_a.code not in found(client, "puits")


def test_a_failed_refresh_releases_its_claims(client, staff, programme_a, monkeypatch):
    client.force_login(staff)
    html_of(client, "/fr/")
    summary.programmes_changed()

    def broken(*args, **kwargs):
        raise RuntimeError("database gone")

    monkeypatch.setattr(summary, "_compute", broken)
    with pytest.raises(RuntimeError):
        summary.refresh_stale()
    assert not Summary.objects.filter(refreshing_since__isnull=False).exists()


def test_refresh_summaries_command_computes_the_staff_parts_before_any_page_view(client, staff, programme_a):
    from django.core.management import call_command

    call_command("refresh_summaries", verbosity=0)
    assert set(Summary.objects.filter(scope="all").values_list("part", flat=True)) == set(summary.STAFF_PARTS)
    client.force_login(staff)
    assert 'id="figure-active">1<' in html_of(client, "/fr/")


def test_a_rename_reaching_many_programmes_is_rebuilt_by_a_task_once_committed(
    client, staff, background, monkeypatch, django_capture_on_commit_callbacks, reference
):
    from programmes import summary_signals

    monkeypatch.setattr(summary_signals, "RENAME_INLINE_LIMIT", 1)
    organisation = make_organisation("large", acronym="AVANT")
    mine = [make_programme(organisation) for _ in range(3)]
    list(rebuild())
    forget_pending_refresh()
    organisation.acronym = "GRANDE"
    with django_capture_on_commit_callbacks(execute=True):
        organisation.save()
        assert not Programme.objects.filter(search_text__contains="grande").exists()  # not in the request
    client.force_login(staff)
    html = found(client, "grande")
    assert all(p.code in html for p in mine)
