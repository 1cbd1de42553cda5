"""The door-parity harness of results reporting: one step of a report's life tried through the reporting
pages, the API, the Django admin and the services directly.

A `Step` says what to do in words every door understands (open a period, save values, submit, approve,
return or unlock with a reason); each door function turns it into that door's request and returns an
`Answer` (status and text, French). `snapshot()` reads every row a reporting step could write, so a
test shows that a refused step left the database as it was.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, field
from datetime import date

from auditlog.models import LogEntry
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import translation

from programmes.models import IndicatorValue, LockBefore, PeriodLock, Programme
from reporting import services
from reporting.models import ResultsReport, ResultsReportStep, ResultsReportValue

from .api_support import token_client
from .parity_support import Answer

DOORS = ("page", "API", "admin", "service")


@dataclass
class Step:
    operation: str  # open | save | submit | approve | return | unlock
    programme: Programme | None = None  # open
    period: tuple[date, date] | None = None  # open
    report: ResultsReport | None = None  # every other operation
    values: list[dict] = field(default_factory=list)  # {"indicator": pk, "achieved": "1", "sex", "age_group"}
    reason: str = ""


def snapshot() -> dict[str, list]:
    models = [ResultsReport, ResultsReportValue, ResultsReportStep, PeriodLock, LockBefore, IndicatorValue, LogEntry]
    return {model._meta.label: list(model.objects.order_by("pk").values()) for model in models}


def _cell(row: dict) -> str:
    return f"v{row['indicator']}-{row.get('sex', 'all')}-{row.get('age_group', 'all')}"


def _stored_rows(report: ResultsReport) -> list[dict]:
    return [
        {"indicator": v.indicator_id, "sex": v.sex, "age_group": v.age_group, "achieved": v.achieved}
        for v in report.values.all()
    ]


# --- The reporting pages -------------------------------------------------------------------------


def through_page(client, user, step: Step) -> Answer:
    client.force_login(user)
    if step.operation == "open":
        url = f"/fr/reporting/programmes/{step.programme.code}/new/"
        data = {"period_start": step.period[0].isoformat(), "period_end": step.period[1].isoformat()}
    elif step.operation in ("save", "submit"):
        url = f"/fr/reporting/{step.report.pk}/"
        rows = step.values if step.operation == "save" else _stored_rows(step.report)
        data = {"action": step.operation}
        for row in rows:
            data[f"{_cell(row)}-achieved"] = "" if row.get("achieved") is None else str(row["achieved"])
            data[f"{_cell(row)}-comment"] = row.get("comment", "")
    else:
        url = f"/fr/reporting/{step.report.pk}/decision/"
        data = {"action": step.operation, "reason": step.reason}
    response = client.post(url, data, HTTP_ACCEPT_LANGUAGE="fr")
    return Answer(response.status_code, html.unescape(response.content.decode()))


# --- The REST API --------------------------------------------------------------------------------


def through_api(client_unused, user, step: Step) -> Answer:
    client = token_client(user, "fr")
    base = "/api/v1/results-reports/"
    if step.operation == "open":
        body = {
            "programme": step.programme.code,
            "period_start": step.period[0].isoformat(),
            "period_end": step.period[1].isoformat(),
        }
        response = client.post(base, body, format="json")
    elif step.operation == "save":
        values = [{**row, "achieved": str(row["achieved"])} for row in step.values]
        response = client.patch(f"{base}{step.report.pk}/", {"values": values}, format="json")
    else:
        body = {"reason": step.reason} if step.operation in ("return", "unlock") else {}
        response = client.post(f"{base}{step.report.pk}/{step.operation}/", body, format="json")
    return Answer(response.status_code, json.dumps(response.json(), ensure_ascii=False))


# --- The Django admin ----------------------------------------------------------------------------

ADMIN_ACTIONS = {
    "submit": "submit_reports",
    "approve": "approve_reports",
    "return": "return_reports",
    "unlock": "unlock_reports",
}


def through_admin(client, user, step: Step) -> Answer:
    client.force_login(user)
    base = "/admin/reporting/resultsreport/"
    if step.operation == "open":
        url = f"{base}add/"
        data = {
            "programme": str(step.programme.pk),
            "period_start": step.period[0].isoformat(),
            "period_end": step.period[1].isoformat(),
            "_save": "Enregistrer",
        }
    elif step.operation == "save":
        url = f"{base}{step.report.pk}/change/"
        data = {
            "values-TOTAL_FORMS": str(len(step.values)),
            "values-INITIAL_FORMS": "0",
            "values-MIN_NUM_FORMS": "0",
            "values-MAX_NUM_FORMS": "1000",
            "steps-TOTAL_FORMS": "0",
            "steps-INITIAL_FORMS": "0",
            "steps-MIN_NUM_FORMS": "0",
            "steps-MAX_NUM_FORMS": "0",
            "_save": "Enregistrer",
        }
        for index, row in enumerate(step.values):
            data.update(
                {
                    f"values-{index}-indicator": str(row["indicator"]),
                    f"values-{index}-sex": row.get("sex", "all"),
                    f"values-{index}-age_group": row.get("age_group", "all"),
                    f"values-{index}-achieved": str(row["achieved"]),
                    f"values-{index}-comment": row.get("comment", ""),
                }
            )
    else:
        url = base
        data = {
            "action": ADMIN_ACTIONS[step.operation],
            "_selected_action": [str(step.report.pk)],
            "confirmed": "1",
            "reason": step.reason,
        }
    response = client.post(url, data, HTTP_ACCEPT_LANGUAGE="fr")
    return Answer(response.status_code, html.unescape(response.content.decode()))


# --- The services, called directly (the importer's and tasks' way) --------------------------------


def through_service(client_unused, user, step: Step) -> Answer:
    report = ResultsReport.objects.get(pk=step.report.pk) if step.report else None
    with translation.override("fr"):
        try:
            if step.operation == "open":
                services.results_report_open(
                    programme=step.programme, user=user, period_start=step.period[0], period_end=step.period[1]
                )
            elif step.operation == "save":
                values = [
                    services.ReportedValue(
                        indicator=row["indicator"],
                        achieved=row["achieved"],
                        sex=row.get("sex", "all"),
                        age_group=row.get("age_group", "all"),
                    )
                    for row in step.values
                ]
                services.results_report_save(report=report, user=user, values=values)
            elif step.operation == "submit":
                services.results_report_submit(report=report, user=user)
            elif step.operation == "approve":
                services.results_report_approve(report=report, user=user)
            elif step.operation == "return":
                services.results_report_return(report=report, user=user, reason=step.reason)
            else:
                services.results_report_unlock(report=report, user=user, reason=step.reason)
        except PermissionDenied as refused:
            return Answer(403, str(refused))
        except ValidationError as refused:
            return Answer(400, " ".join(refused.messages))
    return Answer(200, "")


DOOR_FUNCTIONS = {"page": through_page, "API": through_api, "admin": through_admin, "service": through_service}
