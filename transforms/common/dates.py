"""Parse the dates feeds and wires print, into aware UTC datetimes or ``None``.

:func:`parse_datetime` accepts what feeds carry: feedparser's ``struct_time`` (UTC),
RFC 822/2822 (``Tue, 10 Jun 2003 04:00:00 GMT``), ISO 8601 / RFC 3339 (with or without
an offset; none means UTC), epoch seconds (or milliseconds), ``datetime``/``date``
objects, bytes, and the odd formats feedparser's own date handlers know (W3DTF,
asctime, Korean, Greek, Hungarian). It never raises: nonsense is ``None``. That
includes an offset beyond +/-14:00, a date before 1990 (:data:`MIN_DATETIME`, older
than any online news feed), one more than two days after ``now`` (clock skew and time
zones stay in, typos such as 2204 stay out), and years such as 0 or 10^9.

>>> import datetime as dt
>>> parse_datetime("Tue, 10 Jun 2003 04:00:00 +0200").isoformat()
'2003-06-10T02:00:00+00:00'
>>> parse_datetime("2024-01-15T10:30:00Z").isoformat()
'2024-01-15T10:30:00+00:00'
>>> parse_datetime(1700000000).isoformat()
'2023-11-14T22:13:20+00:00'
>>> parse_datetime("2999-01-01") is None, parse_datetime("0000-01-01") is None
(True, True)
>>> parse_datetime("Sat, 01 Jan 0000 00:00:00 GMT") is None, parse_datetime("1 Jan 24 10:00 GMT").year
(True, 2024)
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import email.utils
import math
import re
import time
from typing import Any

from feedparser.datetimes import _parse_date as _feedparser_parse_date

__all__ = ["MIN_DATETIME", "DateBounds", "parse_datetime"]

MIN_DATETIME = dt.datetime(1990, 1, 1, tzinfo=dt.UTC)


@dataclasses.dataclass(frozen=True)
class DateBounds:
    """What counts as a plausible publication time."""

    earliest: dt.datetime = MIN_DATETIME
    max_ahead: dt.timedelta = dt.timedelta(days=2)
    max_offset: dt.timedelta = dt.timedelta(hours=14)  # UTC+14 (Kiribati) is the widest
    max_text: int = 200  # longer "dates" are not dates, and regexes stay cheap


_DEFAULT_BOUNDS = DateBounds()
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_NUMBER = re.compile(r"^[+-]?\d{1,20}(?:\.\d{1,9})?$", re.ASCII)
_ISO_BASIC_DATE = re.compile(r"^\d{8}$", re.ASCII)
_ISO_START = re.compile(r"^\d{4}-?[\dW]", re.ASCII)
# ISO 8601 / W3DTF as feeds write it, looser than fromisoformat (one-digit hours,
# "UTC" suffixes, commas, spaces before the offset) but never rolling values over.
_ISO_LOOSE = re.compile(
    r"^(\d{4})(?:-?(\d{2})(?:-?(\d{2})"
    r"(?:(?:T|\s+|T\s*)(\d{1,2}):?(\d{2})(?::?(\d{2})(?:[.,](\d{1,9}))?)?"
    r"\s*(Z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)?)?)?)?$",
    re.ASCII | re.IGNORECASE,
)
# "Seg, 24 Set 2018 19:42:40 -0300": weekday (dropped), day, month name, the rest.
_LOCAL_RFC822 = re.compile(r"^(?:[^\W\d_]+\.?,?\s+)?(\d{1,2})\.?\s+([^\W\d_]+\.?)\s+(\d{2,4}\s.*)$")
# Month abbreviations in the languages whose feeds print RFC 822 dates in their own
# words (pt, es, fr, de, it, nl); none collides with an English abbreviation.
_LOCAL_MONTHS = {
    "jan": "Jan", "janv": "Jan", "janvier": "Jan", "janeiro": "Jan", "enero": "Jan",
    "ene": "Jan", "gen": "Jan", "gennaio": "Jan", "januar": "Jan", "jän": "Jan",
    "fev": "Feb", "fév": "Feb", "févr": "Feb", "feb": "Feb", "fevereiro": "Feb",
    "febrero": "Feb", "février": "Feb", "febbraio": "Feb", "februar": "Feb",
    "mar": "Mar", "mars": "Mar", "março": "Mar", "marzo": "Mar", "mär": "Mar",
    "märz": "Mar", "mrz": "Mar", "mrt": "Mar", "maart": "Mar",
    "abr": "Apr", "avr": "Apr", "avril": "Apr", "abril": "Apr", "aprile": "Apr",
    "mai": "May", "maio": "May", "mayo": "May", "mag": "May", "maggio": "May", "mei": "May",
    "juin": "Jun", "junho": "Jun", "junio": "Jun", "giu": "Jun", "giugno": "Jun", "juni": "Jun",
    "juil": "Jul", "juillet": "Jul", "julho": "Jul", "julio": "Jul", "lug": "Jul",
    "luglio": "Jul", "juli": "Jul",
    "ago": "Aug", "août": "Aug", "aout": "Aug", "agosto": "Aug",
    "set": "Sep", "sept": "Sep", "setembro": "Sep", "septiembre": "Sep", "septembre": "Sep",
    "settembre": "Sep",
    "out": "Oct", "outubro": "Oct", "octubre": "Oct", "octobre": "Oct", "ott": "Oct",
    "ottobre": "Oct", "okt": "Oct", "oktober": "Oct",
    "novembro": "Nov", "noviembre": "Nov", "novembre": "Nov",
    "dez": "Dec", "dezembro": "Dec", "dic": "Dec", "diciembre": "Dec", "déc": "Dec",
    "décembre": "Dec", "dicembre": "Dec", "dezember": "Dec",
}  # fmt: skip
# An explicit numeric offset at the end of the string ("+0200", "-05:00", "+9999").
_OFFSET = re.compile(r"(?:^|[\sT\d])([+-])(\d{2}):?(\d{2})\s*$")


def _finish(value: dt.datetime, now: dt.datetime, bounds: DateBounds) -> dt.datetime | None:
    try:
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        else:
            offset = value.utcoffset()
            if offset is None or abs(offset) > bounds.max_offset:
                return None
        value = value.astimezone(dt.UTC)
    except (OverflowError, ValueError):
        return None
    if value < bounds.earliest or value > now + bounds.max_ahead:
        return None
    return value


def _from_epoch(seconds: float) -> dt.datetime | None:
    if not math.isfinite(seconds):
        return None
    # Above 1e11 seconds (year 5138) it can only be milliseconds.
    if abs(seconds) >= 1e11:
        seconds /= 1000.0
    try:
        return _EPOCH + dt.timedelta(seconds=seconds)
    except (OverflowError, ValueError):
        return None


def _from_struct(value: Any) -> dt.datetime | None:
    try:
        year, month, day, hour, minute, second = (int(v) for v in tuple(value)[:6])
        # struct_time allows a leap second (60); datetime does not.
        return dt.datetime(year, month, day, hour, minute, min(second, 59), tzinfo=dt.UTC)
    except (TypeError, ValueError, OverflowError):
        return None


def _offset_ok(text: str, bounds: DateBounds) -> bool:
    match = _OFFSET.search(text)
    if not match:
        return True
    hours, minutes = int(match.group(2)), int(match.group(3))
    return minutes < 60 and dt.timedelta(hours=hours, minutes=minutes) <= bounds.max_offset


def _from_iso(text: str) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError:
        pass
    match = _ISO_LOOSE.match(text)
    if not match:
        return None
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    try:
        tz: dt.tzinfo | None = None
        if zone and zone.upper() in ("Z", "UTC", "GMT"):
            tz = dt.UTC
        elif zone:
            sign = -1 if zone[0] == "-" else 1
            digits = zone[1:].replace(":", "")
            offset = dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:] or 0))
            tz = dt.timezone(sign * offset)
        micro = int((fraction or "0").ljust(6, "0")[:6])
        return dt.datetime(
            int(year), int(month or 1), int(day or 1), int(hour or 0), int(minute or 0),
            int(second or 0), micro, tzinfo=tz,
        )  # fmt: skip
    except (ValueError, OverflowError):
        return None


# The year of an RFC 822 date: after the month name, before the time or the end.
_RFC822_YEAR = re.compile(r"[A-Za-z]{3,}\.?\s+(\d+)(?:\s|$)", re.ASCII)


def _from_rfc822(text: str) -> dt.datetime | None:
    year = _RFC822_YEAR.search(text)
    if year and len(year.group(1)) > 2 and int(year.group(1)) < 1000:
        # email.utils reads any year below 100 as two digits: "0000" would be 2000.
        return None
    try:
        return email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def _englished(text: str) -> str | None:
    """RFC 822 text with a localized weekday dropped and month name made English."""
    match = _LOCAL_RFC822.match(text)
    if not match:
        return None
    month = _LOCAL_MONTHS.get(match.group(2).lower().rstrip("."))
    if month is None:
        return None
    return f"{match.group(1)} {month} {match.group(3)}"


def _from_text(text: str, bounds: DateBounds) -> dt.datetime | None:
    text = " ".join(text.split())
    if not text or len(text) > bounds.max_text or not _offset_ok(text, bounds):
        return None
    if _NUMBER.match(text) and not _ISO_BASIC_DATE.match(text):
        return _from_epoch(float(text))
    if _ISO_START.match(text):
        # ISO-shaped text is parsed strictly: feedparser's handlers would roll
        # "2024-13-01" over into 2025.
        return _from_iso(text)
    parsed = _from_rfc822(text)
    if parsed is None:
        localized = _englished(text)
        parsed = _from_rfc822(localized) if localized else None
    if parsed is not None:
        return parsed
    try:
        # feedparser's handlers are third-party regex code run on untrusted text:
        # whatever they raise means "not a date".
        struct = _feedparser_parse_date(text)
    except Exception:
        return None
    return _from_struct(struct) if struct else None


def parse_datetime(
    value: object,
    *,
    now: dt.datetime | None = None,
    bounds: DateBounds = _DEFAULT_BOUNDS,
) -> dt.datetime | None:
    """``value`` as an aware UTC datetime within ``bounds`` (relative to ``now``), or None.

    ``now`` defaults to the current time; a naive ``now`` is taken as UTC. Naive
    inputs are taken as UTC too.
    """
    if now is None:
        now = dt.datetime.now(dt.UTC)
    elif now.tzinfo is None:
        now = now.replace(tzinfo=dt.UTC)
    parsed: dt.datetime | None
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, dt.datetime):
        parsed = value
    elif isinstance(value, dt.date):
        parsed = dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC)
    elif isinstance(value, int | float):
        parsed = _from_epoch(float(value)) if abs(value) < 1e20 else None
    elif isinstance(value, time.struct_time | tuple):
        parsed = _from_struct(value)
    elif isinstance(value, bytes | bytearray):
        if len(value) > bounds.max_text * 4:
            return None
        parsed = _from_text(bytes(value).decode("utf-8", "replace"), bounds)
    elif isinstance(value, str):
        parsed = _from_text(value, bounds)
    else:
        return None
    return None if parsed is None else _finish(parsed, now, bounds)
