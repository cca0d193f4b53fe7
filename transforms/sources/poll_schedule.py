"""When to poll a feed next: a pure, deterministic policy (no clock, no I/O).

Every feed carries a :class:`FeedSchedule` in the ``feeds`` state. After each
poll, :func:`next_poll` turns the previous schedule and what the poll gave into
the next one:

* a feed whose listing changed is polled more often (the interval shrinks by
  ``busy_factor``, never below ``min_interval``, the ``--poll-interval``);
* a feed that answered 304 or listed the same items again is polled less often
  (the interval grows by ``idle_factor``, never above ``max_interval``, the
  ``--max-poll-interval``);
* a failing feed backs off exponentially (``min_interval * backoff_base **
  failures``, at most ``max_backoff``) without losing its adaptive interval;
* the server's hints are floors: RSS ``<ttl>`` / ``sy:updatePeriod`` and
  ``Cache-Control: max-age`` up to ``max_interval`` (the operator's bound wins),
  ``Retry-After`` up to ``max_retry_after`` (a server that says "not before"
  means it);
* jitter spreads feeds apart: the delay is scaled by ``1 ± jitter`` with a
  fraction drawn from a keyed hash of the feed URL and its poll count, so a run
  is reproducible and tests can pin it.

Example::

    >>> import datetime as dt
    >>> now = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    >>> cfg = ScheduleConfig(min_interval=60, max_interval=600, jitter=0.0)
    >>> s = next_poll(config=cfg, previous=None, outcome=PollStatus.CHANGED,
    ...               hints=ServerHints(), now=now, feed_url="https://example.com/rss")
    >>> s.interval, s.next_poll_at - now
    (60.0, datetime.timedelta(seconds=60))
    >>> s = next_poll(config=cfg, previous=s, outcome=PollStatus.NOT_MODIFIED,
    ...               hints=ServerHints(), now=now, feed_url="https://example.com/rss")
    >>> s.interval
    90.0
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import hashlib
import re
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = [
    "FeedSchedule",
    "PollStatus",
    "ScheduleConfig",
    "ServerHints",
    "due_feeds",
    "jitter_fraction",
    "next_poll",
    "parse_cache_control",
    "schedule_from_row",
    "seconds_until_next_due",
]


class PollStatus(enum.StrEnum):
    CHANGED = "changed"  # 200 with items not listed last time (or the first poll)
    UNCHANGED = "unchanged"  # 200 with the same listing as last time
    NOT_MODIFIED = "not_modified"  # 304
    FAILED = "failed"  # network error, HTTP error, unusable body


@dataclasses.dataclass(frozen=True)
class ScheduleConfig:
    """The policy's knobs; defaults in one place. Times are seconds."""

    min_interval: float = 300.0  # --poll-interval
    max_interval: float = 3600.0  # --max-poll-interval
    idle_factor: float = 1.5
    busy_factor: float = 0.5
    backoff_base: float = 2.0
    max_backoff: float | None = None  # None: max_interval
    max_retry_after: float = 86400.0
    jitter: float = 0.1  # the delay is scaled by a factor in [1 - jitter, 1 + jitter]
    seed: str = "wiredesk"
    # A feed due within this fraction of min_interval after a cycle starts is polled
    # in that cycle rather than waking the loop again moments later.
    due_slack: float = 0.1

    def __post_init__(self) -> None:
        if not 0 < self.min_interval <= self.max_interval:
            raise ValueError("need 0 < min_interval <= max_interval")
        if not 0 <= self.jitter < 1:
            raise ValueError("jitter must be in [0, 1)")


@dataclasses.dataclass(frozen=True)
class ServerHints:
    """What the server said about polling again (seconds; None when silent)."""

    ttl_seconds: float | None = None  # RSS <ttl>, sy:updatePeriod/updateFrequency
    cache_max_age: float | None = None  # Cache-Control: max-age
    retry_after: float | None = None  # Retry-After (429/503)


@dataclasses.dataclass(frozen=True)
class FeedSchedule:
    """One feed's schedule as persisted in the ``feeds`` state."""

    interval: float
    next_poll_at: dt.datetime
    consecutive_failures: int = 0
    polls: int = 0
    last_new_at: dt.datetime | None = None


def jitter_fraction(*, seed: str, feed_url: str, cycle: int) -> float:
    """A reproducible number in [-1, 1] for this feed and poll."""
    digest = hashlib.blake2b(
        f"{feed_url}\x00{cycle}".encode("utf-8", "surrogatepass"),
        key=seed.encode("utf-8")[:64],
        digest_size=8,
    ).digest()
    return int.from_bytes(digest, "big") / float(2**64 - 1) * 2.0 - 1.0


def _clamp(value: float, low: float, high: float) -> float:
    return max(low, min(high, value))


def _positive(value: float | None) -> float | None:
    return value if value is not None and value > 0 else None


def next_poll(
    *,
    config: ScheduleConfig,
    previous: FeedSchedule | None,
    outcome: PollStatus,
    hints: ServerHints,
    now: dt.datetime,
    feed_url: str,
) -> FeedSchedule:
    """The schedule after a poll at ``now`` that gave ``outcome``."""
    low, high = config.min_interval, config.max_interval
    interval = _clamp(previous.interval if previous else low, low, high)
    failures = previous.consecutive_failures if previous else 0
    polls = (previous.polls if previous else 0) + 1
    last_new_at = previous.last_new_at if previous else None

    if outcome is PollStatus.FAILED:
        failures += 1
        cap = config.max_backoff if config.max_backoff is not None else high
        backoff = low * config.backoff_base ** min(failures, 64)
        delay = min(max(cap, low), max(interval, backoff))
        upper = max(cap, low)
    else:
        failures = 0
        if outcome is PollStatus.CHANGED:
            interval = _clamp(interval * config.busy_factor, low, high)
            last_new_at = now
        else:
            interval = _clamp(interval * config.idle_factor, low, high)
        freshness = max(_positive(hints.ttl_seconds) or 0.0, _positive(hints.cache_max_age) or 0.0)
        interval = _clamp(max(interval, freshness), low, high)
        delay = interval
        upper = high

    delay *= 1.0 + config.jitter * jitter_fraction(seed=config.seed, feed_url=feed_url, cycle=polls)
    delay = _clamp(delay, low, upper)
    retry_after = _positive(hints.retry_after)
    if retry_after is not None:
        delay = max(delay, min(retry_after, config.max_retry_after))
    return FeedSchedule(
        interval=float(interval),
        next_poll_at=now + dt.timedelta(seconds=delay),
        consecutive_failures=failures,
        polls=polls,
        last_new_at=last_new_at,
    )


_MAX_AGE = re.compile(r"(?:^|[,\s])max-age\s*=\s*\"?(\d{1,10})\"?", re.IGNORECASE)
_NO_CACHE = re.compile(r"(?:^|[,\s])(no-cache|no-store)(?:$|[,\s=])", re.IGNORECASE)


def parse_cache_control(value: str | None) -> float | None:
    """``max-age`` in seconds from a Cache-Control header; None when absent or
    when the response must not be reused (``no-cache``, ``no-store``)."""
    if not value or _NO_CACHE.search(value):
        return None
    match = _MAX_AGE.search(value)
    if match is None:
        return None
    seconds = int(match.group(1))
    return float(seconds) if seconds > 0 else None


def schedule_from_row(row: Mapping[str, Any] | None) -> FeedSchedule | None:
    """The schedule in a ``feeds`` state row; None for rows written before schedules."""
    if not row or row.get("next_poll_at") is None or not row.get("interval_s"):
        return None
    return FeedSchedule(
        interval=float(row["interval_s"]),
        next_poll_at=row["next_poll_at"],
        consecutive_failures=int(row.get("consecutive_failures") or 0),
        polls=int(row.get("polls") or 0),
        last_new_at=row.get("last_new_at"),
    )


def due_feeds(
    *,
    feed_urls: Iterable[str],
    next_poll_at: Mapping[str, dt.datetime],
    now: dt.datetime,
    config: ScheduleConfig,
) -> list[str]:
    """The feeds to poll in a cycle starting at ``now`` (a feed never polled is due)."""
    horizon = now + dt.timedelta(seconds=config.due_slack * config.min_interval)
    return [url for url in feed_urls if (at := next_poll_at.get(url)) is None or at <= horizon]


def seconds_until_next_due(
    *,
    feed_urls: Iterable[str],
    next_poll_at: Mapping[str, dt.datetime],
    now: dt.datetime,
    cap: float,
) -> float:
    """How long the loop may sleep: until the earliest due feed, at most ``cap``."""
    wait = cap
    for url in feed_urls:
        at = next_poll_at.get(url)
        if at is None:
            return 0.0
        wait = min(wait, (at - now).total_seconds())
    return max(0.0, wait)
