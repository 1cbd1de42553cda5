"""Shared fixtures: reference data, the personas (IOM staff, viewer, admin, partner A, partner B) and programmes."""

from __future__ import annotations

import itertools
from datetime import date
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.core.cache import cache

from partners.models import Organisation, OrganisationCategory, User
from programmes.models import Indicator, Measure, Participation, Programme, ProgrammeLocation, Role, Sector, Status
from programmes.reference import load_reference_data
from programmes.roles import ensure_role_groups
from regions.models import AdminUnit
from reporting.roles import VALIDATORS, ensure_validator_group
from reviews.reference import ensure_review_groups

_codes = itertools.count(1)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    """`--dist loadgroup` (make test): keep each `xdist_group` on one pytest-xdist worker.

    pytest-xdist 3.8 groups tests by appending "@group" to each test's `item._nodeid` on the workers, an attribute
    pytest 9 no longer reads (the id lives in `item._id`): every group was silently spread over both workers (two
    Chromiums and two demo seeds for the browser tests, the fresh database of test_roles.py migrated twice...).
    This does the same through the attribute pytest 9 reads, and leaves ids that already carry the group alone."""
    if not getattr(config.option, "loadgroup", False):
        return
    from _pytest.nodeid import NodeId

    for item in items:
        names = sorted(
            {
                str(mark.args[0] if mark.args else mark.kwargs.get("name", "default"))
                for mark in item.iter_markers("xdist_group")
            }
        )
        suffix = "@" + "_".join(names)
        if names and not item.nodeid.endswith(suffix) and hasattr(item, "_id"):
            item._id = NodeId.parse(item.nodeid + suffix)


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """Load the reference data once per test database (it is idempotent)."""
    with django_db_blocker.unblock():
        load_reference_data()
        _ensure_groups()


def _ensure_groups() -> None:
    """The role groups come from migrations; a transactional test's flush removes them, so recreate them."""
    ensure_role_groups()
    ensure_review_groups()
    ensure_validator_group()


def ensure_reference_data() -> None:
    """Reference data is present (reloaded if a transactional test flushed it)."""
    if not AdminUnit.objects.exists() or not Sector.objects.exists():
        load_reference_data()
        _ensure_groups()


@pytest.fixture
def reference(db):
    ensure_reference_data()


def make_organisation(code: str, **fields) -> Organisation:
    defaults = {
        "name_fr": f"Organisation {code}",
        "name_en": f"Organisation {code}",
        "category": OrganisationCategory.NGO,
    }
    return Organisation.objects.create(code=code, **{**defaults, **fields})


def make_programme(*partners: Organisation, status: str = Status.ACTIVE, **fields) -> Programme:
    """A programme in the first sector, with each given organisation as implementing partner."""
    n = next(_codes)
    defaults = {
        "code": f"TEST-{n:05d}",
        "title_fr": f"Programme de test {n}",
        "title_en": f"Test programme {n}",
        "primary_sector": Sector.objects.order_by("order").first(),
        "planned_start": date(2025, 1, 1),
        "planned_end": date(2026, 12, 31),
        "budget": Decimal("100000"),
        "status": status,
    }
    programme = Programme.objects.create(**{**defaults, **fields})
    for organisation in partners:
        Participation.objects.create(programme=programme, organisation=organisation, role=Role.IMPLEMENTING_PARTNER)
    return programme


def make_user(username: str, *, organisation: Organisation | None = None, group: str | None = None, **flags) -> User:
    user = User.objects.create_user(
        username=username, password="a-long-test-password-2026", organisation=organisation, **flags
    )
    if group:
        user.groups.add(Group.objects.get(name=group))
    return user


@pytest.fixture
def org_a(reference) -> Organisation:
    return make_organisation("org-a", acronym="ORGA")


@pytest.fixture
def org_b(reference) -> Organisation:
    return make_organisation("org-b", acronym="ORGB")


@pytest.fixture
def staff(reference) -> User:
    return make_user("alice.staff", is_staff=True, group="IOM programme officers")


@pytest.fixture
def viewer(reference) -> User:
    return make_user("victor.viewer", is_staff=True, group="IOM viewers")


@pytest.fixture
def admin_user(reference) -> User:
    return make_user("ada.admin", is_staff=True, is_superuser=True)


@pytest.fixture
def partner_a(org_a) -> User:
    return make_user("bob.partner-a", organisation=org_a)


@pytest.fixture
def partner_b(org_b) -> User:
    return make_user("charlie.partner-b", organisation=org_b)


def make_programme_a(org_a: Organisation) -> Programme:
    """An active programme shared with organisation A, located in a commune of Tillabéri."""
    programme = make_programme(
        org_a, title_fr="Réintégration des migrants à Tillabéri", title_en="Reintegration of migrants in Tillabéri"
    )
    ProgrammeLocation.objects.create(programme=programme, admin_unit=AdminUnit.objects.get(pcode="NE006012007"))
    return programme


def make_programme_b(org_b: Organisation) -> Programme:
    """An active programme of organisation B only."""
    return make_programme(org_b, title_fr="Gestion des frontières à Agadez", title_en="Border management in Agadez")


@pytest.fixture
def programme_a(org_a) -> Programme:
    return make_programme_a(org_a)


@pytest.fixture
def programme_b(org_b) -> Programme:
    return make_programme_b(org_b)


@pytest.fixture
def draft_a(org_a) -> Programme:
    return make_programme(org_a, status=Status.PIPELINE)


@pytest.fixture
def validator(reference):
    return make_user("vera.validator", is_staff=True, group=VALIDATORS)


@pytest.fixture
def reporting_a(programme_a, org_a):
    """programme_a, where organisation A reports people assisted (disaggregated) and IOM reports a percentage."""
    Participation.objects.filter(programme=programme_a, organisation=org_a).update(reports_results=True)
    people = Indicator.objects.create(
        programme=programme_a,
        code="IND1",
        name_fr="Personnes assistées",
        unit="personnes",
        people=True,
        disaggregated=True,
        target=Decimal("500"),
        reporting_partner=org_a,
    )
    share = Indicator.objects.create(
        programme=programme_a, code="IND2", name_fr="Part des femmes", measure=Measure.PERCENTAGE, cumulative=True
    )
    return {"programme": programme_a, "people": people, "share": share}


@pytest.fixture(autouse=True)
def empty_cache():
    """Every test starts with an empty cache (reference lists, throttle counts), whatever ran before it."""
    cache.clear()


@pytest.fixture(autouse=True)
def celery_in_process(request):
    """Unit tests run tasks in-process even when CI points CELERY_BROKER_URL at Redis; only the
    tests marked `redis` (real worker round-trips) talk to the broker."""
    if request.node.get_closest_marker("redis"):
        yield
        return
    from iom_portal.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous


@pytest.fixture(autouse=True)
def summaries_inline(settings):
    """Pages recompute stale aggregates in the request, as before background refreshes existed, so a test
    reads its own edits; tests of the background refresh set SUMMARY_REFRESH themselves."""
    settings.SUMMARY_REFRESH = "inline"


@pytest.fixture(autouse=True)
def default_language():
    """Each test starts in French, the default language. LocaleMiddleware leaves the language of the last
    request active in the thread, so without this a test that opened an /en/ page would make the next
    test's reverse() and get_absolute_url() give /en/ addresses, depending on the order of the tests."""
    from django.conf import settings
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)
