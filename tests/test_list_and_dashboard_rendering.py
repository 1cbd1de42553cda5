"""The list's rows written in Python and the dashboard's cached figures: same HTML, never across personas,
languages or versions of the figures."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.template import Context, Template
from django.template.defaultfilters import floatformat
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation
from django.utils.formats import get_format
from django.utils.html import escape

from programmes import money
from programmes.models import ExchangeRate, Programme, Sector, Status
from programmes.views import programme_rows_html, whole_amount
from regions.models import AdminUnit

from .conftest import make_programme, make_user
from .test_web_pages import html_of
from .test_web_speed import count_queries

# The rows as programmes/programme_list.html wrote them before programme_rows_html (one template node per cell).
OLD_ROWS = (
    "{% load i18n money %}"
    '{% translate "Code" as code_label %}{% translate "Title" as title_label %}{% translate "Sector" as sector_label %}'
    '{% translate "Status" as status_label %}{% translate "Period" as period_label %}'
    '{% translate "Budget" as budget_label %}{% translate "USD equivalent" as usd_label %}'
    """{% for p in page %}
    <tr>
      <td class="text-nowrap" data-label="{{ code_label }}"><a href="{{ p.get_absolute_url }}">{{ p.code }}</a></td><td data-label="{{ title_label }}">{{ p.title }}</td><td data-label="{{ sector_label }}">{{ p.primary_sector.name }}</td>
      <td data-label="{{ status_label }}">{{ p.get_status_display }}</td><td class="text-nowrap small" data-label="{{ period_label }}">{{ p.planned_start|date:"SHORT_DATE_FORMAT" }} – {{ p.planned_end|date:"SHORT_DATE_FORMAT"|default:"…" }}</td>
      <td class="text-end amount" data-label="{{ budget_label }}">{{ p.budget|floatformat:"0g" }} {{ p.currency }}</td>
      <td class="text-end amount" data-label="{{ usd_label }}">{% usd_equivalent p.budget p.currency as usd %}{% if usd is not None %}{{ usd|floatformat:"0g" }} USD{% else %}—{% endif %}</td>
    </tr>
  {% empty %}<tr><td colspan="7">{% translate "No programme matches." %}</td></tr>
  {% endfor %}"""
)


@pytest.mark.parametrize("language", ["fr", "en"])
def test_the_rows_written_in_python_are_the_rows_the_template_wrote(org_a, language):
    ExchangeRate.objects.all().delete()
    ExchangeRate.objects.create(currency="XOF", as_of=date(2025, 1, 1), units_per_usd=Decimal("600"), source="ONU")
    # EUR without a rate: "—"
    make_programme(
        org_a, title_fr="Accès & <protection> « Tillabéri »", title_en="", budget=Decimal("1234567.89"), currency="XOF"
    )
    make_programme(org_a, title_en="", planned_end=None, budget=Decimal("0.5"), currency="EUR", status=Status.CLOSED)
    make_programme(org_a, code="NE-CT-2025-00001", budget=Decimal("1500.5"), currency="USD", status=Status.PIPELINE)
    programmes = list(Programme.objects.for_list().order_by("code"))
    with translation.override(language):
        old = Template(OLD_ROWS).render(Context({"page": programmes}))
        new = programme_rows_html(programmes, money.RateTable.load(), timezone.localdate())
        empty_old = Template(OLD_ROWS).render(Context({"page": []}))
        empty_new = programme_rows_html([], money.RateTable.load(), timezone.localdate())
    assert new == old
    assert "&amp; &lt;protection&gt;" in new and "—" in new and "…" in new
    assert empty_new == empty_old


@pytest.mark.parametrize("language", ["fr", "en"])
def test_whole_amounts_are_written_as_floatformat_0g_writes_them(language):
    values = [Decimal(v) for v in ("0", "0.49", "0.5", "-0.4", "-0.5", "999.5", "1000", "1234567.89", "-98765.5")]
    values += [Decimal(n) / 100 for n in range(-200_000, 20_000_000_000_000, 9_876_543_211)]
    with translation.override(language):
        separator, grouping = get_format("THOUSAND_SEPARATOR"), get_format("NUMBER_GROUPING")
        for value in values:
            assert whole_amount(value, separator, grouping) == floatformat(value, "0g"), value
        assert whole_amount(None, separator, grouping) == ""


def test_dashboard_figures_are_never_shown_to_another_scope_or_in_another_language(org_a, org_b, staff, partner_a):
    for _ in range(2):
        make_programme(org_a)
    make_programme(org_b)
    other_a = make_user("dora.partner-a", organisation=org_a)
    partner_b = make_user("eve.partner-b", organisation=org_b)
    expected = [(staff, "fr", 3), (partner_a, "fr", 2), (partner_b, "fr", 1), (other_a, "fr", 2), (partner_a, "en", 2)]
    for _round in range(2):  # the second round reads every figure from the cache
        for user, language, active in expected:
            client = Client()
            client.force_login(user)
            html = html_of(client, f"/{language}/")
            assert f'id="figure-active">{active}<' in html, (user.username, language)
            assert ("active programmes" in html) == (language == "en")
            assert ("programmes actifs" in html) == (language == "fr")


def test_dashboard_figures_follow_an_edit_a_new_rate_and_a_renamed_sector_with_a_warm_cache(client, staff, org_a):
    make_programme(org_a, budget=Decimal("1000000"), currency="XOF")
    ExchangeRate.objects.all().delete()
    ExchangeRate.objects.create(currency="XOF", as_of=date(2025, 1, 1), units_per_usd=Decimal("500"), source="ONU")
    client.force_login(staff)
    html = html_of(client, "/fr/")
    assert 'id="figure-active">1<' in html and "2\xa0000 <span" in html
    assert 'id="figure-active">1<' in html_of(client, "/fr/")  # from the cache
    ExchangeRate.objects.create(currency="XOF", as_of=date(2025, 6, 1), units_per_usd=Decimal("400"), source="ONU")
    assert "2\xa0500 <span" in html_of(client, "/fr/")
    sector = Sector.objects.order_by("order").first()
    sector.name_fr = "Secteur renommé"
    sector.save()
    assert "Secteur renommé" in html_of(client, "/fr/")
    make_programme(org_a)
    assert 'id="figure-active">2<' in html_of(client, "/fr/")


def test_the_list_sector_options_follow_a_renamed_sector(client, staff, programme_a):
    client.force_login(staff)
    sector = programme_a.primary_sector
    assert f'<option value="{sector.code}">{escape(sector.name_fr)}</option>' in html_of(client, "/fr/programmes/")
    sector.name_fr = "Secteur renommé"
    sector.save()
    html = html_of(client, "/fr/programmes/", sector=sector.code)
    assert f'<option value="{sector.code}" selected>Secteur renommé</option>' in html


@pytest.mark.parametrize("persona", ["staff", "partner_a"])
def test_the_english_list_reads_as_many_queries_as_the_french_one(client, request, persona, org_a, org_b, programme_a):
    """Organisation options in English read each organisation's English acronym with the list, not one by one."""
    for code in ("org-c", "org-d", "org-e"):
        make_programme(org_a, org_b)
        make_user(f"user-{code}", organisation=org_b)
    client.force_login(request.getfixturevalue(persona))
    html_of(client, "/fr/programmes/")  # the summaries are computed after the writes above
    assert count_queries(client, "/en/programmes/") == count_queries(client, "/fr/programmes/")


def test_the_area_and_sector_filters_read_the_cached_reference_lists_and_follow_a_new_unit(client, staff, programme_a):
    client.force_login(staff)
    sector = programme_a.primary_sector.code
    html = html_of(client, "/fr/programmes/", sector=sector, area="NE006")
    assert programme_a.code in html and "is-invalid" not in html
    with CaptureQueriesContext(connection) as warm:
        html_of(client, "/fr/programmes/", sector=sector, area="NE006")
    lookups = ('FROM "regions_adminunit"', 'FROM "programmes_sector"')
    assert not [q for q in warm.captured_queries if any(table in q["sql"] for table in lookups)]
    commune = AdminUnit.objects.get(pcode="NE006012007")
    AdminUnit.objects.create(
        pcode="NE006012099", name_fr="Commune nouvelle", level=commune.level, parent=commune.parent
    )
    assert "is-invalid" not in html_of(client, "/fr/programmes/", area="NE006012099")
    html = html_of(client, "/fr/programmes/", area="NE999", sector="NOPE")
    assert 'id="id_area_error"' in html and "(NE999)" in html and 'id="id_sector_error"' in html
