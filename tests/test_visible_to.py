"""The single access rule, `visible_to`, for every persona, and against a brute-force reference."""

from django.contrib.auth.models import AnonymousUser
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from partners.models import Organisation, User
from programmes.models import Document, Participation, Programme, Role, Visibility

from .conftest import make_organisation, make_programme


def visible_codes(user) -> set[str]:
    return set(Programme.objects.visible_to(user).values_list("code", flat=True))


def test_iom_staff_see_every_programme(staff, viewer, programme_a, programme_b, draft_a):
    assert {programme_a.code, programme_b.code, draft_a.code} <= visible_codes(staff)
    assert visible_codes(viewer) == visible_codes(staff)


def test_partner_a_sees_only_its_joint_programmes(partner_a, programme_a, programme_b, draft_a):
    assert visible_codes(partner_a) == {programme_a.code, draft_a.code}


def test_partner_b_sees_only_its_joint_programmes(partner_b, programme_a, programme_b):
    assert visible_codes(partner_b) == {programme_b.code}


def test_anonymous_and_inactive_users_see_nothing(partner_a, staff, programme_a):
    assert visible_codes(AnonymousUser()) == set()
    partner_a.is_active = False
    staff.is_active = False
    assert visible_codes(partner_a) == set()
    assert visible_codes(staff) == set()


def test_a_user_with_neither_organisation_nor_staff_status_sees_nothing(reference, programme_a):
    stranger = User.objects.create_user(username="stranger", password="x")
    assert visible_codes(stranger) == set()


def test_visible_to_is_one_query_whatever_the_number_of_programmes(partner_a, org_a, django_assert_num_queries):
    for _ in range(30):
        make_programme(org_a)
    with django_assert_num_queries(1):
        assert len(visible_codes(partner_a)) == 30


def test_partners_see_only_shared_documents_of_their_programmes(partner_a, staff, programme_a, programme_b):
    shared = Document.objects.create(
        programme=programme_a, title="Rapport", category="progress_report", visibility=Visibility.PARTNERS, file="x.pdf"
    )
    internal = Document.objects.create(
        programme=programme_a, title="Note", category="other", visibility=Visibility.IOM_ONLY, file="y.pdf"
    )
    other = Document.objects.create(
        programme=programme_b, title="Autre", category="other", visibility=Visibility.PARTNERS, file="z.pdf"
    )

    assert set(Document.objects.visible_to(partner_a).filter(programme__isnull=False)) == {shared}
    assert {shared, internal, other} <= set(Document.objects.visible_to(staff))


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(
    n_orgs=st.integers(min_value=1, max_value=4),
    n_programmes=st.integers(min_value=0, max_value=5),
    links=st.sets(st.tuples(st.integers(0, 3), st.integers(0, 4))),
    user_org=st.integers(0, 3),
)
def test_visible_to_matches_a_brute_force_reference(reference, n_orgs, n_programmes, links, user_org):
    with transaction.atomic():
        orgs = [make_organisation(f"h-{i}") for i in range(n_orgs)]
        programmes = [make_programme() for _ in range(n_programmes)]
        for org_index, programme_index in links:
            if org_index < n_orgs and programme_index < n_programmes:
                Participation.objects.create(
                    programme=programmes[programme_index], organisation=orgs[org_index], role=Role.FUNDING
                )
        user = User.objects.create_user(username="h-user", organisation=orgs[user_org % n_orgs])

        expected = {
            p.code
            for p in programmes
            if any(part.organisation_id == user.organisation_id for part in p.participations.all())
        }
        created = {p.code for p in programmes}
        assert visible_codes(user) & created == expected
        assert Organisation.objects.visible_to(user).get() == user.organisation
        transaction.set_rollback(True)
