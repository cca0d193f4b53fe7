"""Read a Parquet file of OUT that earlier runs wrote, telling "gone" from "damaged".

Runs read their own earlier output at start: state files (``_state/<kind>``) and the
table files of runs that died before their state. A file can vanish between the
listing and the read (``wiredesk compact`` swapped its folder): that raises
:class:`FileNotFoundError`, and its rows are in the merged file. A file can also be
there and unreadable: truncated by a full disk outside wiredesk's atomic renames,
overwritten by hand, damaged in a copy. That raises :class:`UnreadableFile`, so a
caller skips it with a warning and a counter instead of failing every later run on it.

Example::

    >>> import pyarrow as pa, pyarrow.parquet as pq, tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "part-x.parquet")
    >>> pq.write_table(pa.table({"key": ["a"]}), path)
    >>> read_parquet(path).to_pylist()
    [{'key': 'a'}]
    >>> _ = open(path, "wb").write(b"not parquet")
    >>> try:
    ...     read_parquet(path)
    ... except UnreadableFile as err:
    ...     print(str(err).split(": ")[1])
    ArrowInvalid
"""

from __future__ import annotations

import io
import logging
from collections.abc import Sequence
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems

__all__ = [
    "UNREADABLE_FILES",
    "UnreadableFile",
    "read_parquet",
    "read_parquet_bytes",
    "skip_unreadable",
]

LOGGER = logging.getLogger(__name__)

# The counter of damaged files of OUT that a run skipped.
UNREADABLE_FILES = "unreadable_files_skipped"


class UnreadableFile(Exception):
    """A file that exists but is not readable Parquet; ``str()`` names the path and cause."""


def skip_unreadable(err: UnreadableFile, counter: Any | None = None) -> None:
    """Warn about a damaged file of OUT and count it (``UNREADABLE_FILES``, in a
    pipeline); the run goes on without its rows."""
    if counter is not None:
        counter.inc()
    LOGGER.warning("skipping an unreadable file of OUT (%s)", err)


def read_parquet_bytes(data: bytes, *, path: str, columns: Sequence[str] | None = None) -> pa.Table:
    """The table in ``data`` (only those of ``columns`` it has, when given)."""
    return _read(io.BytesIO(data), path=path, columns=columns)


def read_parquet(path: str, *, columns: Sequence[str] | None = None) -> pa.Table:
    """Read ``path`` on any Beam filesystem; FileNotFoundError once it is gone.

    The whole file is read first, so that an I/O error (a flaky object store) raises
    as itself, for the caller or the runner to retry, and only bytes that do not
    parse count as damage.
    """
    with FileSystems.open(path) as handle:
        data = handle.read()
    return _read(io.BytesIO(data), path=path, columns=columns)


def _read(source: io.BytesIO, *, path: str, columns: Sequence[str] | None) -> pa.Table:
    try:
        parquet = pq.ParquetFile(source)
        wanted = (
            None if columns is None else [c for c in columns if c in parquet.schema_arrow.names]
        )
        return parquet.read(columns=wanted)
    except (pa.ArrowException, OSError, ValueError) as err:
        # The bytes are in memory: pyarrow reports damage as ArrowInvalid (a ValueError)
        # or as an OSError ("Couldn't deserialize thrift"), never an I/O failure.
        raise UnreadableFile(f"{path}: {type(err).__name__}: {err}"[:500]) from err
