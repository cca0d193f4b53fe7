"""Local ``wiredesk run --streaming`` end to end, over loopback outlets whose feeds grow.

One subprocess runs the streaming loop exactly as a user would. Its feeds: one
that gains real pages between polls, one that never changes (it must be
answered 304 and counted), one that is gone. Mid-cycle, while a slow page is
being fetched, the whole process group gets SIGTERM (as systemd sends it): the
cycle must drain (the slow page lands, its extraction workers still alive),
the exit code is 0, every Parquet file is complete, no row is written twice.
Then an in-process run resumes from OUT: validators, schedules and seen URLs.
"""

from __future__ import annotations

import datetime as dt
import gzip
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from importlib import resources
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.support.rss import rss_route
from wiredesk.loopback import LoopbackOutlet, Route
from wiredesk.pipelines.options import RunConfig
from wiredesk.pipelines.run import load_feeds
from wiredesk.pipelines.streaming import StopFlag, run_streaming
from wiredesk.query import connect

PAGES = [
    "wire_reuters_kim-missile-bases.html.gz",
    "globe_science_snooze-cruise.html.gz",
    "daily_business_phase-one-deal.html.gz",
    "globe_sport_davis-cup-opener.html.gz",
]
CYCLE = re.compile(
    r"cycle (\d+): feeds polled (\d+) \(304 (\d+), failed (\d+)\), new (\d+), "
    r"articles (\d+), duplicates (\d+), rejects (\d+)"
)


def _page(name: str) -> bytes:
    data = resources.files("wiredesk.sample").joinpath("pages", name).read_bytes()
    return gzip.decompress(data)


def _rss(outlet: LoopbackOutlet, paths: list[str]) -> Route:
    return rss_route(outlet, paths, title="Busy desk")


class Lines:
    """The subprocess's stdout, line by line, with the cycle lines parsed."""

    def __init__(self, stream) -> None:
        self.queue: queue.Queue[str] = queue.Queue()
        self.all: list[str] = []
        self.cycles: list[tuple[int, ...]] = []
        self._thread = threading.Thread(target=self._pump, args=(stream,), daemon=True)
        self._thread.start()

    def _pump(self, stream) -> None:
        for line in stream:
            self.queue.put(line)

    def drain(self) -> list[tuple[int, ...]]:
        """After the process ended: the cycle lines not consumed yet."""
        self._thread.join(timeout=10)
        rest = []
        while not self.queue.empty():
            line = self.queue.get()
            self.all.append(line)
            if match := CYCLE.search(line):
                rest.append(tuple(int(x) for x in match.groups()))
        self.cycles += rest
        return rest

    def wait_for(self, predicate, timeout: float = 60.0) -> tuple[int, ...]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.queue.get(timeout=0.5)
            except queue.Empty:
                continue
            self.all.append(line)
            match = CYCLE.search(line)
            if match:
                numbers = tuple(int(x) for x in match.groups())
                self.cycles.append(numbers)
                if predicate(numbers):
                    return numbers
        raise AssertionError("no such cycle line; got:\n" + "".join(self.all))


def _wait_until_due(out: str, feed_url: str, *, at_most_s: float = 10.0) -> None:
    """Sleep until ``feed_url``'s next poll, as the newest row of OUT/_state/feeds has it."""
    rows = [
        row
        for path in Path(out, "_state", "feeds").rglob("*.parquet")
        for row in pq.read_table(path).to_pylist()
        if row["feed_url"] == feed_url and row["next_poll_at"] is not None
    ]
    assert rows, f"no poll schedule for {feed_url}"
    due = max(rows, key=lambda r: r["polled_at"])["next_poll_at"]
    wait = (due - dt.datetime.now(dt.UTC)).total_seconds()
    assert wait <= at_most_s, f"{feed_url} is due only in {wait:.1f} s"
    if wait > 0:
        time.sleep(wait + 0.2)


@pytest.fixture
def outlet():
    with LoopbackOutlet(host="127.0.0.73") as server:
        yield server


def test_streaming_polls_politely_drains_on_sigterm_and_resumes(outlet, tmp_path):
    busy: list[str] = []

    def add(name: str, route: Route | None = None) -> str:
        path = f"/story/{len(busy)}.html"
        outlet.set_route(path, route or Route(body=_page(name)))
        busy.append(path)
        outlet.set_route("/busy.xml", _rss(outlet, busy))
        return outlet.url(path)

    add(PAGES[0])
    add(PAGES[1])
    outlet.set_route("/quiet/1.html", Route(body=_page("wire_ap_hayward-stabbing.html.gz")))
    outlet.set_route("/still.xml", _rss(outlet, ["/quiet/1.html"]))
    feeds = tmp_path / "feeds.txt"
    feeds.write_text(
        "\n".join(outlet.url(p) for p in ("/busy.xml", "/still.xml", "/gone.xml")) + "\n"
    )
    out = str(tmp_path / "out")
    command = [
        sys.executable, "-m", "wiredesk.cli", "run", "--streaming",
        "--feeds", str(feeds), "--output", out,
        "--poll-interval", "2", "--max-poll-interval", "4",
        "--allow-private-addresses", "--extract-workers", "1",
    ]  # fmt: skip
    proc = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group, like a service
        cwd=str(Path(__file__).resolve().parents[1]),
    )
    try:
        lines = Lines(proc.stdout)
        first = lines.wait_for(lambda c: c[0] == 1)
        assert first[1] == 3 and first[4] == 3  # 3 feeds polled, 3 new entries
        assert first[5] + first[6] == 3  # every page written

        # A new page appears; the unchanged feed must be answered 304 meanwhile.
        third = add(PAGES[2])
        lines.wait_for(lambda c: c[4] >= 1 and c[0] > 1)
        if not any(c[2] for c in lines.cycles):
            lines.wait_for(lambda c: c[2] >= 1)
        assert outlet.not_modified["/still.xml"] >= 1

        # A slow page: SIGTERM the whole group while it is being fetched.
        arrived = threading.Event()
        slow_body = _page(PAGES[3])

        def slow(handler) -> None:
            arrived.set()
            time.sleep(1.5)
            handler.send_response(200)
            handler.send_header("Content-Type", "text/html; charset=utf-8")
            handler.send_header("Content-Length", str(len(slow_body)))
            handler.end_headers()
            handler.wfile.write(slow_body)

        slow_url = add(PAGES[3], Route(handler=slow))
        assert arrived.wait(timeout=60), "".join(lines.all)
        os.killpg(proc.pid, signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    rest = lines.drain()
    assert "SIGTERM received, finishing this cycle" in "".join(lines.all)
    assert rest and rest[-1][5] + rest[-1][6] >= 1  # the cycle in flight was written

    # Every file is complete; nothing hidden or half-written is left.
    files = list(Path(out).rglob("*.parquet"))
    assert files
    for path in files:
        pq.read_table(path)
    assert not [p for p in Path(out).rglob(".tmp-*")]

    con = connect(out)
    urls = [
        r[0]
        for r in con.execute(
            "SELECT url FROM articles UNION ALL SELECT url FROM duplicates"
        ).fetchall()
    ]
    assert len(urls) == len(set(urls)) == 5  # no row twice
    assert third in urls and slow_url in urls
    # The extraction workers outlived the group-wide SIGTERM: no page failed extraction.
    assert con.execute("SELECT count(*) FROM rejects WHERE stage = 'extract'").fetchall() == [(0,)]
    assert con.execute("SELECT reason FROM rejects").fetchall() == [("http_404",)]
    metrics_304 = sum(c[2] for c in lines.cycles)
    assert metrics_304 >= 1

    # Resume in-process from OUT: the unchanged feed is answered 304 at once and
    # nothing is written again. The resumed run keeps the schedule it finds in OUT, so
    # the busy feed is polled only once it is due: wait for that (a drain that ends
    # sooner than the busy feed's interval would otherwise leave it out, correctly).
    _wait_until_due(out, outlet.url("/busy.xml"))
    hits_before = dict(outlet.hits)
    summaries = []
    config = RunConfig(
        feeds=str(feeds),
        output=out,
        streaming=True,
        poll_interval=2.0,
        max_poll_interval=4.0,
        allow_private_addresses=True,
        extract_workers=1,
    )
    code = run_streaming(
        config=config,
        feeds=load_feeds(str(feeds)),
        stop=StopFlag(),
        max_cycles=1,
        install_signals=False,
        on_cycle=lambda n, summary: summaries.append(summary),
    )
    assert code == 0 and len(summaries) == 1
    assert sum(s.count("feeds_not_modified") for s in summaries) >= 1
    assert sum(s.count("entries_new") for s in summaries) == 0
    assert sum(s.count("articles_rows_written") for s in summaries) == 0
    assert (
        outlet.not_modified["/still.xml"] > 0
        and outlet.hits["/busy.xml"] > hits_before["/busy.xml"]
    )
    for path in [*busy, "/quiet/1.html"]:  # no page was fetched again
        assert outlet.hits[path] == hits_before[path]


def test_kill_9_mid_cycle_loses_nothing_reported_and_the_next_start_resumes(outlet, tmp_path):
    outlet.set_route("/a.html", Route(body=_page(PAGES[0])))
    outlet.set_route("/feed.xml", _rss(outlet, ["/a.html"]))
    feeds = tmp_path / "feeds.txt"
    feeds.write_text(outlet.url("/feed.xml") + "\n")
    out = str(tmp_path / "out")
    command = [
        sys.executable, "-m", "wiredesk.cli", "run", "--streaming",
        "--feeds", str(feeds), "--output", out, "--poll-interval", "1",
        "--allow-private-addresses", "--extract-workers", "1",
    ]  # fmt: skip
    proc = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
        cwd=str(Path(__file__).resolve().parents[1]),
    )
    arrived = threading.Event()
    release = threading.Event()

    def stuck(handler) -> None:
        arrived.set()
        release.wait(30)
        handler.send_error(503)

    try:
        lines = Lines(proc.stdout)
        first = lines.wait_for(lambda c: c[0] == 1)
        assert first[5] == 1  # reported written
        outlet.set_route("/b.html", Route(handler=stuck))
        outlet.set_route("/feed.xml", _rss(outlet, ["/a.html", "/b.html"]))
        assert arrived.wait(timeout=60)
        os.killpg(proc.pid, signal.SIGKILL)  # mid-cycle, no chance to clean up
        proc.wait(timeout=30)
    finally:
        release.set()
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    # What was reported is there, and every visible file is complete.
    for path in Path(out).rglob("*.parquet"):
        pq.read_table(path)
    assert [r[0] for r in connect(out).execute("SELECT url FROM articles").fetchall()] == [
        outlet.url("/a.html")
    ]
    # The next start resumes: the feed's validators and seen URLs come from OUT.
    outlet.set_route("/b.html", Route(body=_page(PAGES[1])))
    summaries = []
    config = RunConfig(
        feeds=str(feeds),
        output=out,
        streaming=True,
        poll_interval=1.0,
        allow_private_addresses=True,
        extract_workers=1,
    )
    assert (
        run_streaming(
            config=config,
            feeds=load_feeds(str(feeds)),
            stop=StopFlag(),
            max_cycles=1,
            install_signals=False,
            on_cycle=lambda n, summary: summaries.append(summary),
        )
        == 0
    )
    assert summaries[0].count("entries_new") == 1  # only /b.html: /a.html was seen
    urls = sorted(
        r[0]
        for r in connect(out)
        .execute("SELECT url FROM articles UNION ALL SELECT url FROM duplicates")
        .fetchall()
    )
    assert urls == sorted([outlet.url("/a.html"), outlet.url("/b.html")])
    assert outlet.hits["/a.html"] == 1
    assert not list(Path(out).rglob(".tmp-*"))


def test_old_feed_state_files_are_pruned_and_the_newest_kept(tmp_path):
    import datetime as dt

    from wiredesk.pipelines.streaming import prune_feed_state
    from wiredesk.transforms.io.state_store import STATE_SCHEMAS, latest_feed_rows, read_state_rows
    from wiredesk.transforms.io.write_table import write_rows_atomically

    out = str(tmp_path / "out")
    at = dt.datetime(2024, 5, 1, tzinfo=dt.UTC)
    folder = tmp_path / "out" / "_state" / "feeds"
    for i in range(5):
        rows = [
            {"feed_url": "a", "day": at.date(), "etag": str(i), "polled_at": at + dt.timedelta(i)}
        ]
        path = folder / f"part-r{i}.parquet"
        write_rows_atomically(rows=rows, schema=STATE_SCHEMAS["feeds"], path=str(path))
        os.utime(path, (1_700_000_000 + i, 1_700_000_000 + i))
    assert prune_feed_state(output=out, keep=3) == 2
    assert sorted(p.name for p in folder.iterdir()) == [f"part-r{i}.parquet" for i in (2, 3, 4)]
    assert latest_feed_rows(read_state_rows(output=out, kind="feeds"))["a"]["etag"] == "4"
    assert prune_feed_state(output=str(tmp_path / "nothing")) == 0
