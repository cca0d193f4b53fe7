"""Keyed Beam state that keeps an unbounded stream from repeating work.

The batch graph dedups with a GroupByKey per run and a side input of the keys
earlier runs saw. An unbounded stream has no "run": here each key lives in
Beam state, and an event-time timer forgets it ``horizon_days`` after it was
last seen, so state stays bounded.

* :class:`KeepFirstSeen`: ``(key, value)`` -> ``value``, only the first value of
  each key within the horizon (entries by URL key and guid, rejects by
  :meth:`Reject.key`); optionally emits ``seen`` state rows (``{key, day}``,
  at most one a key a day) for ``OUT/_state/seen``.
* :class:`DedupeEntriesStateful`: the stream's ``DedupeEntries`` (normalized
  URL, then guid), built from two :class:`KeepFirstSeen`.
* :class:`PollFeedsStateful`: the stream's ``PollFeeds``: one feed a key, its
  HTTP validators (ETag, Last-Modified) in keyed state for conditional GET,
  polled by the same :func:`poll_one_feed` as the batch graph.

Keys restored from ``OUT/_state`` (earlier runs, or the job this one replaces
after a drain) arrive as a PCollection, are looked up through a side input and
seed a key's state on first sight.

Side inputs of a stateful DoFn are always ``AsMultiMap`` of ``(str, ...)``
pairs here (:func:`keyed_side_input`): Beam 2.77 picks the PCollection that
decides the DoFn's key coder (the timers' coder) from its main *and* side
inputs in set order (``ParDo._get_key_and_window_coder``), so a side input of
another type makes translation fail at random (``must be key-value pairs``) or
encodes timer keys unlike state keys (the Dataflow runner turns ``AsList`` and
``AsDict`` into untyped iterables; ``AsMultiMap`` stays typed). With typed
``(str, ...)`` multimaps every choice gives the same coder
(tests/test_dataflow_dry_run.py checks the translated timer coders). A multimap
side input is read by key (``side[key]``, a list), which is also what a runner
serves best: a point lookup, not the whole list on every worker.

Example::

    unique = entries | DedupeEntriesStateful(horizon_days=30, restored_keys=seen_keys)
    seen_rows = unique[DedupeEntriesStateful.SEEN]
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from typing import Any

import apache_beam as beam
from apache_beam.coders import PickleCoder, VarIntCoder
from apache_beam.metrics import Metrics
from apache_beam.transforms.timeutil import TimeDomain
from apache_beam.transforms.userstate import ReadModifyWriteStateSpec, TimerSpec, on_timer
from apache_beam.transforms.window import GlobalWindow
from apache_beam.utils.timestamp import Duration, Timestamp

from wiredesk.schemas.records import FeedEntry, FeedSource, Reject, RejectReason, Stage, utcnow
from wiredesk.transforms.dedup.stage_exact import guid_identity
from wiredesk.transforms.fetch.stage_fetcher import FetchSettings
from wiredesk.transforms.io.write_table import NAMESPACE
from wiredesk.transforms.sources.stage_feeds import PollOutcome, count_skipped, poll_one_feed

__all__ = [
    "DedupeEntriesStateful",
    "KeepFirstSeen",
    "PollFeedsStateful",
    "day_of",
    "expiry_time",
    "keyed_side_input",
    "entry_guid_key",
    "entry_url_key",
]

_DAY = 24 * 3600


_LAST_SECOND = 253402300799  # 9999-12-31T23:59:59Z, the last second datetime can hold


def day_of(timestamp: Timestamp) -> dt.date:
    """The UTC day of an event-time timestamp (clamped to what ``datetime`` can hold:
    an element at the end of the global window must not crash a stage)."""
    seconds = min(max(float(timestamp), 0.0), float(_LAST_SECOND))
    return dt.datetime.fromtimestamp(seconds, tz=dt.UTC).date()


def expiry_time(timestamp: Timestamp, horizon: Duration) -> Timestamp:
    """``timestamp + horizon``, but never past the end of the global window."""
    end = GlobalWindow().max_timestamp()
    return end if timestamp >= end - horizon else timestamp + horizon


def entry_url_key(entry: FeedEntry) -> str:
    return f"url:{entry.url_key}"


def entry_guid_key(entry: FeedEntry) -> str:
    # Entries without a guid keep a key of their own (their URL key), as in batch.
    return guid_identity(entry) or entry_url_key(entry)


def keyed_side_input(pcoll: beam.PCollection, key_fn: Any, *, label: str) -> beam.PCollection:
    """``pcoll`` as ``(str key, element)`` pairs, typed so (see the module docstring)."""
    return pcoll | label >> beam.Map(lambda x: (str(key_fn(x)), x)).with_output_types(
        tuple[str, Any]
    )


# State and timer specs, and the DoFn parameters that bind them (module-level, so
# they are not calls in argument defaults).
_LAST_ROW_DAY = ReadModifyWriteStateSpec("last_row_day", VarIntCoder())
_SEEN_EXPIRE = TimerSpec("expire", TimeDomain.WATERMARK)
_LAST_ROW_DAY_PARAM = beam.DoFn.StateParam(_LAST_ROW_DAY)
_SEEN_EXPIRE_PARAM = beam.DoFn.TimerParam(_SEEN_EXPIRE)
_VALIDATORS = ReadModifyWriteStateSpec("validators", PickleCoder())
_FEED_EXPIRE = TimerSpec("expire", TimeDomain.WATERMARK)
_VALIDATORS_PARAM = beam.DoFn.StateParam(_VALIDATORS)
_FEED_EXPIRE_PARAM = beam.DoFn.TimerParam(_FEED_EXPIRE)


class _FirstSeenFn(beam.DoFn):
    """Per key: the UTC day ordinal of the last ``seen`` row written, or nothing.

    The expiry timer moves with every sighting (last seen + horizon): an item a
    feed keeps listing for weeks is never fetched twice, and a key that has not
    been seen for the horizon is forgotten, so it is accepted again.
    """

    LAST_ROW_DAY = _LAST_ROW_DAY
    EXPIRE = _SEEN_EXPIRE

    def __init__(self, *, what: str, horizon_days: int, emit_rows: bool) -> None:
        self._horizon = Duration(seconds=horizon_days * _DAY)
        self._emit_rows = emit_rows
        self._first = Metrics.counter(NAMESPACE, f"stream_{what}_first_seen")
        self._repeat = Metrics.counter(NAMESPACE, f"stream_{what}_seen_before")
        self._restored_hits = Metrics.counter(NAMESPACE, f"stream_{what}_seen_in_earlier_run")
        self._expired = Metrics.counter(NAMESPACE, f"stream_{what}_keys_expired")

    def process(
        self,
        element: tuple[str, Any],
        restored_keys: Any,  # multimap: key -> [None] when an earlier run saw it
        timestamp: Any = beam.DoFn.TimestampParam,
        last_row_day: Any = _LAST_ROW_DAY_PARAM,
        expire: Any = _SEEN_EXPIRE_PARAM,
    ) -> Iterator[Any]:
        key, value = element
        today = day_of(timestamp).toordinal()
        expire.set(expiry_time(timestamp, self._horizon))
        previous = last_row_day.read()
        if previous is None and list(restored_keys[key]):
            self._restored_hits.inc()
            previous = -1  # known from an earlier run: refresh its row, emit nothing
        if previous is None:
            self._first.inc()
            last_row_day.write(today)
            yield value
            if self._emit_rows:
                yield beam.pvalue.TaggedOutput(
                    KeepFirstSeen.SEEN, {"key": key, "day": dt.date.fromordinal(today)}
                )
            return
        self._repeat.inc()
        if today > previous:
            # Refresh the persisted row once a day so a restart keeps the key for
            # the horizon after its last sighting, as this state does.
            last_row_day.write(today)
            if self._emit_rows:
                yield beam.pvalue.TaggedOutput(
                    KeepFirstSeen.SEEN, {"key": key, "day": dt.date.fromordinal(today)}
                )

    @on_timer(_SEEN_EXPIRE)
    def on_expire(self, last_row_day: Any = _LAST_ROW_DAY_PARAM) -> None:
        self._expired.inc()
        last_row_day.clear()


class KeepFirstSeen(beam.PTransform):
    """``(key, value)`` -> ``value``: the first value of each key within the horizon.

    Outputs (tagged): main = values, ``seen`` = ``{key, day}`` state rows
    (when ``emit_rows``). Runs in the global window (state must outlive any
    write window); output timestamps are the inputs'.
    """

    VALUES = "values"
    SEEN = "seen"

    def __init__(
        self,
        *,
        what: str,
        horizon_days: int,
        restored_keys: beam.PCollection,
        emit_rows: bool = True,
    ) -> None:
        super().__init__()
        self._what = what
        self._horizon_days = horizon_days
        self._restored_keys = restored_keys
        self._emit_rows = emit_rows

    def expand(self, keyed: beam.PCollection) -> beam.pvalue.DoOutputsTuple:
        # String keys get a deterministic coder (state is looked up by encoded key).
        typed = keyed | "StrKeys" >> beam.Map(lambda kv: kv).with_output_types(tuple[str, Any])
        return typed | "FirstSeen" >> beam.ParDo(
            _FirstSeenFn(
                what=self._what, horizon_days=self._horizon_days, emit_rows=self._emit_rows
            ),
            beam.pvalue.AsMultiMap(
                keyed_side_input(self._restored_keys, lambda k: k, label="RestoredKeys")
                | "NoValue" >> beam.Map(lambda kv: (kv[0], None)).with_output_types(tuple[str, Any])
            ),
        ).with_outputs(self.SEEN, main=self.VALUES)


class DedupeEntriesStateful(beam.PTransform):
    """FeedEntry -> FeedEntry, the first of each normalized URL, then of each guid.

    Outputs (tagged): main = entries, ``seen`` = state rows of both keys.
    """

    ENTRIES = "entries"
    SEEN = "seen"

    def __init__(self, *, horizon_days: int, restored_keys: beam.PCollection) -> None:
        super().__init__()
        self._horizon_days = horizon_days
        self._restored_keys = restored_keys

    def expand(self, entries: beam.PCollection) -> dict[str, beam.PCollection]:
        by_url = (
            entries
            | "KeyByUrl" >> beam.Map(lambda e: (entry_url_key(e), e))
            | "FirstPerUrl"
            >> KeepFirstSeen(
                what="url", horizon_days=self._horizon_days, restored_keys=self._restored_keys
            )
        )
        by_guid = (
            by_url[KeepFirstSeen.VALUES]
            | "KeyByGuid" >> beam.Map(lambda e: (entry_guid_key(e), e))
            | "FirstPerGuid"
            >> KeepFirstSeen(
                what="guid", horizon_days=self._horizon_days, restored_keys=self._restored_keys
            )
        )
        seen = (by_url[KeepFirstSeen.SEEN], by_guid[KeepFirstSeen.SEEN]) | "AllSeen" >> (
            beam.Flatten()
        )
        return {self.ENTRIES: by_guid[KeepFirstSeen.VALUES], self.SEEN: seen}


class _PollFeedStatefulFn(beam.DoFn):
    """One feed a key; its last validators row in state, forgotten when idle."""

    VALIDATORS = _VALIDATORS
    EXPIRE = _FEED_EXPIRE

    def __init__(self, *, settings: FetchSettings, horizon_days: int) -> None:
        self._settings = settings
        self._horizon = Duration(seconds=horizon_days * _DAY)
        self._feeds = Metrics.counter(NAMESPACE, "feeds_polled")
        self._not_modified = Metrics.counter(NAMESPACE, "feeds_not_modified")
        self._failed = Metrics.counter(NAMESPACE, "feeds_rejected")
        self._entries = Metrics.counter(NAMESPACE, "entries_listed")

    def setup(self) -> None:
        self._fetcher = self._settings.make_fetcher()

    @staticmethod
    def _latest(rows: Any) -> dict[str, Any] | None:
        """The latest restored validators row of one feed, or None."""
        usable = [r for r in rows if isinstance(r, dict) and r.get("polled_at") is not None]
        return max(usable, key=lambda r: r["polled_at"]) if usable else None

    def teardown(self) -> None:
        self._fetcher.close()

    def process(
        self,
        element: tuple[str, FeedSource],
        restored: Any,  # multimap: feed URL -> restored validators rows
        timestamp: Any = beam.DoFn.TimestampParam,
        state: Any = _VALIDATORS_PARAM,
        expire: Any = _FEED_EXPIRE_PARAM,
    ) -> Iterator[Any]:
        url, feed = element
        expire.set(expiry_time(timestamp, self._horizon))
        stored = state.read()
        validators = stored if stored is not None else self._latest(restored[url])
        now = utcnow()
        try:
            outcome = poll_one_feed(
                fetcher=self._fetcher, feed=feed, validators=validators, now=now
            )
        except Exception as exc:  # a bug must not stop the clock for every feed
            reject = Reject(
                url=url,
                feed_url=url,
                stage=Stage.FEED.value,
                reason=RejectReason.PARSE_ERROR.value,
                detail=f"{type(exc).__name__}: {exc}",
                at=now,
            )
            outcome = PollOutcome(rejects=(reject,), status="failed")
        self._feeds.inc()
        if outcome.status == "not_modified":
            self._not_modified.inc()
        elif outcome.status == "failed":
            self._failed.inc()
        count_skipped(outcome)
        for entry in outcome.entries:
            self._entries.inc()
            yield entry
        for reject in outcome.rejects:
            yield beam.pvalue.TaggedOutput(PollFeedsStateful.REJECTS, reject)
        if outcome.state is not None:
            new = dict(outcome.state)
            if _validators_changed(validators, new):
                yield beam.pvalue.TaggedOutput(PollFeedsStateful.STATE, new)
            state.write(new)

    @on_timer(_FEED_EXPIRE)
    def on_expire(self, state: Any = _VALIDATORS_PARAM) -> None:
        state.clear()


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


class PollFeedsStateful(beam.PTransform):
    """FeedSource -> FeedEntry (main), Reject (``rejects``), validator rows (``feed_state``).

    ``restored_validators``: the ``feeds`` state rows restored from OUT; the
    latest row of a feed is used when this job has not polled it yet.
    """

    ENTRIES = "entries"
    REJECTS = "rejects"
    STATE = "feed_state"

    def __init__(
        self,
        *,
        settings: FetchSettings,
        horizon_days: int,
        restored_validators: beam.PCollection,
    ) -> None:
        super().__init__()
        self._settings = settings
        self._horizon_days = horizon_days
        self._restored = restored_validators

    def expand(self, feeds: beam.PCollection) -> beam.pvalue.DoOutputsTuple:
        return (
            feeds
            | "KeyByFeed" >> beam.Map(lambda f: (f.url, f)).with_output_types(tuple[str, Any])
            | "PollWithValidators"
            >> beam.ParDo(
                _PollFeedStatefulFn(settings=self._settings, horizon_days=self._horizon_days),
                beam.pvalue.AsMultiMap(
                    keyed_side_input(
                        self._restored,
                        lambda row: row.get("feed_url") if isinstance(row, dict) else "",
                        label="RestoredByFeed",
                    )
                ),
            ).with_outputs(self.REJECTS, self.STATE, main=self.ENTRIES)
        )
