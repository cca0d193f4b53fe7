"""Reading OUT's own files: gone, damaged and good are three different answers."""

from __future__ import annotations

import doctest
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import wiredesk.transforms.io.parquet_read as parquet_read
from wiredesk.transforms.io.parquet_read import UnreadableFile, read_parquet
from wiredesk.transforms.io.state_store import read_state_rows


def _good(path: Path) -> Path:
    pq.write_table(pa.table({"key": ["a", "b"], "extra": [1, 2]}), path)
    return path


def test_only_the_wanted_columns_it_has_are_read(tmp_path: Path) -> None:
    table = read_parquet(str(_good(tmp_path / "part-a.parquet")), columns=["key", "absent"])
    assert table.to_pylist() == [{"key": "a"}, {"key": "b"}]


def test_a_missing_file_is_gone_not_damaged(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        read_parquet(str(tmp_path / "part-gone.parquet"))


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: data[: len(data) // 2],  # truncated
        lambda data: b"",  # emptied
        lambda data: data[:4] + b"\0" * (len(data) - 8) + data[-4:],  # zeroed, magic kept
        lambda data: b"<html>not found</html>",  # overwritten
    ],
    ids=["truncated", "empty", "zeroed", "overwritten"],
)
def test_a_damaged_file_is_unreadable_with_its_path(tmp_path: Path, damage) -> None:
    path = _good(tmp_path / "part-d.parquet")
    path.write_bytes(damage(path.read_bytes()))
    with pytest.raises(UnreadableFile, match="part-d.parquet"):
        read_parquet(str(path))


def test_the_streaming_driver_skips_a_damaged_state_file(tmp_path: Path) -> None:
    folder = tmp_path / "_state" / "seen"
    folder.mkdir(parents=True)
    _good(folder / "part-1.parquet")
    (folder / "part-2.parquet").write_bytes(b"PAR1 junk")
    rows = read_state_rows(output=str(tmp_path), kind="seen")
    assert [row["key"] for row in rows] == ["a", "b"]


def test_doctest() -> None:
    assert doctest.testmod(parquet_read).failed == 0


def test_an_io_error_is_not_taken_for_damage(tmp_path: Path, monkeypatch) -> None:
    """A read that fails (a flaky object store) raises as itself, to be retried."""
    from apache_beam.io.filesystems import FileSystems

    path = str(_good(tmp_path / "part-io.parquet"))

    class Flaky:
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def read(self):
            raise ConnectionResetError("connection reset by peer")

    monkeypatch.setattr(FileSystems, "open", lambda *_a, **_k: Flaky())
    with pytest.raises(ConnectionResetError):
        read_parquet(path)
