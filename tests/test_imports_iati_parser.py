"""The IATI reader: every element the import needs, read from files shaped like IOM's, and hostile files refused."""

from io import BytesIO
from pathlib import Path

import pytest
from django.utils.translation import override

from imports.iati import ACTUAL_START, PLANNED_END, PLANNED_START, IatiFileError, iter_activities

DATA = Path(__file__).parent / "data" / "iati"


@pytest.fixture(autouse=True)
def in_english():
    """The reader's messages are checked in English here (the import tests check them in French)."""
    with override("en"):
        yield


def read(xml: str | bytes) -> list:
    return list(iter_activities(BytesIO(xml.encode() if isinstance(xml, str) else xml)))


def test_an_iom_activity_is_read_with_every_language_and_vocabulary():
    (activity,) = iter_activities((DATA / "iom-niger-activities.xml").open("rb"))
    assert activity.identifier == "XM-DAC-47066-CT.0412"
    assert activity.reporting_org.ref == "XM-DAC-47066"
    assert activity.titles["fr"].startswith("Renforcement de la lutte")
    assert activity.titles["en"].startswith("Strengthening")
    assert activity.descriptions["1"]["fr"].startswith("Appui")
    assert activity.humanitarian is True
    assert activity.status == "2"
    assert activity.dates[PLANNED_START].isoformat() == "2025-01-01"
    assert activity.dates[ACTUAL_START].isoformat() == "2025-02-01"
    assert activity.dates[PLANNED_END].isoformat() == "2026-12-31"
    assert activity.scope == "4"
    assert [(c.code, str(c.percentage)) for c in activity.recipient_countries] == [("NE", "100")]
    funder = activity.participating_orgs[0]
    assert (funder.role, funder.ref, funder.activity_id) == (
        "1",
        "XM-DAC-918-3",
        "XM-DAC-918-3-ABC",
    )
    assert [(s.vocabulary, s.code) for s in activity.sectors] == [("99", "CT"), ("1", "15190")]
    assert activity.sectors[0].vocabulary_uri == "https://data.iom.int/codelist/sector.pdf"
    assert [(m.vocabulary, m.code) for m in activity.policy_markers] == [("99", "2a")]
    assert [(str(b.amount.value), b.amount.currency) for b in activity.budgets] == [
        ("600000", "USD"),
        ("400000", "USD"),
    ]
    (transaction,) = activity.transactions
    assert (transaction.type, transaction.provider.ref, str(transaction.amount.value)) == (
        "11",
        "XM-DAC-918-3",
        "1000000",
    )
    agadez, arlit = activity.locations
    assert agadez.administrative[0].code == "NE001"
    assert agadez.point is not None
    assert arlit.names == {"en": "Arlit"}
    indicator = activity.results[0].indicators[0]
    assert indicator.titles["fr"] == "Nombre de victimes de la traite assistées"
    assert indicator.baseline_year == 2024
    period = indicator.periods[0]
    assert [str(t.value) for t in period.targets] == ["120"]
    assert [(str(a.value), a.dimensions) for a in period.actuals][1] == ("70", {"sex": "female"})
    assert activity.documents[0].categories == ["A02"]
    assert activity.contacts[0].email == "iomniamey@iom.int"
    assert "programme-manager" in activity.raw_xml  # an extension the portal has no field for is kept
    assert activity.errors == []


def test_a_lone_activity_as_d_portal_serves_it_is_read():
    xml = """<?xml version="1.0"?>
    <iati-activity xmlns:dstore="http://d-portal.org/xmlns/dstore" xmlns:iati-activities="http://d-portal.org/xmlns/iati-activities"
        iati-activities:version="2.03" xml:lang="en" default-currency="USD">
      <iati-identifier>XM-DAC-47066-DP.0001</iati-identifier>
      <title><narrative>A lone activity</narrative></title>
    </iati-activity>"""
    (activity,) = read(xml)
    assert activity.identifier == "XM-DAC-47066-DP.0001"
    assert activity.titles == {"en": "A lone activity"}


def test_narratives_without_a_language_take_the_files_default():
    xml = """<iati-activities version="2.03" xml:lang="fr"><iati-activity>
      <iati-identifier>X-1</iati-identifier><title><narrative>Titre</narrative></title></iati-activity></iati-activities>"""
    assert read(xml)[0].titles == {"fr": "Titre"}


@pytest.mark.parametrize(
    ("xml", "message"),
    [
        ("", "empty"),
        ("<iati-activities version='2.03'><iati-activity>", "well-formed"),
        ("<html><body>not iati</body></html>", "root element"),
        ("<iati-activities version='2.01'></iati-activities>", "2.01"),
        (
            '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>'
            "<iati-activities version='2.03'><iati-activity><iati-identifier>&lol2;</iati-identifier>"
            "</iati-activity></iati-activities>",
            "entities",
        ),
        (
            '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
            "<iati-activities version='2.03'><iati-activity><iati-identifier>&xxe;</iati-identifier>"
            "</iati-activity></iati-activities>",
            "entities",
        ),
    ],
)
def test_unusable_files_are_refused_as_a_whole_with_a_reason(xml, message):
    with pytest.raises(IatiFileError) as refused:
        read(xml)
    assert message in str(refused.value)


def test_problems_inside_an_activity_are_listed_on_it():
    xml = """<iati-activities version="2.03"><iati-activity>
      <budget><value>abc</value></budget></iati-activity></iati-activities>"""
    (activity,) = read(xml)
    assert any("iati-identifier" in e for e in activity.errors)
    assert any("title" in e for e in activity.errors)
    assert any("budget" in e.lower() for e in activity.errors)


def test_a_long_file_is_read_one_activity_at_a_time():
    body = "".join(
        f"<iati-activity><iati-identifier>X-{n}</iati-identifier><title><narrative>T{n}</narrative></title></iati-activity>"
        for n in range(2000)
    )
    identifiers = [a.identifier for a in read(f"<iati-activities version='2.03'>{body}</iati-activities>")]
    assert identifiers[0] == "X-0" and identifiers[-1] == "X-1999" and len(identifiers) == 2000
