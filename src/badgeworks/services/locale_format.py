"""Dates and numbers written the way a language writes them, from Babel's CLDR data.

Pages (the Jinja filters and the translator in ``web/i18n.py``), the certificate PDF and
the emails all use these, so "3 de diciembre de 2026" and "December 3, 2026" come from one
place. What machines read (JSON, CSV, the signed credentials) keeps ISO 8601.

A date may be a ``datetime`` (naive ones are UTC, as every time the service stores), a
``date``, or the ISO text a credential carries (``2026-12-03`` or ``2026-12-03T10:00:00Z``,
whose calendar day is taken as written). Text that is not a date is shown as it is, so a
credential with an odd date never breaks a page.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Literal

from babel.dates import format_date, format_time, get_datetime_format
from babel.numbers import format_decimal

Width = Literal["short", "medium", "long", "full"]
Day = datetime | date | str | None


def _day(value: datetime | date | str) -> date | None:
    if isinstance(value, datetime):
        return (value.astimezone(UTC) if value.tzinfo else value).date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value.strip()[:10])
    except ValueError:
        return None


def _moment(value: datetime | str) -> datetime | None:
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def local_date(value: Day, lang: str, width: Width = "long") -> str:
    """``value``'s calendar day in ``lang``: "December 3, 2026", "3 de diciembre de 2026"."""
    if value is None or value == "":
        return ""
    day = _day(value)
    if day is None:
        return str(value)
    return str(format_date(day, format=width, locale=lang))


def local_datetime(value: datetime | str | None, lang: str, width: Width = "long") -> str:
    """A moment in UTC, in ``lang``: "December 3, 2026, 2:05 PM UTC", "3 dic 2026, 14:05 UTC"."""
    if value is None or value == "":
        return ""
    if isinstance(value, str) and len(value.strip()) <= 10:
        return local_date(value, lang, width)
    moment = _moment(value)
    if moment is None:
        return str(value)
    day = format_date(moment, format=width, locale=lang)
    time = format_time(moment, format="short", locale=lang, tzinfo=UTC)
    pattern = str(get_datetime_format(width, locale=lang))
    return pattern.replace("{1}", str(day)).replace("{0}", f"{time} UTC")


def local_time(value: datetime | str | None, lang: str) -> str:
    """A time of day in UTC, in ``lang``: "2:05 PM UTC", "14:05 UTC"."""
    if value is None or value == "":
        return ""
    moment = _moment(value)
    if moment is None:
        return str(value)
    return f"{format_time(moment, format='short', locale=lang, tzinfo=UTC)} UTC"


def local_number(value: int | float | None, lang: str) -> str:
    """``value`` with ``lang``'s digit grouping and decimal sign: "12,345.5", "12.345,5"."""
    if value is None:
        return ""
    return str(format_decimal(value, locale=lang))
