"""Programme and sector pages: list with filters and CSV download, detail, sectors."""

from __future__ import annotations

from html import escape
from itertools import groupby

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Prefetch, prefetch_related_objects
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import dateformat, timezone
from django.utils.formats import get_format
from django.utils.functional import cached_property
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from partners.models import Organisation
from regions.models import AdminLevel, cached_reference, country_choices, places, region_choices

from . import money, summary
from .filters import ProgrammeFilter
from .history import programme_history
from .models import (
    ApprovalRoad,
    Document,
    DocumentCategory,
    Participation,
    Programme,
    ProgrammeLocation,
    Role,
    Sector,
)
from .place_views import map_config
from .stats import results_framework
from .templatetags.programme_tables import PROGRAMME_TABLE_FIELDS, detail_url_of, status_labels, whole_amount

PAGE_SIZE = 25
SECTOR_PROGRAMMES_SHOWN = 25


def get_programme_for_user(user, code: str) -> Programme:
    """The programme with this code if the user may see it; otherwise a 404, never a hint."""
    queryset = Programme.objects.visible_to(user).select_related("primary_sector", "iom_focal_point")
    return get_object_or_404(queryset, code=code)


def programme_list_filter(request: HttpRequest) -> ProgrammeFilter:
    """The list page's filters bound to the query string, over the programmes the user may see."""
    return ProgrammeFilter(request.GET, queryset=Programme.objects.visible_to(request.user).for_list(), request=request)


def area_options() -> list[dict]:
    """The area picker's options, grouped by region: "Région › Département › Commune"."""
    groups: list[dict] = []
    for place in places():  # P-code order: every unit right after its parent
        if place.level == AdminLevel.REGION:
            groups.append({"label": place.label, "options": []})
        groups[-1]["options"].append((place.pcode, place.label))
    return groups


def _area_optgroups_html(selected: set[str]) -> str:
    """The 341 place options as HTML, built once per language and reference version; the chosen one is
    marked by substitution."""
    html = cached_reference(
        "area-options-html",
        lambda: "".join(
            f'<optgroup label="{escape(str(g["label"]))}">{_options_html(g["options"], set())}</optgroup>'
            for g in area_options()
        ),
    )
    return _with_selected(html, selected)


def _with_selected(html: str, selected: set[str]) -> str:
    """Options built without a choice (cached), with the chosen values marked (the first option of each value)."""
    for value in selected:
        option = format_html('<option value="{}">', value)
        html = html.replace(option, format_html('<option value="{}" selected>', value), 1)
    return mark_safe(html)  # noqa: S308 — built from escaped values


def _options_html(choices, selected: set[str]) -> str:
    """`<option>`s as Django's select widget writes them (values and labels escaped), without a template or
    format_html per option: the country list alone has 250."""
    return mark_safe(  # noqa: S308 — every value and label is escaped
        "".join(
            f'<option value="{escape(str(value))}"{" selected" if str(value) in selected else ""}>'
            f"{escape(str(label))}</option>"
            for value, label in choices
        )
    )


def _reference_options_html(name: str, choices, selected: set[str]) -> str:
    """The options of a reference list (countries, recipient regions, sectors), built once per language and
    reference version (see `cached_reference`), the chosen ones marked by substitution."""
    return _with_selected(
        cached_reference(f"{name}-options-html", lambda: str(_options_html(choices(), set()))), selected
    )


def filter_controls(filterset: ProgrammeFilter, organisations: list) -> list[dict]:
    """The filter form's controls as Bootstrap HTML, built in Python.

    Django's template-based widgets render each <option> through a template; with the 341 places
    and the partner lists that was most of the list page's time. Same markup, errors and labels.
    """
    form = filterset.form
    org_choices = [(o.code, str(o)) for o in organisations]
    org_options = None
    controls = []
    for bound in form:
        field, name = bound.field, bound.html_name
        value = bound.value()
        selected = {str(v) for v in value} if isinstance(value, list | tuple) else {str(value or "")}
        invalid = " is-invalid" if bound.errors else ""
        described = f"{bound.auto_id}_helptext" if field.help_text else ""
        if bound.errors:
            described = f"{described} {bound.auto_id}_error".strip()
        attrs = format_html(
            'id="{}" name="{}"{}',
            bound.auto_id,
            name,
            format_html(' aria-describedby="{}"', described) if described else "",
        )
        if name == "area":
            groups = _area_optgroups_html(selected)
            blank = format_html('<option value="">{}</option>', _("All of Niger"))
            html = format_html('<select class="form-select{}" {}>{}{}</select>', invalid, attrs, blank, groups)
        elif name in ("country", "region"):
            blank = mark_safe('<option value="">---------</option>')
            choices = country_choices if name == "country" else region_choices
            options = _reference_options_html(name, choices, selected)
            html = format_html('<select class="form-select{}" {}>{}{}</select>', invalid, attrs, blank, options)
        elif name in ("partner", "funder"):
            blank = mark_safe('<option value="">---------</option>')
            if org_options is None:  # the same organisations for both: written once
                org_options = _options_html(org_choices, set())
            options = _with_selected(org_options, selected)
            html = format_html('<select class="form-select{}" {}>{}{}</select>', invalid, attrs, blank, options)
        elif name == "status":
            # Several statuses at once: checkboxes in a fieldset (no Ctrl-click), two columns.
            html = format_html_join(
                "",
                '<div class="form-check form-check-inline status-check"><input class="form-check-input{}" type="checkbox"'
                ' name="{}" id="{}_{}" value="{}"{}><label class="form-check-label" for="{}_{}">{}</label></div>',
                (
                    (
                        invalid,
                        name,
                        bound.auto_id,
                        i,
                        code,
                        " checked" if str(code) in selected else "",
                        bound.auto_id,
                        i,
                        label,
                    )
                    for i, (code, label) in enumerate(field.choices)
                ),
            )
            controls.append(
                {"bound": bound, "html": html, "errors": bound.errors, "help_text": field.help_text, "group": True}
            )
            controls[-1]["block"] = _control_block(controls[-1])
            continue
        elif name == "sector":  # reference data: cached like the places (sectors bump the version when saved)
            options = _reference_options_html(name, field.choices.__iter__, selected)
            html = format_html('<select class="form-select{}" {}>{}</select>', invalid, attrs, options)
        elif hasattr(field, "choices"):
            multiple = mark_safe(' multiple size="4"') if isinstance(value, list) else ""
            options = _options_html(field.choices, selected)
            html = format_html('<select class="form-select{}" {}{}>{}</select>', invalid, attrs, multiple, options)
        else:
            kind = "date" if name.startswith("active_") else "search"
            html = format_html(
                '<input class="form-control{}" type="{}" {} value="{}">', invalid, kind, attrs, value or ""
            )
        controls.append({"bound": bound, "html": html, "errors": bound.errors, "help_text": field.help_text})
        controls[-1]["block"] = _control_block(controls[-1])
    return controls


def _control_block(c: dict) -> str:
    """A control with its label (or legend), errors and help text, as the list page lays each out."""
    bound, auto_id = c["bound"], c["bound"].auto_id
    errors = " ".join(escape(str(e)) for e in c["errors"])
    label = escape(str(bound.label))
    if c.get("group"):
        described = f' aria-describedby="{auto_id}_error"' if errors else ""
        error_html = f'<div class="invalid-feedback d-block" id="{auto_id}_error">{errors}</div>' if c["errors"] else ""
        html = (
            f'<fieldset class="mb-3"{described}>\n  <legend class="form-label fs-6 mb-1">{label}</legend>\n'
            f"  {c['html']}\n  {error_html}\n</fieldset>\n"
        )
        return mark_safe(html)  # noqa: S308 — labels, errors and values escaped; c["html"] is safe
    error_html = ""
    if c["errors"]:
        typed = f" ({escape(str(bound.value()))})" if bound.name == "area" else ""
        error_html = f'<div class="invalid-feedback" id="{auto_id}_error">{errors}{typed}</div>'
    help_html = (
        f'<div class="form-text" id="{auto_id}_helptext">{escape(str(c["help_text"]))}</div>' if c["help_text"] else ""
    )
    html = (
        f'<div class="mb-3">\n  <label class="form-label" for="{auto_id}">{label}</label>\n  {c["html"]}\n'
        f"  {error_html}\n  {help_html}\n</div>\n"
    )
    return mark_safe(html)  # noqa: S308 — labels, errors and values escaped; c["html"] is safe


def _organisations(user) -> list[Organisation]:
    return list(Organisation.objects.visible_to(user).only("code", "acronym", "acronym_en", "name_fr", "name_en"))


def _querystring_without_page(request: HttpRequest) -> str:
    params = request.GET.copy()
    params.pop("page", None)
    return params.urlencode()


class ListPaginator(Paginator):
    """Counts only what the page needs: the exact count when it is known (the summary's total of an unfiltered
    list) or small; otherwise "more than N", counting at most up to the rows after the requested page
    (COUNT over a LIMIT, unordered), so that a filter matching 100,000 programmes costs what 1,000 do."""

    COUNT_UP_TO = 1000

    def __init__(self, object_list, per_page, *, count: int | None = None, wanted=None) -> None:
        super().__init__(object_list, per_page)
        self.known = count
        try:
            self.wanted = max(1, int(wanted or 1))
        except (TypeError, ValueError):
            self.wanted = 1
        self.exact = True

    @cached_property
    def count(self) -> int:
        if self.known is not None:
            return self.known
        limit = max(self.COUNT_UP_TO, (self.wanted + 1) * self.per_page) + 1
        found = self.object_list.order_by()[:limit].count()
        self.exact = found < limit
        return found

    @property
    def shown_count(self) -> int:
        """What the page says: the count, or the N of "more than N"."""
        count = self.count
        return count if self.exact else count - 1


# The list's rows, as programmes/programme_list.html rendered them with one template variable, filter and tag
# per cell (a third of the page's time): the same HTML, written here once per row.
_ROW = (
    '\n    <tr>\n      <td class="text-nowrap" data-label="{l[0]}"><a href="{url}">{code}</a></td>'
    '<td data-label="{l[1]}">{title}</td><td data-label="{l[2]}">{sector}</td>\n'
    '      <td data-label="{l[3]}">{status}</td><td class="text-nowrap small" data-label="{l[4]}">{start} – {end}</td>\n'
    '      <td class="text-end amount" data-label="{l[5]}">{budget} {currency}</td>\n'
    '      <td class="text-end amount" data-label="{l[6]}">{usd}</td>\n    </tr>\n  '
)
_ROW_LABELS = ("Code", "Title", "Sector", "Status", "Period", "Budget", "USD equivalent")


def programme_rows_html(programmes, table: money.RateTable, on) -> str:
    """The <tbody> content of the list: one row per programme (title and sector in the active language,
    dates in its short format, the budget and its US dollar equivalent at the rates in force on `on`)."""
    if not programmes:
        return mark_safe(f'<tr><td colspan="7">{escape(_("No programme matches."))}</td></tr>\n  ')  # noqa: S308
    labels = [escape(_(label)) for label in _ROW_LABELS]
    english = get_language() == "en"
    statuses = status_labels()
    short_date = get_format("SHORT_DATE_FORMAT")
    separator, grouping = get_format("THOUSAND_SEPARATOR"), get_format("NUMBER_GROUPING")
    url_of = detail_url_of()
    rows = []
    for p in programmes:
        sector = p.primary_sector
        usd = None
        if p.budget is not None:
            usd, _used = money.to_usd(p.budget, p.currency, on, table)
        rows.append(
            _ROW.format(
                l=labels,
                url=escape(url_of(p.code)),
                code=escape(p.code),
                title=escape((english and p.title_en) or p.title_fr),
                sector=escape((english and sector.name_en) or sector.name_fr),
                status=escape(statuses.get(p.status, p.status)),
                start=escape(dateformat.format(p.planned_start, short_date)) if p.planned_start else "",
                end=escape(dateformat.format(p.planned_end, short_date)) if p.planned_end else "…",
                budget=whole_amount(p.budget, separator, grouping),
                currency=escape(p.currency),
                usd="—" if usd is None else f"{whole_amount(usd, separator, grouping)} USD",
            )
        )
    return mark_safe("".join(rows))  # noqa: S308 — every value above is escaped


@login_required
@require_safe
def programme_list(request: HttpRequest) -> HttpResponse:
    filterset = programme_list_filter(request)
    valid = filterset.is_valid()
    # Invalid filters show their errors and no rows: a list that ignored them would mislead.
    programmes = filterset.qs if valid else Programme.objects.none()
    known = None
    if valid and filterset.is_plain():
        known = summary.total_programmes(summary.summaries(request.user, "dashboard")["dashboard"])
    paginator = ListPaginator(programmes, PAGE_SIZE, count=known, wanted=request.GET.get("page"))
    if valid and filterset.rank_by() and paginator.count and paginator.exact:
        # Best matches first when the search is specific (at most COUNT_UP_TO matches: ranking reads each
        # match); a broader search keeps the newest first, which the date index serves without reading all.
        paginator.object_list = programmes.ranked(filterset.rank_by())
    page = paginator.get_page(request.GET.get("page"))
    querystring = _querystring_without_page(request)
    form = filterset.form
    more = ("status", "area", "country", "region", "partner", "role", "funder", "active_from", "active_to", "currency")
    context = {
        "budgets": None,
        # "More filters" is open when one of them is set, or when a filter is not valid.
        "more_open": not valid or any(form[name].value() for name in more),
        "page": page,
        "filter": filterset,
        "valid": valid,
        "querystring": querystring,
        "controls": {c["bound"].name: c for c in filter_controls(filterset, _organisations(request.user))},
    }
    if valid:
        # Budgets stay in their currency; beside them their US dollar equivalent at today's rates (stated): each
        # row's, and the page's total from the rows already read (the list never sums every match: it stays fast
        # at any size). One read of the rate table for both.
        rows = list(page)
        table, on = money.RateTable.load(), timezone.localdate()
        context["budgets"] = money.totals(((p.currency, p.budget) for p in rows), on=on, table=table)
        context["rows_html"] = programme_rows_html(rows, table, on)
    return render(request, "programmes/programme_list.html", context)


# --- Detail -----------------------------------------------------------------------------------


@login_required
@require_safe
def programme_detail(request: HttpRequest, code: str) -> HttpResponse:
    programme = get_programme_for_user(request.user, code)
    is_iom = request.user.is_iom_staff
    # On the programme itself, so that the approval road (is the IOM Development Fund a funder?) reads them too.
    prefetch_related_objects(
        [programme],
        Prefetch(
            "participations",
            queryset=Participation.objects.select_related("organisation").order_by("role", "organisation__name_fr"),
        ),
    )
    participations = list(programme.participations.all())
    if is_iom and programme.approval_road == ApprovalRoad.AGREEMENT:
        programme.remember_approval_basis()  # shown by the approval card, checked by the status actions: read once
    locations = list(
        ProgrammeLocation.objects.filter(programme=programme)
        .select_related("admin_unit__parent__parent")
        .defer("admin_unit__boundary", "admin_unit__parent__boundary", "admin_unit__parent__parent__boundary")
    )
    documents = Document.objects.visible_to(request.user).filter(programme=programme).order_by("category", "title")
    context = {
        "programme": programme,
        "is_iom": is_iom,
        "secondary_sectors": programme.secondary_sectors.all(),
        "partners_by_role": [
            {"role": Role(role).label, "participations": list(rows)}
            for role, rows in groupby(participations, key=lambda p: p.role)
        ],
        "locations": locations,
        "recipient_countries": programme.recipient_countries.select_related("country"),
        "recipient_regions": programme.recipient_regions.select_related("region"),
        "documents": documents,
        "results": results_framework(programme, disaggregated=is_iom),
        "history": programme_history(programme, iom=is_iom),
        "map_config": map_config(highlight=[location.admin_unit.pcode for location in locations]),
        "budget_usd": money.totals([(programme.currency, programme.budget)]),
    }
    if is_iom:  # what was spent is IOM's own accounting
        context["spending"] = money.spending([programme])[programme.pk]
    return render(request, "programmes/programme_detail.html", context)


# --- Sectors ----------------------------------------------------------------------------------


@login_required
@require_safe
def sector_list(request: HttpRequest) -> HttpResponse:
    counts = summary.summaries(request.user, "sectors")["sectors"]
    rows = [
        {"sector": sector, **counts.data.get(str(sector.pk), {"all": 0, "active": 0})}
        for sector in Sector.objects.all()
    ]
    return render(
        request,
        "programmes/sector_list.html",
        {"rows": rows, "computed_at": counts.computed_at, "figures_stale": counts.stale},
    )


@login_required
@require_safe
def sector_detail(request: HttpRequest, code: str) -> HttpResponse:
    sector = Sector.objects.filter(code=code).first()
    if sector is None:
        raise Http404
    programmes = Programme.objects.visible_to(request.user).in_sector(sector)
    visible = Document.objects.visible_to(request.user).filter(sector=sector)
    documents = visible.current().select_related("replaces").order_by("category", "title")
    parts = summary.summaries(request.user, "sectors", f"sector:{sector.code}")
    counts = parts["sectors"].data.get(str(sector.pk), {"all": 0, "active": 0})
    context = {
        "sector": sector,
        "programmes": programmes.only(*PROGRAMME_TABLE_FIELDS)[:SECTOR_PROGRAMMES_SHOWN],
        "programme_count": counts["all"],
        "active_count": counts["active"],
        "computed_at": parts["sectors"].computed_at,
        "figures_stale": any(part.stale for part in parts.values()),
        "guidance": [d for d in documents if d.category in (DocumentCategory.GUIDANCE, DocumentCategory.STANDARD)],
        "other_documents": [
            d for d in documents if d.category not in (DocumentCategory.GUIDANCE, DocumentCategory.STANDARD)
        ],
        "earlier_documents": visible.exclude(pk__in=[d.pk for d in documents]).order_by("title", "-version"),
        "key_figures": sector.key_figures.filter(is_published=True),
        "live_indicators": summary.key_rows(parts[f"sector:{sector.code}"].data["key_indicators"]),
    }
    return render(request, "programmes/sector_detail.html", context)
