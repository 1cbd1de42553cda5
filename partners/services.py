"""Workflows on organisations that have rules: creating one from an import (every door uses the model's rules)."""

from __future__ import annotations

from django.db import transaction
from django.utils.text import slugify

from .models import DEFAULT_IATI_TYPE, IatiOrganisationType, Organisation, OrganisationCategory

# IATI OrganisationType → the portal's category, for organisations first met in an imported file.
CATEGORY_FROM_IATI_TYPE = {
    "10": OrganisationCategory.NATIONAL_GOVERNMENT,
    "11": OrganisationCategory.LOCAL_AUTHORITY,
    "15": OrganisationCategory.NATIONAL_GOVERNMENT,
    "21": OrganisationCategory.NGO,
    "22": OrganisationCategory.NGO,
    "23": OrganisationCategory.NGO,
    "24": OrganisationCategory.NGO,
    "40": OrganisationCategory.UN_MULTILATERAL,
    "60": OrganisationCategory.NGO,
    "70": OrganisationCategory.PRIVATE_SECTOR,
    "71": OrganisationCategory.PRIVATE_SECTOR,
    "72": OrganisationCategory.PRIVATE_SECTOR,
    "73": OrganisationCategory.PRIVATE_SECTOR,
    "80": OrganisationCategory.ACADEMIC,
}


def _free_code(base: str) -> str:
    base = slugify(base)[:34] or "organisation"
    code, n = base, 1
    while Organisation.objects.filter(code=code).exists():
        n += 1
        code = f"{base}-{n}"
    return code


def organisation_create(
    *, user, name: str, iati_identifier: str = "", iati_type: str = "", funder: bool = False, code_hint: str = ""
) -> Organisation:
    """A new organisation named by an import the user confirmed; validated like any other (full_clean)."""
    if funder:
        category = OrganisationCategory.DONOR if iati_type in ("10", "") else CATEGORY_FROM_IATI_TYPE.get(iati_type)
    else:
        category = CATEGORY_FROM_IATI_TYPE.get(iati_type, OrganisationCategory.NGO)
    category = category or OrganisationCategory.NGO
    if iati_type not in IatiOrganisationType.values:
        iati_type = DEFAULT_IATI_TYPE[category]
    with transaction.atomic():
        organisation = Organisation(
            code=_free_code(code_hint or name),
            name_fr=name[:255],
            name_en=name[:255],
            category=category,
            iati_type=iati_type,
            iati_identifier=iati_identifier[:100],
        )
        organisation.full_clean()
        organisation.save()
    return organisation
