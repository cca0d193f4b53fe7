"""PollFeeds: fetch each feed (conditional GET) and turn it into FeedEntry records.

RSS/Atom/JSON Feed go through :func:`parse_feed`; ninjs and NewsML-G2 endpoints
(OPML ``type="ninjs"``/``"newsml"``, or sniffed) through :func:`parse_wire`.
A feed that cannot be fetched or yields nothing becomes a reject row; a feed
that answers 304 Not Modified yields nothing and is counted.

Outputs (tagged): main = FeedEntry, ``rejects`` = Reject, ``feed_state`` =
rows for the ``feeds`` state: validators and the next poll planned by
:func:`~wiredesk.transforms.sources.poll_schedule.next_poll` (faster for a feed whose
listing changed, slower for one that answered 304 or listed the same items,
backing off when it fails, never before its ttl / max-age / Retry-After).

Two transforms, one poll: :class:`PollFeeds` (the batch graph and each local streaming
cycle: the previous state rows come in as a side input) and :class:`PollFeedsStateful`
(the unbounded graph: one feed a key, its last row in keyed state). Both poll a feed
with :func:`poll_or_reject` and count and emit through the same DoFn base, so both
graphs keep the same counters (``feeds_*``, ``entries_*``, ``rejected_feed_<reason>``).

Example::

    polled = sources | PollFeeds(settings=FetchSettings(), validators=validators_side)
    entries, rejects = polled[PollFeeds.ENTRIES], polled[PollFeeds.REJECTS]
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import itertools
import urllib.parse
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import apache_beam as beam
from apache_beam.coders import PickleCoder
from apache_beam.metrics import Metrics
from apache_beam.transforms.timeutil import TimeDomain
from apache_beam.transforms.userstate import ReadModifyWriteStateSpec, TimerSpec, on_timer

from wiredesk.schemas.records import FeedSource, Reject, RejectReason, Stage, utcnow
from wiredesk.transforms.common import metrics
from wiredesk.transforms.common.metrics import NAMESPACE
from wiredesk.transforms.common.stage_keyed_state import (
    expiry_time,
    horizon_duration,
    keyed_side_input,
)
from wiredesk.transforms.dedup.stage_exact import entry_keys
from wiredesk.transforms.fetch.stage_fetcher import FetchingDoFn, FetchSettings
from wiredesk.transforms.sources.feed_health import health_fields
from wiredesk.transforms.sources.feed_parse import parse_feed
from wiredesk.transforms.sources.poll_schedule import (
    PollStatus,
    ScheduleConfig,
    ServerHints,
    next_poll,
    parse_cache_control,
    schedule_from_row,
)
from wiredesk.transforms.sources.wire_parse import parse_wire, sniff_wire_kind

__all__ = [
    "CarryOverFeedState",
    "PollFeeds",
    "PollFeedsStateful",
    "PollOutcome",
    "interleave_by_host",
    "listing_hash",
    "poll_one_feed",
    "poll_or_reject",
]


@dataclasses.dataclass(frozen=True)
class PollOutcome:
    """What polling one feed gave: entries, rejects, the feed's next state row, how it went."""

    entries: tuple[Any, ...] = ()
    rejects: tuple[Reject, ...] = ()
    state: dict[str, Any] | None = None
    status: str = "ok"  # ok | not_modified | failed
    poll_status: PollStatus = PollStatus.CHANGED
    # Why items were not passed on: feed_parse's no_link/bad_link/duplicate/over_limit,
    # wire_parse's not_text/no_body/withdrawn.
    skipped_reasons: Mapping[str, int] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        # The one place the health fields of the feed's state row are filled
        # (transforms/sources/feed_health.py), whichever path built the outcome.
        if self.state is not None:
            self.state.update(
                health_fields(status=self.status, entries=len(self.entries), rejects=self.rejects)
            )

    @property
    def skipped(self) -> int:
        return sum(self.skipped_reasons.values())


def count_skipped(outcome: PollOutcome) -> None:
    """Count the items a poll did not pass on: in all (``entries_skipped_unusable``) and
    by reason (``entries_skipped_<reason>``), the same in the batch and unbounded graphs."""
    if outcome.skipped:
        Metrics.counter(NAMESPACE, metrics.ENTRIES_SKIPPED_UNUSABLE).inc(outcome.skipped)
    for reason, count in outcome.skipped_reasons.items():
        Metrics.counter(NAMESPACE, metrics.entries_skipped(reason)).inc(count)


def listing_hash(entries: Iterable[Any]) -> str:
    """A fingerprint of which items a feed lists (order and wording ignored)."""
    keys = sorted({key for entry in entries for key in entry_keys(entry)})
    digest = hashlib.blake2b(digest_size=12)
    for key in keys:
        digest.update(key.encode("utf-8", "surrogatepass") + b"\x00")
    return digest.hexdigest()


def _state_row(
    *,
    feed: FeedSource,
    now: dt.datetime,
    previous: Mapping[str, Any] | None,
    status: PollStatus,
    hints: ServerHints,
    schedule: ScheduleConfig,
    etag: str | None,
    last_modified: str | None,
    listing: str | None,
) -> dict[str, Any]:
    planned = next_poll(
        config=schedule,
        previous=schedule_from_row(previous),
        outcome=status,
        hints=hints,
        now=now,
        feed_url=feed.url,
    )
    return {
        "feed_url": feed.url,
        "day": now.date(),
        "etag": etag,
        "last_modified": last_modified,
        "polled_at": now,
        "next_poll_at": planned.next_poll_at,
        "interval_s": planned.interval,
        "consecutive_failures": planned.consecutive_failures,
        "polls": planned.polls,
        "last_new_at": planned.last_new_at,
        "last_status": status.value,
        "listing_hash": listing,
    }


def poll_one_feed(
    *,
    fetcher: Any,
    feed: FeedSource,
    validators: Mapping[str, Any] | None,
    now: dt.datetime,
    schedule: ScheduleConfig | None = None,
) -> PollOutcome:
    """Fetch and parse one feed. Never raises: failures are rejects.

    ``validators`` is the feed's previous ``feeds`` state row (or None). The
    outcome's ``state`` is the next one: validators and the next poll time.
    """
    schedule = schedule or ScheduleConfig()
    previous = validators or {}
    etag = previous.get("etag")
    last_modified = previous.get("last_modified")
    previous_listing = previous.get("listing_hash")
    result = fetcher.fetch_feed(feed.url, etag=etag, last_modified=last_modified)

    def row(
        status: PollStatus,
        *,
        hints: ServerHints,
        new_etag: str | None = etag,
        new_last_modified: str | None = last_modified,
        listing: str | None = previous_listing,
    ) -> dict[str, Any]:
        return _state_row(
            feed=feed,
            now=now,
            previous=validators,
            status=status,
            hints=hints,
            schedule=schedule,
            etag=new_etag,
            last_modified=new_last_modified,
            listing=listing,
        )

    headers = result.headers or {}
    cache_max_age = parse_cache_control(headers.get("cache-control"))
    if not result.ok:
        reject = Reject(
            url=feed.url,
            feed_url=feed.url,
            stage=Stage.FEED.value,
            reason=result.reason or RejectReason.CONNECTION_ERROR.value,
            detail=result.detail,
            at=now,
        )
        # The validators we had stay: they still describe the last good copy.
        state = row(PollStatus.FAILED, hints=ServerHints(retry_after=result.retry_after))
        return PollOutcome(
            rejects=(reject,), state=state, status="failed", poll_status=PollStatus.FAILED
        )
    if result.not_modified:
        # Keep the validators we sent: a 304 need not repeat them.
        state = row(
            PollStatus.NOT_MODIFIED,
            hints=ServerHints(cache_max_age=cache_max_age, retry_after=result.retry_after),
            new_etag=headers.get("etag") or etag,
            new_last_modified=headers.get("last-modified") or last_modified,
        )
        return PollOutcome(state=state, status="not_modified", poll_status=PollStatus.NOT_MODIFIED)
    kind = feed.kind
    if kind == "auto":
        kind = sniff_wire_kind(result.body) or "rss"
    entries: tuple[Any, ...]
    rejects: tuple[Reject, ...]
    ttl: float | None = None
    if kind in ("ninjs", "newsml", "dpa"):
        parsed_wire = parse_wire(
            body=result.body, source_url=feed.url, feed=feed, fetched_at=now, kind=kind
        )
        entries, rejects = tuple(parsed_wire.entries), tuple(parsed_wire.rejects)
        skipped_reasons = parsed_wire.skipped_counts
        unusable = not entries and bool(rejects)
    else:
        parsed = parse_feed(body=result.body, feed=feed, headers=result.headers, fetched_at=now)
        entries = tuple(parsed.entries)
        feed_reject = (parsed.reject,) if parsed.reject is not None else ()
        rejects = feed_reject + parsed.entry_rejects
        skipped_reasons = parsed.skipped_reasons
        ttl = float(parsed.ttl_seconds) if parsed.ttl_seconds else None
        unusable = parsed.reject is not None
    hints = ServerHints(
        ttl_seconds=ttl, cache_max_age=cache_max_age, retry_after=result.retry_after
    )
    if unusable:
        # Not remembering this body's validators makes the next poll fetch it again.
        state = row(PollStatus.FAILED, hints=hints)
        return PollOutcome(
            rejects=rejects,
            state=state,
            status="failed",
            skipped_reasons=skipped_reasons,
            poll_status=PollStatus.FAILED,
        )
    listing = listing_hash(entries)
    status = PollStatus.UNCHANGED if listing == previous_listing else PollStatus.CHANGED
    state = row(
        status,
        hints=hints,
        new_etag=headers.get("etag"),
        new_last_modified=headers.get("last-modified"),
        listing=listing,
    )
    return PollOutcome(
        entries=entries,
        rejects=rejects,
        state=state,
        skipped_reasons=skipped_reasons,
        poll_status=status,
    )


def interleave_by_host(feeds: Sequence[FeedSource]) -> list[FeedSource]:
    """Feeds in round-robin order of their hosts.

    Feeds files list an outlet's feeds together; batched in that order, a batch
    of one host's feeds can have only ``per_host_concurrency`` requests in flight
    while the other threads wait. Interleaved, every batch spreads over hosts
    (1,000 feeds on 20 hosts at 50 ms: 41 s grouped, 11 s interleaved).
    """
    by_host: dict[str, list[FeedSource]] = {}
    for feed in feeds:
        host = urllib.parse.urlsplit(feed.url).hostname or ""
        by_host.setdefault(host, []).append(feed)
    queues = list(by_host.values())
    ordered: list[FeedSource] = []
    for round_ in itertools.zip_longest(*queues):
        ordered.extend(feed for feed in round_ if feed is not None)
    return ordered


def poll_or_reject(
    *,
    fetcher: Any,
    feed: FeedSource,
    validators: Mapping[str, Any] | None,
    now: dt.datetime,
    schedule: ScheduleConfig,
) -> PollOutcome:
    """:func:`poll_one_feed`, with a bug in it turned into a ``parse_error`` reject.

    A bug must not lose the other feeds of a batch, nor stop the clock for every feed
    of a stream. The feed's next state row records a failed poll and keeps the
    validators and listing it had.
    """
    try:
        return poll_one_feed(
            fetcher=fetcher, feed=feed, validators=validators, now=now, schedule=schedule
        )
    except Exception as exc:
        reject = Reject(
            url=feed.url,
            feed_url=feed.url,
            stage=Stage.FEED.value,
            reason=RejectReason.PARSE_ERROR.value,
            detail=f"{type(exc).__name__}: {exc}",
            at=now,
        )
        previous = validators or {}
        state = _state_row(
            feed=feed,
            now=now,
            previous=previous,
            status=PollStatus.FAILED,
            hints=ServerHints(),
            schedule=schedule,
            etag=previous.get("etag"),
            last_modified=previous.get("last_modified"),
            listing=previous.get("listing_hash"),
        )
        return PollOutcome(
            rejects=(reject,), state=state, status="failed", poll_status=PollStatus.FAILED
        )


class _FeedPollerFn(FetchingDoFn):
    """What the batch and the stream poller share: one feed's poll, its counters, its outputs.

    The two differ only in where a feed's previous state row comes from (a side input,
    or keyed state) and which new rows they emit; each calls :meth:`_poll` for a feed
    and passes the outcome through :meth:`_emit`, so both graphs count the same.
    """

    def __init__(self, settings: FetchSettings, schedule: ScheduleConfig) -> None:
        super().__init__(settings)
        self._schedule = schedule
        self._changed = Metrics.counter(NAMESPACE, metrics.FEEDS_CHANGED)
        self._feeds = Metrics.counter(NAMESPACE, metrics.FEEDS_POLLED)
        self._not_modified = Metrics.counter(NAMESPACE, metrics.FEEDS_NOT_MODIFIED)
        self._failed = Metrics.counter(NAMESPACE, metrics.FEEDS_REJECTED)
        self._entries = Metrics.counter(NAMESPACE, metrics.ENTRIES_LISTED)

    def _poll(
        self, feed: FeedSource, validators: Mapping[str, Any] | None, now: dt.datetime
    ) -> PollOutcome:
        return poll_or_reject(
            fetcher=self._fetcher,
            feed=feed,
            validators=validators,
            now=now,
            schedule=self._schedule,
        )

    def _emit(self, outcome: PollOutcome) -> Iterator[Any]:
        """Count the outcome; yield its entries (main) and rejects (tagged), not its state."""
        self._feeds.inc()
        if outcome.status == "not_modified":
            self._not_modified.inc()
        elif outcome.status == "failed":
            self._failed.inc()
        if outcome.poll_status is PollStatus.CHANGED:
            self._changed.inc()
        count_skipped(outcome)
        for entry in outcome.entries:
            self._entries.inc()
            yield entry
        for reject in outcome.rejects:
            Metrics.counter(NAMESPACE, metrics.rejected(Stage.FEED, reject.reason)).inc()
            yield beam.pvalue.TaggedOutput(PollFeeds.REJECTS, reject)


class _PollFeedsFn(_FeedPollerFn):
    """A batch of feeds, polled in parallel; each feed's previous row from a side input."""

    def process(
        self, batch: list[FeedSource], validators: Mapping[str, Mapping[str, Any]]
    ) -> Iterator[Any]:
        now = utcnow()
        outcomes = self._mapper.map(
            lambda feed: self._poll(feed, validators.get(feed.url), now), batch
        )
        for outcome in outcomes:
            yield from self._emit(outcome)
            if outcome.state is not None:
                yield beam.pvalue.TaggedOutput(PollFeeds.STATE, outcome.state)


def _latest_row(rows: Iterable[dict[str, Any]]) -> dict[str, Any]:
    return max(rows, key=lambda row: row["polled_at"])


class CarryOverFeedState(beam.PTransform):
    """This run's feed rows plus the restored rows of every feed not polled this run.

    Input: a tuple ``(polled_rows, restored)``, ``restored`` keyed ``(feed_url,
    row)``. Output: one row per feed, the newest. Feeds that were not due keep
    their validators and schedule, and a row keeps its ``day``, so the state of
    a feed dropped from the feeds file still expires with the horizon.
    """

    def expand(self, pcolls: tuple[beam.PCollection, beam.PCollection]) -> beam.PCollection:
        polled, restored = pcolls
        keyed = polled | "KeyPolled" >> beam.Map(lambda row: (row["feed_url"], row))
        return (
            (keyed, restored)
            | "Both" >> beam.Flatten()
            | "NewestPerFeed" >> beam.CombinePerKey(_latest_row)
            | "Rows" >> beam.Values()
        )


class PollFeeds(beam.PTransform):
    """FeedSource -> FeedEntry (main), Reject (``rejects``), state rows (``feed_state``).

    ``validators``: the previous ``feeds`` state, keyed ``(feed_url, row)``.
    ``schedule``: the poll policy that plans each feed's next poll.
    """

    ENTRIES = "entries"
    REJECTS = "rejects"
    STATE = "feed_state"

    def __init__(
        self,
        *,
        settings: FetchSettings,
        validators: beam.PCollection,
        schedule: ScheduleConfig | None = None,
    ) -> None:
        super().__init__()
        self._settings = settings
        self._validators = validators
        self._schedule = schedule or ScheduleConfig()

    def expand(self, feeds: beam.PCollection) -> beam.pvalue.DoOutputsTuple:
        return (
            feeds
            # Fixed size, as in FetchArticle: no per-batch regression.
            | "Batch" >> beam.BatchElements(min_batch_size=64, max_batch_size=64)
            | "FetchAndParse"
            >> beam.ParDo(
                _PollFeedsFn(self._settings, self._schedule), beam.pvalue.AsDict(self._validators)
            ).with_outputs(self.REJECTS, self.STATE, main=self.ENTRIES)
        )


# The stream poller's keyed state and timer, and the DoFn parameters that bind them
# (module-level, so they are not calls in argument defaults).
_VALIDATORS = ReadModifyWriteStateSpec("validators", PickleCoder())
_FEED_EXPIRE = TimerSpec("expire", TimeDomain.WATERMARK)
_VALIDATORS_PARAM = beam.DoFn.StateParam(_VALIDATORS)
_FEED_EXPIRE_PARAM = beam.DoFn.TimerParam(_FEED_EXPIRE)


def _latest_restored(rows: Iterable[Any]) -> dict[str, Any] | None:
    """The latest restored state row of one feed, or None."""
    usable = [r for r in rows if isinstance(r, dict) and r.get("polled_at") is not None]
    return _latest_row(usable) if usable else None


def _validators_changed(old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> bool:
    """Persist a validators row when they change, and once a day (so a restart
    within the horizon still finds them)."""
    if old is None:
        return True
    return (
        old.get("etag") != new.get("etag")
        or old.get("last_modified") != new.get("last_modified")
        or old.get("day") != new.get("day")
    )


class _PollFeedStatefulFn(_FeedPollerFn):
    """One feed a key; its last state row in keyed state, forgotten when idle."""

    VALIDATORS = _VALIDATORS
    EXPIRE = _FEED_EXPIRE

    def __init__(
        self, *, settings: FetchSettings, schedule: ScheduleConfig, horizon_days: int
    ) -> None:
        super().__init__(settings, schedule)
        self._horizon = horizon_duration(horizon_days)

    def process(
        self,
        element: tuple[str, FeedSource],
        restored: Any,  # multimap: feed URL -> restored state rows
        timestamp: Any = beam.DoFn.TimestampParam,
        state: Any = _VALIDATORS_PARAM,
        expire: Any = _FEED_EXPIRE_PARAM,
    ) -> Iterator[Any]:
        url, feed = element
        expire.set(expiry_time(timestamp, self._horizon))
        stored = state.read()
        validators = stored if stored is not None else _latest_restored(restored[url])
        outcome = self._poll(feed, validators, utcnow())
        yield from self._emit(outcome)
        if outcome.state is not None:
            new = dict(outcome.state)
            if _validators_changed(validators, new):
                yield beam.pvalue.TaggedOutput(PollFeeds.STATE, new)
            state.write(new)

    @on_timer(_FEED_EXPIRE)
    def on_expire(self, state: Any = _VALIDATORS_PARAM) -> None:
        state.clear()


class PollFeedsStateful(beam.PTransform):
    """The stream's :class:`PollFeeds`: the same poll, counters and outputs, with each
    feed's validators (ETag, Last-Modified) and schedule in keyed state.

    FeedSource -> FeedEntry (main), Reject (``rejects``), state rows (``feed_state``,
    when the validators change, and once a day). ``restored_validators``: the ``feeds``
    state rows restored from OUT; the latest row of a feed is used when this job has
    not polled it yet. Keyed state is forgotten ``horizon_days`` after a feed's last poll.
    """

    ENTRIES = PollFeeds.ENTRIES
    REJECTS = PollFeeds.REJECTS
    STATE = PollFeeds.STATE

    def __init__(
        self,
        *,
        settings: FetchSettings,
        horizon_days: int,
        restored_validators: beam.PCollection,
        schedule: ScheduleConfig | None = None,
    ) -> None:
        super().__init__()
        self._settings = settings
        self._horizon_days = horizon_days
        self._restored = restored_validators
        self._schedule = schedule or ScheduleConfig()

    def expand(self, feeds: beam.PCollection) -> beam.pvalue.DoOutputsTuple:
        return (
            feeds
            | "KeyByFeed" >> beam.Map(lambda f: (f.url, f)).with_output_types(tuple[str, Any])
            | "PollWithValidators"
            >> beam.ParDo(
                _PollFeedStatefulFn(
                    settings=self._settings,
                    schedule=self._schedule,
                    horizon_days=self._horizon_days,
                ),
                beam.pvalue.AsMultiMap(
                    keyed_side_input(
                        self._restored,
                        lambda row: row.get("feed_url") if isinstance(row, dict) else "",
                        label="RestoredByFeed",
                    )
                ),
            ).with_outputs(self.REJECTS, self.STATE, main=self.ENTRIES)
        )
