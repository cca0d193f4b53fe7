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

Keys restored from ``OUT/_state`` (earlier runs, or the job this one replaces
after a drain) arrive as a PCollection, are looked up through a side input and
seed a key's state on first sight.

Side inputs of a stateful DoFn are typed ``AsMultiMap`` of ``(str, ...)`` pairs
(:func:`~wiredesk.transforms.common.stage_keyed_state.keyed_side_input` says why).
The stream's poller, which keeps feed validators in keyed state the same way, is
:class:`~wiredesk.transforms.sources.stage_feeds.PollFeedsStateful`.

Example::

    unique = entries | DedupeEntriesStateful(horizon_days=30, restored_keys=seen_keys)
    seen_rows = unique[DedupeEntriesStateful.SEEN]
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import apache_beam as beam
from apache_beam.coders import VarIntCoder
from apache_beam.metrics import Metrics
from apache_beam.transforms.timeutil import TimeDomain
from apache_beam.transforms.userstate import ReadModifyWriteStateSpec, TimerSpec, on_timer

from wiredesk.schemas.records import FeedEntry
from wiredesk.transforms.common.metrics import NAMESPACE
from wiredesk.transforms.common.stage_keyed_state import (
    day_of,
    expiry_time,
    horizon_duration,
    keyed_side_input,
)
from wiredesk.transforms.dedup.stage_exact import guid_identity

__all__ = [
    "DedupeEntriesStateful",
    "KeepFirstSeen",
    "entry_guid_key",
    "entry_url_key",
]


def entry_url_key(entry: FeedEntry) -> str:
    return f"url:{entry.url_key}"


def entry_guid_key(entry: FeedEntry) -> str:
    # Entries without a guid keep a key of their own (their URL key), as in batch.
    return guid_identity(entry) or entry_url_key(entry)


# State and timer specs, and the DoFn parameters that bind them (module-level, so
# they are not calls in argument defaults).
_LAST_ROW_DAY = ReadModifyWriteStateSpec("last_row_day", VarIntCoder())
_SEEN_EXPIRE = TimerSpec("expire", TimeDomain.WATERMARK)
_LAST_ROW_DAY_PARAM = beam.DoFn.StateParam(_LAST_ROW_DAY)
_SEEN_EXPIRE_PARAM = beam.DoFn.TimerParam(_SEEN_EXPIRE)


class _FirstSeenFn(beam.DoFn):
    """Per key: the UTC day ordinal of the last ``seen`` row written, or nothing.

    The expiry timer moves with every sighting (last seen + horizon): an item a
    feed keeps listing for weeks is never fetched twice, and a key that has not
    been seen for the horizon is forgotten, so it is accepted again.
    """

    LAST_ROW_DAY = _LAST_ROW_DAY
    EXPIRE = _SEEN_EXPIRE

    def __init__(self, *, what: str, horizon_days: int, emit_rows: bool) -> None:
        self._horizon = horizon_duration(horizon_days)
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
