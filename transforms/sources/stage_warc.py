"""ReadWarc: web archives (``.warc``, ``.warc.gz``) in, fetched pages out.

Each ``--warc PATH`` is a file, a glob or a folder, local or on any Beam filesystem
(``gs://``). The files found are grouped by path (a file named by two patterns is
read once); a ``.warc.gz`` larger than ``split_bytes`` (256 MiB) is cut into byte ranges
of that size (each reader finds the first record that starts in its range:
sources/warc_records.py), and the files and ranges are reshuffled, which spreads them
over the workers of a managed runner. Each range is streamed record by record, so memory
holds one record at a time. A plain ``.warc`` is never split (no safe way to find a
record boundary from an arbitrary offset).

A file (or range) read to its end is remembered in the ``seen`` state
(``warc:path|size|mtime``, plus ``|from=START`` for a range) and not read again by a
later run into the same OUT; a response whose URL was written
before (a ``url:`` key of the ``seen`` state) is passed over without extraction.

Outputs (tagged): main = FetchedPage, ``rejects`` = Reject, ``seen`` = keys of the files
read completely and of the pages emitted.

Metrics (namespace NAMESPACE): ``warc_files_read``, ``warc_files_seen_before``,
``warc_files_unreadable``, ``warc_responses`` (input), ``warc_pages`` (good),
``warc_responses_rejected`` (with ``rejected_fetch_<reason>``),
``warc_responses_filtered_<host|date|seen|repeated>``, and
``warc_records_skipped_<type>`` for every other record.
``warc_responses == warc_pages + warc_responses_rejected + filtered``.

Example::

    warc = p | ReadWarc(paths=["gs://bucket/cc-news/*.warc.gz"], seen_keys=seen_side)
    pages, rejects = warc[ReadWarc.PAGES], warc[ReadWarc.REJECTS]
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import apache_beam as beam
from apache_beam.io import fileio
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems
from apache_beam.metrics import Metrics

from wiredesk.schemas.records import FetchedPage, Reject, RejectReason, Stage
from wiredesk.transforms.common.metrics import NAMESPACE
from wiredesk.transforms.common.stage_coders import holding
from wiredesk.transforms.dedup.stage_exact import SeenKeys
from wiredesk.transforms.io.write_table import TEMP_PREFIX
from wiredesk.transforms.sources.warc_records import (
    WarcFilters,
    read_warc,
    split_ranges,
    warc_file_key,
)

__all__ = ["ReadWarc", "is_warc_name", "warc_patterns"]

_WARC_SUFFIXES = (".warc", ".warc.gz")
# A .warc.gz larger than this is read in ranges of this size, each by any worker.
SPLIT_BYTES = 256 * 1024 * 1024


def is_warc_name(path: str) -> bool:
    """A WARC file by its name, and not a capture still being written (or left by a
    crashed run): those carry a hidden ``.tmp-`` name until they are complete."""
    name = path.rstrip("/").rsplit("/", 1)[-1]
    return path.lower().endswith(_WARC_SUFFIXES) and not name.startswith(TEMP_PREFIX)


def warc_patterns(path: str) -> list[str]:
    """The match patterns for one ``--warc PATH``: a glob as given, a WARC file as given,
    anything else as a folder (every file below it; object stores have no folders to ask)."""
    if any(ch in path for ch in "*?["):
        return [path]
    if is_warc_name(path) or ("://" not in path and os.path.isfile(path)):
        return [path]
    return [FileSystems.join(path.rstrip("/") or "/", "**")]


class _ReadWarcFileFn(beam.DoFn):
    def __init__(self, *, filters: WarcFilters, max_bytes: int) -> None:
        self._filters = filters
        self._max_bytes = max_bytes
        self._files = Metrics.counter(NAMESPACE, "warc_files_read")
        self._seen_files = Metrics.counter(NAMESPACE, "warc_files_seen_before")
        self._unreadable = Metrics.counter(NAMESPACE, "warc_files_unreadable")
        self._responses = Metrics.counter(NAMESPACE, "warc_responses")
        self._pages = Metrics.counter(NAMESPACE, "warc_pages")
        self._rejected = Metrics.counter(NAMESPACE, "warc_responses_rejected")
        self._seen_keys = SeenKeys()

    def process(self, element: _Range, seen_keys: list[str]) -> Iterator[Any]:
        path, size, mtime, start, end = element
        # A whole file keeps the plain file key; a range of a split file, its own.
        key = warc_file_key(path, size, mtime, None if (start, end) == (0, size) else start)
        seen = self._seen_keys.of(seen_keys)
        if key in seen:
            self._seen_files.inc()
        else:
            yield from self._read(path, size, start, end, key=key, seen=seen)

    def _read(
        self, path: str, size: int, start: int, end: int, *, key: str, seen: frozenset[str]
    ) -> Iterator[Any]:
        try:
            # UNCOMPRESSED: warcio undoes the per-record gzip members itself.
            handle = FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED)
        except Exception as exc:
            self._unreadable.inc()
            Metrics.counter(NAMESPACE, "rejected_fetch_unreadable_file").inc()
            reject = Reject(
                url=path,
                feed_url=path,
                stage=Stage.FETCH.value,
                reason=RejectReason.UNREADABLE_FILE.value,
                detail=f"cannot read this WARC file: {exc}",
            )
            yield beam.pvalue.TaggedOutput(ReadWarc.REJECTS, reject)
            return  # not marked read: the next run tries again
        emitted: set[str] = set()
        with handle:
            outcomes = read_warc(
                handle,
                source=path,
                filters=self._filters,
                max_bytes=self._max_bytes,
                seen=seen.__contains__,
                start=start,
                end=None if end >= size else end,
            )
            for outcome in outcomes:
                yield from self._emit(outcome, emitted)
        self._files.inc()
        yield beam.pvalue.TaggedOutput(ReadWarc.SEEN, key)

    def _emit(self, outcome: Any, emitted: set[str]) -> Iterator[Any]:
        if outcome.kind == "skipped":
            Metrics.counter(NAMESPACE, f"warc_records_skipped_{outcome.reason}").inc()
            return
        if outcome.record_type == "response":
            self._responses.inc()
        if outcome.kind == "filtered":
            Metrics.counter(NAMESPACE, f"warc_responses_filtered_{outcome.reason}").inc()
        elif outcome.kind == "reject":
            if outcome.record_type == "response":
                self._rejected.inc()
            else:  # a corrupt or cut-off record whose type was never read
                Metrics.counter(NAMESPACE, "warc_records_unreadable").inc()
            Metrics.counter(NAMESPACE, f"rejected_fetch_{outcome.reason}").inc()
            yield beam.pvalue.TaggedOutput(ReadWarc.REJECTS, outcome.reject)
        elif outcome.url_key in emitted:
            # The same URL twice in one file (a re-crawl): the first record is kept.
            Metrics.counter(NAMESPACE, "warc_responses_filtered_repeated").inc()
        else:
            emitted.add(outcome.url_key)
            self._pages.inc()
            yield outcome.page
            yield beam.pvalue.TaggedOutput(ReadWarc.SEEN, f"url:{outcome.url_key}")


# (path, size, mtime, start, end): one byte range of one file, read by one worker.
_Range = tuple[str, int, float | None, int, int]


def _ranges(element: tuple[str, Iterable[Any]], split_bytes: int) -> Iterator[_Range]:
    path, group = element
    metadata = next(iter(group))
    size = metadata.size_in_bytes
    mtime = getattr(metadata, "last_updated_in_seconds", None)
    for start, end in split_ranges(path, size, split_bytes):
        yield (path, size, mtime, start, end)


class ReadWarc(beam.PTransform):
    """WARC paths -> FetchedPage (main), Reject (``rejects``), keys (``seen``)."""

    PAGES = "pages"
    REJECTS = "rejects"
    SEEN = "seen"

    def __init__(
        self,
        *,
        paths: Sequence[str],
        seen_keys: Any,
        filters: WarcFilters | None = None,
        max_bytes: int = 5 * 1024 * 1024,
        split_bytes: int = SPLIT_BYTES,
    ) -> None:
        super().__init__()
        self._split_bytes = split_bytes
        self._patterns = sorted({p for path in paths for p in warc_patterns(path)})
        self._seen_keys = seen_keys
        self._filters = filters or WarcFilters()
        self._max_bytes = max_bytes

    def expand(self, pbegin: beam.pvalue.PBegin) -> beam.pvalue.DoOutputsTuple:
        read = (
            pbegin
            | "Patterns" >> beam.Create(self._patterns)
            | "Match" >> fileio.MatchAll(empty_match_treatment=fileio.EmptyMatchTreatment.ALLOW)
            | "OnlyWarc" >> beam.Filter(lambda metadata: is_warc_name(metadata.path))
            # Grouping by path reads a file named twice once, and spreads the files
            # over the workers of a managed runner (the group is a shuffle).
            | "KeyByPath" >> beam.Map(lambda metadata: (metadata.path, metadata))
            | "GroupByPath" >> beam.GroupByKey()
            | "Ranges" >> beam.FlatMap(_ranges, split_bytes=self._split_bytes)
            # The ranges of one large file go to different workers.
            | "SpreadRanges" >> beam.Reshuffle()
            | "Read"
            >> beam.ParDo(
                _ReadWarcFileFn(filters=self._filters, max_bytes=self._max_bytes),
                self._seen_keys,
            ).with_outputs(self.REJECTS, self.SEEN, main=self.PAGES)
        )
        holding(read[self.PAGES], FetchedPage)
        return read
