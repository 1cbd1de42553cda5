"""IATI organisation identifiers: `{registration agency}-{identifier at that agency}`, e.g. XM-DAC-47066.

The agencies are those of the IATI OrganisationRegistrationAgency codelist (partners/data, derived from
the IATI Standard, CC BY 4.0). Bodies of the government of Niger are identified under the agency the
codelist gives for Niger's public bodies: NE-COA, Niger's chart of accounts (NE-DGI, the tax register,
is for companies and associations).
"""

from __future__ import annotations

import csv
import functools
import re
from pathlib import Path

from django.utils.translation import gettext as _

AGENCIES_CSV = Path(__file__).resolve().parent / "data" / "iati_registration_agencies.csv"
NIGER_GOVERNMENT_AGENCY = "NE-COA"
# The IATI rulesets' pattern for identifiers (no /, &, | or ?), and no spaces.
IDENTIFIER_PATTERN = re.compile(r"^[^/&|?\s]+$")


@functools.cache
def registration_agencies() -> frozenset[str]:
    with AGENCIES_CSV.open(encoding="utf-8", newline="") as handle:
        return frozenset(row["code"] for row in csv.DictReader(handle) if row["status"] == "active")


def agency_of(identifier: str) -> str | None:
    """The registration agency an identifier starts with (the longest that matches), or None."""
    matches = [code for code in registration_agencies() if identifier.startswith(f"{code}-")]
    return max(matches, key=len) if matches else None


def identifier_errors(identifier: str, *, niger_government: bool) -> list[str]:
    """Why this is not a usable IATI organisation identifier ([] when it is, or when it is empty)."""
    if not identifier:
        return []
    if not IDENTIFIER_PATTERN.match(identifier):
        return [_("An IATI identifier has no spaces and none of the characters / & | ?.")]
    agency = agency_of(identifier)
    if agency is None or len(identifier) <= len(agency) + 1:
        return [
            _(
                "Start with the code of the registration agency from the IATI codelist, then a hyphen and the "
                "organisation's number there, e.g. XM-DAC-47066."
            )
        ]
    if niger_government and agency != NIGER_GOVERNMENT_AGENCY:
        return [
            _(
                "A body of the government of Niger is identified under %(agency)s (Niger's chart of accounts, "
                "the IATI registration agency for Niger's public bodies), e.g. %(agency)s-<code>."
            )
            % {"agency": NIGER_GOVERNMENT_AGENCY}
        ]
    return []
