"""Role groups come from migrations, so a real deployment can give rights from the admin with no demo data."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from partners.models import User
from programmes.roles import PROGRAMME_OFFICERS, VIEWERS

from .admin_support import posted_form_data

ROOT = Path(__file__).resolve().parent.parent
# The fresh database below takes a `migrate` from scratch: build it once, in one pytest-xdist worker, not in both.
pytestmark = pytest.mark.xdist_group("fresh-database")

# Prints each group with its permissions, read from the database the command runs on.
DUMP_GROUPS = (
    "import json; from django.contrib.auth.models import Group; "
    "print(json.dumps({g.name: sorted(f'{p.content_type.app_label}.{p.codename}' for p in g.permissions.all()) "
    "for g in Group.objects.all()}))"
)


@pytest.fixture(scope="module")
def fresh_groups(tmp_path_factory) -> dict[str, list[str]]:
    """The groups of a brand-new SQLite database after `migrate` and `load_reference_data` only."""
    database = tmp_path_factory.mktemp("fresh") / "fresh.sqlite3"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{database}", "DEBUG": "1"}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    for command in (["migrate", "--noinput", "-v0"], ["load_reference_data"], ["shell", "-c", DUMP_GROUPS]):
        done = subprocess.run(
            [sys.executable, "manage.py", *command], cwd=ROOT, env=env, capture_output=True, text=True, check=False
        )
        assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_fresh_database_has_every_role_group_without_demo_data(fresh_groups):
    assert set(fresh_groups) == {
        PROGRAMME_OFFICERS,
        VIEWERS,
        "Review managers",
        "Approvers",
        "Technical experts",
        "IOM results validators",
    }
    assert "reporting.validate_resultsreport" in fresh_groups["IOM results validators"]
    assert "reporting.validate_resultsreport" not in fresh_groups[PROGRAMME_OFFICERS]


def test_programme_officers_can_change_programmes_and_their_parts_but_not_reference_lists(fresh_groups):
    officers = set(fresh_groups[PROGRAMME_OFFICERS])
    for part in ("programme", "participation", "programmelocation", "indicator", "indicatorvalue", "document"):
        assert {f"programmes.add_{part}", f"programmes.change_{part}", f"programmes.delete_{part}"} <= officers
    assert "programmes.change_sector" not in officers and "programmes.view_sector" in officers
    assert "partners.view_organisation" in officers and "regions.view_adminunit" in officers
    assert "partners.view_user" not in officers and "partners.view_apitoken" not in officers


def test_viewers_and_reviewers_only_read_programmes(fresh_groups):
    for name in (VIEWERS, "Review managers", "Approvers", "Technical experts"):
        permissions = set(fresh_groups[name])
        assert "programmes.view_programme" in permissions and "partners.view_organisation" in permissions, name
        assert not {p for p in permissions if p.startswith("programmes.") and not p.startswith("programmes.view_")}
        assert "partners.view_user" not in permissions
    assert "reviews.change_reviewerprofile" in fresh_groups["Review managers"]
    assert "reviews.change_reviewerprofile" not in fresh_groups["Technical experts"]


def _admin_creates_colleague(client, admin_user, username: str, group: str) -> User:
    client.force_login(admin_user)
    response = client.post(
        reverse("admin:partners_user_add"),
        {
            "username": username,
            "usable_password": "true",
            "password1": "a-long-colleague-password-2026",
            "password2": "a-long-colleague-password-2026",
            "preferred_language": "fr",
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    user = User.objects.get(username=username)
    change_url = reverse("admin:partners_user_change", args=[user.pk])
    data = posted_form_data(client.get(change_url).context["adminform"].form)
    data.update({"is_staff": "on", "groups": [str(Group.objects.get(name=group).pk)]})
    response = client.post(change_url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    client.logout()
    return User.objects.get(pk=user.pk)


def test_an_administrator_gives_a_new_colleague_edit_rights_in_the_admin(client, admin_user, programme_a):
    colleague = _admin_creates_colleague(client, admin_user, "nadia.officer", PROGRAMME_OFFICERS)
    assert colleague.is_staff and colleague.can_edit_programmes

    client.force_login(colleague)
    assert client.get(reverse("programmes:edit", args=[programme_a.code])).status_code == 200
    edit_url = reverse("programmes:edit", args=[programme_a.code])
    assert edit_url in client.get(programme_a.get_absolute_url()).content.decode()  # the Edit button shows


def test_a_colleague_put_in_iom_viewers_reads_but_gets_403_on_the_edit_page(client, admin_user, programme_a):
    colleague = _admin_creates_colleague(client, admin_user, "omar.viewer", VIEWERS)
    assert colleague.is_staff and not colleague.can_edit_programmes

    client.force_login(colleague)
    assert client.get(programme_a.get_absolute_url()).status_code == 200
    assert client.get(reverse("programmes:edit", args=[programme_a.code])).status_code == 403
