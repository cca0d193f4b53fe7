"""WriteTable: hive-partitioned Parquet that readers only ever see complete.

Rows are grouped by partition (``date=…/region=…``) and written one file per
group, first under a hidden temporary name in the same folder, then renamed.
Names are ``part-<run_id>-<shard>.parquet``: unique per run (a second run never
overwrites the first) and deterministic within one (a retried bundle rewrites
the same file instead of adding a second copy of its rows).

Why not ``WriteToParquet`` or ``fileio.WriteToFiles``: see docs/decisions.md, "Writing files" — the first
truncates the last streaming window, the second reports success while leaving
data in ``.temp`` folders when a destination holds a ``/``.

Partition values never come from input text: the caller's ``partition_fn``
returns a ``datetime.date`` and a region that :func:`safe_region_partition`
maps onto the fixed slug list.

Example::

    import apache_beam as beam
    rows = [{"url": "u", "feed_url": None, "stage": "fetch", "reason": "timeout",
             "detail": "", "at": datetime.datetime.now(datetime.UTC)}]
    with beam.Pipeline() as p:
        (p | beam.Create(rows)
           | WriteTable(output="/tmp/out", table="rejects", run_id="r1",
                        partition_fn=lambda row: (row["at"].date(), None)))
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import uuid
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import apache_beam as beam
import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems
from apache_beam.metrics import Metrics

from wiredesk.schemas.tables import TABLE_SCHEMAS, safe_date_partition, safe_region_partition
from wiredesk.transforms.common.metrics import NAMESPACE

__all__ = [
    "chunks",
    "PartitionFn",
    "PartitionKey",
    "VerifyWritten",
    "WriteTable",
    "partition_dir",
    "partition_keyer",
    "write_rows_atomically",
]

_LOG = logging.getLogger(__name__)

# (date, region or None). region None means "no region partition" (rejects).
PartitionFn = Callable[[dict[str, Any]], tuple[dt.date, str | None]]

TEMP_PREFIX = ".tmp-"


def _join(base: str, *parts: str) -> str:
    """Join paths on any Beam filesystem (``gs://`` included)."""
    return FileSystems.join(base, *parts) if parts else base


def partition_dir(output: str, table: str, day: dt.date, region: str | None) -> str:
    parts = [table, f"date={safe_date_partition(day)}"]
    if region is not None:
        parts.append(f"region={safe_region_partition(region)}")
    return _join(output, *parts)


def write_rows_atomically(*, rows: list[dict[str, Any]], schema: pa.Schema, path: str) -> int:
    """Write ``rows`` to ``path`` via a temporary name and a rename. Returns rows written.

    The file is built in memory first (callers bound ``rows``), so the bytes that
    reach the filesystem are one complete Parquet file. The temporary file sits
    beside the final one (a rename never crosses a filesystem) and its name does
    not end in ``.parquet``, so globs such as ``**/*.parquet`` never match it.
    """
    folder, name = FileSystems.split(path)
    temp = _join(folder, f"{TEMP_PREFIX}{name}.{uuid.uuid4().hex}")
    sink = pa.BufferOutputStream()
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), sink, compression="zstd")
    payload = sink.getvalue().to_pybytes()
    try:
        with FileSystems.create(temp) as handle:
            handle.write(payload)
        if FileSystems.exists(path):
            # A retried bundle: the earlier attempt's file holds the same rows.
            FileSystems.delete([path])
        FileSystems.rename([temp], [path])
    except BaseException:
        try:
            if FileSystems.exists(temp):
                FileSystems.delete([temp])
        except Exception:  # pragma: no cover - best effort cleanup
            _LOG.warning("could not remove temporary file %s", temp)
        raise
    return len(rows)


def chunks(rows: Iterable[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    chunk: list[dict[str, Any]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _shard_of(key: str, shards: int) -> int:
    if shards <= 1:
        return 0
    digest = hashlib.blake2b(key.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") % shards


PartitionKey = tuple[str, str | None, int]  # (date, region or None, shard)


def partition_keyer(
    *, partition_fn: PartitionFn, shards: int, shard_key: str
) -> Callable[[dict[str, Any]], tuple[PartitionKey, dict[str, Any]]]:
    """The function that keys a row by its (safe) partition and shard, for a GroupByKey."""

    def key_row(row: dict[str, Any]) -> tuple[PartitionKey, dict[str, Any]]:
        day, region = partition_fn(row)
        part_region = None if region is None else safe_region_partition(region)
        shard = _shard_of(str(row.get(shard_key) or ""), shards)
        return (safe_date_partition(day), part_region, shard), row

    return key_row


class _WritePartition(beam.DoFn):
    def __init__(self, *, output: str, table: str, run_id: str, max_rows_per_file: int) -> None:
        self._max_rows = max_rows_per_file
        self._output = output
        self._table = table
        self._run_id = run_id
        self._schema = TABLE_SCHEMAS[table]
        self._rows = Metrics.counter(NAMESPACE, f"{table}_rows_written")
        self._files = Metrics.counter(NAMESPACE, f"{table}_files_written")

    def process(
        self,
        element: tuple[tuple[str, str | None, int], Iterable[dict[str, Any]]],
        window: Any = beam.DoFn.WindowParam,
    ) -> Iterator[tuple[str, str, int]]:
        (day_iso, region, shard), rows = element
        day = dt.date.fromisoformat(day_iso)
        folder = partition_dir(self._output, self._table, day, region)
        window_tag = _window_tag(window)
        for chunk_no, chunk in enumerate(chunks(rows, self._max_rows)):
            name = f"part-{self._run_id}{window_tag}-{shard:04d}-{chunk_no:03d}.parquet"
            path = _join(folder, name)
            count = write_rows_atomically(rows=chunk, schema=self._schema, path=path)
            self._rows.inc(count)
            self._files.inc()
            yield (self._table, path, count)


def _window_tag(window: Any) -> str:
    """A name part per window, so each streaming window gets its own file."""
    end = getattr(window, "end", None)
    if end is None or window.__class__.__name__ == "GlobalWindow":
        return ""
    try:
        return f"-w{int(end.micros // 1_000_000)}"
    except (AttributeError, OverflowError, ValueError):
        return ""


class WriteTable(beam.PTransform):
    """Write dict rows of one table as hive-partitioned Parquet; outputs ``(table, path, rows)``."""

    def __init__(
        self,
        *,
        output: str,
        table: str,
        run_id: str,
        partition_fn: PartitionFn,
        shards_per_partition: int = 1,
        shard_key: str = "url",
        max_rows_per_file: int = 20_000,
    ) -> None:
        super().__init__()
        if table not in TABLE_SCHEMAS:
            raise ValueError(f"unknown table {table!r}")
        self._output = output
        self._table = table
        self._run_id = run_id
        self._partition_fn = partition_fn
        self._shards = shards_per_partition
        self._shard_key = shard_key
        self._max_rows = max_rows_per_file

    def expand(self, rows: beam.PCollection) -> beam.PCollection:
        key_row = partition_keyer(
            partition_fn=self._partition_fn, shards=self._shards, shard_key=self._shard_key
        )
        return (
            rows
            | "KeyByPartition" >> beam.Map(key_row)
            | "GroupByPartition" >> beam.GroupByKey()
            | "WriteFiles"
            >> beam.ParDo(
                _WritePartition(
                    output=self._output,
                    table=self._table,
                    run_id=self._run_id,
                    max_rows_per_file=self._max_rows,
                )
            )
        )


class _CheckExists(beam.DoFn):
    def __init__(self) -> None:
        self._ok = Metrics.counter(NAMESPACE, "files_verified")
        self._missing = Metrics.counter(NAMESPACE, "files_missing")

    def process(self, written: tuple[str, str, int]) -> Iterator[tuple[str, str, int]]:
        _table, path, _rows = written
        if FileSystems.exists(path):
            self._ok.inc()
            yield written
        else:
            self._missing.inc()
            raise OSError(f"written file is missing after rename: {path}")


class VerifyWritten(beam.PTransform):
    """Check that every file a writer reported really exists (docs/decisions.md: a failed
    local rename is only logged at DEBUG by Beam's own sinks)."""

    def expand(self, written: beam.PCollection) -> beam.PCollection:
        return written | "CheckExists" >> beam.ParDo(_CheckExists())
