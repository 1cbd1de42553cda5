"""The outbox: every e-mail the portal sends is kept here until delivered, and retried until it is."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OutboxConfig(AppConfig):
    name = "outbox"
    verbose_name = _("E-mail outbox")
    default_auto_field = "django.db.models.BigAutoField"
