"""App config for Niger's administrative units and IOM offices."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RegionsConfig(AppConfig):
    name = "regions"
    verbose_name = _("Regions and offices")

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from .models import AdminUnit

        # Any saved or deleted unit (admin, shell, import) makes the cached place lists stale.
        for signal in (post_save, post_delete):
            signal.connect(_units_changed, sender=AdminUnit, dispatch_uid=f"regions-units-{signal}")


def _units_changed(**kwargs) -> None:
    from .models import bump_reference_version

    bump_reference_version()
