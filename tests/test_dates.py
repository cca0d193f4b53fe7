"""Tests for wiredesk.transforms.common.dates."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wiredesk.transforms.common.dates import MIN_DATETIME, DateBounds, parse_datetime

NOW = dt.datetime(2024, 6, 1, 12, 0, tzinfo=dt.UTC)
UTC = dt.UTC


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Tue, 10 Jun 2003 04:00:00 GMT", dt.datetime(2003, 6, 10, 4, 0, tzinfo=UTC)),
        ("Tue, 10 Jun 2003 04:00:00 +0200", dt.datetime(2003, 6, 10, 2, 0, tzinfo=UTC)),
        ("10 Jun 2003 04:00:00 EST", dt.datetime(2003, 6, 10, 9, 0, tzinfo=UTC)),
        ("Tuesday, 10-Jun-03 04:00:00 GMT", dt.datetime(2003, 6, 10, 4, 0, tzinfo=UTC)),
        ("2024-01-15T10:30:00Z", dt.datetime(2024, 1, 15, 10, 30, tzinfo=UTC)),
        ("2024-01-15T10:30:00.123+05:30", dt.datetime(2024, 1, 15, 5, 0, 0, 123000, tzinfo=UTC)),
        ("2024-01-15T10:30:00", dt.datetime(2024, 1, 15, 10, 30, tzinfo=UTC)),
        ("2024-01-15", dt.datetime(2024, 1, 15, tzinfo=UTC)),
        ("20240115T103000Z", dt.datetime(2024, 1, 15, 10, 30, tzinfo=UTC)),
        ("2004-07-14 3:05 UTC", dt.datetime(2004, 7, 14, 3, 5, tzinfo=UTC)),
        ("2004-07-14T03:05:06,5 +0200", dt.datetime(2004, 7, 14, 1, 5, 6, 500000, tzinfo=UTC)),
        ("Seg, 24 Set 2018 19:42:40 -0300", dt.datetime(2018, 9, 24, 22, 42, 40, tzinfo=UTC)),
        ("mer., 5 févr. 2020 10:00:00 +0100", dt.datetime(2020, 2, 5, 9, 0, tzinfo=UTC)),
        ("Sun Jan  4 16:29:06 2004", dt.datetime(2004, 1, 4, 16, 29, 6, tzinfo=UTC)),
        (b"2024-01-15T10:30:00Z", dt.datetime(2024, 1, 15, 10, 30, tzinfo=UTC)),
        ("1700000000", dt.datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)),
        (1700000000, dt.datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)),
        (1700000000.5, dt.datetime(2023, 11, 14, 22, 13, 20, 500000, tzinfo=UTC)),
        (1700000000000, dt.datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)),  # milliseconds
        (10**9, dt.datetime(2001, 9, 9, 1, 46, 40, tzinfo=UTC)),
        (time.gmtime(1700000000), dt.datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)),
        (dt.datetime(2024, 1, 1, 9, tzinfo=dt.timezone(dt.timedelta(hours=9))),
         dt.datetime(2024, 1, 1, 0, tzinfo=UTC)),
        (dt.date(2024, 1, 2), dt.datetime(2024, 1, 2, tzinfo=UTC)),
    ],
)  # fmt: skip
def test_parses(value: object, expected: dt.datetime) -> None:
    parsed = parse_datetime(value, now=NOW)
    assert parsed == expected
    assert parsed is not None and parsed.tzinfo is UTC


@pytest.mark.parametrize(
    "value",
    [
        None,
        True,
        "",
        "   ",
        "yesterday-ish",
        "0000-01-01T00:00:00Z",
        "1000000000-01-01",  # year 10^9
        "Tue, 10 Jun 2003 04:00:00 +9999",
        "2020-01-01T00:00:00+99:99",
        "2020-01-01T00:00:00+14:30",  # no zone is that far from UTC
        "2024-13-01",  # feedparser's W3DTF would roll this into 2025
        "2024-01-01T25:00:00Z",
        "Tue, 31 Feb 2004 10:00:00 GMT",
        "Thu, 01 Jan 1970 00:00:00 GMT",  # the epoch: a missing date, not 1970
        "1989-12-31T23:59:59Z",
        "2024-06-03T12:00:01Z",  # more than two days after NOW
        "9999-12-31T23:59:59Z",
        0,
        -1,
        10**30,
        float("nan"),
        float("inf"),
        "1e9",
        b"\xff\xfe\x00",
        "x" * 10_000,
        [2024, 1, 1],
        (2024, 2, 30, 0, 0, 0, 0, 0, 0),
        object(),
    ],
)
def test_nonsense_is_none(value: object) -> None:
    assert parse_datetime(value, now=NOW) is None


def test_bounds_are_configurable_and_relative_to_now() -> None:
    value = "2024-06-02T12:00:00Z"
    assert parse_datetime(value, now=NOW) is not None
    assert parse_datetime(value, now=NOW, bounds=DateBounds(max_ahead=dt.timedelta(0))) is None
    naive_now = NOW.replace(tzinfo=None)
    assert parse_datetime(value, now=naive_now) == dt.datetime(2024, 6, 2, 12, tzinfo=UTC)


_ANY = st.one_of(
    st.text(max_size=80),
    st.binary(max_size=80),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.datetimes(timezones=st.one_of(st.none(), st.timezones())),
    st.tuples(*[st.integers(-(10**6), 10**6)] * 9),
    st.from_regex(r"\A\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2}:?\d{2}\Z"),
    st.from_regex(r"\A(Mon|Tue), \d{1,2} (Jan|Feb|Set|Okt) \d{2,5} \d{2}:\d{2}:\d{2} [+-]\d{4}\Z"),
)


@settings(max_examples=500, deadline=None)
@given(_ANY)
def test_never_raises_and_stays_in_bounds(value: object) -> None:
    parsed = parse_datetime(value, now=NOW)
    if parsed is not None:
        assert parsed.tzinfo is UTC
        assert MIN_DATETIME <= parsed <= NOW + dt.timedelta(days=2)


def test_docstring_examples() -> None:
    import doctest

    import wiredesk.transforms.common.dates as module

    assert doctest.testmod(module).failed == 0
