"""load_reference_data: counts, idempotency and the parent chain of every commune."""

import re

import pytest
from django.core.management import call_command

from partners.models import Organisation, OrganisationCategory
from programmes.models import KeyFigure, Sector
from programmes.reference import load_reference_data
from regions.models import AdminLevel, AdminUnit, Office


@pytest.fixture
def empty_reference(db):
    """Start from an empty reference set (inside the test transaction, so it is restored after)."""
    Office.objects.all().delete()
    Organisation.objects.filter(parent__isnull=False).delete()
    Organisation.objects.all().delete()
    KeyFigure.objects.all().delete()
    Sector.objects.all().delete()
    for level in (3, 2, 1):
        AdminUnit.objects.filter(level=level).delete()


def test_first_load_creates_8_regions_67_departments_266_communes(empty_reference):
    results = load_reference_data()

    assert (results["regions"].created, results["departments"].created, results["communes"].created) == (8, 67, 266)
    assert AdminUnit.objects.regions().count() == 8
    assert AdminUnit.objects.departments().count() == 67
    assert AdminUnit.objects.communes().count() == 266
    assert results["sectors"].created == 10


def test_second_load_changes_nothing(reference, capsys):
    call_command("load_reference_data")

    out = capsys.readouterr().out
    assert "0 created, 0 updated, 266 unchanged" in out
    assert "created, 0 updated" in out and " 1 created" not in out
    results = load_reference_data()
    assert all(r.created == 0 and r.updated == 0 for r in results.values()), results


def test_a_changed_name_is_restored_on_reload(reference):
    AdminUnit.objects.filter(pcode="NE006").update(name_fr="Tillaberi (faute)")

    results = load_reference_data()

    assert results["regions"].updated == 1
    assert AdminUnit.objects.get(pcode="NE006").name_fr == "Tillabéri"


def test_every_commune_has_a_department_in_a_region_and_a_matching_pcode(reference):
    communes = AdminUnit.objects.communes().select_related("parent__parent")
    for commune in communes:
        department = commune.parent
        region = department.parent
        assert department.level == AdminLevel.DEPARTMENT
        assert region.level == AdminLevel.REGION
        assert region.parent_id is None
        assert commune.pcode.startswith(department.pcode) and department.pcode.startswith(region.pcode)
    assert communes.count() == 266


def test_boundaries_and_centres_are_loaded_for_every_unit(reference):
    assert not AdminUnit.objects.filter(boundary__isnull=True).exists()
    tillaberi = AdminUnit.objects.get(pcode="NE006")
    assert tillaberi.boundary["type"] in ("Polygon", "MultiPolygon")
    assert 11 < tillaberi.centroid_lat < 17 and 0 < tillaberi.centroid_lon < 5


def test_government_partners_include_ins_under_the_ministry_of_planning(reference):
    ins = Organisation.objects.get(acronym="INS")
    assert ins.parent.acronym == "MP"
    assert (
        Organisation.objects.government()
        .filter(acronym__in=["MAEC", "MID", "MTPS", "MAH/GC", "MJ", "ANLTP/TIM", "MPF/PE"])
        .count()
        == 7
    )


def test_each_region_has_its_governorate_and_regional_council(reference):
    for region in AdminUnit.objects.regions():
        authorities = Organisation.objects.filter(admin_unit=region, category=OrganisationCategory.REGIONAL_AUTHORITY)
        names = sorted(re.split(r" de | d'", a.name_fr)[0] for a in authorities)
        assert names == ["Conseil régional", "Gouvernorat"], region.pcode


def test_french_names_elide_de_before_a_vowel(reference):
    names = set(Organisation.objects.filter(admin_unit__pcode="NE001").values_list("name_fr", flat=True))
    assert names == {"Conseil régional d'Agadez", "Gouvernorat d'Agadez"}
    assert Organisation.objects.get(code="cr-ne002").name_fr == "Conseil régional de Diffa"


def test_offices_and_sources_have_english_names(reference):
    from django.utils import translation

    office = Office.objects.get(name_fr="OIM — Sous-bureau d'Agadez")
    figure = KeyFigure.objects.get(display_value="100 000")
    with translation.override("en"):
        assert (office.name, figure.source_label, figure.shown_value) == (
            "IOM — Agadez sub-office",
            "IOM, Department of Migration Management",
            "100,000",
        )
    with translation.override("fr"):
        assert (office.name, figure.shown_value) == ("OIM — Sous-bureau d'Agadez", "100\xa0000")


def test_offices_sit_in_communes_and_headline_figures_have_sources(reference):
    assert Office.objects.filter(kind="country_office", commune__pcode__startswith="NE008").exists()
    assert Office.objects.exclude(commune__level=3).count() == 0
    figures = {f.display_value for f in KeyFigure.objects.all()}
    assert {"1.7 M", "100 000", "140"} <= figures
    assert not KeyFigure.objects.filter(source="").exists()
