"""A wire drop folder holds what other programs put there: pipes, devices, vanishing files.

A named pipe in the folder used to hang the run for ever (opening it waits for a writer);
an unreadable file, or one moved away between listing and reading, failed the run. Now
the first two are ``unreadable_file`` rejects and the third is counted, and the run goes on.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from wiredesk.query import connect
from wiredesk.transforms.sources.stage_wire import NotARegularFile, read_drop_file

ROOT = Path(__file__).resolve().parents[1]


def _ninjs(uri: str, headline: str, body: str) -> str:
    return json.dumps(
        {
            "uri": uri,
            "type": "text",
            "headline": headline,
            "body_html": f"<p>{body}</p>",
            "versioncreated": "2024-01-01T00:00:00Z",
        }
    )


def _unblock_after(seconds: float, fifo: Path) -> threading.Timer:
    """If a read of ``fifo`` blocks, open its write end later so the test can fail, not hang."""

    def open_writer() -> None:
        with contextlib.suppress(OSError):  # ENXIO: no reader waiting, nothing blocked
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))

    timer = threading.Timer(seconds, open_writer)
    timer.start()
    return timer


def test_a_named_pipe_is_refused_without_waiting(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)
    timer = _unblock_after(5.0, fifo)
    try:
        with pytest.raises(NotARegularFile, match="a named pipe"):
            read_drop_file(str(fifo), limit=100)
    finally:
        timer.cancel()


def test_a_device_behind_a_symlink_is_refused(tmp_path: Path) -> None:
    link = tmp_path / "zero.json"
    link.symlink_to("/dev/zero")
    with pytest.raises(NotARegularFile, match="a character device"):
        read_drop_file(str(link), limit=100)


def test_a_regular_file_is_read_up_to_the_limit_and_a_gone_one_raises(tmp_path: Path) -> None:
    path = tmp_path / "item.json"
    path.write_bytes(b"0123456789")
    assert read_drop_file(str(path), limit=4) == b"0123"
    assert read_drop_file(str(path), limit=100) == b"0123456789"
    with pytest.raises(FileNotFoundError):
        read_drop_file(str(tmp_path / "gone.json"), limit=100)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads a file whatever its mode")
def test_a_file_without_read_permission_raises(tmp_path: Path) -> None:
    path = tmp_path / "locked.json"
    path.write_text("{}")
    path.chmod(0)
    with pytest.raises(PermissionError):
        read_drop_file(str(path), limit=100)


def _run(wire: Path, out: Path) -> subprocess.CompletedProcess[str]:
    # A subprocess with a deadline: a regression hangs on the pipe, and must fail the test
    # rather than the whole suite.
    argv = [sys.executable, "-m", "wiredesk.cli", "run", "--wire-dir", str(wire)]
    argv += ["--output", str(out), "--once", "--extract-workers", "1"]
    return subprocess.run(argv, capture_output=True, text=True, timeout=180, cwd=ROOT)


def test_a_run_over_a_folder_with_a_pipe_and_a_device_goes_on(tmp_path: Path) -> None:
    wire = tmp_path / "drop"
    (wire / "desk").mkdir(parents=True)
    (wire / "desk" / "ferry.json").write_text(
        _ninjs("urn:test:ferry", "Second ferry from June", "A second ferry will serve the isles.")
    )
    os.mkfifo(wire / "pipe.json")
    (wire / "zero.xml").symlink_to("/dev/zero")
    out = tmp_path / "out"

    first = _run(wire, out)
    assert first.returncode == 0, first.stderr[-2000:]
    db = connect(str(out))
    assert db.execute("SELECT url FROM articles").fetchall() == [("urn:test:ferry",)]
    rejects = db.execute("SELECT url, stage, reason, detail FROM rejects ORDER BY url").fetchall()
    assert [(Path(u).name, s, r) for u, s, r, _ in rejects] == [
        ("pipe.json", "feed", "unreadable_file"),
        ("zero.xml", "feed", "unreadable_file"),
    ]
    assert "a named pipe, not a regular file" in rejects[0][3]
    assert "a character device, not a regular file" in rejects[1][3]

    # Not marked read, so tried again; the same reject is not written twice.
    second = _run(wire, out)
    assert second.returncode == 0, second.stderr[-2000:]
    assert connect(str(out)).execute("SELECT count(*) FROM rejects").fetchone() == (2,)


def test_a_file_gone_before_it_is_read_is_counted_and_not_marked_read(tmp_path: Path) -> None:
    from apache_beam.io.filesystem import FileMetadata

    from wiredesk.transforms.sources.stage_wire import _ReadWireFileFn

    fn = _ReadWireFileFn(wire_dir=str(tmp_path))
    gone = FileMetadata(str(tmp_path / "moved-away.json"), 120, 1_700_000_000.0)
    assert list(fn.process(gone, [])) == []  # no entry, no reject, no "read" key
