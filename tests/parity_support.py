"""The door-parity harness: one change of a programme, tried through the edit page, the API, the admin and
the services directly.

A `Change` says what to change in words every door understands (sector codes, usernames, organisation
codes, P-codes); each door function turns it into that door's request and returns what the user sees:
the status code and the text of the answer. `snapshot()` reads every table a programme change could
touch, so a test can show that a refused change left the database as it was.

To add a rule, add a row to RULES in tests/test_door_parity.py (a setup function may prepare the
programme, e.g. put it under review).
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass, field
from typing import Any

from auditlog.models import LogEntry
from django.db.models import Model

from partners.models import Organisation, User
from programmes.models import (
    Document,
    Indicator,
    IndicatorValue,
    Outcome,
    Output,
    Participation,
    Programme,
    ProgrammeLocation,
    ProgrammeStatusChange,
    RecipientCountry,
    RecipientRegion,
    Sector,
)
from regions.models import AdminUnit
from reviews.models import BudgetLine

from .api_support import token_client
from .edit_support import form_data

DOORS = ("edit page", "API", "admin", "service")


@dataclass
class Change:
    """A change to a programme: own fields, and the lists to replace (None leaves a list as it is)."""

    fields: dict[str, Any] = field(default_factory=dict)  # primary_sector: code; iom_focal_point: username
    secondary_sectors: list[str] | None = None  # sector codes
    participations: list[dict] | None = None  # {"organisation": code, "role": ..., "contribution": "..."}
    locations: list[str] | None = None  # P-codes
    recipient_countries: list[dict] | None = None  # {"country": "NE", "percentage": "100"}
    recipient_regions: list[dict] | None = None  # {"region": "289", "percentage": "100"}


@dataclass
class Answer:
    status: int
    text: str  # the page, HTML entities decoded, or the API's JSON body

    def shows(self, message: str) -> bool:
        return message in self.text

    def errors(self) -> list[str]:
        """The error texts of the answer (for assertion messages)."""
        if self.text.startswith("{"):
            return [self.text]
        return re.findall(
            r'class="[^"]*(?:errorlist|invalid-feedback|alert-danger)[^"]*"[^>]*>(.*?)</', self.text, re.S
        )


def snapshot() -> dict[str, list]:
    """Every row a programme change could write, in a stable order (history entries included)."""
    models: list[type[Model]] = [
        Programme,
        Programme.secondary_sectors.through,
        Participation,
        ProgrammeLocation,
        RecipientCountry,
        RecipientRegion,
        Document,
        Outcome,
        Output,
        Indicator,
        IndicatorValue,
        ProgrammeStatusChange,
        BudgetLine,
        LogEntry,
    ]
    return {model._meta.label: list(model.objects.order_by("pk").values()) for model in models}


# --- The edit page -------------------------------------------------------------------------------


def through_edit_page(client, user, programme: Programme, change: Change) -> Answer:
    client.force_login(user)
    url = f"/fr/programmes/{programme.code}/edit/"
    page = client.get(url)
    # Under review the page redirects: post what a tab opened before the submission would post.
    data = form_data(page.content.decode()) if page.status_code == 200 else _unlocked_form(client, user, programme)
    _apply_to_form(data, change, prefixes={"participations": "participations", "locations": "locations"})
    if change.locations is not None:
        for index, pcode in enumerate(change.locations):
            data[f"locations-{index}-admin_unit"] = pcode
    response = client.post(url, data)
    return Answer(response.status_code, html.unescape(response.content.decode()))


def _unlocked_form(client, user, programme: Programme) -> dict:
    """The form as it was before the programme was put under review (what an open tab would post)."""
    status = Programme.objects.get(pk=programme.pk).status
    Programme.objects.filter(pk=programme.pk).update(status="pipeline")
    try:
        return form_data(client.get(f"/fr/programmes/{programme.code}/edit/").content.decode())
    finally:
        Programme.objects.filter(pk=programme.pk).update(status=status)


# --- The REST API --------------------------------------------------------------------------------


def through_api(client_unused, user, programme: Programme, change: Change) -> Answer:
    client = token_client(user, "fr")
    url = f"/api/v1/programmes/{programme.code}/"
    etag = client.get(url)["ETag"]
    body: dict[str, Any] = dict(change.fields)
    if change.secondary_sectors is not None:
        body["secondary_sectors"] = change.secondary_sectors
    if change.participations is not None:
        body["participations"] = change.participations
    if change.locations is not None:
        body["locations"] = change.locations
    for name in ("recipient_countries", "recipient_regions"):
        if getattr(change, name) is not None:
            body[name] = getattr(change, name)
    response = client.patch(url, body, format="json", HTTP_IF_MATCH=etag)
    return Answer(response.status_code, json.dumps(response.json(), ensure_ascii=False))


# --- The Django admin ----------------------------------------------------------------------------


def through_admin(client, user, programme: Programme, change: Change) -> Answer:
    client.force_login(user)
    url = f"/admin/programmes/programme/{programme.pk}/change/"
    page = client.get(url, HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    # The admin's form has its own id; read it as the edit page's reader reads the programme form.
    data = form_data(page.replace('id="programme_form"', 'id="programme-form"'))
    data = {k: v for k, v in data.items() if "__prefix__" not in k}
    _apply_to_form(data, change, prefixes={"participations": "participations", "locations": "locations"})
    if change.locations is not None:
        for index, pcode in enumerate(change.locations):
            data[f"locations-{index}-admin_unit"] = str(AdminUnit.objects.get(pcode=pcode).pk)
    data["_save"] = "Enregistrer"
    response = client.post(url, data, HTTP_ACCEPT_LANGUAGE="fr")
    return Answer(response.status_code, html.unescape(response.content.decode()))


# --- The services, called directly (the importer's way) ------------------------------------------


def through_service(client_unused, user, programme: Programme, change: Change) -> Answer:
    """The change as typed values handed to programme_update; a refusal answers 400 (403: no right) with
    the French messages."""
    from decimal import Decimal

    from django.core.exceptions import PermissionDenied, ValidationError
    from django.utils import translation

    from programmes import services

    fields: dict[str, Any] = {}
    for name, value in change.fields.items():
        if name == "primary_sector":
            value = Sector.objects.get(code=value)
        elif name == "iom_focal_point":
            value = User.objects.get(username=value) if value else None
        elif isinstance(value, str):
            value = Programme._meta.get_field(name).to_python(value)
        fields[name] = value
    parts: dict[str, Any] = {}
    if change.secondary_sectors is not None:
        parts["secondary_sectors"] = [Sector.objects.get(code=code) for code in change.secondary_sectors]
    if change.participations is not None:
        parts["participations"] = [
            {
                **row,
                "organisation": Organisation.objects.get(code=row["organisation"]),
                "contribution": Decimal(row["contribution"]) if row.get("contribution") else None,
            }
            for row in change.participations
        ]
    if change.locations is not None:
        parts["locations"] = [AdminUnit.objects.get(pcode=pcode) for pcode in change.locations]
    for name in ("recipient_countries", "recipient_regions"):
        if getattr(change, name) is not None:
            parts[name] = getattr(change, name)
    current = Programme.objects.get(pk=programme.pk)
    with translation.override("fr"):
        try:
            services.programme_update(
                programme=current, user=user, expected_version=current.version, fields=fields, **parts
            )
        except PermissionDenied as refused:
            return Answer(403, str(refused))
        except ValidationError as refused:
            return Answer(400, " ".join(refused.messages))
    return Answer(200, "")


# --- Shared by the two HTML doors ----------------------------------------------------------------


def _apply_to_form(data: dict, change: Change, *, prefixes: dict[str, str]) -> None:
    for name, value in change.fields.items():
        if name == "primary_sector":
            value = str(Sector.objects.get(code=value).pk)
        elif name == "iom_focal_point":
            value = str(User.objects.get(username=value).pk) if value else ""
        data[name] = "" if value is None else str(value)
    if change.secondary_sectors is not None:
        data["secondary_sectors"] = [str(Sector.objects.get(code=code).pk) for code in change.secondary_sectors]
    if change.participations is not None:
        rows = [
            {
                "organisation": str(Organisation.objects.get(code=row["organisation"]).pk),
                "role": row["role"],
                "contribution": row.get("contribution") or "",
                "notes": row.get("notes", ""),
            }
            for row in change.participations
        ]
        _replace_rows(data, prefixes["participations"], rows)
        for index, row in enumerate(change.participations):  # a tick box: posted when ticked only
            if row.get("reports_results") is False:
                data.pop(f"{prefixes['participations']}-{index}-reports_results", None)
            elif row.get("reports_results"):
                data[f"{prefixes['participations']}-{index}-reports_results"] = "on"
    if change.locations is not None:
        _replace_rows(data, prefixes["locations"], [{} for _ in change.locations])
    for name in ("recipient_countries", "recipient_regions"):
        if getattr(change, name) is not None:
            _replace_rows(data, name, [{k: str(v) for k, v in row.items()} for row in getattr(change, name)])


def _replace_rows(data: dict, prefix: str, rows: list[dict]) -> None:
    """Rows 0..n-1 take the given values (existing rows are overwritten); further existing rows are deleted."""
    initial = int(data.get(f"{prefix}-INITIAL_FORMS", 0))
    data[f"{prefix}-TOTAL_FORMS"] = str(max(initial, len(rows)))
    for index in range(max(initial, len(rows))):
        if index < len(rows):
            for name, value in rows[index].items():
                data[f"{prefix}-{index}-{name}"] = value
            data.pop(f"{prefix}-{index}-DELETE", None)
        else:
            data[f"{prefix}-{index}-DELETE"] = "on"


DOOR_FUNCTIONS = {
    "edit page": through_edit_page,
    "API": through_api,
    "admin": through_admin,
    "service": through_service,
}

# A refusal is a client error at every door: the edit page and the admin show the form again with the
# messages (400, core/admin_doors.py), the API answers its JSON error, the service raises.
REFUSED = {door: (lambda status: 400 <= status < 500) for door in DOOR_FUNCTIONS}
