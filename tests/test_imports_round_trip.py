"""Round trip (issue 11): the portal's own IATI export of the demo programmes, imported into a portal that
has none, gives the same programmes — titles, dates, status, budgets, partners with roles, places,
sectors and results (the indicators, their values, and the outcome or output each one measures)."""

from __future__ import annotations

import io

import pytest
from django.conf import settings as django_settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import Prefetch
from lxml import etree

from imports.models import ImportStatus
from imports.services import import_job_confirm, import_job_create
from programmes.demo import seed_demo
from programmes.models import Indicator, IndicatorValue, Programme
from reports.builders.iati import write_iati_xml

IATI_SCHEMA = django_settings.BASE_DIR / "reports" / "data" / "iati" / "schema-2.03" / "iati-activities-schema.xsd"


def snapshot() -> dict[str, dict]:
    """Everything an IATI activity carries of each programme, in comparable form."""
    programmes = Programme.objects.select_related("primary_sector").prefetch_related(
        "secondary_sectors",
        "participations__organisation",
        "locations__admin_unit",
        Prefetch(
            "indicators", queryset=Indicator.objects.select_related("outcome", "output").prefetch_related("values")
        ),
    )
    found = {}
    for p in programmes:
        found[p.code] = {
            "titles": (p.title_fr, p.title_en),
            "dates": (p.planned_start, p.planned_end, p.actual_start, p.actual_end),
            "status": p.iati_activity_status,  # what IATI can say: several portal steps share one code
            "budget": (p.budget, p.currency),
            # Beneficiary institutions included: they have no IATI OrganisationRole, and come back from the
            # portal's element in the target-groups description (README "IATI export").
            "partners": sorted((x.organisation.code, x.role) for x in p.participations.all()),
            "places": sorted(x.admin_unit.pcode for x in p.locations.all()),
            "sectors": (p.primary_sector.code, sorted(s.code for s in p.secondary_sectors.all())),
            # IATI requires an indicator in every result: the results it carries are those with indicators,
            # each indicator with the code and statement of the outcome or output it measures.
            "indicators": sorted(
                (
                    i.code,
                    i.name_fr,
                    i.name_en,
                    i.measure,
                    i.baseline,  # (the whole-programme target has no place in IATI 2.03: only period targets)
                    (i.output or i.outcome).code,
                    (i.output or i.outcome).statement_fr,
                    sorted(
                        (v.period_start, v.period_end, v.target, v.achieved)
                        for v in i.values.all()
                        if v.sex == "all" and v.age_group == "all"  # the export carries totals, not the cells
                    ),
                )
                for i in p.indicators.all()
            ),
        }
    return found


@pytest.mark.django_db
def test_the_portals_own_export_imported_into_an_empty_portal_gives_the_same_programmes(settings, tmp_path, staff):
    settings.MEDIA_ROOT = tmp_path
    seed_demo(programmes=12, seed=2026)
    # Only what IOM publishes goes out (approved and later): the demo's pipeline programme stays home.
    published = set(Programme.objects.iati_published().values_list("code", flat=True))
    before = {code: value for code, value in snapshot().items() if code in published}
    assert len(before) == 11 and any(p["indicators"] for p in before.values())
    exported = io.BytesIO()
    count, problems = write_iati_xml(Programme.objects.all(), exported)
    assert count == 11 and problems == []
    # The demo has beneficiary institutions (target groups in IATI): they must come back too.
    assert any(role == "beneficiary_institution" for p in before.values() for _code, role in p["partners"])
    schema = etree.XMLSchema(etree.parse(str(IATI_SCHEMA)))
    assert schema.validate(etree.fromstring(exported.getvalue())), schema.error_log  # the extension is allowed

    IndicatorValue.objects.all().delete()
    for programme in Programme.objects.all():
        programme.delete()
    assert not Programme.objects.exists()

    job = import_job_create(
        user=staff, upload=SimpleUploadedFile("portal-export.xml", exported.getvalue()), language="fr"
    )
    assert {item["action"] for item in job.preview} == {"new"}, [i["errors"] for i in job.preview if i["errors"]]
    import_job_confirm(job=job, user=staff, create_organisations=False)  # every partner is known by its @ref
    job.refresh_from_db()
    assert job.status == ImportStatus.APPLIED and job.result["skipped"] == [], job.result["skipped"]

    after = snapshot()
    assert sorted(after) == sorted(before)
    for code, expected in before.items():
        for part, value in expected.items():
            assert after[code][part] == value, (code, part)
