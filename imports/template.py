"""The spreadsheet template users fill in: headers in their language, an HXL row, and the allowed values."""

from __future__ import annotations

import io

from django.http import HttpResponse
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.worksheet.datavalidation import DataValidation

from programmes.models import Role, Sector, Status
from regions.models import AdminUnit


def template_columns() -> list[tuple[str, str]]:
    """(header, HXL hashtag) of the template, in the order of the portal's own 3W export."""
    return [
        (_("Programme code"), "#activity+code"),
        (_("Programme"), "#activity+name"),
        (_("Sector code"), "#sector+code"),
        (_("Implementing organisation"), "#org+impl+name"),
        (_("Funding organisation"), "#org+funder+name"),
        (_("Region P-code"), "#adm1+code"),
        (_("Department P-code"), "#adm2+code"),
        (_("Commune P-code"), "#adm3+code"),
        (_("Status"), "#status"),
        (_("Start"), "#date+start"),
        (_("End"), "#date+end"),
        (_("Budget"), "#value+budget"),
        (_("Currency"), "#currency"),
    ]


def build_template() -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = _("Programmes")[:31]
    columns = template_columns()
    sheet.append([header for header, _tag in columns])
    sheet.append([tag for _header, tag in columns])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = "A3"
    for index, (header, _tag) in enumerate(columns, start=1):
        sheet.column_dimensions[sheet.cell(row=1, column=index).column_letter].width = max(14, len(header) + 2)
    values = workbook.create_sheet(_("Allowed values")[:31])
    values.append([_("Sector code"), _("Sector"), _("Status"), _("Role"), _("P-code"), _("Place")])
    for cell in values[1]:
        cell.font = Font(bold=True)
    sectors = [(s.code, s.name) for s in Sector.objects.all()]
    statuses = [str(label) for _value, label in Status.choices]
    roles = [str(label) for _value, label in Role.choices]
    places = list(AdminUnit.objects.without_boundary().values_list("pcode", "name_fr"))
    for row in range(max(len(sectors), len(statuses), len(roles), len(places))):
        values.append(
            [
                *(sectors[row] if row < len(sectors) else ("", "")),
                statuses[row] if row < len(statuses) else "",
                roles[row] if row < len(roles) else "",
                *(places[row] if row < len(places) else ("", "")),
            ]
        )
    # Drop-downs for the coded columns (sector code and status), from the allowed-values sheet.
    sector_list = DataValidation(
        type="list", formula1=f"='{values.title}'!$A$2:$A${len(sectors) + 1}", allow_blank=True
    )
    status_list = DataValidation(
        type="list", formula1=f"='{values.title}'!$C$2:$C${len(statuses) + 1}", allow_blank=True
    )
    sheet.add_data_validation(sector_list)
    sheet.add_data_validation(status_list)
    sector_list.add("C3:C5000")
    status_list.add("I3:I5000")
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def sheet_template_response(user) -> HttpResponse:
    response = HttpResponse(
        build_template(), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response["Content-Disposition"] = 'attachment; filename="iom-niger-programmes-template.xlsx"'
    return response
