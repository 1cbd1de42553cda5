"""Admin of the obligation calendar: the rule sets (editable) and the obligations (read, waived on the pages).

Obligations are written by services.py only (the calendar follows the rules and the dates; waiving needs a
reason): here they are read-only, and a rule set's change applies at each programme's next refresh.
"""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from .models import Obligation, ObligationRule, ObligationRuleSet


class ObligationRuleInline(admin.TabularInline):
    model = ObligationRule
    extra = 0
    fields = [
        "order",
        "kind",
        "anchor",
        "period_months",
        "offset_months",
        "offset_days",
        "evidence",
        "document_category",
        "responsible",
    ]


@admin.register(ObligationRuleSet)
class ObligationRuleSetAdmin(admin.ModelAdmin):
    list_display = ["name_fr", "name_en", "funder", "agreement", "is_active"]
    list_filter = ["is_active"]
    search_fields = ["name_fr", "name_en", "funder__name_fr", "funder__code", "agreement__reference"]
    autocomplete_fields = ["funder"]
    raw_id_fields = ["agreement"]
    inlines = [ObligationRuleInline]
    list_select_related = ["funder", "agreement__programme"]


@admin.register(Obligation)
class ObligationAdmin(admin.ModelAdmin):
    list_display = ["programme", "kind", "due_date", "state_label", "responsible_user", "responsible_organisation"]
    list_filter = ["kind", "evidence"]
    search_fields = ["programme__code", "programme__title_fr"]
    date_hierarchy = "due_date"
    list_select_related = ["programme", "responsible_user", "responsible_organisation"]

    @admin.display(description=_("state"))
    def state_label(self, obligation: Obligation) -> str:
        return obligation.state_label

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
