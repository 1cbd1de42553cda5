"""seed_demo: deterministic, with the demo accounts, and refused outside development."""

import pytest
from django.core.management import CommandError, call_command

from partners.models import User
from programmes.demo import DEMO_PASSWORD, seed_demo
from programmes.models import IndicatorValue, Participation, Programme


def snapshot() -> list[tuple]:
    programmes = list(
        Programme.objects.order_by("code").values_list("code", "title_fr", "status", "budget", "planned_start")
    )
    participations = list(
        Participation.objects.order_by("programme__code", "organisation__code").values_list(
            "programme__code", "organisation__code", "role"
        )
    )
    values = list(
        IndicatorValue.objects.order_by(
            "indicator__programme__code", "indicator__code", "period_start", "sex", "age_group"
        ).values_list("achieved")
    )
    return [programmes, participations, values]


def test_the_same_seed_gives_the_same_data(reference):
    seed_demo(programmes=25, seed=7)
    first = snapshot()
    seed_demo(programmes=25, seed=7)
    assert snapshot() == first
    seed_demo(programmes=25, seed=8)
    assert snapshot() != first


def test_demo_accounts_exist_with_their_roles(reference):
    seed_demo(programmes=40)
    users = {
        u.username: u
        for u in User.objects.filter(
            username__in=["admin", "staff", "viewer", "expert", "partner.anltp", "partner.ins"]
        )
    }
    assert len(users) == 6
    assert users["admin"].is_superuser and users["admin"].check_password(DEMO_PASSWORD)
    assert users["staff"].can_edit_programmes
    assert users["viewer"].is_iom_staff and not users["viewer"].can_edit_programmes
    assert users["partner.anltp"].organisation.acronym == "ANLTP/TIM"
    assert users["partner.ins"].organisation.acronym == "INS"


def test_each_demo_partner_has_several_joint_programmes_and_some_involve_neither(reference):
    seed_demo(programmes=40)
    anltp = User.objects.get(username="partner.anltp")
    ins = User.objects.get(username="partner.ins")
    anltp_codes = set(Programme.objects.visible_to(anltp).values_list("code", flat=True))
    ins_codes = set(Programme.objects.visible_to(ins).values_list("code", flat=True))
    assert len(anltp_codes) >= 3 and len(ins_codes) >= 3
    assert Programme.objects.exclude(code__in=anltp_codes | ins_codes).exists()


def test_every_sector_has_demo_programmes(reference):
    seed_demo(programmes=40)
    assert Programme.objects.values("primary_sector").distinct().count() == 10


def test_seed_demo_refuses_without_debug_unless_forced(reference, settings):
    settings.DEBUG = False
    with pytest.raises(CommandError):
        call_command("seed_demo", "--programmes", "1")
    call_command("seed_demo", "--programmes", "1", "--force")
    assert Programme.objects.count() >= 1


def test_demo_data_looks_like_niger(reference):
    """Titles name the programme's own places, dates agree with the status, people are whole numbers."""
    from django.utils import timezone

    from programmes.demo import seed_demo
    from programmes.models import IndicatorValue, Programme, Status

    seed_demo(programmes=60, seed=7)
    today = timezone.localdate()
    for programme in Programme.objects.prefetch_related("locations__admin_unit__parent__parent"):
        units = [location.admin_unit for location in programme.locations.all()]
        names = {n for u in units for n in [u.name_fr, *(a.name_fr for a in u.ancestors())]}
        names |= {n.removeprefix("Ville de ").removeprefix("Ville d'") for n in names}
        assert any(name in programme.title_fr for name in names), (programme.title_fr, names)
        assert len({(u.ancestors() or [u])[0].pk for u in units}) == 1, programme.code  # one region
        assert "de A" not in programme.title_fr and "de É" not in programme.title_fr  # elision: d'Agadez
        if programme.status in (Status.COMPLETED, Status.CLOSED):
            assert programme.planned_end < today, programme.code
        if programme.status in (Status.PIPELINE, Status.APPROVED, Status.SUBMITTED):
            assert programme.planned_start > today, programme.code
        if programme.status in (Status.ACTIVE, Status.SUSPENDED):
            assert programme.planned_start <= today <= programme.planned_end, programme.code
    people = IndicatorValue.objects.filter(indicator__code="IND1")
    assert people.exists()
    for value in people:
        for number in (value.target, value.achieved):
            assert number is None or number == number.to_integral_value(), value.pk


def test_the_seed_demo_command_also_seeds_the_review_demo_from_the_reviews_side(reference, settings):
    from reviews.models import Proposal

    settings.DEBUG = True
    call_command("seed_demo", "--programmes", "40")
    assert Proposal.objects.exists()
    assert User.objects.filter(username="expert2").exists()


def test_the_demo_has_a_results_report_in_each_state_for_partner_anltp(reference, settings):

    from reporting.models import ResultsReport

    settings.DEBUG = True
    call_command("seed_demo", "--programmes", "40")
    reports = ResultsReport.objects.filter(organisation__code="anltp-tim")
    assert set(reports.values_list("state", flat=True)) == {"draft", "submitted", "returned", "approved"}
    assert reports.values("programme").distinct().count() == 1
    returned = reports.get(state="returned")
    assert returned.return_reason
    assert User.objects.get(username="staff").has_perm("reporting.validate_resultsreport")


def test_the_demo_records_money_so_spent_against_budget_shows_and_never_exceeds_the_budget(reference, client):
    from programmes.demo import TODAY
    from programmes.models import INCOMING_KINDS, SPENDING_KINDS, Status, Transaction
    from programmes.money import spending

    summary = seed_demo(programmes=60, seed=11)
    rows = list(Transaction.objects.order_by("pk").values_list("programme__code", "kind", "date", "value"))
    assert summary.transactions == len(rows) > 60
    seed_demo(programmes=60, seed=11)
    assert list(Transaction.objects.order_by("pk").values_list("programme__code", "kind", "date", "value")) == rows

    programmes = list(Programme.objects.filter(code__regex=r"^NE-"))
    spent = spending(programmes)
    under_way = [p for p in programmes if p.status in (Status.ACTIVE, Status.COMPLETED, Status.CLOSED)]
    assert sum(1 for p in under_way if spent[p.pk].spent > 0) >= len(under_way) // 2
    for programme in programmes:
        assert spent[programme.pk].spent <= programme.budget, programme.code  # never above the budget
        assert spent[programme.pk].unconverted == 0  # in the programme's own currency
        if programme.status not in (Status.APPROVED, Status.ACTIVE, Status.SUSPENDED, Status.COMPLETED, Status.CLOSED):
            assert not Transaction.objects.filter(programme=programme).exists(), programme.code
    for transaction in Transaction.objects.select_related("programme"):
        assert transaction.value > 0 and transaction.currency == transaction.programme.currency
        assert (transaction.provider_id is not None) == (transaction.kind in INCOMING_KINDS)
        if transaction.kind in SPENDING_KINDS:
            assert transaction.programme.actual_start <= transaction.date <= TODAY
    # What a person sees on a programme page: spent against budget, in figures.
    shown = next(p for p in under_way if spent[p.pk].spent > 0)
    client.force_login(User.objects.get(username="staff"))
    page = client.get(f"/en/programmes/{shown.code}/").content.decode()
    assert 'id="spending"' in page and f"{spent[shown.pk].share} %" in page
