"""Admin for organisations, focal points, agreements and users."""

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import PasswordResetForm
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from .models import ApiToken, FocalPoint, Organisation, PartnershipAgreement, User


class FocalPointInline(admin.TabularInline):
    model = FocalPoint
    extra = 0


class AgreementInline(admin.StackedInline):
    model = PartnershipAgreement
    extra = 0


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ["acronym", "name_fr", "category", "iati_type", "parent", "admin_unit", "is_active"]
    list_filter = ["category", "iati_type", "is_active"]
    search_fields = ["code", "acronym", "name_fr", "name_en"]
    list_select_related = ["parent", "admin_unit"]
    autocomplete_fields = ["parent", "admin_unit", "country"]
    prepopulated_fields = {"code": ["acronym"]}
    inlines = [FocalPointInline, AgreementInline]


@admin.register(FocalPoint)
class FocalPointAdmin(admin.ModelAdmin):
    list_display = ["full_name", "position", "organisation", "email", "is_primary"]
    list_filter = ["is_primary", "organisation__category"]
    search_fields = ["full_name", "email", "organisation__acronym", "organisation__name_fr"]
    list_select_related = ["organisation"]
    autocomplete_fields = ["organisation"]


@admin.register(PartnershipAgreement)
class PartnershipAgreementAdmin(admin.ModelAdmin):
    list_display = ["title", "organisation", "kind", "status", "start_date", "end_date"]
    list_filter = ["kind", "status"]
    search_fields = ["title", "reference", "organisation__acronym", "organisation__name_fr"]
    list_select_related = ["organisation"]
    autocomplete_fields = ["organisation"]
    date_hierarchy = "start_date"


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = [
        "username",
        "first_name",
        "last_name",
        "email",
        "organisation",
        "is_staff",
        "is_active",
        "last_login",
    ]
    list_filter = ["is_staff", "is_superuser", "is_active", "organisation__category", "groups"]
    search_fields = ["username", "first_name", "last_name", "email", "organisation__acronym"]
    list_select_related = ["organisation"]
    autocomplete_fields = ["organisation"]
    fieldsets = [
        *BaseUserAdmin.fieldsets,
        (_("Portal"), {"fields": ["organisation", "preferred_language"]}),
    ]
    add_fieldsets = [
        *BaseUserAdmin.add_fieldsets,
        (_("Portal"), {"fields": ["organisation", "email", "first_name", "last_name", "preferred_language"]}),
    ]
    actions = ["send_password_link", "deactivate"]

    @admin.action(description=_("Invite / reset: e-mail a link to choose a password"))
    def send_password_link(self, request, queryset) -> None:
        sent = 0
        for user in queryset.filter(is_active=True).exclude(email=""):
            form = PasswordResetForm({"email": user.email})
            if form.is_valid():
                form.save(request=request, use_https=request.is_secure(), domain_override=request.get_host())
                sent += 1
        self.message_user(
            request, ngettext("%(n)d e-mail sent.", "%(n)d e-mails sent.", sent) % {"n": sent}, messages.SUCCESS
        )

    @admin.action(description=_("Deactivate: the user loses access at the next request"))
    def deactivate(self, request, queryset) -> None:
        count = queryset.exclude(pk=request.user.pk).update(is_active=False)
        self.message_user(
            request,
            ngettext("%(n)d user deactivated.", "%(n)d users deactivated.", count) % {"n": count},
            messages.SUCCESS,
        )


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Tokens are created by their owner (portal page or `create_api_token`); admins only revoke them."""

    list_display = ["prefix", "name", "user", "created_at", "last_used_at", "revoked_at"]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter), "user__organisation__category"]
    search_fields = ["prefix", "name", "user__username", "user__organisation__acronym"]
    list_select_related = ["user"]
    readonly_fields = ["user", "name", "prefix", "created_at", "last_used_at"]
    fields = ["user", "name", "prefix", "created_at", "last_used_at", "revoked_at"]
    actions = ["revoke_tokens"]

    def has_add_permission(self, request) -> bool:
        return False

    @admin.action(description=_("Revoke the selected tokens"), permissions=["change"])
    def revoke_tokens(self, request, queryset) -> None:
        count = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        self.message_user(
            request, ngettext("%(count)d token revoked.", "%(count)d tokens revoked.", count) % {"count": count}
        )
