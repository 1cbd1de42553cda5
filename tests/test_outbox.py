"""The e-mail outbox: every message is stored, delivered after commit, kept and retried when delivery fails."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.forms import PasswordResetForm
from django.core import mail
from django.core.mail import send_mail
from django.core.mail.backends.base import BaseEmailBackend
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

from outbox.models import EmailStatus, OutgoingEmail
from outbox.services import deliver_due, retry_delay

from .reviews_support import assign

pytest_plugins = ["tests.reviews_support"]

LOCMEM = "django.core.mail.backends.locmem.EmailBackend"
REFUSING = "tests.test_outbox.RefusingBackend"


class RefusingBackend(BaseEmailBackend):
    """An SMTP server that is not there."""

    def send_messages(self, email_messages):
        raise ConnectionRefusedError(111, "Connection refused")


@pytest.fixture
def outbox(settings):
    """The production wiring: the outbox backend in front, delivery through the in-memory backend."""
    settings.EMAIL_BACKEND = "outbox.backends.OutboxBackend"
    settings.EMAIL_DELIVERY_BACKEND = LOCMEM
    settings.SITE_URL = "https://portal.iom-niger.example"
    return settings


def test_a_message_is_stored_then_delivered_once_the_transaction_commits(
    outbox, db, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        send_mail("Objet", "Texte", None, ["ana@iom.example"])
    email = OutgoingEmail.objects.get()
    assert (email.status, email.recipients, mail.outbox) == (EmailStatus.QUEUED, ["ana@iom.example"], [])
    for callback in callbacks:
        callback()
    email.refresh_from_db()
    assert email.status == EmailStatus.SENT and email.sent_at is not None and email.attempts == 1
    assert [(m.subject, m.to, m.from_email) for m in mail.outbox] == [
        ("Objet", ["ana@iom.example"], django_settings.DEFAULT_FROM_EMAIL)
    ]


def test_a_rolled_back_transaction_keeps_and_sends_nothing(outbox, db, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError), transaction.atomic():
        send_mail("Objet", "Texte", None, ["ana@iom.example"])
        raise RuntimeError("the request failed")
    assert not OutgoingEmail.objects.exists() and mail.outbox == []


def test_a_refused_connection_keeps_the_review_e_mail_and_a_later_run_delivers_it(
    outbox, django_capture_on_commit_callbacks, submitted, manager, expert1
):
    outbox.EMAIL_DELIVERY_BACKEND = REFUSING
    with django_capture_on_commit_callbacks(execute=True):
        assign(submitted, manager, expert1)
    email = OutgoingEmail.objects.get()
    assert email.status == EmailStatus.RETRYING and email.attempts == 1
    assert "ConnectionRefusedError" in email.last_error
    assert email.recipients == ["eve@iom.example"]
    assert "https://portal.iom-niger.example/fr/reviews/" in email.body
    assert mail.outbox == []

    # Not due yet: nothing is attempted before the retry delay.
    assert deliver_due(now=timezone.now()) == 0
    outbox.EMAIL_DELIVERY_BACKEND = LOCMEM
    assert deliver_due(now=timezone.now() + retry_delay(1) + timedelta(seconds=1)) == 1
    email.refresh_from_db()
    assert email.status == EmailStatus.SENT and email.attempts == 2 and email.last_error == ""
    assert [m.to for m in mail.outbox] == [["eve@iom.example"]]


def test_retries_wait_longer_each_time_but_never_more_than_an_hour():
    assert [retry_delay(n).total_seconds() / 60 for n in (1, 2, 3, 4)] == [1, 2, 4, 8]
    assert retry_delay(50) == timedelta(hours=1)


def test_failed_attempts_never_drop_the_message(outbox, db, django_capture_on_commit_callbacks):
    outbox.EMAIL_DELIVERY_BACKEND = REFUSING
    with django_capture_on_commit_callbacks(execute=True):
        send_mail("Objet", "Texte", None, ["ana@iom.example"])
    later = timezone.now()
    for _ in range(12):
        later += timedelta(hours=2)
        deliver_due(now=later)
    email = OutgoingEmail.objects.get()
    assert email.status == EmailStatus.RETRYING and email.attempts == 13


def test_the_command_delivers_what_is_due(outbox, db):
    OutgoingEmail.objects.create(from_email="a@iom.example", recipients=["b@iom.example"], subject="S", body="B")
    out = StringIO()
    call_command("send_outbox", stdout=out)
    assert out.getvalue().strip() == "outbox: 1 sent, 0 waiting"
    assert [m.to for m in mail.outbox] == [["b@iom.example"]]


def test_sent_messages_are_deleted_after_the_retention_period(outbox, db):
    OutgoingEmail.objects.create(
        from_email="a@iom.example",
        recipients=["b@iom.example"],
        subject="S",
        body="B",
        status=EmailStatus.SENT,
        sent_at=timezone.now() - timedelta(days=31),
    )
    recent = OutgoingEmail.objects.create(
        from_email="a@iom.example",
        recipients=["b@iom.example"],
        subject="S",
        body="B",
        status=EmailStatus.SENT,
        sent_at=timezone.now(),
    )
    deliver_due()
    assert list(OutgoingEmail.objects.values_list("pk", flat=True)) == [recent.pk]


def test_beat_drains_the_outbox_every_minute():
    entry = django_settings.CELERY_BEAT_SCHEDULE["outbox-deliver-due"]
    assert entry == {"task": "outbox.deliver_due", "schedule": 60}


def test_password_links_start_with_the_site_url(outbox, db, staff, django_capture_on_commit_callbacks):
    staff.email = "alice@iom.example"
    staff.save(update_fields=["email"])
    form = PasswordResetForm({"email": "alice@iom.example"})
    assert form.is_valid()
    with django_capture_on_commit_callbacks(execute=True):
        form.save(domain_override="10.0.0.5:8000", email_template_name="registration/password_reset_email.html")
    assert "https://portal.iom-niger.example/fr/accounts/reset/" in mail.outbox[0].body
    assert "10.0.0.5" not in mail.outbox[0].body


def test_the_superuser_sees_the_outbox_and_resends_a_failed_message(outbox, client, admin_user, staff):
    email = OutgoingEmail.objects.create(
        from_email="a@iom.example",
        recipients=["b@iom.example"],
        subject="Révision demandée",
        body="B",
        status=EmailStatus.RETRYING,
        attempts=3,
        last_error="ConnectionRefusedError: [Errno 111] Connection refused",
        next_attempt_at=timezone.now() + timedelta(hours=1),
    )
    client.force_login(admin_user)
    page = client.get("/admin/outbox/outgoingemail/")
    assert page.status_code == 200 and "Révision demandée" in page.content.decode()
    response = client.post(
        "/admin/outbox/outgoingemail/", {"action": "resend", "_selected_action": [email.pk]}, follow=True
    )
    assert response.status_code == 200
    email.refresh_from_db()
    assert email.status == EmailStatus.SENT and [m.to for m in mail.outbox] == [["b@iom.example"]]

    client.force_login(staff)
    assert client.get("/admin/outbox/outgoingemail/").status_code == 403


def test_portal_url_is_still_read_when_site_url_is_not_set():
    root = Path(__file__).resolve().parent.parent
    env = {k: v for k, v in os.environ.items() if k not in ("SITE_URL", "PORTAL_URL")} | {"DEBUG": "1"}
    code = "import django; django.setup(); from django.conf import settings; print(settings.SITE_URL)"

    def site_url(**extra) -> str:
        run = subprocess.run(
            [sys.executable, "-c", code], cwd=root, env={**env, **extra}, capture_output=True, text=True, timeout=60
        )
        return run.stdout.strip()

    assert site_url(PORTAL_URL="https://old.example") == "https://old.example"
    assert site_url(PORTAL_URL="https://old.example", SITE_URL="https://new.example") == "https://new.example"
