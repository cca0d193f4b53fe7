"""ReadWrittenKeys: the ``seen`` keys of rows written by runs that never recorded them.

``OUT/_state/seen`` is written once a run's table files are verified; a run
that dies between its first visible table file and that state file (a full
disk, a failed rename, ``kill -9``) would otherwise have its rows written
again by the next run. Such a run is recognisable: its table files
(``part-<run_id>-…``) exist but ``_state/seen/part-<run_id>.parquet`` does
not. Only those files are read, and only a few small columns: the ``url``
(and ``guid``) of articles and duplicates, and the identity of each reject.
After a clean run there is nothing to read.

The same crash loses the run's other state files too; :func:`unfinished_run_files`
answers for any kind (``transforms/io/written_stories.py`` rebuilds the ``stories``
rows of such runs from their ``articles`` files).

Example::

    written = p | ReadWrittenKeys(output="/tmp/out", horizon_days=30, now=time.time())
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Any

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems
from apache_beam.metrics import Metrics

from wiredesk.schemas.records import FeedEntry, Reject
from wiredesk.transforms.common.metrics import NAMESPACE
from wiredesk.transforms.common.urlnorm import url_key
from wiredesk.transforms.dedup.stage_exact import entry_keys
from wiredesk.transforms.io.parquet_read import (
    UNREADABLE_FILES,
    UnreadableFile,
    read_parquet,
    skip_unreadable,
)

__all__ = [
    "COMPACTED_PREFIX",
    "TABLES",
    "ListUnfinishedRunFiles",
    "ReadWrittenKeys",
    "keys_of_row",
    "read_columns",
    "unfinished_run_files",
]

COMPACTED_PREFIX = "part-compact-"  # the merged files of wiredesk/compact.py
TABLES = ("articles", "duplicates", "rejects")

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


# A streaming job's files are named per window and pane
# (windowed_write.pane_file_name: part-<run_id>-w<end>-p<pane>-<shard>-<chunk>.parquet).
_PANE_SUFFIX = re.compile(r"-w\d+-p\d+-\d{4}-\d{3}$")


def _run_ids_with_state(output: str, kind: str) -> set[str]:
    """Run ids with a ``kind`` state file: one per batch run, one per window of a stream.

    A streaming job (Dataflow) writes state per window after that window's files are
    verified, and the runner retries what failed; a job with any state of this kind is
    therefore never "unfinished" for a batch run sharing the OUT, which otherwise
    re-read all its recent files on every start.
    """
    pattern = FileSystems.join(output, "_state", kind, "part-*.parquet")
    try:
        found = FileSystems.match([pattern])[0].metadata_list
    except Exception:  # no state folder yet
        return set()
    names = (FileSystems.split(m.path)[1] for m in found)
    stems = (name[len("part-") : -len(".parquet")] for name in names)
    return {_PANE_SUFFIX.sub("", stem) for stem in stems}


def _written_by(name: str, run_ids: set[str], lengths: set[int]) -> bool:
    """Whether table file ``name`` belongs to one of ``run_ids`` (``part-<run_id>-…``)."""
    if name.startswith(COMPACTED_PREFIX):
        return True  # compaction only merges files of finished runs
    body = name[len("part-") :]
    return any(body[:n] in run_ids and body[n : n + 1] == "-" for n in lengths)


def unfinished_run_files(
    *,
    output: str,
    horizon_days: int,
    now: float,
    kind: str = "seen",
    tables: Sequence[str] = TABLES,
) -> list[tuple[str, str]]:
    """(table, path) of the files of ``tables``, written within the horizon, whose run
    left no ``kind`` state (``_state/<kind>/part-<run_id>.parquet``).

    Each kind is asked on its own: the state files of one run are written one by
    one, so a run may die with its ``seen`` file written and its ``stories`` not.
    """
    run_ids = _run_ids_with_state(output, kind)
    lengths = {len(r) for r in run_ids}
    oldest = now - horizon_days * 86_400
    unfinished = []
    for table in tables:
        pattern = FileSystems.join(output, table, "**", "part-*.parquet")
        try:
            found = FileSystems.match([pattern])[0].metadata_list
        except Exception:  # no such table yet
            continue
        for meta in found:
            updated = getattr(meta, "last_updated_in_seconds", None)
            if updated is not None and updated < oldest:
                continue
            if not _written_by(FileSystems.split(meta.path)[1], run_ids, lengths):
                unfinished.append((table, meta.path))
    return sorted(unfinished)


class _KeysOfFile(beam.DoFn):
    def __init__(self) -> None:
        self._rows = Metrics.counter(NAMESPACE, "state_rows_recovered_from_unfinished_runs")
        self._unreadable = Metrics.counter(NAMESPACE, UNREADABLE_FILES)

    def process(self, item: tuple[str, str]) -> Iterator[str]:
        table, path = item
        try:
            rows = read_columns(path, _COLUMNS[table])
        except UnreadableFile as err:
            skip_unreadable(err, self._unreadable)
            return
        if rows is None:
            # Compacted away since it was listed: its rows are in the merged file.
            # (A comment after this return would make Beam warn of "yield and return".)
            return
        for row in rows:
            self._rows.inc()
            yield from keys_of_row(table, row)


def read_columns(path: str, columns: Sequence[str]) -> list[dict[str, Any]] | None:
    """The rows of a table file, only those of ``columns`` it has; None once it is gone.

    Raises :class:`UnreadableFile` for a file that is there but damaged.
    """
    try:
        rows: list[dict[str, Any]] = read_parquet(path, columns=columns).to_pylist()
    except FileNotFoundError:
        return None
    return rows


def _list_unfinished(
    output: str, horizon_days: int, now: float, kind: str, tables: Sequence[str]
) -> list[tuple[str, str]]:
    return unfinished_run_files(
        output=output, horizon_days=horizon_days, now=now, kind=kind, tables=tables
    )


class ListUnfinishedRunFiles(beam.PTransform):
    """``(table, path)`` of :func:`unfinished_run_files`, listed on a worker and spread.

    The listing runs inside the pipeline, so building the graph never touches the
    output's filesystem (a Dataflow launch or a dry run has no business listing
    ``gs://`` while it translates); the files are then spread over workers to be read.
    """

    def __init__(
        self,
        *,
        output: str,
        horizon_days: int,
        now: float,
        kind: str = "seen",
        tables: Sequence[str] = TABLES,
    ) -> None:
        super().__init__()
        self._output = output
        self._horizon_days = horizon_days
        self._now = now
        self._kind = kind
        self._tables = tuple(tables)

    def expand(self, pbegin: beam.pvalue.PBegin) -> beam.PCollection:
        listing = beam.FlatMap(
            _list_unfinished,
            horizon_days=self._horizon_days,
            now=self._now,
            kind=self._kind,
            tables=self._tables,
        )
        return (
            pbegin
            | "Output" >> beam.Create([self._output])
            | "ListUnfinished" >> listing
            | "Spread" >> beam.Reshuffle()
        )


class ReadWrittenKeys(beam.PTransform):
    """Keys of the rows in table files of runs that left no seen state."""

    def __init__(self, *, output: str, horizon_days: int, now: float) -> None:
        super().__init__()
        self._files = ListUnfinishedRunFiles(output=output, horizon_days=horizon_days, now=now)

    def expand(self, pbegin: beam.pvalue.PBegin) -> beam.PCollection:
        return pbegin | "Files" >> self._files | "Keys" >> beam.ParDo(_KeysOfFile())
