"""ReadWireDir: wire items dropped as files into a folder, each file read once.

The folder may be local or any Beam filesystem. A file is identified by its
path, size and modification time; files already read by an earlier run into
the same OUT (the ``seen`` state) are skipped, and an overwritten file (new
size or time) is read again.

A drop folder is shared with other programs, so a file may not be what it seems.
A local path is opened without blocking and read only if it is a regular file:
a named pipe (which would wait forever for a writer), a socket or a device is an
``unreadable_file`` reject, as is a file that cannot be read (no permission, an
I/O error). A file that is gone by the time it is read (moved away by another
program) is only counted (``wire_files_gone_before_read``). Neither is marked
read, so it is tried again by the next run once it can be read; its reject row
is written once.

Outputs (tagged): main = FeedEntry, ``rejects`` = Reject, ``seen`` = keys of
the files read.

Example::

    wire = p | ReadWireDir(wire_dir="/drops/ap", seen_keys=beam.pvalue.AsList(seen))
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from typing import Any

import apache_beam as beam
from apache_beam.io import fileio
from apache_beam.io.filesystems import FileSystems
from apache_beam.metrics import Metrics

from wiredesk.schemas.records import FeedSource, Reject, RejectReason, Stage, utcnow
from wiredesk.transforms.common.metrics import NAMESPACE, rejected
from wiredesk.transforms.dedup.stage_exact import SeenKeys
from wiredesk.transforms.sources.wire_parse import parse_wire

__all__ = ["NotARegularFile", "ReadWireDir", "read_drop_file", "wire_file_key"]

MAX_WIRE_FILE_BYTES = 20 * 1024 * 1024


def wire_file_key(path: str, size: int, mtime: float | None) -> str:
    return f"file:{path}|{size}|{int(mtime or 0)}"


class NotARegularFile(OSError):
    """A path in the drop folder that is a pipe, socket, device or folder, not a file."""


_KINDS = (
    (stat.S_ISFIFO, "a named pipe"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISDIR, "a folder"),
)


def read_drop_file(path: str, *, limit: int) -> bytes:
    """At most ``limit`` bytes of the file at ``path``; never blocks on a special file.

    Raises FileNotFoundError when it is gone, :class:`NotARegularFile` when it is not a
    regular file, and other OSErrors when it cannot be read.
    """
    if "://" in path:  # an object store (gs://, s3://): only regular objects exist there
        with FileSystems.open(path) as handle:
            data: bytes = handle.read(limit)
            return data
    # O_NONBLOCK: opening a named pipe for reading would otherwise wait for a writer.
    # The type is checked on the opened descriptor, so the path cannot change in between.
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    with os.fdopen(fd, "rb") as handle:
        mode = os.fstat(handle.fileno()).st_mode
        if not stat.S_ISREG(mode):
            kind = next((name for test, name in _KINDS if test(mode)), "not a regular file")
            raise NotARegularFile(f"{kind}, not a regular file")
        return handle.read(limit)


class _ReadWireFileFn(beam.DoFn):
    def __init__(self, *, wire_dir: str) -> None:
        self._wire_dir = wire_dir
        self._files = Metrics.counter(NAMESPACE, "wire_files_read")
        self._skipped = Metrics.counter(NAMESPACE, "wire_files_seen_before")
        self._items = Metrics.counter(NAMESPACE, "wire_items_listed")
        self._gone = Metrics.counter(NAMESPACE, "wire_files_gone_before_read")
        self._seen_keys = SeenKeys()

    def process(self, metadata: Any, seen_keys: list[str]) -> Iterator[Any]:
        path = metadata.path
        key = wire_file_key(
            path, metadata.size_in_bytes, getattr(metadata, "last_updated_in_seconds", None)
        )
        if key in self._seen_keys.of(seen_keys):
            self._skipped.inc()
            return
        now = utcnow()
        feed = FeedSource(url=self._wire_dir, title=None)
        if metadata.size_in_bytes > MAX_WIRE_FILE_BYTES:
            detail = f"{metadata.size_in_bytes} bytes > {MAX_WIRE_FILE_BYTES}"
            yield self._reject(path, RejectReason.TOO_LARGE.value, detail, now)
        else:
            try:
                body = read_drop_file(path, limit=MAX_WIRE_FILE_BYTES + 1)
            except FileNotFoundError:
                # Moved away since it was listed: not ours any more.
                self._gone.inc()
                return
            except OSError as err:
                Metrics.counter(NAMESPACE, rejected(Stage.FEED, RejectReason.UNREADABLE_FILE)).inc()
                detail = f"cannot read this file: {err.strerror or err}"
                yield self._reject(path, RejectReason.UNREADABLE_FILE.value, detail, now)
                # Not marked read: the next run tries again.
                return
            parsed = parse_wire(body=body, source_url=path, feed=feed, fetched_at=now, kind="auto")
            self._files.inc()
            for entry in parsed.entries:
                self._items.inc()
                yield entry
            for reject in parsed.rejects:
                Metrics.counter(NAMESPACE, rejected(Stage.FEED, reject.reason)).inc()
                yield beam.pvalue.TaggedOutput(ReadWireDir.REJECTS, reject)
        yield beam.pvalue.TaggedOutput(ReadWireDir.SEEN, key)

    def _reject(self, path: str, reason: str, detail: str, at: Any) -> Any:
        return beam.pvalue.TaggedOutput(
            ReadWireDir.REJECTS,
            Reject(
                url=path,
                feed_url=self._wire_dir,
                stage=Stage.FEED.value,
                reason=reason,
                detail=detail,
                at=at,
            ),
        )


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
