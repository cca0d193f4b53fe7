"""ReadWrittenKeys: the ``seen`` keys of every row already in OUT's tables.

``OUT/_state/seen`` is written once a run's table files are verified; a run
that dies between its first visible table file and that state file (a full
disk, a failed rename, ``kill -9``) would otherwise have its rows written
again by the next run. The tables themselves say what is written, so the
keys are also derived from them: the ``url`` (and ``guid``) of articles and
duplicates, and the identity of each reject. Only a few small columns are
read, and only from files written within the seen horizon.

Example::

    written = p | ReadWrittenKeys(output="/tmp/out", horizon_days=30, now=time.time())
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import apache_beam as beam
import pyarrow.parquet as pq
from apache_beam.io import fileio
from apache_beam.io.filesystems import FileSystems
from apache_beam.metrics import Metrics

from wiredesk.schemas.records import FeedEntry, Reject
from wiredesk.transforms.exact_dedup import entry_keys
from wiredesk.transforms.urlnorm import url_key
from wiredesk.transforms.write_parquet import NAMESPACE

__all__ = ["ReadWrittenKeys", "keys_of_row"]

_COLUMNS = {
    "articles": ("url", "guid", "feed_url", "is_wire"),
    "duplicates": ("url", "guid", "feed_url", "is_wire"),
    "rejects": ("url", "feed_url", "stage", "reason"),
}


def keys_of_row(table: str, row: dict[str, Any]) -> list[str]:
    """The keys a row stands for, exactly as the run that wrote it recorded them."""
    url = row.get("url") or ""
    if table == "rejects":
        reject = Reject(
            url=url,
            feed_url=row.get("feed_url"),
            stage=row.get("stage") or "",
            reason=row.get("reason") or "",
            detail="",
        )
        keys = [reject.key()]
        if reject.stage != "feed":
            keys.append(f"url:{url_key(url)}")
        return keys
    entry = FeedEntry(
        url=url,
        feed_url=row.get("feed_url") or "",
        url_key=url_key(url),
        guid=row.get("guid"),
        is_wire=bool(row.get("is_wire")),
    )
    return entry_keys(entry)


class _KeysOfFile(beam.DoFn):
    def __init__(self, *, table: str, oldest: float) -> None:
        self._table = table
        self._oldest = oldest
        self._rows = Metrics.counter(NAMESPACE, "state_written_rows_restored")

    def process(self, metadata: Any) -> Iterator[str]:
        updated = getattr(metadata, "last_updated_in_seconds", None)
        if updated is not None and updated < self._oldest:
            return
        try:
            with FileSystems.open(metadata.path) as handle:
                parquet = pq.ParquetFile(handle)
                wanted = [c for c in _COLUMNS[self._table] if c in parquet.schema_arrow.names]
                rows = parquet.read(columns=wanted).to_pylist()
        except FileNotFoundError:
            return  # compacted away while we listed: its rows are in the merged file
        for row in rows:
            self._rows.inc()
            yield from keys_of_row(self._table, row)


class ReadWrittenKeys(beam.PTransform):
    """Keys of the rows in ``articles``, ``duplicates`` and ``rejects`` (written recently)."""

    def __init__(self, *, output: str, horizon_days: int, now: float) -> None:
        super().__init__()
        self._output = output
        self._oldest = now - horizon_days * 86_400

    def expand(self, pbegin: beam.pvalue.PBegin) -> beam.PCollection:
        keys = []
        for table in _COLUMNS:
            keys.append(
                pbegin
                | f"Match{table.title()}"
                >> fileio.MatchFiles(
                    FileSystems.join(self._output, table, "**", "*.parquet"),
                    empty_match_treatment=fileio.EmptyMatchTreatment.ALLOW,
                )
                | f"Keys{table.title()}"
                >> beam.ParDo(_KeysOfFile(table=table, oldest=self._oldest))
            )
        return tuple(keys) | "AllWrittenKeys" >> beam.Flatten()
