"""Reading it right: one sector count, links only where the reader may go, the reason beside "Resubmit",
the language switch keeps the page, checkboxes for statuses, the Reports place picker, unbroken amounts."""

from __future__ import annotations

import re
from decimal import Decimal

from django.urls import reverse

from programmes.models import Participation, Programme, Role, Sector, Status
from reviews import services

from .conftest import make_programme

pytest_plugins = ["tests.reviews_support"]


def html_of(client, url: str, **params) -> str:
    response = client.get(url, params)
    assert response.status_code == 200, (url, response.status_code)
    return response.content.decode()


# --- Sector counts ----------------------------------------------------------------------------


def test_the_sector_list_and_the_sector_page_count_primary_and_secondary_sectors_alike(client, staff, org_a):
    first, second = Sector.objects.order_by("order")[:2]
    make_programme(org_a, primary_sector=second)  # active, primary sector = second
    secondary = make_programme(org_a, primary_sector=first)  # active, second as secondary sector
    secondary.secondary_sectors.add(second)
    make_programme(org_a, primary_sector=first, status=Status.COMPLETED).secondary_sectors.add(second)
    client.force_login(staff)

    row = re.search(
        rf'href="{re.escape(second.get_absolute_url())}">[^<]+</a></td><td class="text-end">(\d+)</td><td class="text-end">(\d+)</td>',
        html_of(client, reverse("programmes:sector_list")),
    )
    assert row.groups() == ("2", "3")
    page = html_of(client, second.get_absolute_url())
    assert '<p class="figure-value mb-1">2</p>' in page and "sur 3 programmes" in page
    assert "Secteur principal ou secondaire." in page


def test_sector_counts_take_a_fixed_number_of_queries(client, staff, org_a, django_assert_max_num_queries):
    for sector in Sector.objects.all():
        make_programme(org_a, primary_sector=sector)
    client.force_login(staff)
    html_of(client, reverse("programmes:sector_list"))  # computes the scope's sector counts once
    make_programme(org_a)  # and again after a change: a fixed number of grouped queries
    with django_assert_max_num_queries(20):
        html_of(client, reverse("programmes:sector_list"))
    with django_assert_max_num_queries(11):  # then read in one query
        html_of(client, reverse("programmes:sector_list"))


# --- Links to organisations -------------------------------------------------------------------


def test_a_partner_sees_the_other_organisations_of_a_joint_programme_as_text(client, partner_a, org_a, org_b):
    joint = make_programme(org_a)
    Participation.objects.create(programme=joint, organisation=org_b, role=Role.FUNDING)
    client.force_login(partner_a)
    html = html_of(client, joint.get_absolute_url())
    assert f'href="/fr/partners/{org_a.code}/"' in html
    assert f'href="/fr/partners/{org_b.code}/"' not in html
    assert str(org_b) in html


def test_iom_staff_get_a_link_to_every_organisation(client, staff, org_a, org_b):
    joint = make_programme(org_a)
    Participation.objects.create(programme=joint, organisation=org_b, role=Role.FUNDING)
    client.force_login(staff)
    html = html_of(client, joint.get_absolute_url())
    assert f'href="/fr/partners/{org_a.code}/"' in html and f'href="/fr/partners/{org_b.code}/"' in html


# --- Language switch --------------------------------------------------------------------------


def test_english_from_a_french_link_lands_on_the_same_page_in_english(client, staff, programme_a):
    client.force_login(staff)
    client.cookies["django_language"] = "en"  # switched to English earlier, then followed a /fr/ link
    html = html_of(client, programme_a.get_absolute_url())
    target = re.search(r'name="next" type="hidden" value="([^"]+)"', html).group(1)
    response = client.post("/i18n/setlang/", {"language": "en", "next": target})
    assert response.status_code == 302
    assert response["Location"] == f"/en/programmes/{programme_a.code}/"


def test_french_from_an_english_page_keeps_the_query_string(client, staff):
    client.force_login(staff)
    html = html_of(client, "/en/programmes/", q="eau")
    assert 'name="next" type="hidden" value="/fr/programmes/?q=eau"' in html


# --- Status filter ----------------------------------------------------------------------------


def test_the_status_filter_is_a_group_of_labelled_checkboxes(client, staff, org_a):
    make_programme(org_a, title_fr="Actif", status=Status.ACTIVE)
    make_programme(org_a, title_fr="Clos", status=Status.COMPLETED)
    make_programme(org_a, title_fr="Prévu", status=Status.PIPELINE)
    client.force_login(staff)
    html = html_of(client, "/fr/programmes/?status=active&status=completed")
    assert "<legend" in html and 'type="checkbox" name="status"' in html
    assert re.search(r'name="status" id="id_status_\d+" value="active" checked', html)
    assert re.search(r'name="status" id="id_status_\d+" value="pipeline">', html)
    assert "Actif" in html and "Clos" in html and "Prévu" not in html


# --- Revision reason beside "Resubmit" -------------------------------------------------------


def test_the_focal_point_reads_the_revision_reason_beside_the_resubmit_button(client, reviewed, approver, focal):
    services.proposal_request_revision(proposal=reviewed, user=approver, reason="Réduire les frais de bureau.")
    client.force_login(focal)
    html = html_of(client, reverse("reviews:proposal", args=[reviewed.programme.code]))
    form = html[html.index('id="resubmit-form"') :]
    reason = form.index("Réduire les frais de bureau.")
    assert 'id="revision-reason"' in form[:reason]
    assert reason < form.index('<button type="submit"') < form.index("</form>")


# --- Reports page -----------------------------------------------------------------------------


def test_the_reports_page_picks_places_with_the_searchable_picker_and_statuses_with_checkboxes(client, staff):
    client.force_login(staff)
    html = html_of(client, reverse("reports:list"))
    assert re.search(r'<input type="text" name="area"[^>]*data-place-picker', html)
    assert 'data-places-url="/fr/programmes/places/"' in html and "js/picker.js" in html
    assert 'type="checkbox" name="status"' in html
    assert '<select name="area"' not in html


def test_a_report_asked_with_a_place_code_and_two_statuses_keeps_them(client, staff):
    client.force_login(staff)
    response = client.post(
        reverse("reports:list"),
        {"type": "portfolio_xlsx", "language": "fr", "area": "NE006", "status": ["active", "completed"]},
    )
    assert response.status_code in (200, 302)
    from reports.models import ReportJob

    job = ReportJob.objects.get()
    assert job.parameters["area"] == "NE006" and sorted(job.parameters["status"]) == ["active", "completed"]


# --- Amounts ----------------------------------------------------------------------------------


def test_amounts_are_kept_on_one_line(client, staff, org_a):
    programme = make_programme(org_a, budget=Decimal("4590000"), currency="XOF")
    client.force_login(staff)
    assert '<span class="amount">4\xa0590\xa0000,00 XOF</span>' in html_of(client, programme.get_absolute_url())
    dashboard = html_of(client, "/fr/")
    assert '<p class="figure-value amount mb-1">4\xa0590\xa0000 <span class="fs-6">XOF</span></p>' in dashboard
    assert Programme.objects.count() == 1
