"""Admin for administrative units and IOM offices."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from .models import AdminUnit, Country, Office, Region


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


class CodelistAdmin(admin.ModelAdmin):
    """IATI codelist items: loaded by `load_reference_data`; only their names may be adjusted here."""

    list_display = ["code", "name_fr", "name_en", "status"]
    list_filter = ["status"]
    search_fields = ["code", "name_fr", "name_en"]
    ordering = ["code"]

    def get_readonly_fields(self, request, obj=None) -> list[str]:
        return ["code"] if obj is not None else []

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # programmes and organisations refer to them


@admin.register(Country)
class CountryAdmin(CodelistAdmin):
    list_display = ["code", "name_fr", "name_en", "iati_name", "status"]


@admin.register(Region)
class RegionAdmin(CodelistAdmin):
    pass
