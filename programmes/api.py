"""REST API of programmes (with partners, places and results), thematic sectors and key figures."""

from __future__ import annotations

import re
from collections.abc import Mapping

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models import Prefetch
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.drainage import set_override
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings

from core.api import (
    LIST_ERRORS,
    READ_ERRORS,
    WRITE_ERRORS,
    Conflict,
    EditConflict,
    PreconditionFailed,
    PreconditionRequired,
    error_responses,
    if_match_passes,
    if_match_tags,
    if_none_match_hits,
    lookup_or_404,
)
from partners.models import Organisation, User, is_iom_staff
from regions.models import PCODE_REGEX, AdminUnit, pcode_validator

from . import edit_merge, money, services, stats, summary
from .filters import ProgrammeFilter
from .models import (
    ApprovalRoad,
    Indicator,
    IndicatorValue,
    KeyFigure,
    Measure,
    Outcome,
    Output,
    Participation,
    Programme,
    ProgrammeLocation,
    RecipientCountry,
    RecipientRegion,
    Sector,
    Status,
)
from .privacy import cells_hidden_from_partners
from .rules import row_key
from .services import ProgrammeLocked, StaleProgramme, TransitionNotAllowed, programme_change_status

# --- Permissions ------------------------------------------------------------------------------


class ReadOrEditProgrammes(BasePermission):
    """Any signed-in user reads what `visible_to` lets them see; only staff with edit rights write.

    Writes to one programme are checked on the object, after the lookup through `visible_to`, so that
    someone else's programme is a 404 and a visible one a 403.
    """

    def has_permission(self, request, view) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        if request.method in SAFE_METHODS or getattr(view, "action", None) != "create":
            return True
        return request.user.can_edit_programmes

    def has_object_permission(self, request, view, obj) -> bool:
        return request.method in SAFE_METHODS or request.user.can_edit_programmes


# The shared filters choose codes through methods; tell the schema they are plain strings.
for _name in ("sector", "area", "country", "region", "partner", "funder"):
    set_override(ProgrammeFilter.base_filters[_name], "field", OpenApiTypes.STR)

PROGRAMME_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9.\-]{0,31}")
KEY_FIGURE_ID = re.compile(r"[0-9]{1,18}")
SECTOR_CODE = re.compile(r"[A-Za-z0-9_\-]{1,10}")
MAX_LOCATIONS = 300
MAX_RECIPIENTS = 300
MAX_PARTICIPATIONS = 100


def _is_iom_staff(serializer: serializers.BaseSerializer) -> bool:
    request = serializer.context.get("request")
    return bool(request and is_iom_staff(request.user))


class StrictInputMixin:
    """Unknown and read-only fields in a request body are a 400 naming them, never silently dropped."""

    read_only_message = {
        "status": _("The status changes only through the transition action (POST …/transition/)."),
    }

    def to_internal_value(self, data):
        errors: dict[str, list[str]] = {}
        if isinstance(data, Mapping):
            for key in data:
                field = self.fields.get(key)
                if field is not None and not field.read_only:
                    continue
                if field is not None or key in getattr(self.Meta, "rejected_inputs", ()):
                    errors[key] = [self.read_only_message.get(key, _("This field is read-only."))]
                else:
                    errors[key] = [_("Unknown field.")]
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            detail = exc.detail if isinstance(exc.detail, dict) else {api_settings.NON_FIELD_ERRORS_KEY: exc.detail}
            raise serializers.ValidationError({**detail, **errors}) from None
        if errors:
            raise serializers.ValidationError(errors)
        return value


def model_errors(exc: DjangoValidationError) -> dict:
    """A service's refusal in the API's shape: `participations-1-role` → `participations.1.role`,
    `locations-2-admin_unit` → `locations.2` (a location is its P-code), NON_FIELD_ERRORS → non_field_errors."""
    errors = exc.message_dict if hasattr(exc, "error_dict") else {NON_FIELD_ERRORS: exc.messages}
    shaped: dict[str, list[str]] = {}
    for key, messages in errors.items():
        found = row_key(key)
        if key == NON_FIELD_ERRORS:
            key = api_settings.NON_FIELD_ERRORS_KEY
        elif found and found[0] == "locations":
            key = f"locations.{found[1]}"
        elif found:
            key = ".".join(map(str, found))
        shaped.setdefault(key, []).extend(messages)
    return shaped


# --- Sectors and key figures ------------------------------------------------------------------


class SectorSerializer(serializers.ModelSerializer):
    name = serializers.CharField(read_only=True, help_text=_("In the language of Accept-Language."))
    description = serializers.CharField(read_only=True)

    class Meta:
        model = Sector
        fields = ["code", "name", "name_fr", "name_en", "description", "description_fr", "description_en", "dac_code"]


@extend_schema_view(
    list=extend_schema(
        summary=_("Thematic sectors"), responses={200: SectorSerializer(many=True), **error_responses(*LIST_ERRORS)}
    ),
    retrieve=extend_schema(
        summary=_("One thematic sector"), responses={200: SectorSerializer, **error_responses(*READ_ERRORS)}
    ),
)
class SectorViewSet(viewsets.ReadOnlyModelViewSet):
    """IOM's thematic sectors: reference data, the same for every signed-in user."""

    serializer_class = SectorSerializer
    queryset = Sector.objects.all()
    lookup_field = "code"
    lookup_value_regex = "[^/]+"
    filter_backends: list = []

    def get_object(self) -> Sector:
        lookup_or_404(self.kwargs["code"], SECTOR_CODE)
        return super().get_object()


class KeyFigureSerializer(serializers.ModelSerializer):
    label = serializers.CharField(read_only=True)
    sector = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)

    class Meta:
        model = KeyFigure
        fields = ["id", "label", "label_fr", "label_en", "value", "display_value", "unit", "as_of"]
        fields += ["source", "source_url", "scope", "sector"]


class BudgetTotalSerializer(serializers.Serializer):
    currency = serializers.CharField()
    total = serializers.DecimalField(max_digits=20, decimal_places=2)
    n = serializers.IntegerField(help_text=_("Number of programmes."))


class KeyIndicatorTotalSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    year = serializers.IntegerField()
    total = serializers.DecimalField(
        max_digits=20,
        decimal_places=2,
        allow_null=True,
        help_text=_("Null when a small count is hidden from partners."),
    )
    suppressed = serializers.SerializerMethodField(
        help_text=_("True when the total is hidden (fewer than the threshold).")
    )

    partial = serializers.BooleanField(
        default=False,
        help_text=_(
            "True when this total leaves out counts hidden from you (below the threshold), so that no "
            "subtraction can reveal them."
        ),
    )

    def get_suppressed(self, row: dict) -> bool:
        return bool(row.get("suppressed"))


class RateUsedSerializer(serializers.Serializer):
    currency = serializers.CharField()
    units_per_usd = serializers.DecimalField(
        max_digits=20, decimal_places=6, help_text=_("Units of the currency for one US dollar.")
    )
    as_of = serializers.DateField(help_text=_("The day the rate came into force."))
    source = serializers.CharField()


class BudgetUsdSerializer(serializers.Serializer):
    total = serializers.DecimalField(
        max_digits=20,
        decimal_places=2,
        help_text=_("Budgets of active programmes in US dollars: each currency's total at the rate in force on `on`."),
    )
    on = serializers.DateField(help_text=_("The day whose rates were used (today)."))
    rates = RateUsedSerializer(many=True, help_text=_("The rates used, one per currency other than the US dollar."))
    unconverted_currencies = serializers.ListField(
        child=serializers.CharField(),
        help_text=_("Currencies without a rate in force on that day: left out of the total, never guessed."),
    )
    rates_text = serializers.CharField(help_text=_("The rates used, in words (in the language of Accept-Language)."))


class LiveFiguresSerializer(serializers.Serializer):
    active_programmes = serializers.IntegerField()
    total_programmes = serializers.IntegerField()
    budget_by_currency = BudgetTotalSerializer(many=True, help_text=_("Budgets of active programmes."))
    budget_usd = BudgetUsdSerializer(help_text=_("The same budgets as one US dollar equivalent, with the rates used."))
    key_indicators = KeyIndicatorTotalSerializer(many=True, help_text=_("Achieved totals of key indicators per year."))


@extend_schema_view(
    list=extend_schema(
        summary=_("Published headline figures (chiffres clés)"),
        responses={200: KeyFigureSerializer(many=True), **error_responses(*LIST_ERRORS)},
    ),
    retrieve=extend_schema(
        summary=_("One headline figure"), responses={200: KeyFigureSerializer, **error_responses(*READ_ERRORS)}
    ),
    live=extend_schema(
        summary=_("Figures computed live from the programmes you may see"),
        responses={200: LiveFiguresSerializer, **error_responses(*READ_ERRORS)},
    ),
)
class KeyFigureViewSet(viewsets.ReadOnlyModelViewSet):
    """Headline figures IOM publishes, with their source and date; and figures computed from programmes."""

    serializer_class = KeyFigureSerializer
    queryset = KeyFigure.objects.filter(is_published=True).select_related("sector")
    filter_backends: list = []
    lookup_value_regex = "[^/]+"

    def get_object(self) -> KeyFigure:
        lookup_or_404(self.kwargs["pk"], KEY_FIGURE_ID)
        return super().get_object()

    @action(detail=False, pagination_class=None)
    def live(self, request: Request) -> Response:
        figures = summary.live_figures(summary.summaries(request.user, "dashboard")["dashboard"])
        usd = stats.budget_usd(figures)  # at today's rates, whenever the summary was computed (as the dashboard)
        figures["budget_usd"] = {
            "total": usd.usd,
            "on": usd.on,
            "rates": [used for currency, used in sorted(usd.rates.items()) if currency != money.USD],
            "unconverted_currencies": sorted(usd.unconverted),
            "rates_text": usd.rates_text(),
        }
        return Response(LiveFiguresSerializer(figures).data)


# --- Programmes: nested parts -----------------------------------------------------------------


class ParticipationSerializer(serializers.ModelSerializer):
    organisation = serializers.SlugRelatedField(
        slug_field="code", queryset=Organisation.objects.all(), help_text=_("The organisation's code.")
    )
    organisation_name = serializers.CharField(source="organisation.name", read_only=True)
    # Declared without limits: the services check the amount (programmes/rules.py), as for every door.
    contribution = serializers.DecimalField(
        max_digits=15,
        decimal_places=2,
        allow_null=True,
        required=False,
        help_text=_("Funding partners only, in the programme's currency."),
    )

    class Meta:
        model = Participation
        fields = ["organisation", "organisation_name", "role", "contribution", "notes", "reports_results"]

    def to_internal_value(self, data):
        if isinstance(data, Mapping):
            unknown = [key for key in data if key not in self.fields or self.fields[key].read_only]
            if unknown:
                raise serializers.ValidationError({key: [_("Unknown or read-only field.")] for key in unknown})
        return super().to_internal_value(data)


class LocationSerializer(serializers.ModelSerializer):
    pcode = serializers.CharField(source="admin_unit.pcode")
    name = serializers.CharField(source="admin_unit.name")
    level = serializers.IntegerField(source="admin_unit.level")
    path = serializers.CharField(source="admin_unit.path_label", help_text=_("Region › department › commune."))

    class Meta:
        model = ProgrammeLocation
        fields = ["pcode", "name", "level", "path"]


class RecipientSerializer(serializers.Serializer):
    """A recipient country or region with its percentage (IATI recipient-country / recipient-region)."""

    key = ""
    name = serializers.SerializerMethodField(help_text=_("In the language of Accept-Language."))
    # Declared without limits: the services check the range and the total (programmes/rules.py).
    percentage = serializers.DecimalField(max_digits=7, decimal_places=2, help_text=_("Share of the programme, %."))

    def get_name(self, row) -> str:
        return getattr(row, self.key).name

    def to_representation(self, row) -> dict:
        return {
            self.key: getattr(row, f"{self.key}_id"),
            "name": getattr(row, self.key).name,
            "percentage": self.fields["percentage"].to_representation(row.percentage),
        }

    def to_internal_value(self, data):
        if isinstance(data, Mapping):
            unknown = [key for key in data if key not in self.fields or self.fields[key].read_only]
            if unknown:
                raise serializers.ValidationError({key: [_("Unknown or read-only field.")] for key in unknown})
        return super().to_internal_value(data)


class RecipientCountrySerializer(RecipientSerializer):
    key = "country"
    country = serializers.CharField(max_length=2, help_text=_("ISO 3166-1 alpha-2 code, e.g. NE."))


class RecipientRegionSerializer(RecipientSerializer):
    key = "region"
    region = serializers.CharField(max_length=4, help_text=_("Code of the IATI Region codelist, e.g. 289."))


class OutputSerializer(serializers.ModelSerializer):
    statement = serializers.CharField(read_only=True)

    class Meta:
        model = Output
        fields = ["code", "statement", "statement_fr", "statement_en"]


class OutcomeSerializer(serializers.ModelSerializer):
    statement = serializers.CharField(read_only=True)
    outputs = OutputSerializer(many=True, read_only=True)

    class Meta:
        model = Outcome
        fields = ["code", "statement", "statement_fr", "statement_en", "outputs"]


class IndicatorValueSerializer(serializers.ModelSerializer):
    suppressed = serializers.SerializerMethodField(
        help_text=_("True when a small disaggregated count is hidden from partners (achieved is then null).")
    )

    class Meta:
        model = IndicatorValue
        fields = ["period_start", "period_end", "sex", "age_group", "target", "achieved", "comment", "suppressed"]

    def get_suppressed(self, value: IndicatorValue) -> bool:
        return False  # set by IndicatorSerializer, which sees the whole period (complementary cells)


class IndicatorSerializer(serializers.ModelSerializer):
    name = serializers.CharField(read_only=True)
    outcome = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)
    output = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)
    values = IndicatorValueSerializer(many=True, read_only=True)
    reporting_partner = serializers.SlugRelatedField(
        slug_field="code", read_only=True, allow_null=True, help_text=_("The partner that reports it; null: IOM.")
    )

    class Meta:
        model = Indicator
        fields = ["code", "name", "name_fr", "name_en", "outcome", "output", "unit", "measure", "people", "cumulative"]
        fields += ["frequency", "reporting_partner"]
        fields += ["baseline", "baseline_year", "target", "disaggregated", "key_indicator", "values"]

    def to_representation(self, indicator: Indicator) -> dict:
        """Partners never see a small count of people, nor a cell that would reveal one by subtraction."""
        data = super().to_representation(indicator)
        if indicator.measure == Measure.UNIT and not _is_iom_staff(self):
            values = list(indicator.values.all())
            hidden = cells_hidden_from_partners(values)
            for row, value in zip(data["values"], values, strict=True):
                if value.pk in hidden:
                    row["achieved"], row["suppressed"], row["comment"] = None, True, ""
        return data


class SlugListField(serializers.ListField):
    """Related objects read and written as a list of codes; the whole list is resolved in one query."""

    def __init__(
        self, *, queryset, slug_field: str, read_attr: str | None = None, child=None, unique: bool = True, **kwargs
    ):
        self.queryset = queryset
        self.slug_field = slug_field
        self.read_attr = read_attr or slug_field
        self.unique = unique
        super().__init__(child=child or serializers.CharField(max_length=40), **kwargs)

    def to_representation(self, value) -> list[str]:
        items = value.all() if hasattr(value, "all") else value
        result = []
        for item in items:
            for attr in self.read_attr.split("."):
                item = getattr(item, attr)
            result.append(item)
        return result

    def to_internal_value(self, data) -> list:
        slugs = super().to_internal_value(data)
        if self.unique and len(set(slugs)) != len(slugs):
            raise serializers.ValidationError(_("Each value may appear only once."))
        found = {getattr(o, self.slug_field): o for o in self.queryset.filter(**{f"{self.slug_field}__in": slugs})}
        missing = [slug for slug in slugs if slug not in found]
        if missing:
            raise serializers.ValidationError(_("Unknown: %(values)s.") % {"values": ", ".join(missing)})
        return [found[slug] for slug in slugs]


# --- Programmes -------------------------------------------------------------------------------


BUDGET = serializers.DecimalField(max_digits=15, decimal_places=2)  # as Programme.budget


class ProgrammeListSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api:programme-detail", lookup_field="code")
    title = serializers.CharField(read_only=True, help_text=_("In the language of Accept-Language."))
    primary_sector = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = Programme
        fields = ["url", "code", "title", "title_fr", "title_en", "primary_sector", "scope", "status"]
        fields += ["planned_start", "planned_end", "budget", "currency"]

    def to_representation(self, programme: Programme) -> dict:
        """The hot path of integrators, built directly: the same output as the declared fields (tested),
        at a fraction of the cost of DRF's field-by-field rendering and of a reverse() per row."""
        base = self.context.get("_programme_url_base")
        if base is None:
            request = self.context["request"]
            base = self.context["_programme_url_base"] = request.build_absolute_uri(reverse("api:programme-list"))
        return {
            "url": f"{base}{programme.code}/",
            "code": programme.code,
            "title": programme.title,
            "title_fr": programme.title_fr,
            "title_en": programme.title_en,
            "primary_sector": programme.primary_sector.code,
            "scope": programme.scope,
            "status": programme.status,
            "planned_start": programme.planned_start.isoformat(),
            "planned_end": programme.planned_end.isoformat() if programme.planned_end else None,
            "budget": BUDGET.to_representation(programme.budget),
            "currency": programme.currency,
        }


# Never sent to partner users: notes and the reasons IOM keeps a programme out of IATI.
IOM_ONLY_FIELDS = ("internal_notes", "iati_publish", "iati_exclusion_reason")


# The detail's read path, built directly (what integrators fetch most after the list): the same output as
# the declared fields (tests/test_api_queries.py compares them), without DRF's field-by-field rendering
# of every nested row. The fields below convert values exactly as the declared ones do.
AMOUNT = serializers.DecimalField(max_digits=14, decimal_places=2)  # indicator baselines, targets, values
CONTRIBUTION = serializers.DecimalField(max_digits=15, decimal_places=2)  # as ParticipationSerializer
PERCENTAGE = serializers.DecimalField(max_digits=7, decimal_places=2)  # as RecipientSerializer
TIMESTAMP = serializers.DateTimeField()


def _decimal(field: serializers.DecimalField, value):
    return None if value is None else field.to_representation(value)


def _date(value):
    return value.isoformat() if value else None


def _choice(value):
    """What a ChoiceField sends: the stored value as a plain string ("" and None as they are)."""
    return value if value in ("", None) else str(value)


def _code(related):
    return None if related is None else related.code


def _outcome_representation(outcome: Outcome) -> dict:
    return {
        "code": outcome.code,
        "statement": outcome.statement,
        "statement_fr": outcome.statement_fr,
        "statement_en": outcome.statement_en,
        "outputs": [
            {
                "code": output.code,
                "statement": output.statement,
                "statement_fr": output.statement_fr,
                "statement_en": output.statement_en,
            }
            for output in outcome.outputs.all()
        ],
    }


def _indicator_representation(indicator: Indicator, *, iom: bool) -> dict:
    values = list(indicator.values.all())
    rows = [
        {
            "period_start": _date(value.period_start),
            "period_end": _date(value.period_end),
            "sex": _choice(value.sex),
            "age_group": _choice(value.age_group),
            "target": _decimal(AMOUNT, value.target),
            "achieved": _decimal(AMOUNT, value.achieved),
            "comment": value.comment,
            "suppressed": False,
        }
        for value in values
    ]
    if indicator.measure == Measure.UNIT and not iom:  # as IndicatorSerializer: never a small count of people
        hidden = cells_hidden_from_partners(values)
        for row, value in zip(rows, values, strict=True):
            if value.pk in hidden:
                row["achieved"], row["suppressed"], row["comment"] = None, True, ""
    return {
        "code": indicator.code,
        "name": indicator.name,
        "name_fr": indicator.name_fr,
        "name_en": indicator.name_en,
        "outcome": _code(indicator.outcome),
        "output": _code(indicator.output),
        "unit": indicator.unit,
        "measure": _choice(indicator.measure),
        "people": bool(indicator.people),
        "cumulative": bool(indicator.cumulative),
        "frequency": _choice(indicator.frequency),
        "reporting_partner": _code(indicator.reporting_partner),
        "baseline": _decimal(AMOUNT, indicator.baseline),
        "baseline_year": None if indicator.baseline_year is None else int(indicator.baseline_year),
        "target": _decimal(AMOUNT, indicator.target),
        "disaggregated": bool(indicator.disaggregated),
        "key_indicator": _choice(indicator.key_indicator),
        "values": rows,
    }


def programme_representation(programme: Programme, *, url: str, iom: bool) -> dict:
    """`ProgrammeSerializer`'s output for one programme (prefetched as DETAIL_PREFETCH), built directly."""
    focal_point = programme.iom_focal_point
    data = {
        "url": url,
        "code": programme.code,
        "title": programme.title,
        "title_fr": programme.title_fr,
        "title_en": programme.title_en,
        "summary": programme.summary,
        "summary_fr": programme.summary_fr,
        "summary_en": programme.summary_en,
        "primary_sector": programme.primary_sector.code,
        "secondary_sectors": [sector.code for sector in programme.secondary_sectors.all()],
        "scope": _choice(programme.scope),
        "status": _choice(programme.status),
        "planned_start": _date(programme.planned_start),
        "planned_end": _date(programme.planned_end),
        "actual_start": _date(programme.actual_start),
        "actual_end": _date(programme.actual_end),
        "budget": _decimal(BUDGET, programme.budget),
        "currency": _choice(programme.currency),
        "modality": _choice(programme.modality),
        "iom_focal_point": None if focal_point is None else focal_point.username,
    }
    if iom:
        data["internal_notes"] = programme.internal_notes
        data["iati_publish"] = bool(programme.iati_publish)
        data["iati_exclusion_reason"] = programme.iati_exclusion_reason
    locations = list(programme.locations.all())
    data |= {
        "participations": [
            {
                "organisation": p.organisation.code,
                "organisation_name": p.organisation.name,
                "role": _choice(p.role),
                "contribution": _decimal(CONTRIBUTION, p.contribution),
                "notes": p.notes,
                "reports_results": bool(p.reports_results),
            }
            for p in programme.participations.all()
        ],
        "locations": [location.admin_unit.pcode for location in locations],
        "location_details": [
            {
                "pcode": location.admin_unit.pcode,
                "name": location.admin_unit.name,
                "level": int(location.admin_unit.level),
                "path": location.admin_unit.path_label,
            }
            for location in locations
        ],
        "recipient_countries": [
            {"country": r.country_id, "name": r.country.name, "percentage": _decimal(PERCENTAGE, r.percentage)}
            for r in programme.recipient_countries.all()
        ],
        "recipient_regions": [
            {"region": r.region_id, "name": r.region.name, "percentage": _decimal(PERCENTAGE, r.percentage)}
            for r in programme.recipient_regions.all()
        ],
        "outcomes": [_outcome_representation(outcome) for outcome in programme.outcomes.all()],
        "indicators": [_indicator_representation(i, iom=iom) for i in programme.indicators.all()],
        "version": int(programme.version),
        "approval_road": _choice(programme.approval_road),
        "created_at": TIMESTAMP.to_representation(programme.created_at),
        "updated_at": TIMESTAMP.to_representation(programme.updated_at),
    }
    return data


class ProgrammeSerializer(StrictInputMixin, serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api:programme-detail", lookup_field="code")
    title = serializers.CharField(read_only=True, help_text=_("In the language of Accept-Language."))
    summary = serializers.CharField(read_only=True)
    primary_sector = serializers.SlugRelatedField(
        slug_field="code", queryset=Sector.objects.all(), help_text=_("A sector code, e.g. CT.")
    )
    secondary_sectors = SlugListField(
        queryset=Sector.objects.all(),
        slug_field="code",
        child=serializers.CharField(max_length=10),
        max_length=20,
        required=False,
        help_text=_("Sector codes."),
    )
    iom_focal_point = serializers.SlugRelatedField(
        slug_field="username",
        queryset=User.objects.all(),  # any user is read; the services accept active IOM staff only
        allow_null=True,
        required=False,
        help_text=_("Username of an active IOM staff member."),
    )
    budget = serializers.DecimalField(max_digits=15, decimal_places=2, required=False)
    internal_notes = serializers.CharField(
        required=False, allow_blank=True, help_text=_("IOM staff only: never sent to partner users.")
    )
    participations = ParticipationSerializer(many=True, required=False, max_length=MAX_PARTICIPATIONS)
    locations = SlugListField(
        queryset=AdminUnit.objects.without_boundary(),
        slug_field="pcode",
        read_attr="admin_unit.pcode",
        child=serializers.RegexField(PCODE_REGEX, max_length=11, error_messages={"invalid": pcode_validator.message}),
        max_length=MAX_LOCATIONS,
        unique=False,  # a place given twice is refused by the services, with the message of every door
        required=False,
        help_text=_("P-codes of the regions, departments or communes where the programme works."),
    )
    location_details = LocationSerializer(source="locations", many=True, read_only=True)
    recipient_countries = RecipientCountrySerializer(
        many=True,
        required=False,
        max_length=MAX_RECIPIENTS,
        help_text=_("Countries with their percentages (adding up to 100); a national programme: Niger by default."),
    )
    recipient_regions = RecipientRegionSerializer(
        many=True,
        required=False,
        max_length=MAX_RECIPIENTS,
        help_text=_("Regions with their percentages (adding up to 100)."),
    )
    outcomes = OutcomeSerializer(many=True, read_only=True)
    indicators = IndicatorSerializer(many=True, read_only=True)
    approval_road = serializers.ChoiceField(
        choices=ApprovalRoad.choices,
        read_only=True,
        help_text=_(
            "How the programme is approved: department_review (IOM Development Fund, multi-regional, global) "
            "or agreement (signed agreement and government endorsement)."
        ),
    )

    class Meta:
        model = Programme
        fields = ["url", "code", "title", "title_fr", "title_en", "summary", "summary_fr", "summary_en"]
        fields += ["primary_sector", "secondary_sectors", "scope", "status", "planned_start", "planned_end"]
        fields += ["actual_start", "actual_end", "budget", "currency", "modality", "iom_focal_point", "internal_notes"]
        fields += ["iati_publish", "iati_exclusion_reason"]
        fields += ["participations", "locations", "location_details", "recipient_countries", "recipient_regions"]
        fields += ["outcomes", "indicators", "version"]
        fields += ["approval_road", "created_at", "updated_at"]
        read_only_fields = ["status", "version", "created_at", "updated_at"]
        # Never accepted from clients even though they are not in the representation.
        rejected_inputs = ("organisation", "created_by", "updated_by", "search_text", "id", "pk")

    def get_fields(self) -> dict:
        fields = super().get_fields()
        if not _is_iom_staff(self):
            for name in IOM_ONLY_FIELDS:
                del fields[name]
        return fields

    def to_representation(self, programme: Programme) -> dict:
        """Built directly (`programme_representation`): the same output as the declared fields (tested)."""
        request = self.context["request"]
        url = request.build_absolute_uri(reverse("api:programme-detail", kwargs={"code": programme.code}))
        return programme_representation(programme, url=url, iom=_is_iom_staff(self))

    def service_parts(self) -> dict:
        """What the client sent, as the services take it (lists left out stay as they are)."""
        data = dict(self.validated_data)
        parts: dict = {"fields": {name: data[name] for name in services.EDITABLE_FIELDS if name in data}}
        for name in ("secondary_sectors", "participations", "locations", "recipient_countries", "recipient_regions"):
            if name in data:
                parts[name] = data[name]
        return parts


class TransitionSerializer(StrictInputMixin, serializers.Serializer):
    status = serializers.ChoiceField(choices=Status.choices, help_text=_("The status to move to."))
    reason = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=2000,
        default="",
        help_text=_("Required to suspend, and for completed, closed, cancelled and rejected (irreversible)."),
    )
    actual_end = serializers.DateField(
        required=False,
        allow_null=True,
        default=None,
        help_text=_(
            "Completed and closed: when the programme actually ended, not in the future "
            "(default: the recorded actual end, else today)."
        ),
    )

    class Meta:
        rejected_inputs = ()


# One programme's parts, each ordered as its model's Meta.ordering orders the rows of one programme: the
# orderings through the programme ("programme", "outcome", "indicator") would join it back for nothing.
DETAIL_PREFETCH = [
    "secondary_sectors",
    Prefetch("participations", queryset=Participation.objects.select_related("organisation")),
    Prefetch(
        "locations",
        queryset=ProgrammeLocation.objects.select_related("admin_unit__parent__parent").defer(
            "admin_unit__boundary", "admin_unit__parent__boundary", "admin_unit__parent__parent__boundary"
        ),
    ),
    Prefetch("recipient_countries", queryset=RecipientCountry.objects.select_related("country")),
    Prefetch("recipient_regions", queryset=RecipientRegion.objects.select_related("region")),
    Prefetch(
        "outcomes",
        queryset=Outcome.objects.order_by("order", "code").prefetch_related(
            Prefetch("outputs", queryset=Output.objects.order_by("order", "code"))
        ),
    ),
    Prefetch(
        "indicators",
        queryset=Indicator.objects.order_by("code")
        .select_related("outcome", "output", "reporting_partner")
        .prefetch_related(
            Prefetch("values", queryset=IndicatorValue.objects.order_by("period_start", "sex", "age_group"))
        ),
    ),
]

IF_MATCH = OpenApiParameter(
    "If-Match",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=True,
    description=_('The ETag received with the programme, e.g. "3" (428 without it, 412 when stale).'),
)
IF_NONE_MATCH = OpenApiParameter(
    "If-None-Match",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=False,
    description=_("The ETag of the copy you hold: 304 Not Modified, without a body, while it is current."),
)
IF_MATCH_OPTIONAL = OpenApiParameter(
    "If-Match", OpenApiTypes.STR, OpenApiParameter.HEADER, required=False, description=_("Optional: 412 when stale.")
)


def etag(programme: Programme) -> str:
    return f'"{programme.version}"'


def api_edit_state(parts: dict, stored: edit_merge.State | None = None) -> edit_merge.State:
    """What an API client sent, in the shape of `edit_merge.stored_state` (the parts it sent only); a
    flag a client left out of a row it sent stays as `stored`."""
    state: edit_merge.State = {}
    for name, value in parts["fields"].items():
        if name in edit_merge.FIELDS:
            edit_merge.add_field(state, name, value)
    for sector in parts.get("secondary_sectors", []):
        edit_merge.add_sector(state, sector)
    for row in parts.get("participations", []):
        flag = row.get("reports_results")
        if flag is None:
            kept = (stored or {}).get(("participations", row["organisation"].code, "reports_results"))
            flag = kept.value if kept else False
        edit_merge.add_participation(
            state, row["organisation"], row["role"], row.get("contribution"), row.get("notes"), flag
        )
    for unit in parts.get("locations", []):
        edit_merge.add_location(state, unit)
    for kind, key in edit_merge.RECIPIENT_KEYS.items():
        for row in parts.get(kind, []):
            edit_merge.add_recipient(state, kind, row[key], row.get("percentage"))
    return state


def _merged_parts(current: Programme, loaded: int, parts: dict) -> dict:
    """A save based on version `loaded`, merged with what was saved since (programmes/edit_merge.py).

    412 when this server does not know what `loaded` looked like; 409 (edit_conflict) naming each
    field both changed differently, with both values.
    """
    base = edit_merge.recall_base(current.pk, loaded)
    if base is None:
        raise PreconditionFailed()
    theirs = edit_merge.stored_state(current, edit_merge.API_PARTS)
    sent = set(parts["fields"]) | (set(parts) - {"fields"})
    merged = edit_merge.merge(base, theirs, api_edit_state(parts, theirs), submitted=lambda key: key[0] in sent)
    if merged.conflicts:
        who = current.updated_by.get_full_name() or current.updated_by.username if current.updated_by else _("someone")
        errors = {c.name: [edit_merge.conflict_message(c, who)] for c in merged.conflicts}
        detail = _(
            "%(who)s saved this programme since the version you edited (now version %(version)s) and changed "
            "some of the same fields differently: %(fields)s. Nothing was changed: fetch it again, "
            "choose the values to keep and send them with the new ETag."
        ) % {"who": who, "version": current.version, "fields": ", ".join(errors)}
        raise EditConflict(str(detail), errors)
    return edit_merge.service_parts(merged.state)


@extend_schema_view(
    list=extend_schema(
        summary=_("Programmes you may see"),
        description=_(
            "Partners see only the programmes their organisation takes part in. Filters are those of the web list."
        ),
        responses={200: ProgrammeListSerializer(many=True), **error_responses(*LIST_ERRORS)},
    ),
    retrieve=extend_schema(
        summary=_("One programme with its partners, places and results"),
        parameters=[IF_NONE_MATCH],
        responses={
            200: ProgrammeSerializer,
            304: OpenApiResponse(description=_("Not modified: the copy you hold (If-None-Match) is current.")),
            **error_responses(*READ_ERRORS),
        },
    ),
    create=extend_schema(
        summary=_("Create a programme (IOM staff with edit rights)"),
        responses={201: ProgrammeSerializer, **error_responses(*WRITE_ERRORS)},
    ),
    update=extend_schema(
        summary=_("Replace a programme's fields (If-Match required)"),
        parameters=[IF_MATCH],
        responses={200: ProgrammeSerializer, **error_responses(*WRITE_ERRORS, 409, 412, 428)},
    ),
    partial_update=extend_schema(
        summary=_("Change some fields of a programme (If-Match required)"),
        parameters=[IF_MATCH],
        responses={200: ProgrammeSerializer, **error_responses(*WRITE_ERRORS, 409, 412, 428)},
    ),
    transition=extend_schema(
        summary=_("Move a programme to another status of its lifecycle"),
        parameters=[IF_MATCH_OPTIONAL],
        request=TransitionSerializer,
        responses={200: ProgrammeSerializer, **error_responses(*WRITE_ERRORS, 412)},
    ),
)
class ProgrammeViewSet(mixins.CreateModelMixin, mixins.UpdateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Programmes through `visible_to`: read for every signed-in user, written by IOM staff with edit rights."""

    permission_classes = [ReadOrEditProgrammes]
    filter_backends = [DjangoFilterBackend]
    filterset_class = ProgrammeFilter
    lookup_field = "code"
    lookup_value_regex = "[^/]+"

    def get_queryset(self):
        programmes = Programme.objects.visible_to(self.request.user)
        if self.action == "list":
            return programmes.for_list()
        return programmes.select_related("primary_sector", "iom_focal_point").prefetch_related(*DETAIL_PREFETCH)

    def get_serializer_class(self):
        if self.action == "list":
            return ProgrammeListSerializer
        if self.action == "transition":
            return TransitionSerializer
        return ProgrammeSerializer

    def filter_queryset(self, queryset):
        # The list filters apply to the list only: stray query parameters never turn a detail into a 400.
        # Without any filter parameter the filter set would change nothing: skip building it (hot path).
        if self.action != "list" or not ProgrammeFilter.base_filters.keys() & self.request.query_params.keys():
            return queryset
        return super().filter_queryset(queryset)

    def get_object(self) -> Programme:
        lookup_or_404(self.kwargs["code"], PROGRAMME_CODE)
        return super().get_object()

    def _detail(self, code: str, status: int = 200) -> Response:
        programme = self.get_queryset().get(code=code)
        data = ProgrammeSerializer(programme, context=self.get_serializer_context()).data
        headers = {"ETag": etag(programme)}
        if status == 201:
            headers["Location"] = data["url"]
        edit_merge.remember_base(programme, edit_merge.stored_state(programme, edit_merge.API_PARTS))
        return Response(data, status=status, headers=headers)

    @staticmethod
    def _expected_version(request: Request, programme: Programme, *, required: bool = True) -> int | None:
        header = request.headers.get("If-Match", "").strip()
        if not header:
            if required:
                raise PreconditionRequired()
            return None
        if if_match_passes(header, etag(programme)):  # strong comparison: a weak tag is a 412
            return programme.version
        raise PreconditionFailed()

    @staticmethod
    def _loaded_version(request: Request, programme: Programme) -> int:
        """The version the client edited, from If-Match (428 without it, 412 if it names none)."""
        header = request.headers.get("If-Match", "").strip()
        if not header:
            raise PreconditionRequired()
        for tag in if_match_tags(header):  # strong comparison: a weak tag is a 412
            if tag == "*":
                return programme.version
            if re.fullmatch(r'"[0-9]{1,9}"', tag):
                return int(tag.strip('"'))
        raise PreconditionFailed()

    def retrieve(self, request: Request, *args, **kwargs) -> Response:
        programme = self.get_object()
        current = etag(programme)
        if if_none_match_hits(request.headers.get("If-None-Match", ""), current):
            return Response(status=304, headers={"ETag": current})
        serializer = self.get_serializer(programme)
        if request.user.can_edit_programmes:  # what this version looked like, to merge a save based on it
            edit_merge.remember_base(programme, edit_merge.stored_state(programme, edit_merge.API_PARTS))
        return Response(serializer.data, headers={"ETag": current})

    def create(self, request: Request, *args, **kwargs) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            programme = services.programme_create(user=request.user, **serializer.service_parts())
        except DjangoValidationError as refused:
            raise serializers.ValidationError(model_errors(refused)) from None
        return self._detail(programme.code, status=201)

    def update(self, request: Request, *args, **kwargs) -> Response:
        programme = self.get_object()
        loaded = self._loaded_version(request, programme)
        serializer = self.get_serializer(programme, data=request.data, partial=kwargs.get("partial", False))
        serializer.is_valid(raise_exception=True)
        parts = serializer.service_parts()
        try:
            with transaction.atomic():
                # Locked until the save: nobody saves between the merge and the save.
                current = services.programme_lock(programme=programme, expected_version=None)
                if current.version != loaded:
                    parts = _merged_parts(current, loaded, parts)
                services.programme_update(
                    programme=current, user=request.user, expected_version=current.version, **parts
                )
        except StaleProgramme:
            raise PreconditionFailed() from None
        except ProgrammeLocked as locked:
            raise Conflict(locked.message) from None
        except DjangoValidationError as refused:
            raise serializers.ValidationError(model_errors(refused)) from None
        return self._detail(programme.code)

    @action(detail=True, methods=["post"])
    def transition(self, request: Request, code: str | None = None) -> Response:
        programme = self.get_object()
        expected_version = self._expected_version(request, programme, required=False)
        serializer = TransitionSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        try:
            with transaction.atomic():
                if (
                    expected_version is not None
                    and Programme.objects.select_for_update().get(pk=programme.pk).version != expected_version
                ):
                    raise PreconditionFailed()
                programme_change_status(
                    programme=programme,
                    to_status=serializer.validated_data["status"],
                    user=request.user,
                    reason=serializer.validated_data["reason"],
                    actual_end=serializer.validated_data["actual_end"],
                )
        except TransitionNotAllowed as exc:
            raise serializers.ValidationError(exc.message_dict) from None
        return self._detail(programme.code)
