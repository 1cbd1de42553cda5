"""The Celery application: broker from CELERY_BROKER_URL, in-process when none is set."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "iom_portal.settings")

app = Celery("iom_portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.task(name="iom_portal.ping")
def ping() -> str:
    """Round-trip check used by tests and operators (`celery call iom_portal.ping`)."""
    return "pong"
