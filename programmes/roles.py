"""The role groups of IOM staff and the permissions each gives: officers edit programmes, viewers read.

Created on a fresh installation by migration programmes.0004; administrators then put colleagues in
them from the Django admin (see README, "Giving a colleague rights"). The review groups (review
managers, approvers, technical experts) are defined beside the review workflow, in reviews/reference.py.
"""

from __future__ import annotations

from django.apps import apps as global_apps

PROGRAMME_OFFICERS = "IOM programme officers"
VIEWERS = "IOM viewers"

# Every IOM role reads the programmes, the partners and the gazetteer...
READ_APPS = ("programmes", "partners", "regions")
# ...but user accounts and API keys are managed by administrators only.
NEVER_READ = ("view_user", "view_apitoken")
# Programme officers add, change and delete every part of a programme; reference lists (sectors, key
# figures) and the status history (written only by the lifecycle) stay with administrators.
NOT_EDITED = ("sector", "keyfigure", "programmestatuschange")


def read_permissions(permission_model) -> list:
    """The view permissions every IOM role has."""
    return list(
        permission_model.objects.filter(codename__startswith="view_", content_type__app_label__in=READ_APPS).exclude(
            codename__in=NEVER_READ
        )
    )


def edit_permissions(permission_model) -> list:
    """Add, change, delete and view permissions on the parts of a programme."""
    return list(
        permission_model.objects.filter(content_type__app_label="programmes").exclude(
            content_type__model__in=NOT_EDITED
        )
    )


def grant(group_model, name: str, permissions) -> object:
    """The group of this name with at least these permissions (never removes what an administrator added)."""
    group, _ = group_model.objects.get_or_create(name=name)
    group.permissions.add(*permissions)
    return group


def ensure_role_groups(apps=global_apps) -> dict:
    """Create the IOM staff groups with their permissions; idempotent. Migrations pass their `apps`."""
    group, permission = apps.get_model("auth", "Group"), apps.get_model("auth", "Permission")
    read = read_permissions(permission)
    return {
        PROGRAMME_OFFICERS: grant(group, PROGRAMME_OFFICERS, [*read, *edit_permissions(permission)]),
        VIEWERS: grant(group, VIEWERS, read),
    }


def create_missing_permissions(apps, *app_labels: str) -> None:
    """Inside a migration, make the content types and permissions that Django creates only after `migrate`."""
    from django.contrib.auth.management import create_permissions
    from django.contrib.contenttypes.management import create_contenttypes

    for label in app_labels:
        config = global_apps.get_app_config(label)
        create_contenttypes(config, verbosity=0, apps=apps)
        create_permissions(config, verbosity=0, apps=apps)
