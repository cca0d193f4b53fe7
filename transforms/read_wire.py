"""ReadWireDir: wire items dropped as files into a folder, each file read once.

The folder may be local or any Beam filesystem. A file is identified by its
path, size and modification time; files already read by an earlier run into
the same OUT (the ``seen`` state) are skipped, and an overwritten file (new
size or time) is read again.

Outputs (tagged): main = FeedEntry, ``rejects`` = Reject, ``seen`` = keys of
the files read.

Example::

    wire = p | ReadWireDir(wire_dir="/drops/ap", seen_keys=beam.pvalue.AsList(seen))
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import apache_beam as beam
from apache_beam.io import fileio
from apache_beam.io.filesystems import FileSystems
from apache_beam.metrics import Metrics

from wiredesk.schemas.records import FeedSource, Reject, RejectReason, Stage, utcnow
from wiredesk.transforms.wire_parse import parse_wire
from wiredesk.transforms.write_parquet import NAMESPACE

__all__ = ["ReadWireDir", "wire_file_key"]

MAX_WIRE_FILE_BYTES = 20 * 1024 * 1024


def wire_file_key(path: str, size: int, mtime: float | None) -> str:
    return f"file:{path}|{size}|{int(mtime or 0)}"


class _ReadWireFileFn(beam.DoFn):
    def __init__(self, *, wire_dir: str) -> None:
        self._wire_dir = wire_dir
        self._files = Metrics.counter(NAMESPACE, "wire_files_read")
        self._skipped = Metrics.counter(NAMESPACE, "wire_files_seen_before")
        self._items = Metrics.counter(NAMESPACE, "wire_items_listed")
        self._cache: tuple[int, frozenset[str]] | None = None

    def process(self, metadata: Any, seen_keys: list[str]) -> Iterator[Any]:
        if self._cache is None or self._cache[0] != id(seen_keys):
            self._cache = (id(seen_keys), frozenset(seen_keys))
        path = metadata.path
        key = wire_file_key(
            path, metadata.size_in_bytes, getattr(metadata, "last_updated_in_seconds", None)
        )
        if key in self._cache[1]:
            self._skipped.inc()
            return
        now = utcnow()
        feed = FeedSource(url=self._wire_dir, title=None)
        if metadata.size_in_bytes > MAX_WIRE_FILE_BYTES:
            yield beam.pvalue.TaggedOutput(
                ReadWireDir.REJECTS,
                Reject(
                    url=path,
                    feed_url=self._wire_dir,
                    stage=Stage.FEED.value,
                    reason=RejectReason.TOO_LARGE.value,
                    detail=f"{metadata.size_in_bytes} bytes > {MAX_WIRE_FILE_BYTES}",
                    at=now,
                ),
            )
        else:
            with FileSystems.open(path) as handle:
                body = handle.read(MAX_WIRE_FILE_BYTES + 1)
            parsed = parse_wire(body=body, source_url=path, feed=feed, fetched_at=now, kind="auto")
            self._files.inc()
            for entry in parsed.entries:
                self._items.inc()
                yield entry
            for reject in parsed.rejects:
                Metrics.counter(NAMESPACE, f"rejected_feed_{reject.reason}").inc()
                yield beam.pvalue.TaggedOutput(ReadWireDir.REJECTS, reject)
        yield beam.pvalue.TaggedOutput(ReadWireDir.SEEN, key)


class ReadWireDir(beam.PTransform):
    """Files in a drop folder -> FeedEntry (main), Reject (``rejects``), keys (``seen``)."""

    ENTRIES = "entries"
    REJECTS = "rejects"
    SEEN = "seen"

    def __init__(self, *, wire_dir: str, seen_keys: Any) -> None:
        super().__init__()
        self._wire_dir = wire_dir.rstrip("/")
        self._seen_keys = seen_keys

    def expand(self, pbegin: beam.pvalue.PBegin) -> beam.pvalue.DoOutputsTuple:
        pattern = FileSystems.join(self._wire_dir, "**")
        return (
            pbegin
            | "Match"
            >> fileio.MatchFiles(pattern, empty_match_treatment=fileio.EmptyMatchTreatment.ALLOW)
            | "Read"
            >> beam.ParDo(_ReadWireFileFn(wire_dir=self._wire_dir), self._seen_keys).with_outputs(
                self.REJECTS, self.SEEN, main=self.ENTRIES
            )
        )
