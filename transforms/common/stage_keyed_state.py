"""What every keyed-state stage of the unbounded graph shares: event-time days, expiry, side inputs.

The stateful poller (``sources``), the stream's exact dedup and its syndication index
(``dedup``) keep per-key Beam state that an event-time timer forgets ``horizon`` after
it was last touched, and they seed a key's state from rows restored from ``OUT/_state``.

Side inputs of a stateful DoFn are always ``AsMultiMap`` of ``(str, ...)`` pairs here
(:func:`keyed_side_input`): Beam 2.77 picks the PCollection that decides the DoFn's key
coder (the timers' coder) from its main *and* side inputs in set order
(``ParDo._get_key_and_window_coder``), so a side input of another type makes translation
fail at random (``must be key-value pairs``) or encodes timer keys unlike state keys (the
Dataflow runner turns ``AsList`` and ``AsDict`` into untyped iterables; ``AsMultiMap``
stays typed). With typed ``(str, ...)`` multimaps every choice gives the same coder
(tests/test_dataflow_dry_run.py checks the translated timer coders). A multimap side
input is read by key (``side[key]``, a list), which is also what a runner serves best:
a point lookup, not the whole list on every worker.

Example::

    restored = beam.pvalue.AsMultiMap(keyed_side_input(rows, lambda r: r["key"], label="ByKey"))
    expire.set(expiry_time(timestamp, Duration(seconds=30 * DAY_SECONDS)))
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import apache_beam as beam
from apache_beam.transforms.window import GlobalWindow
from apache_beam.utils.timestamp import Duration, Timestamp

__all__ = ["DAY_SECONDS", "day_of", "expiry_time", "horizon_duration", "keyed_side_input"]

DAY_SECONDS = 24 * 3600

_LAST_SECOND = 253402300799  # 9999-12-31T23:59:59Z, the last second datetime can hold


def horizon_duration(days: int) -> Duration:
    """A horizon of ``days`` days as a Beam duration."""
    return Duration(seconds=days * DAY_SECONDS)


def day_of(timestamp: Timestamp) -> dt.date:
    """The UTC day of an event-time timestamp (clamped to what ``datetime`` can hold:
    an element at the end of the global window must not crash a stage)."""
    seconds = min(max(float(timestamp), 0.0), float(_LAST_SECOND))
    return dt.datetime.fromtimestamp(seconds, tz=dt.UTC).date()


def expiry_time(timestamp: Timestamp, horizon: Duration) -> Timestamp:
    """``timestamp + horizon``, but never past the end of the global window."""
    end = GlobalWindow().max_timestamp()
    return end if timestamp >= end - horizon else timestamp + horizon


def keyed_side_input(pcoll: beam.PCollection, key_fn: Any, *, label: str) -> beam.PCollection:
    """``pcoll`` as ``(str key, element)`` pairs, typed so (see the module docstring)."""
    return pcoll | label >> beam.Map(lambda x: (str(key_fn(x)), x)).with_output_types(
        tuple[str, Any]
    )
