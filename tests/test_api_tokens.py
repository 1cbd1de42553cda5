"""Personal API tokens: created and revoked from the portal, stored hashed, revocable by administrators."""

import hashlib
import re
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from rest_framework.test import APIClient

from partners.models import ApiToken


def api_get(secret: str, keyword: str = "Token", url: str = "/api/v1/sectors/"):
    return APIClient().get(url, HTTP_AUTHORIZATION=f"{keyword} {secret}")


def create_on_the_page(client, name="INS import") -> str:
    response = client.post("/fr/accounts/tokens/new/", {"name": name})
    assert response.status_code == 201
    return re.search(r'id="new-token"><code>([0-9a-f]{40})</code>', response.content.decode()).group(1)


@pytest.mark.parametrize("persona", ["staff", "viewer", "partner_a"])
def test_a_user_creates_a_token_on_the_portal_page_and_it_is_shown_once(client, request, persona):
    user = request.getfixturevalue(persona)
    client.force_login(user)
    assert (
        "Jetons d’API personnels" in client.get("/fr/accounts/tokens/").content.decode()
        or client.get("/en/accounts/tokens/").status_code == 200
    )
    secret = create_on_the_page(client)
    token = ApiToken.objects.get(user=user)
    assert token.key_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert token.prefix == secret[:8] and secret not in str(token.__dict__)
    page = client.get("/fr/accounts/tokens/").content.decode()
    assert secret not in page and f"{secret[:8]}…" in page
    assert api_get(secret).status_code == 200


def test_tokens_authenticate_with_token_or_bearer_and_record_last_use(partner_a):
    token, secret = ApiToken.create_for(partner_a, "test")
    assert token.last_used_at is None
    assert api_get(secret, "Bearer").status_code == 200
    token.refresh_from_db()
    first_use = token.last_used_at
    assert first_use is not None
    assert api_get(secret).status_code == 200
    token.refresh_from_db()
    assert token.last_used_at == first_use  # at most one write a minute
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now() - timedelta(minutes=5))
    api_get(secret)
    token.refresh_from_db()
    assert token.last_used_at > first_use


@pytest.mark.parametrize("header", ["Token nope", "Token", "Token a b", "Bearer " + "0" * 40])
def test_bad_tokens_are_401(reference, header):
    response = APIClient().get("/api/v1/sectors/", HTTP_AUTHORIZATION=header)
    assert response.status_code == 401 and response.json()["code"] == "authentication_failed"


def test_the_owner_revokes_a_token_and_it_stops_working(client, partner_a):
    client.force_login(partner_a)
    secret = create_on_the_page(client)
    token = ApiToken.objects.get(user=partner_a)
    response = client.post(f"/fr/accounts/tokens/{token.pk}/revoke/")
    assert response.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert api_get(secret).status_code == 401


def test_nobody_revokes_someone_elses_token(client, partner_a, partner_b):
    token, secret = ApiToken.create_for(partner_a, "A's")
    client.force_login(partner_b)
    assert client.post(f"/fr/accounts/tokens/{token.pk}/revoke/").status_code == 404
    assert api_get(secret).status_code == 200
    assert "A's" not in client.get("/fr/accounts/tokens/").content.decode()


def test_the_tokens_page_needs_a_login_and_post_for_changes(client, partner_a):
    assert client.get("/fr/accounts/tokens/").status_code == 302
    client.force_login(partner_a)
    assert client.get("/fr/accounts/tokens/new/").status_code == 405


def test_a_token_name_is_required_and_the_error_is_shown(client, partner_a):
    client.force_login(partner_a)
    response = client.post("/en/accounts/tokens/new/", {"name": ""})
    assert response.status_code == 400 and "This field is required" in response.content.decode()
    assert not ApiToken.objects.exists()


def test_a_user_has_at_most_ten_active_tokens(client, partner_a):
    for n in range(10):
        ApiToken.create_for(partner_a, f"t{n}")
    client.force_login(partner_a)
    assert client.post("/en/accounts/tokens/new/", {"name": "one more"}).status_code == 400
    assert ApiToken.objects.filter(user=partner_a).count() == 10


def test_an_inactive_users_token_stops_working(partner_a):
    _token, secret = ApiToken.create_for(partner_a, "t")
    partner_a.is_active = False
    partner_a.save()
    assert api_get(secret).status_code == 401


def test_an_administrator_revokes_any_token_in_the_admin(client, admin_user, partner_a):
    token, secret = ApiToken.create_for(partner_a, "t")
    client.force_login(admin_user)
    assert client.get("/admin/partners/apitoken/").status_code == 200
    assert client.get("/admin/partners/apitoken/add/").status_code == 403
    response = client.post(
        "/admin/partners/apitoken/", {"action": "revoke_tokens", "_selected_action": [token.pk]}, follow=True
    )
    assert response.status_code == 200
    token.refresh_from_db()
    assert token.revoked_at is not None and api_get(secret).status_code == 401


def test_create_api_token_command_prints_a_working_token(partner_a):
    out = StringIO()
    call_command("create_api_token", partner_a.username, "--name", "INS", stdout=out, stderr=StringIO())
    secret = out.getvalue().strip()
    assert len(secret) == 40 and api_get(secret).status_code == 200
    assert ApiToken.objects.get(user=partner_a).name == "INS"
    with pytest.raises(CommandError):
        call_command("create_api_token", "nobody", stdout=StringIO(), stderr=StringIO())
