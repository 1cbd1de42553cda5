"""The validators' role group: IOM staff who approve or return results reports (and lift period locks)."""

from __future__ import annotations

from django.apps import apps as global_apps

from programmes.roles import create_missing_permissions, grant, read_permissions

VALIDATORS = "IOM results validators"


def ensure_validator_group(apps=global_apps):
    """Create the validators' group with the validation right and read access; idempotent."""
    group, permission = apps.get_model("auth", "Group"), apps.get_model("auth", "Permission")
    rights = permission.objects.filter(
        content_type__app_label="reporting", codename__in=["validate_resultsreport", "view_resultsreport"]
    )
    return grant(group, VALIDATORS, [*read_permissions(permission), *rights])


__all__ = ["VALIDATORS", "create_missing_permissions", "ensure_validator_group"]
