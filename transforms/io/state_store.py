"""What survives between runs into the same OUT, kept beside the output.

``OUT/_state/<kind>/part-<run_id>.parquet`` holds, per run:

* ``seen``: keys of every input that already produced a row (normalized URLs,
  guids, wire files, reject keys), so a re-run adds no row;
* ``stories``: the syndication sketches of stories, so a republication that
  arrives days later is linked to the story already written;
* ``feeds``: HTTP validators (ETag, Last-Modified) for conditional GET and
  each feed's poll schedule (next poll, adaptive interval, failures). Every
  run that polls feeds writes one row per known feed (the polled ones updated,
  the others carried over), so the newest file alone is complete.

State is read inside the pipeline (any Beam filesystem, ``gs://`` included) and
rows older than the horizon are dropped as they are read, so memory stays bounded.
The leading underscore keeps these folders out of the tables' globs.

Example::

    with beam.Pipeline() as p:
        seen = p | ReadState(output="/tmp/out", kind="seen", horizon_days=30)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from typing import Any

import apache_beam as beam
import pyarrow as pa
from apache_beam.io import fileio
from apache_beam.io.filesystems import FileSystems
from apache_beam.metrics import Metrics

from wiredesk.transforms.common.metrics import NAMESPACE
from wiredesk.transforms.common.stage_gather import GatherAll
from wiredesk.transforms.io.parquet_read import (
    UNREADABLE_FILES,
    UnreadableFile,
    read_parquet,
    read_parquet_bytes,
    skip_unreadable,
)
from wiredesk.transforms.io.write_table import write_rows_atomically

__all__ = [
    "STATE_SCHEMAS",
    "ReadState",
    "WriteState",
    "latest_feed_rows",
    "read_state_rows",
    "state_glob",
]

STATE_SCHEMAS: dict[str, pa.Schema] = {
    "seen": pa.schema([pa.field("key", pa.string()), pa.field("day", pa.date32())]),
    "stories": pa.schema(
        [
            pa.field("story_id", pa.string()),
            pa.field("day", pa.date32()),
            pa.field("sketch", pa.binary()),
        ]
    ),
    "feeds": pa.schema(
        [
            pa.field("feed_url", pa.string()),
            pa.field("day", pa.date32()),
            pa.field("etag", pa.string()),
            pa.field("last_modified", pa.string()),
            pa.field("polled_at", pa.timestamp("us", tz="UTC")),
            # The poll schedule (transforms/sources/poll_schedule.py). Files written before
            # these columns existed read as nulls: the feed is simply due.
            pa.field("next_poll_at", pa.timestamp("us", tz="UTC")),
            pa.field("interval_s", pa.float64()),
            pa.field("consecutive_failures", pa.int32()),
            pa.field("polls", pa.int64()),
            pa.field("last_new_at", pa.timestamp("us", tz="UTC")),
            pa.field("last_status", pa.string()),
            pa.field("listing_hash", pa.string()),
            # How the last poll went (transforms/sources/feed_health.py): the feeds table.
            pa.field("last_error", pa.string()),
            pa.field("last_error_detail", pa.string()),
            pa.field("items_last_poll", pa.int64()),
        ]
    ),
}


def state_glob(output: str, kind: str) -> str:
    return FileSystems.join(output, "_state", kind, "*.parquet")


def read_state_rows(*, output: str, kind: str, attempts: int = 3) -> list[dict[str, Any]]:
    """All rows of one kind of state, read outside a pipeline (the streaming driver).

    A file may vanish between the listing and the read when ``wiredesk compact``
    swaps a folder; its rows are then in the merged file, so the read restarts
    from a fresh listing.
    """
    for attempt in range(attempts):
        try:
            matches = FileSystems.match([state_glob(output, kind)])[0].metadata_list
        except Exception:
            return []  # no state folder yet
        rows: list[dict[str, Any]] = []
        try:
            for meta in sorted(matches, key=lambda m: m.path):
                try:
                    rows.extend(read_parquet(meta.path).to_pylist())
                except UnreadableFile as err:  # damaged, not gone: skipped, never fatal
                    skip_unreadable(err)
        except (FileNotFoundError, OSError):
            if attempt + 1 == attempts:
                raise
            continue
        return rows
    return []


def latest_feed_rows(rows: Iterable[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The newest ``feeds`` state row per feed URL (by ``polled_at``)."""
    latest: dict[str, dict[str, Any]] = {}
    for row in rows:
        url = row.get("feed_url")
        polled = row.get("polled_at")
        if not url or polled is None:
            continue
        current = latest.get(url)
        if current is None or polled > current["polled_at"]:
            latest[url] = row
    return latest


class _ReadStateFile(beam.DoFn):
    def __init__(self, *, kind: str, oldest_day: dt.date) -> None:
        self._kind = kind
        self._oldest = oldest_day
        self._rows = Metrics.counter(NAMESPACE, f"state_{kind}_rows_restored")
        self._expired = Metrics.counter(NAMESPACE, f"state_{kind}_rows_expired")
        self._unreadable = Metrics.counter(NAMESPACE, UNREADABLE_FILES)

    def process(self, readable: Any) -> Iterator[dict[str, Any]]:
        try:
            table = read_parquet_bytes(readable.read(), path=readable.metadata.path)
        except UnreadableFile as err:
            # A damaged state file costs its rows (at worst a page fetched again),
            # never every later run.
            skip_unreadable(err, self._unreadable)
            return
        for row in table.to_pylist():
            day = row.get("day")
            if day is not None and day < self._oldest:
                self._expired.inc()
                continue
            self._rows.inc()
            yield row


class ReadState(beam.PTransform):
    """Rows of one kind of state under OUT, newer than ``horizon_days``; empty when none."""

    def __init__(self, *, output: str, kind: str, horizon_days: int, today: dt.date) -> None:
        super().__init__()
        if kind not in STATE_SCHEMAS:
            raise ValueError(f"unknown state kind {kind!r}")
        self._output = output
        self._kind = kind
        self._oldest = today - dt.timedelta(days=horizon_days)

    def expand(self, pbegin: beam.pvalue.PBegin) -> beam.PCollection:
        return (
            pbegin
            | "Match"
            >> fileio.MatchFiles(
                state_glob(self._output, self._kind),
                empty_match_treatment=fileio.EmptyMatchTreatment.ALLOW,
            )
            | "Open" >> fileio.ReadMatches()
            | "Rows" >> beam.ParDo(_ReadStateFile(kind=self._kind, oldest_day=self._oldest))
        )


class _WriteStateFile(beam.DoFn):
    def __init__(self, *, output: str, kind: str, run_id: str) -> None:
        self._output = output
        self._kind = kind
        self._run_id = run_id

    def process(
        self, rows: list[dict[str, Any]], after: list[Any]
    ) -> Iterator[tuple[str, str, int]]:
        del after  # only orders this write after the tables' writes
        if not rows:
            return
        path = FileSystems.join(self._output, "_state", self._kind, f"part-{self._run_id}.parquet")
        count = write_rows_atomically(rows=rows, schema=STATE_SCHEMAS[self._kind], path=path)
        yield (f"_state/{self._kind}", path, count)


class WriteState(beam.PTransform):
    """Write this run's rows of one kind of state as one file (nothing when empty).

    ``after``: a PCollection that must be complete first. State is written only
    once the tables' files are verified, so a run that dies before its rows are
    written does not remember them as seen.
    """

    def __init__(
        self, *, output: str, kind: str, run_id: str, after: beam.PCollection | None = None
    ) -> None:
        super().__init__()
        self._after = after
        if kind not in STATE_SCHEMAS:
            raise ValueError(f"unknown state kind {kind!r}")
        self._output = output
        self._kind = kind
        self._run_id = run_id

    def expand(self, rows: beam.PCollection) -> beam.PCollection:
        after = self._after
        if after is None:
            after = rows.pipeline | "Nothing" >> beam.Create([])
        return (
            rows
            | "Collect" >> GatherAll()
            | "Write"
            >> beam.ParDo(
                _WriteStateFile(output=self._output, kind=self._kind, run_id=self._run_id),
                beam.pvalue.AsList(after),
            )
        )
