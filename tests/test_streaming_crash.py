"""Local ``wiredesk run --streaming`` killed with SIGKILL at random moments, then restarted.

Again and again a streaming process is started on a feed that has gained two
pages, and the whole process group (extraction workers included) is killed
with SIGKILL at a moment drawn from a seeded generator, counted from the poll
of the feed and scaled to how long a cycle takes on this machine (the first
process measures one): in the poll, the fetches, the extraction or the writes
of a cycle. At least five kills land inside a cycle.
Each restart takes over the lease the killed process left (its pid is gone)
and reads back what it left. After a last, clean run: every page is exactly
once across ``articles`` and ``duplicates`` (0 lost, 0 doubled), and every
Parquet file is whole.
"""

from __future__ import annotations

import gzip
import os
import random
import signal
import subprocess
import sys
import threading
import time
from importlib import resources
from pathlib import Path

import pyarrow.parquet as pq

from tests.support.rss import rss_route
from wiredesk.loopback import LoopbackOutlet, Route
from wiredesk.pipelines.options import RunConfig
from wiredesk.pipelines.run import load_feeds
from wiredesk.pipelines.streaming import StopFlag, run_streaming
from wiredesk.query import connect

ROOT = Path(__file__).resolve().parents[1]
SEED = 2121
MID_CYCLE_KILLS = 5  # kills that land between a cycle's poll and its end
MAX_KILLS = 10


def _pages() -> list[bytes]:
    folder = resources.files("wiredesk.sample").joinpath("pages")
    names = sorted(p.name for p in folder.iterdir() if p.name.endswith(".html.gz"))
    return [gzip.decompress(folder.joinpath(name).read_bytes()) for name in names]


def _rss(outlet: LoopbackOutlet, paths: list[str]) -> Route:
    return rss_route(outlet, paths, title="Growing desk")


class Streaming:
    """One ``wiredesk run --streaming`` process group; when each cycle line came."""

    def __init__(self, command: list[str]) -> None:
        self.proc = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
            cwd=str(ROOT),
        )
        self.cycles_at: list[float] = []
        self.lines: list[str] = []
        self._pump = threading.Thread(target=self._read, daemon=True)
        self._pump.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)
            if line.startswith("cycle "):
                self.cycles_at.append(time.monotonic())

    def wait_for_cycle(self, count: int) -> float:
        deadline = time.monotonic() + 300
        while len(self.cycles_at) < count:
            assert self.proc.poll() is None, "".join(self.lines)
            assert time.monotonic() < deadline, "".join(self.lines)
            time.sleep(0.02)
        return self.cycles_at[count - 1]

    def kill(self) -> None:
        os.killpg(self.proc.pid, signal.SIGKILL)  # extraction workers too, no clean-up
        self.proc.wait()
        self._pump.join(10)


def _wait_for_poll(outlet: LoopbackOutlet, before: int, run: Streaming) -> float:
    deadline = time.monotonic() + 300
    while outlet.hits["/feed.xml"] == before:
        assert run.proc.poll() is None, "".join(run.lines)
        assert time.monotonic() < deadline, "the streaming process never polled"
        time.sleep(0.01)
    return time.monotonic()


def test_sigkill_during_streaming_cycles_loses_nothing_and_doubles_nothing(tmp_path):
    rng = random.Random(SEED)
    pages = _pages()
    feeds = tmp_path / "feeds.txt"
    out = tmp_path / "out"
    listed: list[str] = []
    with LoopbackOutlet(host="127.0.0.92") as outlet:

        def grow(count: int) -> None:
            for _ in range(count):
                path = f"/story/{len(listed)}.html"
                outlet.set_route(path, Route(body=pages[len(listed) % len(pages)]))
                listed.append(path)
            outlet.set_route("/feed.xml", _rss(outlet, listed))

        feeds.write_text(outlet.url("/feed.xml") + "\n")
        command = [
            sys.executable, "-m", "wiredesk.cli", "run", "--streaming",
            "--feeds", str(feeds), "--output", str(out), "--poll-interval", "1",
            "--allow-private-addresses", "--extract-workers", "1", "--lease-heartbeat", "0.5",
        ]  # fmt: skip
        cycle_s = 0.0  # how long a cycle takes on this machine now, from its poll
        kills: list[tuple[float, bool]] = []  # (seconds after the poll, mid-cycle)
        while sum(mid for _, mid in kills) < MID_CYCLE_KILLS and len(kills) < MAX_KILLS:
            grow(2)
            run = Streaming(command)
            try:
                polled = _wait_for_poll(outlet, outlet.hits["/feed.xml"], run)
                if not cycle_s:
                    # The first process measures a whole cycle, then dies in its second.
                    cycle_s = run.wait_for_cycle(1) - polled
                    grow(1)
                    polled = _wait_for_poll(outlet, outlet.hits["/feed.xml"], run)
                done = len(run.cycles_at)
                delay = rng.uniform(0.05, 1.0) * cycle_s
                time.sleep(max(0.0, polled + delay - time.monotonic()))
            finally:
                run.kill()
            finished = len(run.cycles_at) > done
            kills.append((delay, not finished))
            if finished:  # cycles got faster: aim at the new length
                cycle_s = run.cycles_at[done] - polled
        assert sum(mid for _, mid in kills) >= MID_CYCLE_KILLS, kills

        grow(2)
        config = RunConfig(
            feeds=str(feeds),
            output=str(out),
            streaming=True,
            poll_interval=1.0,
            allow_private_addresses=True,
            extract_workers=1,
            lease_heartbeat=0.5,
        )
        code = run_streaming(
            config=config,
            feeds=load_feeds(str(feeds)),
            stop=StopFlag(),
            max_cycles=1,
            install_signals=False,
        )
        assert code == 0
        expected = sorted(outlet.url(p) for p in listed)
    for path in out.rglob("*.parquet"):
        pq.read_table(path)  # every visible file is whole
    rows = (
        connect(str(out))
        .execute(
            "SELECT url, count(*) FROM (SELECT url FROM articles UNION ALL "
            "SELECT url FROM duplicates) GROUP BY url ORDER BY url"
        )
        .fetchall()
    )
    lost = sorted(set(expected) - {url for url, _ in rows})
    doubled = [(url, n) for url, n in rows if n > 1]
    assert (lost, doubled) == ([], []), f"kills (s after the poll, mid-cycle): {kills}"
    assert [url for url, _ in rows] == expected
    rejects = connect(str(out)).execute("SELECT url, reason FROM rejects").fetchall()
    assert rejects == []
