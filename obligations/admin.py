"""Admin of the obligation calendar: the rule sets (editable) and the obligations (read, waived on the pages).

Obligations are written by services.py only (the calendar follows the rules and the dates; waiving needs a
reason): here they are read-only. Saving a rule set refreshes the calendars of the programmes it applies to
(in the background, after the commit).
"""

import logging

from django.contrib import admin
from django.db import transaction
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

    def save_related(self, request, form, formsets, change) -> None:
        super().save_related(request, form, formsets, change)
        rule_set_id = form.instance.pk
        transaction.on_commit(lambda: _refresh_later(rule_set_id))


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


def _refresh_later(rule_set_id: int) -> None:
    from .tasks import refresh_rule_set

    try:
        refresh_rule_set.delay(rule_set_id)
    except Exception:  # the broker is down: the calendars follow at each programme's next change
        logging.getLogger(__name__).warning(
            "obligations: could not enqueue the refresh of rule set %s", rule_set_id, exc_info=True
        )
