"""Admin for administrative units and IOM offices."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from .models import AdminUnit, Office


@admin.register(AdminUnit)
class AdminUnitAdmin(admin.ModelAdmin):
    list_display = ["pcode", "name_fr", "level", "parent"]
    list_filter = ["level"]
    search_fields = ["pcode", "name_fr", "name_alt", "name_en"]
    list_select_related = ["parent"]
    autocomplete_fields = ["parent"]
    readonly_fields = ["centroid_lat", "centroid_lon"]
    exclude = ["boundary"]
    ordering = ["pcode"]

    def get_queryset(self, request):
        return super().get_queryset(request).defer("boundary")


@admin.register(Office)
class OfficeAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "commune", "region", "is_active"]
    list_filter = ["kind", "is_active"]
    search_fields = ["name_fr", "name_en", "commune__name_fr", "commune__pcode"]
    list_select_related = ["commune__parent__parent"]
    autocomplete_fields = ["commune"]

    @admin.display(description=_("region"))
    def region(self, obj: Office) -> str:
        return obj.commune.ancestors()[0].name if obj.commune.parent_id else ""
