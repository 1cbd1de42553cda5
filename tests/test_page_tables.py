"""Tables of the region, sector and organisation pages built in Python give the HTML their templates gave."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.template import Context, Template
from django.template.loader import render_to_string
from django.utils import translation

from programmes.models import Currency, ExchangeRate, Programme, Status

from .conftest import make_programme

# The include as it was written before `{% programme_table %}` (templates/programmes/includes/programme_table.html).
PROGRAMME_TABLE_TEMPLATE = """{% load i18n humanize money %}{% translate "Code" as code_label %}{% translate "Title" as title_label %}{% translate "Status" as status_label %}{% translate "Budget" as budget_label %}{% translate "USD equivalent" as usd_label %}
<table class="table table-sm table-hover table-reflow">
  <thead><tr><th scope="col">{% translate "Code" %}</th><th scope="col">{% translate "Title" %}</th><th scope="col">{% translate "Status" %}</th><th scope="col" class="text-end">{% translate "Budget" %}</th><th scope="col" class="text-end">{{ usd_label }}</th></tr></thead>
  <tbody>
  {% for p in programmes %}{% usd_equivalent p.budget p.currency as usd %}<tr><td class="text-nowrap" data-label="{{ code_label }}"><a href="{{ p.get_absolute_url }}">{{ p.code }}</a></td><td data-label="{{ title_label }}">{{ p.title }}</td><td data-label="{{ status_label }}">{{ p.get_status_display }}</td><td class="text-end amount" data-label="{{ budget_label }}">{{ p.budget|floatformat:"0g" }} {{ p.currency }}</td><td class="text-end amount" data-label="{{ usd_label }}">{% if usd is not None %}{{ usd|floatformat:"0g" }} USD{% else %}—{% endif %}</td></tr>
  {% empty %}<tr><td colspan="5">{% translate "No programme." %}</td></tr>{% endfor %}
  </tbody>
</table>
{% rates_used as rates_text %}{% if rates_text %}<p class="small text-body-secondary">{{ rates_text }}</p>{% endif %}
"""


@pytest.mark.parametrize("language", ["fr", "en"])
@pytest.mark.parametrize("rows", [0, 1, 5])
def test_the_programme_table_is_the_html_of_its_former_template(org_a, language, rows):
    ExchangeRate.objects.all().delete()
    ExchangeRate.objects.create(currency="XOF", as_of=date(2025, 1, 1), units_per_usd=Decimal("600"), source="ONU")
    kinds = [
        {"currency": Currency.XOF, "budget": Decimal("1234567.89"), "title_fr": "Réintégration <à> Tillabéri & Dosso"},
        {"currency": Currency.USD, "budget": Decimal("0"), "status": Status.PIPELINE, "title_en": 'Only "English"'},
        {"currency": Currency.EUR, "budget": Decimal("2500.5"), "status": Status.SUSPENDED},  # no rate in force
        {"currency": Currency.XOF, "budget": Decimal("999.49"), "code": "NE-CT-2026-00001"},
        {"currency": Currency.USD, "budget": Decimal("10000000"), "status": Status.CLOSED},
    ]
    for fields in kinds[:rows]:
        make_programme(org_a, **fields)
    with translation.override(language):
        programmes = Programme.objects.for_list().order_by("code")
        expected = Template(PROGRAMME_TABLE_TEMPLATE).render(Context({"programmes": programmes}))
        built = render_to_string("programmes/includes/programme_table.html", {"programmes": programmes})
    assert built == expected
    assert ("No exchange rate in force for EUR" in built) == (rows == 5 and language == "en")


ORGANISATION_ITEMS_TEMPLATE = """<ul>{% for p in group.participations %}<li><a href="{{ p.programme.get_absolute_url }}">{{ p.programme.code }}</a> {{ p.programme.title }} <small class="text-body-secondary">{{ p.programme.get_status_display }}</small></li>{% endfor %}</ul>"""


@pytest.mark.parametrize("language", ["fr", "en"])
def test_the_organisation_page_items_are_the_html_of_their_former_template(org_a, language):
    from programmes.models import Participation

    make_programme(org_a, title_fr="Accès <à> l'eau & santé", status=Status.SUSPENDED)
    make_programme(org_a, title_fr="Retour", title_en="Return")
    with translation.override(language):
        participations = list(
            Participation.objects.filter(organisation=org_a)
            .select_related("programme")
            .only("programme__code", "programme__title_fr", "programme__title_en", "programme__status")
            .order_by("programme__code")
        )
        group = {"participations": participations}
        expected = Template(ORGANISATION_ITEMS_TEMPLATE).render(Context({"group": group}))
        built = Template("{% load programme_tables %}<ul>{% programme_items group.participations %}</ul>").render(
            Context({"group": group})
        )
    assert built == expected and built.count("<li>") == 2
