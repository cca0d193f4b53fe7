"""The poll policy: adaptive intervals, back-off, server hints, bounded deterministic jitter."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wiredesk.transforms.sources.poll_schedule import (
    FeedSchedule,
    PollStatus,
    ScheduleConfig,
    ServerHints,
    due_feeds,
    jitter_fraction,
    next_poll,
    parse_cache_control,
    schedule_from_row,
    seconds_until_next_due,
)

NOW = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.UTC)
URL = "https://example.com/rss.xml"
FLAT = ScheduleConfig(min_interval=60, max_interval=900, jitter=0.0)


NO_HINTS = ServerHints()


def _poll(config, previous, outcome, hints=NO_HINTS, now=NOW, url=URL):
    return next_poll(
        config=config, previous=previous, outcome=outcome, hints=hints, now=now, feed_url=url
    )


def _delay(schedule: FeedSchedule, now=NOW) -> float:
    return (schedule.next_poll_at - now).total_seconds()


def test_first_poll_starts_at_the_poll_interval():
    s = _poll(FLAT, None, PollStatus.CHANGED)
    assert s.interval == 60 and _delay(s) == 60
    assert s.polls == 1 and s.consecutive_failures == 0 and s.last_new_at == NOW


def test_idle_feed_slows_down_up_to_the_maximum():
    s = _poll(FLAT, None, PollStatus.NOT_MODIFIED)
    intervals = []
    for _ in range(12):
        s = _poll(FLAT, s, PollStatus.NOT_MODIFIED)
        intervals.append(s.interval)
    assert intervals == sorted(intervals)
    assert intervals[0] > 60
    assert intervals[-1] == 900 and _delay(s) == 900
    # An unchanged listing (200 with the same items) counts as idle too.
    assert _poll(FLAT, s, PollStatus.UNCHANGED).interval == 900


def test_busy_feed_speeds_up_down_to_the_poll_interval():
    s = FeedSchedule(interval=900, next_poll_at=NOW, polls=5)
    seen = []
    for _ in range(8):
        s = _poll(FLAT, s, PollStatus.CHANGED)
        seen.append(s.interval)
    assert seen[0] == 450 and seen[-1] == 60
    assert min(seen) == 60


def test_failures_back_off_exponentially_with_a_cap_and_reset_on_success():
    config = ScheduleConfig(min_interval=60, max_interval=3600, jitter=0.0)
    s = _poll(config, None, PollStatus.CHANGED)
    delays = []
    for _ in range(10):
        s = _poll(config, s, PollStatus.FAILED)
        delays.append(_delay(s))
    assert delays[:5] == [120, 240, 480, 960, 1920]
    assert delays[-1] == 3600 and max(delays) == 3600
    assert s.consecutive_failures == 10
    assert s.interval == 60  # the adaptive interval survives the failures
    s = _poll(config, s, PollStatus.CHANGED)
    assert s.consecutive_failures == 0 and _delay(s) == 60


def test_backoff_has_its_own_cap():
    config = ScheduleConfig(min_interval=60, max_interval=3600, jitter=0.0, max_backoff=300)
    s = None
    for _ in range(8):
        s = _poll(config, s, PollStatus.FAILED)
    assert _delay(s) == 300


def test_ttl_and_max_age_are_floors_bounded_by_the_maximum():
    s = _poll(FLAT, None, PollStatus.CHANGED, ServerHints(ttl_seconds=600))
    assert s.interval == 600 and _delay(s) == 600
    s = _poll(FLAT, None, PollStatus.CHANGED, ServerHints(cache_max_age=300))
    assert _delay(s) == 300
    # The operator's maximum wins over a daily sy:updatePeriod.
    s = _poll(FLAT, None, PollStatus.CHANGED, ServerHints(ttl_seconds=86400))
    assert _delay(s) == 900
    # A hint below the poll interval changes nothing.
    assert _delay(_poll(FLAT, None, PollStatus.CHANGED, ServerHints(ttl_seconds=5))) == 60


def test_retry_after_is_honoured_beyond_the_maximum_up_to_its_own_cap():
    s = _poll(FLAT, None, PollStatus.FAILED, ServerHints(retry_after=2000))
    assert _delay(s) == 2000
    s = _poll(FLAT, None, PollStatus.NOT_MODIFIED, ServerHints(retry_after=120))
    assert _delay(s) == 120
    capped = ScheduleConfig(min_interval=60, max_interval=900, jitter=0.0, max_retry_after=3000)
    assert _delay(_poll(capped, None, PollStatus.FAILED, ServerHints(retry_after=10**7))) == 3000


def test_jitter_is_deterministic_and_bounded():
    config = ScheduleConfig(min_interval=60, max_interval=6000, jitter=0.2)
    base = FeedSchedule(interval=1000, next_poll_at=NOW, polls=3)
    first = _poll(config, base, PollStatus.UNCHANGED)
    again = _poll(config, base, PollStatus.UNCHANGED)
    assert first == again  # same feed, same poll count: same plan
    delays = {
        _delay(_poll(config, base, PollStatus.UNCHANGED, url=f"https://e{i}.example/rss"))
        for i in range(200)
    }
    assert len(delays) > 150  # feeds are spread apart
    assert min(delays) >= 1500 * 0.8 and max(delays) <= 1500 * 1.2
    assert min(delays) < 1500 * 0.9 and max(delays) > 1500 * 1.1
    other_seed = ScheduleConfig(min_interval=60, max_interval=6000, jitter=0.2, seed="x")
    assert _poll(other_seed, base, PollStatus.UNCHANGED) != first


@given(
    url=st.text(max_size=40),
    cycle=st.integers(min_value=0, max_value=10**9),
    seed=st.text(max_size=80),
)
def test_jitter_fraction_stays_in_range(url, cycle, seed):
    value = jitter_fraction(seed=seed, feed_url=url, cycle=cycle)
    assert -1.0 <= value <= 1.0
    assert value == jitter_fraction(seed=seed, feed_url=url, cycle=cycle)


@given(
    interval=st.floats(min_value=1, max_value=10**6),
    failures=st.integers(min_value=0, max_value=200),
    outcome=st.sampled_from(list(PollStatus)),
    ttl=st.none() | st.floats(min_value=-10, max_value=10**8),
    max_age=st.none() | st.floats(min_value=-10, max_value=10**8),
)
def test_delay_stays_within_the_bounds(interval, failures, outcome, ttl, max_age):
    config = ScheduleConfig(min_interval=30, max_interval=600, jitter=0.1)
    previous = FeedSchedule(interval=interval, next_poll_at=NOW, consecutive_failures=failures)
    s = _poll(config, previous, outcome, ServerHints(ttl_seconds=ttl, cache_max_age=max_age))
    assert 30 <= s.interval <= 600
    assert 30 <= _delay(s) <= 600


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("max-age=300", 300.0),
        ("public, max-age=60, must-revalidate", 60.0),
        ('max-age="120"', 120.0),
        ("s-maxage=50", None),
        ("no-cache, max-age=300", None),
        ("no-store", None),
        ("max-age=0", None),
        ("max-age=abc", None),
        ("", None),
        (None, None),
    ],
)
def test_cache_control(header, expected):
    assert parse_cache_control(header) == expected


def test_config_is_validated():
    with pytest.raises(ValueError):
        ScheduleConfig(min_interval=600, max_interval=60)
    with pytest.raises(ValueError):
        ScheduleConfig(jitter=1.5)


def test_due_feeds_and_the_next_wake():
    config = ScheduleConfig(min_interval=100, max_interval=1000)
    plan = {
        "a": NOW - dt.timedelta(seconds=1),
        "b": NOW + dt.timedelta(seconds=5),  # within the slack (10 % of 100 s)
        "c": NOW + dt.timedelta(seconds=50),
    }
    urls = ["a", "b", "c", "new"]
    assert due_feeds(feed_urls=urls, next_poll_at=plan, now=NOW, config=config) == [
        "a",
        "b",
        "new",
    ]
    assert seconds_until_next_due(feed_urls=urls, next_poll_at=plan, now=NOW, cap=100) == 0
    later = {"c": NOW + dt.timedelta(seconds=50), "d": NOW + dt.timedelta(seconds=500)}
    assert seconds_until_next_due(feed_urls=["c", "d"], next_poll_at=later, now=NOW, cap=100) == 50
    assert seconds_until_next_due(feed_urls=["d"], next_poll_at=later, now=NOW, cap=100) == 100
    assert seconds_until_next_due(feed_urls=["d"], next_poll_at=later, now=NOW, cap=-5) == 0


def test_schedule_from_state_rows():
    assert schedule_from_row(None) is None
    # Rows written before schedules existed: the feed is simply due.
    assert schedule_from_row({"feed_url": URL, "etag": '"x"', "polled_at": NOW}) is None
    row = {
        "next_poll_at": NOW,
        "interval_s": 120.0,
        "consecutive_failures": 2,
        "polls": 7,
        "last_new_at": None,
    }
    assert schedule_from_row(row) == FeedSchedule(
        interval=120.0, next_poll_at=NOW, consecutive_failures=2, polls=7
    )
