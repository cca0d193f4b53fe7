"""Windowed Parquet writes for the unbounded graph: each window's files are final.

Rows are put into fixed event-time windows; when the watermark passes a
window's end its GroupByKey fires and one complete file per partition is
written (temporary name, then rename: :func:`write_rows_atomically`). Names are
``part-<run_id>-w<window end>-p<pane>-<shard>-<chunk>.parquet``: unique per
window *and pane*, so a late pane adds a file beside the on-time one instead of
overwriting it, and deterministic, so a retried bundle rewrites its own file.

Lateness: rows whose window the watermark has already passed are written in a
late pane (one file each firing) up to ``allowed_lateness_seconds``; past that
Beam drops them (counted by the runner as dropped due to lateness). In the
unbounded graph every row carries the timestamp of the poll tick that produced
it and the watermark waits for it, so rows are never late there; the setting
guards against a source that emits behind the watermark.

Why not ``WriteToParquet(triggering_frequency=…)``: it truncates the last
window's file (docs/decisions.md, "Writing files"). Why not ``WriteTable`` alone: it names files per
window but not per pane, so a late pane would replace the on-time file.

Example::

    rows | WriteWindowedTable(output="gs://b/out", table="articles", run_id="r1",
                              partition_fn=row_partition,
                              window=WindowSettings(window_seconds=600))
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import apache_beam as beam
import pyarrow as pa
from apache_beam.io.filesystems import FileSystems
from apache_beam.metrics import Metrics
from apache_beam.transforms import trigger, window
from apache_beam.utils.timestamp import Duration
from apache_beam.utils.windowed_value import PaneInfoTiming

from wiredesk.schemas.tables import TABLE_SCHEMAS
from wiredesk.transforms.io.state_store import STATE_SCHEMAS
from wiredesk.transforms.io.write_table import (
    NAMESPACE,
    WriteTable,
    chunks,
    partition_dir,
    partition_keyer,
    write_rows_atomically,
)

__all__ = [
    "WindowSettings",
    "WriteWindowedState",
    "WriteWindowedTable",
    "pane_file_name",
    "window_into",
]


@dataclasses.dataclass(frozen=True)
class WindowSettings:
    """How the stream is cut into files (defaults in one place)."""

    window_seconds: float = 600.0
    allowed_lateness_seconds: float = 3600.0


def window_into(settings: WindowSettings) -> beam.WindowInto:
    """Fixed windows that fire when the watermark passes their end, then once per late row."""
    return beam.WindowInto(
        window.FixedWindows(settings.window_seconds),
        trigger=trigger.AfterWatermark(late=trigger.AfterCount(1)),
        accumulation_mode=trigger.AccumulationMode.DISCARDING,
        allowed_lateness=Duration(seconds=settings.allowed_lateness_seconds),
    )


def pane_file_name(*, run_id: str, window_end_s: int, pane: int, shard: int, chunk: int) -> str:
    return f"part-{run_id}-w{window_end_s}-p{pane}-{shard:04d}-{chunk:03d}.parquet"


FolderFn = Callable[[Any], str]


class _WritePaneFn(beam.DoFn):
    """One file (or more, past ``max_rows``) per key, window and pane."""

    def __init__(
        self,
        *,
        label: str,
        schema: pa.Schema,
        run_id: str,
        folder_fn: FolderFn,
        max_rows_per_file: int,
    ) -> None:
        self._label = label
        self._schema = schema
        self._run_id = run_id
        self._folder_fn = folder_fn
        self._max_rows = max_rows_per_file
        self._rows = Metrics.counter(NAMESPACE, f"{label.replace('/', '_')}_rows_written")
        self._files = Metrics.counter(NAMESPACE, f"{label.replace('/', '_')}_files_written")
        self._late = Metrics.counter(NAMESPACE, f"{label.replace('/', '_')}_late_panes")

    def process(
        self,
        element: tuple[Any, Iterable[dict[str, Any]]],
        win: Any = beam.DoFn.WindowParam,
        pane: Any = beam.DoFn.PaneInfoParam,
    ) -> Iterator[tuple[str, str, int]]:
        key, rows = element
        folder = self._folder_fn(key)
        shard = key[-1] if isinstance(key, tuple) else 0
        end_s = int(win.end.micros // 1_000_000)
        if pane.timing == PaneInfoTiming.LATE:
            self._late.inc()
        for chunk_no, chunk in enumerate(chunks(rows, self._max_rows)):
            name = pane_file_name(
                run_id=self._run_id,
                window_end_s=end_s,
                pane=pane.index,
                shard=shard,
                chunk=chunk_no,
            )
            path = FileSystems.join(folder, name)
            count = write_rows_atomically(rows=chunk, schema=self._schema, path=path)
            self._rows.inc(count)
            self._files.inc()
            yield (self._label, path, count)


class WriteWindowedTable(WriteTable):
    """Dict rows of one table -> hive-partitioned Parquet per window; outputs ``(table, path, rows)``.

    The same options as :class:`WriteTable`, plus the window; files are named per
    window and pane so a late pane never overwrites the on-time file.
    """

    def __init__(self, *, window: WindowSettings = WindowSettings(), **options: Any) -> None:
        super().__init__(**options)
        self._window = window

    def expand(self, rows: beam.PCollection) -> beam.PCollection:
        output, table = self._output, self._table
        key_row = partition_keyer(
            partition_fn=self._partition_fn, shards=self._shards, shard_key=self._shard_key
        )

        def folder_of(key: tuple[str, str | None, int]) -> str:
            return partition_dir(output, table, dt.date.fromisoformat(key[0]), key[1])

        return (
            rows
            | "Window" >> window_into(self._window)
            | "KeyByPartition" >> beam.Map(key_row)
            | "GroupByPartition" >> beam.GroupByKey()
            | "WriteFiles"
            >> beam.ParDo(
                _WritePaneFn(
                    label=table,
                    schema=TABLE_SCHEMAS[table],
                    run_id=self._run_id,
                    folder_fn=folder_of,
                    max_rows_per_file=self._max_rows,
                )
            )
        )


class WriteWindowedState(beam.PTransform):
    """State rows of one kind -> ``OUT/_state/<kind>/part-…-w<end>-p<pane>-….parquet`` per window.

    The names match :func:`state_glob`, so :class:`ReadState` (the batch graph,
    local streaming, or the next unbounded job) restores them.
    """

    def __init__(
        self,
        *,
        output: str,
        kind: str,
        run_id: str,
        window: WindowSettings = WindowSettings(),
        max_rows_per_file: int = 200_000,
    ) -> None:
        super().__init__()
        if kind not in STATE_SCHEMAS:
            raise ValueError(f"unknown state kind {kind!r}")
        self._schema = STATE_SCHEMAS[kind]
        self._folder = FileSystems.join(output, "_state", kind)
        self._kind = kind
        self._run_id = run_id
        self._window = window
        self._max_rows = max_rows_per_file

    def expand(self, rows: beam.PCollection) -> beam.PCollection:
        folder = self._folder
        return (
            rows
            | "Window" >> window_into(self._window)
            | "OneKey" >> beam.Map(lambda row: (0, row))
            | "GroupByWindow" >> beam.GroupByKey()
            | "WriteFiles"
            >> beam.ParDo(
                _WritePaneFn(
                    label=f"_state/{self._kind}",
                    schema=self._schema,
                    run_id=self._run_id,
                    folder_fn=lambda _key: folder,
                    max_rows_per_file=self._max_rows,
                )
            )
        )
