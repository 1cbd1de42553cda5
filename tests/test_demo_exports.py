"""The demo data that `make run` and the benchmarks load exports cleanly: no value cleaned or left out."""

import io

from django.core.management import call_command

from programmes.models import Indicator, Programme
from reporting.demo import DEMO_INDICATOR
from reports.builders import iati


def test_the_whole_demo_portfolio_with_its_reporting_cycle_exports_to_iati_without_a_problem(reference):
    call_command(
        "seed_demo", programmes=30, force=True, stdout=io.StringIO()
    )  # with the reporting demo (demo_seeded signal)
    assert Indicator.objects.filter(code=DEMO_INDICATOR).exists()  # the reporting demo's indicator is in the file
    count, problems = iati.write_iati_xml(Programme.objects.all(), io.BytesIO())
    assert count > 0
    assert problems == []
