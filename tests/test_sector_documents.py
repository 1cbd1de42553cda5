"""A sector's guidance and standards: staff add, replace (versions) and retire them; partners read only what is shared."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from programmes.models import Document, DocumentCategory, Sector, Visibility
from programmes.reference import load_sector_documents
from programmes.services import sector_document_add, sector_document_retire

PERSONAS = ["staff", "partner_a", "partner_b"]
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def sector(reference) -> Sector:
    return Sector.objects.get(code="CT")


def add(sector, staff, title: str, visibility: str = Visibility.PARTNERS, **fields) -> Document:
    fields.setdefault("link", f"https://example.org/{title.lower()}")
    document = Document(title=title, category=DocumentCategory.GUIDANCE, language="fr", visibility=visibility, **fields)
    return sector_document_add(sector=sector, user=staff, document=document)


def page(client, sector) -> str:
    response = client.get(sector.get_absolute_url())
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.parametrize("persona", PERSONAS)
def test_iom_only_documents_are_never_shown_to_partners(client, request, persona, staff, sector, programme_a):
    shared = add(sector, staff, "GUIDE-PARTAGE")
    add(sector, staff, "NORME-INTERNE", visibility=Visibility.IOM_ONLY)
    internal_file = add(
        sector, staff, "FICHIER-INTERNE", visibility=Visibility.IOM_ONLY, link="", file=SimpleUploadedFile("n.pdf", PDF)
    )
    newer = sector_document_add(
        sector=sector,
        user=staff,
        document=Document(title="GUIDE-V2", category="guidance", language="fr", link="https://example.org/v2"),
        replaces=shared,
    )
    newer.visibility = Visibility.PARTNERS
    newer.save()
    client.force_login(request.getfixturevalue(persona))
    html = page(client, sector)
    assert "GUIDE-V2" in html and "version 2" in html
    assert "GUIDE-PARTAGE" in html  # the earlier version, in the history
    assert ("NORME-INTERNE" in html) == ("FICHIER-INTERNE" in html) == (persona == "staff")
    download = client.get(reverse("programmes:document_download", args=[internal_file.pk]))
    assert download.status_code == (200 if persona == "staff" else 404)
    assert ("Ajouter un document" in html) == (persona == "staff")


def test_staff_add_replace_and_retire_a_document_from_the_sector_page(client, staff, sector):
    client.force_login(staff)
    new_url = reverse("programmes:sector_document_new", args=[sector.code])
    form = {"title": "Manuel", "category": "guidance", "language": "fr+en", "visibility": "partners"}
    response = client.post(new_url, {**form, "link": "https://example.org/manuel"})
    assert response.status_code == 302
    first = Document.objects.get(title="Manuel")
    assert first.sector == sector and first.version == 1 and first.uploaded_by == staff

    replace_url = reverse("programmes:sector_document_replace", args=[sector.code, first.pk])
    assert "Manuel" in client.get(replace_url).content.decode()  # the form starts from the current version
    file = SimpleUploadedFile("manuel-2026.pdf", PDF, content_type="application/pdf")
    response = client.post(replace_url, {**form, "title": "Manuel 2026", "file": file})
    assert response.status_code == 302, response.content.decode()
    second = Document.objects.get(title="Manuel 2026")
    assert (second.version, second.replaces, second.content_type) == (2, first, "application/pdf")
    assert client.post(replace_url, {**form, "link": "https://example.org/x"}).status_code == 404  # no longer current

    retire_url = reverse("programmes:sector_document_retire", args=[sector.code, second.pk])
    assert client.get(retire_url).status_code == 405
    assert client.post(retire_url).status_code == 302
    second.refresh_from_db()
    assert second.retired_at is not None
    assert not Document.objects.filter(sector=sector, title__startswith="Manuel").current().exists()
    html = page(client, sector)
    assert "retiré le" in html and "Manuel 2026" in html  # kept in the history


@pytest.mark.parametrize(
    ("extra", "message"),
    [({}, "soit un fichier, soit un lien"), ({"file": "pdf"}, "soit un fichier, soit un lien")],
)
def test_a_document_needs_a_link_or_a_file_not_both_and_nothing_typed_is_lost(client, staff, sector, extra, message):
    client.force_login(staff)
    data = {"title": "Titre gardé", "category": "standard", "language": "en", "visibility": "partners"}
    if extra:
        data |= {"link": "https://example.org/both", "file": SimpleUploadedFile("a.pdf", PDF)}
    response = client.post(reverse("programmes:sector_document_new", args=[sector.code]), data)
    assert response.status_code == 400
    html = response.content.decode()
    assert message in html and "Titre gardé" in html
    assert not Document.objects.filter(title="Titre gardé").exists()


def test_a_file_that_is_not_a_document_is_refused(client, staff, sector):
    client.force_login(staff)
    data = {"title": "Exe", "category": "standard", "language": "en", "visibility": "partners"}
    data["file"] = SimpleUploadedFile("a.pdf", b"MZ\x90\x00 not a pdf")
    response = client.post(reverse("programmes:sector_document_new", args=[sector.code]), data)
    assert response.status_code == 400 and "pas accepté" in response.content.decode()


@pytest.mark.parametrize(("persona", "status"), [("partner_a", 404), ("viewer", 403)])
def test_only_staff_with_edit_rights_change_sector_documents(client, request, persona, status, staff, sector):
    document = add(sector, staff, "GUIDE")
    client.force_login(request.getfixturevalue(persona))
    data = {"title": "X", "category": "guidance", "language": "fr", "visibility": "partners", "link": "https://e.org"}
    assert client.post(reverse("programmes:sector_document_new", args=[sector.code]), data).status_code == status
    assert (
        client.post(reverse("programmes:sector_document_retire", args=[sector.code, document.pk])).status_code == status
    )
    assert Document.objects.filter(sector=sector).current().filter(pk=document.pk).exists()
    assert "Remplacer" not in page(client, sector)


def test_the_starter_references_are_loaded_once_and_a_retired_one_stays_retired(staff, sector):
    starter = Document.objects.filter(sector=sector).exclude(link="")
    assert starter.exists() and all(d.link.startswith("https://") for d in starter)
    assert set(Sector.objects.filter(documents__link__startswith="https://").values_list("code", flat=True)) == set(
        Sector.objects.values_list("code", flat=True)
    )
    sector_document_retire(document=starter.first(), user=staff)
    result = load_sector_documents()
    assert result.created == 0
    assert Document.objects.filter(sector=sector).count() == starter.count()
