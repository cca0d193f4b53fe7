"""Faults while writing, through real ``wiredesk run --once`` runs: a failed rename, a full
disk, a killed process. Afterwards every row is counted: none lost, none twice, and no
partial or temporary file is visible to a ``**/*.parquet`` glob.

The world is small (one outlet: three articles and two 404s) so each run takes ~4 s.
"""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pyarrow.parquet as pq
import pytest
from apache_beam.io.filesystems import FileSystems

from tests.hostile.internet import article_html, iter_files
from tests.support.httpfakes import FakeOutlet, Request, Response, Writer
from wiredesk.cli import main
from wiredesk.query import connect

HOST = "127.0.0.91"
GOOD = 3
GONE = 2
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture
def world(tmp_path: Any) -> Iterator[tuple[FakeOutlet, list[str], str]]:
    routes: dict[str, Any] = {
        f"/story-{i}": (200, {"Content-Type": "text/html"}, article_html(700 + i))
        for i in range(GOOD)
    }
    routes.update({f"/gone-{i}": (404, {}, "gone") for i in range(GONE)})
    with FakeOutlet(routes, host=HOST) as outlet:
        items = "".join(
            f"<item><title>{path}</title><link>{outlet.url(path)}</link></item>"
            for path in list(routes)
        )
        outlet.routes["/feed.xml"] = (
            200,
            {"Content-Type": "application/rss+xml"},
            f"<rss version='2.0'><channel><title>Writers</title>{items}</channel></rss>",
        )
        feeds = tmp_path / "feeds.txt"
        feeds.write_text(outlet.url("/feed.xml") + "\n")
        out = str(tmp_path / "out")
        # The same extraction pool settings as test_hostile_run: the pool is shared.
        argv = ["run", "--feeds", str(feeds), "--output", out, "--once", "--allow-host", HOST,
                "--extract-workers", "2", "--extract-timeout", "3"]  # fmt: skip
        yield outlet, argv, out


def _assert_complete_once(out: str) -> None:
    """Exactly the inputs, once each; every visible file complete; no temporary visible."""
    con = connect(out)
    articles = con.execute("SELECT count(*), count(DISTINCT url) FROM articles").fetchall()
    rejects = con.execute("SELECT count(*), count(DISTINCT url) FROM rejects").fetchall()
    assert articles == [(GOOD, GOOD)]
    assert rejects == [(GONE, GONE)]
    _assert_nothing_partial(out)


def _assert_nothing_partial(out: str) -> None:
    for name in iter_files(out):
        if name.endswith(".parquet"):
            pq.read_metadata(os.path.join(out, name))  # a complete Parquet file
        else:
            # State, temporary files, and the writer lease's records (README, "Overlapping
            # runs": a failed run releases its lease; the record stays as its history).
            assert name.startswith(("_state/", "_lease/")) or os.path.basename(name).startswith(
                ".tmp-"
            ), name
    assert not any(n.endswith(".parquet") and "/.tmp-" in "/" + n for n in iter_files(out))


def _visible(out: str) -> list[str]:
    # The feed list is what the run was given, recorded before it starts (the feeds
    # table lists feeds that never answered): not output a failed run left half-done.
    return sorted(
        n for n in iter_files(out) if n.endswith(".parquet") and "_state/feed_list/" not in n
    )


def test_first_rename_fails_then_rerun_is_complete(
    world: Any, monkeypatch: Any, capsys: Any
) -> None:
    _outlet, argv, out = world
    real = FileSystems.rename
    failed: list[str] = []

    def rename(src: list[str], dst: list[str]) -> None:
        if not failed and "/_state/" not in dst[0]:
            failed.append(dst[0])
            raise OSError(errno.EIO, "injected rename failure")
        real(src, dst)

    monkeypatch.setattr(FileSystems, "rename", staticmethod(rename))
    assert main(argv) == 1
    assert "wiredesk: run failed: " in capsys.readouterr().err
    # the reason names the cause: injected rename failure
    monkeypatch.setattr(FileSystems, "rename", real)
    assert failed and _visible(out) == []  # nothing half-done became visible
    _assert_nothing_partial(out)
    assert main(argv) == 0
    _assert_complete_once(out)


def test_a_later_rename_fails_then_rerun_adds_no_duplicate(
    world: Any, monkeypatch: Any, capsys: Any
) -> None:
    _outlet, argv, out = world
    real = FileSystems.rename
    done: list[str] = []

    def rename(src: list[str], dst: list[str]) -> None:
        if "/_state/" not in dst[0]:
            done.append(dst[0])
            if len(done) == 2:  # the first table file is visible by now
                raise OSError(errno.EIO, "injected rename failure")
        real(src, dst)

    monkeypatch.setattr(FileSystems, "rename", staticmethod(rename))
    assert main(argv) == 1
    assert "wiredesk: run failed: " in capsys.readouterr().err
    # the reason names the cause: injected rename failure
    monkeypatch.setattr(FileSystems, "rename", real)
    assert len(_visible(out)) == 1
    _assert_nothing_partial(out)
    assert main(argv) == 0
    _assert_complete_once(out)


def test_disk_full_from_the_start_fails_with_one_line(
    world: Any, monkeypatch: Any, capsys: Any
) -> None:
    _outlet, argv, out = world
    real = FileSystems.create

    def create(path: str, *args: Any, **kw: Any) -> Any:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(FileSystems, "create", staticmethod(create))
    assert main(argv) != 0
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "No space left" in err
    monkeypatch.setattr(FileSystems, "create", real)
    assert _visible(out) == []
    assert main(argv) == 0
    _assert_complete_once(out)


def test_disk_full_mid_run_fails_loudly_and_loses_nothing(
    world: Any, monkeypatch: Any, capsys: Any
) -> None:
    _outlet, argv, out = world
    real = FileSystems.create

    def create(path: str, *args: Any, **kw: Any) -> Any:
        # The start-up writes still find room: the writable check and the feed list.
        if "/.probe-" in path or "/_state/feed_list/" in path:
            return real(path, *args, **kw)
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(FileSystems, "create", staticmethod(create))
    assert main(argv) == 1
    assert "wiredesk: run failed: " in capsys.readouterr().err
    # the reason names the cause: No space left
    monkeypatch.setattr(FileSystems, "create", real)
    assert _visible(out) == []
    _assert_nothing_partial(out)
    assert main(argv) == 0
    _assert_complete_once(out)


def test_killed_mid_run_then_rerun_is_complete(world: Any, tmp_path: Any) -> None:
    outlet, argv, out = world
    reached = []

    def slow_story(request: Request, writer: Writer) -> Response | None:
        reached.append(time.monotonic())
        if request.stopping.wait(30.0):
            return None
        return Response(200, {"Content-Type": "text/html"}, article_html(700))

    outlet.routes["/story-0"] = slow_story
    env = {**os.environ, "PYTHONPATH": REPO + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from wiredesk.cli import main; sys.exit(main())",
            *argv,
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its extraction workers die with it
    )
    try:
        deadline = time.monotonic() + 60
        while not reached and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        assert reached, "the run never reached the slow page"
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    if os.path.exists(out):
        _assert_nothing_partial(out)
    outlet.routes["/story-0"] = (200, {"Content-Type": "text/html"}, article_html(700))
    assert main(argv) == 0
    _assert_complete_once(out)
    assert not [n for n in iter_files(out) if os.path.basename(n).startswith(".tmp-")]
