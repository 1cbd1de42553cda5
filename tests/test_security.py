"""Authentication and sessions (OWASP ASVS L2), security headers, error pages, documents."""

import logging
import time

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, override_settings
from django.urls import reverse

from iom_portal.security import LOGIN_TIME_KEY
from programmes.models import Document, Visibility

PASSWORD = "a-long-test-password-2026"
PDF_BYTES = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def login_form(client: Client, username: str, password: str, ip: str = "10.0.0.1"):
    return client.post("/fr/accounts/login/", {"username": username, "password": password}, REMOTE_ADDR=ip)


def test_login_rotates_the_session_key(client, staff):
    client.get("/fr/accounts/login/")
    client.session.save()
    before = client.session.session_key
    response = login_form(client, staff.username, PASSWORD)
    assert response.status_code == 302
    assert client.session.session_key != before


def test_five_failures_lock_the_username_from_that_address_only(client, staff, caplog):
    caplog.set_level(logging.INFO, logger="iom_portal.security")
    for _ in range(5):
        login_form(client, staff.username, "wrong-password")
    locked = login_form(client, staff.username, PASSWORD)
    assert locked.status_code == 429
    assert "Trop de tentatives" in locked.content.decode()
    # The real user, from another address, still gets in: an attacker cannot lock them out.
    other = Client()
    assert login_form(other, staff.username, PASSWORD, ip="10.0.0.2").status_code == 302
    assert "lockout user=alice.staff" in caplog.text
    assert "wrong-password" not in caplog.text and PASSWORD not in caplog.text


def test_an_admin_unlocks_a_locked_user(client, staff, admin_user):
    from axes.models import AccessAttempt

    for _ in range(5):
        login_form(client, staff.username, "wrong-password")
    assert AccessAttempt.objects.filter(username=staff.username).exists()
    admin = Client()
    admin.force_login(admin_user)
    assert admin.get(reverse("admin:axes_accessattempt_changelist")).status_code == 200
    AccessAttempt.objects.filter(username=staff.username).delete()  # what the admin's delete action does
    assert login_form(client, staff.username, PASSWORD).status_code == 302


def test_logins_and_failures_are_logged_without_passwords(client, staff, caplog):
    caplog.set_level(logging.INFO, logger="iom_portal.security")
    login_form(client, staff.username, "bad-password-123")
    login_form(client, staff.username, PASSWORD)
    assert "login-failed user=alice.staff" in caplog.text
    assert "login user=alice.staff" in caplog.text
    assert "bad-password-123" not in caplog.text


def test_passwords_need_12_characters_and_not_a_common_one(client, staff):
    client.force_login(staff)
    response = client.post(
        "/fr/accounts/password_change/",
        {"old_password": PASSWORD, "new_password1": "court", "new_password2": "court"},
    )
    assert response.status_code == 200
    assert "au minimum 12 caractères" in response.content.decode()
    response = client.post(
        "/en/accounts/password_change/",
        {"old_password": PASSWORD, "new_password1": "password1234", "new_password2": "password1234"},
    )
    assert "too common" in response.content.decode()


def test_changing_the_password_ends_the_other_sessions(staff):
    laptop, phone = Client(), Client()
    laptop.force_login(staff)
    phone.force_login(staff)
    response = laptop.post(
        "/fr/accounts/password_change/",
        {
            "old_password": PASSWORD,
            "new_password1": "Sahel-rains-2026-niamey",
            "new_password2": "Sahel-rains-2026-niamey",
        },
    )
    assert response.status_code == 302
    assert laptop.get("/fr/").status_code == 200
    assert phone.get("/fr/").status_code == 302


def test_password_reset_sends_a_link_by_email(client, staff):
    staff.email = "alice@iom.example"
    staff.save()
    response = client.post("/fr/accounts/password_reset/", {"email": "alice@iom.example"})
    assert response.status_code == 302
    assert len(mail.outbox) == 1 and "/fr/accounts/reset/" in mail.outbox[0].body


def test_a_deactivated_user_loses_access_at_the_next_request(client, partner_a, programme_a):
    client.force_login(partner_a)
    assert client.get(f"/fr/programmes/{programme_a.code}/").status_code == 200
    partner_a.is_active = False
    partner_a.save()
    assert client.get(f"/fr/programmes/{programme_a.code}/").status_code == 302


def test_logout_really_ends_the_session(client, staff):
    client.force_login(staff)
    cookie = client.cookies["sessionid"].value
    client.post("/fr/accounts/logout/")
    replay = Client()
    replay.cookies["sessionid"] = cookie
    assert replay.get("/fr/").status_code == 302


def test_a_session_ends_after_its_absolute_lifetime(client, staff, settings):
    client.force_login(staff)
    session = client.session
    session[LOGIN_TIME_KEY] = int(time.time()) - settings.SESSION_ABSOLUTE_AGE - 1
    session.save()
    assert client.get("/fr/").status_code == 302


def test_inactivity_timeout_is_30_minutes_and_refreshed_on_each_request(settings):
    assert settings.SESSION_COOKIE_AGE == 1800 and settings.SESSION_SAVE_EVERY_REQUEST
    assert settings.SESSION_EXPIRE_AT_BROWSER_CLOSE


def test_security_headers_and_a_csp_without_inline_scripts(client, staff):
    client.force_login(staff)
    response = client.get("/fr/")
    csp = response["Content-Security-Policy"]
    script_src = next(d for d in csp.split(";") if d.strip().startswith("script-src"))
    assert "'unsafe-inline'" not in script_src and "'self'" in script_src
    assert "frame-ancestors 'none'" in csp
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"


def test_no_inline_script_in_the_portal_templates():
    from pathlib import Path

    offenders = []
    for template in Path("templates").rglob("*.html"):
        text = template.read_text(encoding="utf-8")
        for chunk in text.split("<script")[1:]:
            tag = chunk.split(">", 1)[0]
            if "src=" not in tag and "application/json" not in tag and "nonce=" not in tag:
                offenders.append(str(template))
        if " onclick=" in text or " onload=" in text or " onchange=" in text or " onsubmit=" in text:
            offenders.append(f"{template} (inline handler)")
    assert offenders == []


@override_settings(DEBUG=False)
@pytest.mark.parametrize(("language", "text"), [("fr", "Page introuvable"), ("en", "Page not found")])
def test_the_404_page_is_translated(client, staff, language, text):
    client.force_login(staff)
    response = client.get(f"/{language}/programmes/NO-SUCH-CODE/")
    assert response.status_code == 404 and text in response.content.decode()


def test_a_server_error_shows_the_bilingual_page_without_a_trace(client, staff, monkeypatch):
    import iom_portal.views

    def boom(*args, **kwargs):
        raise RuntimeError("secret stack detail")

    monkeypatch.setattr(iom_portal.views.summary, "live_figures", boom)
    client.raise_request_exception = False
    client.force_login(staff)
    response = client.get("/fr/")
    body = response.content.decode()
    assert response.status_code == 500
    assert "Erreur du serveur" in body and "Server error" in body
    assert "secret stack detail" not in body and "Traceback" not in body


def upload(client, code, content, name="rapport.pdf", **extra):
    data = {
        "title": "Rapport",
        "category": "progress_report",
        "visibility": Visibility.PARTNERS,
        "file": SimpleUploadedFile(name, content),
        **extra,
    }
    return client.post(f"/fr/programmes/{code}/documents/new/", data)


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def test_staff_upload_a_pdf_stored_under_a_generated_name_outside_static(client, staff, programme_a, media, settings):
    client.force_login(staff)
    response = upload(client, programme_a.code, PDF_BYTES, name="../../etc/passwd.pdf")
    assert response.status_code == 302
    document = Document.objects.get(programme=programme_a)
    assert document.content_type == "application/pdf" and document.size == len(PDF_BYTES)
    assert "passwd" not in document.file.name and document.file.name.startswith("documents/")
    assert not str(settings.MEDIA_ROOT).startswith(str(settings.STATIC_ROOT))


def test_an_executable_renamed_to_pdf_is_refused_with_a_message(client, staff, programme_a, media):
    client.force_login(staff)
    response = upload(client, programme_a.code, b"MZ\x90\x00 not really a pdf", name="rapport.pdf")
    assert response.status_code == 400
    assert "Ce type de fichier n’est pas accepté" in response.content.decode()
    assert 'value="Rapport"' in response.content.decode()
    assert not Document.objects.filter(programme__isnull=False).exists()  # (sector references are reference data)


def test_a_file_over_the_limit_is_refused(client, staff, programme_a, media, settings):
    settings.DOCUMENT_MAX_UPLOAD_BYTES = 100
    client.force_login(staff)
    assert upload(client, programme_a.code, PDF_BYTES + b"x" * 200).status_code == 400
    assert not Document.objects.filter(programme__isnull=False).exists()  # (sector references are reference data)


# Like every edit page: read-only staff get a 403, partners a 404 even on their own programme.
@pytest.mark.parametrize(("persona", "status"), [("viewer", 403), ("partner_a", 404), ("partner_b", 404)])
def test_only_editors_upload(client, request, persona, status, programme_a, media):
    client.force_login(request.getfixturevalue(persona))
    assert upload(client, programme_a.code, PDF_BYTES).status_code == status
    assert not Document.objects.filter(programme__isnull=False).exists()  # (sector references are reference data)


@pytest.mark.parametrize(
    ("persona", "shared", "internal", "other"),
    [("staff", 200, 200, 200), ("partner_a", 200, 404, 404), ("partner_b", 404, 404, 200)],
)
def test_downloads_are_attachments_for_those_who_may_see_them(
    client, request, persona, shared, internal, other, staff, programme_a, programme_b, media
):
    client.force_login(staff)
    upload(client, programme_a.code, PDF_BYTES)
    upload(client, programme_a.code, PDF_BYTES, visibility=Visibility.IOM_ONLY, title="Interne")
    upload(client, programme_b.code, PDF_BYTES, title="B")
    docs = {d.title: d for d in Document.objects.all()}
    client.force_login(request.getfixturevalue(persona))
    for title, expected in (("Rapport", shared), ("Interne", internal), ("B", other)):
        response = client.get(reverse("programmes:document_download", args=[docs[title].pk]))
        assert response.status_code == expected, (persona, title)
        if expected == 200:
            assert response["Content-Disposition"].startswith("attachment;")


def test_admin_invites_and_deactivates_partner_users(client, admin_user, partner_a, programme_a):
    partner_a.email = "bob@anltp.example"
    partner_a.save()
    client.force_login(admin_user)
    url = reverse("admin:partners_user_changelist")
    client.post(url, {"action": "send_password_link", "_selected_action": [partner_a.pk]})
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["bob@anltp.example"]
    client.post(url, {"action": "deactivate", "_selected_action": [partner_a.pk]})
    partner_a.refresh_from_db()
    assert not partner_a.is_active


def test_a_partner_user_cannot_be_made_staff_through_the_admin(client, admin_user, partner_a):
    client.force_login(admin_user)
    url = reverse("admin:partners_user_change", args=[partner_a.pk])
    response = client.post(
        url,
        {
            "username": partner_a.username,
            "organisation": partner_a.organisation.pk,
            "is_staff": "on",
            "is_active": "on",
            "preferred_language": "fr",
            "date_joined_0": "2026-01-01",
            "date_joined_1": "00:00:00",
        },
    )
    partner_a.refresh_from_db()
    assert not partner_a.is_staff
    assert response.status_code == 200 and "ne peut jamais être membre du personnel" in response.content.decode()


@pytest.mark.parametrize(
    "url",
    ["/fr/programmes/%00/", "/fr/regions/%00/", "/fr/partners/?q=a%00b", "/fr/regions/map/units.geojson?pcode=NE%00"],
)
def test_a_nul_byte_in_the_url_is_a_400_not_a_500(client, staff, url):
    client.force_login(staff)
    assert client.get(url).status_code == 400
