"""An iCalendar (RFC 5545) feed of obligations: one all-day VEVENT per obligation, with an alarm a week before.

Lines end in CRLF and are folded at 75 octets (never inside a UTF-8 character); text values escape
backslash, semicolon, comma and newlines; every event has a stable UID and the feed's DTSTAMP.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from django.urls import reverse

from .models import Obligation

PRODID = "-//IOM Niger//Programme portal obligations//EN"
MAX_OCTETS = 75


def escape(text: str) -> str:
    return (
        str(text)
        .replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
        .replace("\r", "\\n")
    )


def fold(line: str) -> str:
    """Split a content line into chunks of at most 75 octets, continuation lines starting with a space."""
    encoded = line.encode("utf-8")
    if len(encoded) <= MAX_OCTETS:
        return line
    parts, current, size, limit = [], [], 0, MAX_OCTETS
    for char in line:
        width = len(char.encode("utf-8"))
        if size + width > limit:
            parts.append("".join(current))
            current, size, limit = [], 0, MAX_OCTETS - 1  # the leading space counts
        current.append(char)
        size += width
    parts.append("".join(current))
    return "\r\n ".join(parts)


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def event(obligation: Obligation, *, stamp: datetime, base_url: str, show_people: bool) -> list[str]:
    programme = obligation.programme
    url = base_url + reverse("obligations:programme", args=[programme.code])
    description = [programme.title, url]
    responsible = obligation.responsible_name if (show_people or obligation.responsible_organisation_id) else ""
    if responsible:
        description.insert(1, responsible)
    return [
        "BEGIN:VEVENT",
        f"UID:obligation-{obligation.pk}@iom-niger-portal",
        f"DTSTAMP:{_utc(stamp)}",
        f"DTSTART;VALUE=DATE:{obligation.due_date:%Y%m%d}",
        f"DTEND;VALUE=DATE:{obligation.due_date + timedelta(days=1):%Y%m%d}",
        f"SUMMARY:{escape(f'{programme.code} — {obligation.title}')}",
        f"DESCRIPTION:{escape(chr(10).join(description))}",
        f"URL:{url}",
        "TRANSP:TRANSPARENT",
        "BEGIN:VALARM",
        "ACTION:DISPLAY",
        f"DESCRIPTION:{escape(obligation.title)}",
        "TRIGGER:-P7D",
        "END:VALARM",
        "END:VEVENT",
    ]


def calendar(obligations: Iterable[Obligation], *, stamp: datetime, base_url: str, name: str, show_people: bool) -> str:
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODID}",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"X-WR-CALNAME:{escape(name)}",
    ]
    for obligation in obligations:
        lines += event(obligation, stamp=stamp, base_url=base_url, show_people=show_people)
    lines.append("END:VCALENDAR")
    return "".join(fold(line) + "\r\n" for line in lines)
