"""A programme's transactions through the API: IOM staff read them, staff with edit rights write them."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers, viewsets
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.permissions import SAFE_METHODS, IsAuthenticated

from core.api import LIST_ERRORS, READ_ERRORS, WRITE_ERRORS, Conflict, error_responses, lookup_or_404
from partners.models import Organisation, is_iom_staff

from . import services
from .api import PROGRAMME_CODE, StrictInputMixin, model_errors
from .models import Programme, Transaction
from .money import RateTable, to_usd
from .services import ProgrammeLocked

TRANSACTION_ID = r"[0-9]{1,18}"


class TransactionSerializer(StrictInputMixin, serializers.ModelSerializer):
    provider = serializers.SlugRelatedField(
        slug_field="code",
        queryset=Organisation.objects.all(),
        allow_null=True,
        required=False,
        help_text=_("Code of the organisation the money comes from (required for incoming money)."),
    )
    receiver = serializers.SlugRelatedField(
        slug_field="code",
        queryset=Organisation.objects.all(),
        allow_null=True,
        required=False,
        help_text=_("Code of the organisation that receives it (empty: IOM)."),
    )
    currency = serializers.ChoiceField(
        choices=Transaction._meta.get_field("currency").choices,
        required=False,
        help_text=_("Default: the programme's currency."),
    )
    value_usd = serializers.SerializerMethodField(
        help_text=_("The amount in US dollars at the rate in force on the transaction's date (null: no rate).")
    )
    rate_used = serializers.SerializerMethodField(help_text=_("Which exchange rate gave value_usd."))

    class Meta:
        model = Transaction
        fields = ["id", "kind", "date", "value", "currency", "provider", "receiver", "description", "reference"]
        fields += ["value_usd", "rate_used"]
        read_only_fields = ["id"]
        rejected_inputs = ("programme", "created_at", "updated_at")

    def _converted(self, record: Transaction):
        if "rate_table" not in self.context:  # one query for the whole list
            self.context["rate_table"] = RateTable.load()
        table = self.context["rate_table"]
        return to_usd(record.value, record.currency, record.date, table)

    def get_value_usd(self, record: Transaction) -> str | None:
        usd, _used = self._converted(record)
        return None if usd is None else f"{usd:.2f}"

    def get_rate_used(self, record: Transaction) -> str | None:
        _usd, used = self._converted(record)
        return None if used is None else used.describe()

    def get_validators(self) -> list:
        return []  # the services apply the rules (programmes/rules.py), with the message of every door

    def service_fields(self) -> dict:
        return {name: self.validated_data[name] for name in services.TRANSACTION_FIELDS if name in self.validated_data}


class TransactionAccess(IsAuthenticated):
    """IOM staff only (a partner gets a 404, as for any IOM-only part); writing needs edit rights."""

    def has_permission(self, request, view) -> bool:
        if not super().has_permission(request, view):
            return False
        if not is_iom_staff(request.user):
            raise NotFound()
        if request.method not in SAFE_METHODS and not request.user.can_edit_programmes:
            raise PermissionDenied(_("You may read programmes but not change them."))
        return True


@extend_schema_view(
    list=extend_schema(
        summary=_("A programme's transactions (IOM staff)"),
        responses={200: TransactionSerializer(many=True), **error_responses(*LIST_ERRORS)},
    ),
    retrieve=extend_schema(
        summary=_("One transaction (IOM staff)"),
        responses={200: TransactionSerializer, **error_responses(*READ_ERRORS)},
    ),
    create=extend_schema(
        summary=_("Record a transaction (IOM staff with edit rights)"),
        responses={201: TransactionSerializer, **error_responses(*WRITE_ERRORS, 409)},
    ),
    partial_update=extend_schema(
        summary=_("Correct a transaction (IOM staff with edit rights)"),
        responses={200: TransactionSerializer, **error_responses(*WRITE_ERRORS, 409)},
    ),
    destroy=extend_schema(
        summary=_("Delete a transaction (IOM staff with edit rights)"),
        responses={204: None, **error_responses(*WRITE_ERRORS, 409)},
    ),
)
class TransactionViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = TransactionSerializer
    permission_classes = [TransactionAccess]
    pagination_class = None
    lookup_value_regex = TRANSACTION_ID
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def programme(self) -> Programme:
        if not hasattr(self, "_programme"):
            code = self.kwargs["programme_code"]
            lookup_or_404(code, PROGRAMME_CODE)
            programme = Programme.objects.visible_to(self.request.user).filter(code=code).first()
            if programme is None:
                raise NotFound()
            self._programme = programme
        return self._programme

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Transaction.objects.none()
        return Transaction.objects.filter(programme=self.programme()).select_related("provider", "receiver")

    def perform_create(self, serializer: TransactionSerializer) -> None:
        serializer.instance = self._write(
            lambda: services.transaction_add(
                programme=self.programme(), user=self.request.user, fields=serializer.service_fields()
            )
        )

    def perform_update(self, serializer: TransactionSerializer) -> None:
        record = serializer.instance
        serializer.instance = self._write(
            lambda: services.transaction_update(
                record=record, user=self.request.user, fields=serializer.service_fields()
            )
        )

    def perform_destroy(self, instance: Transaction) -> None:
        self._write(lambda: services.transaction_delete(record=instance, user=self.request.user))

    @staticmethod
    def _write(call):
        try:
            return call()
        except ProgrammeLocked as locked:
            raise Conflict(locked.message) from None
        except DjangoValidationError as refused:
            raise serializers.ValidationError(model_errors(refused)) from None
