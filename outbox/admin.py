"""Admin of the e-mail outbox: what was sent, what waits for a retry and why; resend from here."""

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from .models import OutgoingEmail
from .services import email_resend


@admin.register(OutgoingEmail)
class OutgoingEmailAdmin(admin.ModelAdmin):
    """Superusers only: the messages include password links."""

    list_display = ["created_at", "subject", "to", "status", "attempts", "next_attempt_at", "sent_at"]
    list_filter = ["status"]
    search_fields = ["subject", "recipients", "last_error"]
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in OutgoingEmail._meta.fields]
    fieldsets = [
        (None, {"fields": ["created_at", "from_email", "recipients", "subject", "body", "parts"]}),
        (_("Delivery"), {"fields": ["status", "attempts", "next_attempt_at", "last_error", "sent_at"]}),
    ]
    actions = ["resend"]

    @admin.display(description=_("to"))
    def to(self, obj: OutgoingEmail) -> str:
        return ", ".join(obj.recipients)

    @admin.action(description=_("Send again now"))
    def resend(self, request, queryset) -> None:
        attempted = list(queryset)
        sent = sum(email_resend(email=email) for email in attempted)
        self.message_user(
            request,
            ngettext("%(sent)d of %(n)d e-mail sent.", "%(sent)d of %(n)d e-mails sent.", len(attempted))
            % {"sent": sent, "n": len(attempted)},
            messages.SUCCESS if sent == len(attempted) else messages.WARNING,
        )

    def has_module_permission(self, request) -> bool:
        return request.user.is_active and request.user.is_superuser

    def has_view_permission(self, request, obj=None) -> bool:
        return request.user.is_active and request.user.is_superuser

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        # Actions need change permission; the fields themselves stay read-only.
        return request.user.is_active and request.user.is_superuser

    def has_delete_permission(self, request, obj=None) -> bool:
        return request.user.is_active and request.user.is_superuser
