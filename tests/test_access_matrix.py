"""Every URL of the project × every persona × every object, compared with tests/access_matrix.json.

Set ACCESS_MATRIX_DUMP=1 (with -s) to print the actual statuses when writing a new entry.
The URL list comes from the resolver, not from a hand list: a new URL without an entry in the
matrix makes `test_every_url_has_an_entry_in_the_matrix` fail. For URLs that take a programme, the
expected statuses are written "shared/not_shared/draft": a programme shared with partner A, one of
partner B only, and a pipeline (draft) programme shared with A.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
from datetime import date
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, TestCase, override_settings
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import translation

from imports.services import import_job_create
from obligations.models import Obligation
from programmes.models import Document, Indicator, KeyFigure, Participation, Status, Visibility
from reporting.services import results_report_open
from reports.models import ReportJob

from .conftest import (
    ensure_reference_data,
    make_organisation,
    make_programme,
    make_programme_a,
    make_programme_b,
    make_user,
)

MATRIX = json.loads((Path(__file__).parent / "access_matrix.json").read_text(encoding="utf-8"))
PERSONAS = ["anonymous", "partner_a", "partner_b", "viewer", "staff", "admin"]
OBJECTS = ["shared", "not_shared", "draft"]


def url_names(patterns=None, namespace: str = "") -> set[str]:
    """Every URL pattern of the project as `namespace:name` (or its route when it has no name)."""
    names: set[str] = set()
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            names |= url_names(pattern.url_patterns, inner)
        elif isinstance(pattern, URLPattern):
            names.add(f"{namespace}{pattern.name}" if pattern.name else f"{namespace}<route:{pattern.pattern}>")
    return names


def covered(name: str) -> bool:
    return name in MATRIX["urls"] or any(name.startswith(prefix) for prefix in MATRIX["namespaces"])


def test_every_url_has_an_entry_in_the_matrix():
    missing = sorted(name for name in url_names() if not covered(name))
    assert missing == [], f"URLs without an expected access entry in tests/access_matrix.json: {missing}"


def test_the_matrix_has_no_stale_entries():
    stale = sorted(set(MATRIX["urls"]) - url_names())
    assert stale == []


def build_world() -> dict:
    """The personas and the objects they probe: 5 personas, 3 programmes, their documents, a report, an import,
    obligations and a results report. Media files go to the MEDIA_ROOT in force."""
    ensure_reference_data()
    org_a, org_b = make_organisation("org-a", acronym="ORGA"), make_organisation("org-b", acronym="ORGB")
    programme_a, programme_b = make_programme_a(org_a), make_programme_b(org_b)
    draft_a = make_programme(org_a, status=Status.PIPELINE)
    partner_a = make_user("bob.partner-a", organisation=org_a)
    partner_b = make_user("charlie.partner-b", organisation=org_b)
    viewer = make_user("victor.viewer", is_staff=True, group="IOM viewers")
    staff = make_user("alice.staff", is_staff=True, group="IOM programme officers")
    admin_user = make_user("ada.admin", is_staff=True, is_superuser=True)
    programmes = {"shared": programme_a, "not_shared": programme_b, "draft": draft_a}
    # `staff` is the IOM focal point of the programme shared with A and of the draft.
    for programme in (programme_a, draft_a):
        programme.iom_focal_point = staff
        programme.save()
    documents = {}
    for key, programme in programmes.items():
        document = Document(
            programme=programme,
            title=f"Doc {key}",
            category="progress_report",
            visibility=Visibility.PARTNERS,
            content_type="application/pdf",
        )
        document.file.save("doc.pdf", ContentFile(b"%PDF-1.4 test"), save=True)
        documents[key] = document
    # A report job of partner A (queued: its file does not exist yet).
    report = ReportJob.objects.create(type="key_figures", parameters={}, requester=partner_a, language="fr")
    # A 3W sheet partner A submitted for its shared programme, waiting for IOM's decision.
    sheet = f"#activity+code,#adm1+code\n{programme_a.code},NE003\n".encode()
    submission = import_job_create(user=partner_a, upload=SimpleUploadedFile("3w.csv", sheet), language="fr")
    # An open obligation of each programme (the obligation calendar's pages and API).
    obligations = {
        key: Obligation.objects.create(
            programme=programme, key="matrix", kind="final_report", due_date=date(2027, 3, 31), evidence="document"
        )
        for key, programme in programmes.items()
    }
    # Partner A reports for the shared programme: a draft results report it opened.
    Participation.objects.filter(programme=programme_a, organisation=org_a).update(reports_results=True)
    Indicator.objects.create(
        programme=programme_a, code="IND1", name_fr="Personnes", people=True, reporting_partner=org_a
    )
    results_report = results_report_open(
        programme=programme_a, user=partner_a, period_start=date(2025, 1, 1), period_end=date(2025, 3, 31)
    )
    users = {"partner_a": partner_a, "partner_b": partner_b, "viewer": viewer, "staff": staff, "admin": admin_user}
    sessions = {}
    for persona, user in users.items():
        client = Client()
        client.force_login(user)
        sessions[persona] = client.cookies
    return {
        "sessions": sessions,
        "programmes": programmes,
        "documents": documents,
        "org_a": org_a,
        "report": report,
        "import": submission,
        "obligations": obligations,
        "results_report": results_report,
    }


@pytest.fixture(scope="module")
def built_world(django_db_setup, django_db_blocker, tmp_path_factory):
    """The world, built once for the module inside a transaction of its own (rolled back at the end); each test
    runs in a savepoint inside it (pytest-django's `db`), so every test starts from the same world whatever the
    previous one posted. Its media files are copied into each test's own MEDIA_ROOT (a POST may delete one)."""
    media = tmp_path_factory.mktemp("matrix-media")
    with django_db_blocker.unblock():
        atomics = TestCase._enter_atomics()
        try:
            with override_settings(MEDIA_ROOT=media), translation.override(django_settings.LANGUAGE_CODE):
                world = build_world()
        except BaseException:
            TestCase._rollback_atomics(atomics)
            raise
    yield {**world, "media": media}
    with django_db_blocker.unblock():
        TestCase._rollback_atomics(atomics)


@pytest.fixture
def world(built_world, db, settings, tmp_path):
    """The world of this module and, for each persona, a fresh client logged in with the persona's session."""
    shutil.copytree(built_world["media"], tmp_path, dirs_exist_ok=True)
    settings.MEDIA_ROOT = tmp_path
    clients = {"anonymous": Client()}
    for persona, cookies in built_world["sessions"].items():
        clients[persona] = Client()
        clients[persona].cookies = copy.deepcopy(cookies)
    return {**built_world, "clients": clients}


def expected_status(spec, obj: str | None) -> int:
    if isinstance(spec, int):
        return spec
    return int(spec.split("/")[OBJECTS.index(obj)])


def fill(template: str, world, obj: str | None) -> str:
    values = {
        "org": world["org_a"].code,
        "keyfigure": KeyFigure.objects.order_by("pk").first().pk,
        "report": world["report"].uuid,
        "import": world["import"].uuid,
        "results_report": world["results_report"].pk,
        "sectordoc": Document.objects.filter(sector__code="CT").current().order_by("pk").first().pk,
    }
    if obj is not None:
        values["code"] = world["programmes"][obj].code
        values["document"] = world["documents"][obj].pk
        values["obligation"] = world["obligations"][obj].pk
    return template.format(**values)


def probe(world, name: str, entry: dict) -> list[str]:
    mismatches = []
    objects = OBJECTS if entry.get("object") else [None]
    for persona in PERSONAS:
        client = world["clients"][persona]
        for obj in objects:
            url = fill(entry["url"], world, obj)
            method = entry.get("method", "get").lower()
            if entry.get("json"):
                response = getattr(client, method)(
                    url, json.dumps(entry.get("data", {})), content_type="application/json"
                )
            else:
                response = getattr(client, method)(url, entry.get("data", {}))
            expected = expected_status(entry["expect"][persona], obj)
            if os.environ.get("ACCESS_MATRIX_DUMP"):
                print(f"ACTUAL {name} {persona} {obj or '-'} {response.status_code}")
            if response.status_code != expected:
                mismatches.append(
                    f"{name} {method.upper()} {url} as {persona}{'/' + obj if obj else ''}: got {response.status_code}, expected {expected}"
                )
    return mismatches


ENTRIES = sorted(MATRIX["urls"].items()) + [
    (f"{namespace} {probe['url']}", probe)
    for namespace, probes in sorted(MATRIX["namespaces"].items())
    for probe in probes
]


@pytest.mark.parametrize(("name", "entry"), ENTRIES, ids=[name for name, _ in ENTRIES])
def test_each_url_answers_each_persona_as_expected(world, name, entry):
    assert probe(world, name, entry) == []
