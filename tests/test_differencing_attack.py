"""The differencing attack of issue 16 on the demo data, as partner.anltp: every total the partner
can see, from any output, against the period totals the partner can see. Nothing hidden comes back."""

import re
from collections import defaultdict
from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client

from partners.models import User
from programmes.demo import seed_demo
from programmes.models import Indicator, IndicatorValue, Programme, Sector
from reports.builders import portfolio as builders

from .api_support import token_client

THRESHOLD = 5


@pytest.fixture
def demo(reference, settings):
    """The demo data, plus the situation of issue 16: one more period of a key indicator of one of the
    partner's programmes, whose total (2 people) is below the threshold."""
    settings.SMALL_CELL_THRESHOLD = THRESHOLD
    seed_demo(programmes=40)
    partner = User.objects.get(username="partner.anltp")
    indicator = (
        Indicator.objects.filter(programme__in=Programme.objects.visible_to(partner), cumulative=False)
        .filter(values__isnull=False)
        .exclude(key_indicator="")
        .distinct()
        .order_by("programme__code", "code")
        .first()
    )
    # The last period is split in two halves; the second half gets a total of 2 people.
    last = indicator.values.order_by("-period_end").first()
    start, end = last.period_start, last.period_end
    middle = start + (end - start) / 2
    IndicatorValue.objects.filter(indicator=indicator, period_start=start).update(period_end=middle)
    IndicatorValue.objects.create(
        indicator=indicator, period_start=middle + timedelta(days=1), period_end=end, achieved=Decimal(2)
    )
    return partner


def visible_period_totals(api, code: str) -> tuple[list, list]:
    """(visible, hidden) totals rows of key indicators of one programme, as the API shows them."""
    body = api.get(f"/api/v1/programmes/{code}/").json()
    visible, hidden = [], []
    for indicator in body.get("indicators", []):
        if not indicator["key_indicator"]:
            continue
        for value in indicator["values"]:
            if value["sex"] != "all" or value["age_group"] != "all":
                continue
            row = (indicator["key_indicator"], int(value["period_end"][:4]), indicator["code"], indicator["cumulative"])
            if value["suppressed"]:
                hidden.append(row)
            elif value["achieved"] is not None:
                visible.append((*row, Decimal(value["achieved"])))
    return visible, hidden


def recompute(visible: list) -> dict:
    """What a total of (key, year) would be from the visible period totals alone (same rule as the portal)."""
    totals: dict = defaultdict(Decimal)
    cumulative: dict = {}
    for key, year, code, is_cumulative, achieved in visible:
        if is_cumulative:
            cumulative[(key, year, code)] = max(cumulative.get((key, year, code), Decimal(0)), achieved)
        else:
            totals[(key, year)] += achieved
    for (key, year, _code), achieved in cumulative.items():
        totals[(key, year)] += achieved
    return totals


def published(rows) -> dict:
    return {(r["key"], r["year"]): (None if r["total"] is None else Decimal(str(r["total"]))) for r in rows}


def test_no_hidden_count_is_recovered_by_subtracting_what_a_partner_sees(demo):
    partner = demo
    api = token_client(partner, "en")
    web = Client()
    web.force_login(partner)

    programmes = []
    url = "/api/v1/programmes/?page_size=200"
    while url:
        page = api.get(url).json()
        programmes += [(p["code"], p.get("primary_sector")) for p in page["results"]]
        url = page["next"]
    assert programmes

    visible_by_programme, hidden = {}, []
    for code, _sector in programmes:
        visible_by_programme[code], hidden_rows = visible_period_totals(api, code)
        hidden += hidden_rows
    assert hidden, "the demo data must hide some small counts from this partner, or the attack proves nothing"

    # Every output that shows totals over a set of programmes.
    outputs = {
        "api live": (api.get("/api/v1/key-figures/live/").json()["key_indicators"], [c for c, _ in programmes]),
        "dashboard": (web.get("/en/").context["live"]["key_indicators"], [c for c, _ in programmes]),
    }
    for sector in Sector.objects.all():
        response = web.get(f"/en/programmes/sectors/{sector.code}/")
        if response.status_code != 200 or not response.context["live_indicators"]:
            continue
        codes = list(
            response.context["programmes"]
            .model.objects.visible_to(partner)
            .in_sector(sector)
            .values_list("code", flat=True)
        )
        outputs[f"sector {sector.code}"] = (response.context["live_indicators"], codes)
    report_rows = list(builders.key_figure_rows(Programme.objects.visible_to(partner), suppress_small=True))
    assert report_rows

    recovered = []
    for name, (rows, codes) in outputs.items():
        expected = recompute([row for code in codes for row in visible_by_programme.get(code, [])])
        for (key, year), total in published(rows).items():
            # A total hidden as "< N" shows nothing; any other must be what the visible figures give.
            if total is not None and total != expected.get((key, year), Decimal(0)):
                recovered.append((name, key, year, total - expected.get((key, year), Decimal(0))))
    assert recovered == [], f"hidden counts recovered by differencing: {recovered}"

    # The report shows the same live totals as the API (so differencing report against pages gives 0).
    api_live = published(outputs["api live"][0])
    # Rows "<indicator> (<year>)", value (empty when hidden), unit, as of, source, scope, suppressed.
    report_numbers = {}
    for row in report_rows:
        label = re.fullmatch(r"(.*) \((\d{4})\)", str(row[0]))
        if label and isinstance(row[1], int | float | Decimal):
            report_numbers[(label[1], int(label[2]))] = row[1]
    assert report_numbers, "the key figures report lists live totals"
    labels = {r["key"]: r["label"] for r in outputs["api live"][0]}
    for (key, year), total in api_live.items():
        if total is not None and (str(labels[key]), year) in report_numbers:
            assert Decimal(str(report_numbers[(str(labels[key]), year)])) == total


def test_iom_staff_still_see_the_full_totals(demo):
    from programmes import stats

    partner_rows = {
        (r["key"], r["year"]): r["total"]
        for r in stats.key_indicator_totals(Programme.objects.visible_to(demo), suppress_small=True)
    }
    staff_rows = {
        (r["key"], r["year"]): r["total"]
        for r in stats.key_indicator_totals(Programme.objects.visible_to(demo), suppress_small=False)
    }
    assert any(staff_rows[k] != v for k, v in partner_rows.items() if v is not None)
