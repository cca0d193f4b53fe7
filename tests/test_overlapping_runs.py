"""Overlapping ``wiredesk run --once`` into one OUT, through the CLI: never a doubled row.

Three runs overlap as a cron job's do when the last run is still going: the
first holds the writer lease (one of its pages answers only when the test lets
it), the second waits for it (the default ``--wait-for-lock``), the third asks
not to wait and stops with exit code 75 and one line naming the holder. Then
the first finishes, the second runs after it and adds nothing: every URL is
exactly once across ``articles`` and ``duplicates``.

A run killed with SIGKILL leaves its lease behind; the next run takes it over
once it has expired and completes, again without a doubled row.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from importlib import resources
from pathlib import Path

import pytest

from wiredesk.loopback import LoopbackOutlet, Route
from wiredesk.query import connect

ROOT = Path(__file__).resolve().parents[1]
PAGES = [
    "wire_reuters_kim-missile-bases.html.gz",
    "globe_science_snooze-cruise.html.gz",
    "daily_business_phase-one-deal.html.gz",
]
SLOW = "daily_impact_commercial-moon-shot.html.gz"


def _page(name: str) -> bytes:
    return gzip.decompress(resources.files("wiredesk.sample").joinpath("pages", name).read_bytes())


def _rss(outlet: LoopbackOutlet, paths: list[str]) -> Route:
    items = "".join(
        f"<item><title>Item {p}</title><link>{outlet.url(p)}</link><guid>{outlet.url(p)}</guid></item>"
        for p in paths
    )
    body = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Desk</title>'
        f"<link>{outlet.base_url}/</link>{items}</channel></rss>"
    )
    return Route(body=body.encode(), content_type="application/rss+xml")


class Gate:
    """A page that answers only once the test opens the gate (the run holding the lease
    is then known to be mid-run)."""

    def __init__(self, body: bytes) -> None:
        self.arrived = threading.Event()
        self.open = threading.Event()
        self._body = body

    def __call__(self, handler) -> None:
        self.arrived.set()
        self.open.wait(600)
        handler.send_response(200)
        handler.send_header("Content-Type", "text/html; charset=utf-8")
        handler.send_header("Content-Length", str(len(self._body)))
        handler.end_headers()
        handler.wfile.write(self._body)


class Run:
    """One ``wiredesk run --once`` subprocess, its stderr collected line by line."""

    def __init__(self, feeds: Path, out: Path, *extra: str) -> None:
        command = [
            sys.executable, "-m", "wiredesk.cli", "run", "--once",
            "--feeds", str(feeds), "--output", str(out),
            "--allow-private-addresses", "--extract-workers", "1",
            # The gated page answers only when the test says so, however busy the machine.
            "--fetch-timeout", "600", *extra,
        ]  # fmt: skip
        self.proc = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
            cwd=str(ROOT),
        )
        self.err: list[str] = []
        self.out: list[str] = []
        self._threads = [
            threading.Thread(target=self._pump, args=(self.proc.stderr, self.err), daemon=True),
            threading.Thread(target=self._pump, args=(self.proc.stdout, self.out), daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    @staticmethod
    def _pump(stream, into: list[str]) -> None:
        for line in stream:
            into.append(line.rstrip("\n"))

    def said(self, pattern: str, timeout: float = 300.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.err):
                if re.search(pattern, line):
                    return line
            if self.proc.poll() is not None and not any(t.is_alive() for t in self._threads):
                break
            time.sleep(0.05)
        raise AssertionError(f"no line matching {pattern!r}; stderr: {self.err}")

    def finish(self, timeout: float = 600.0) -> int:
        code = self.proc.wait(timeout=timeout)
        for thread in self._threads:
            thread.join(10)
        return code

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


def _lease_record(out: Path) -> dict:
    folder = out / "_lease"
    newest = max(p for p in folder.iterdir() if p.name.endswith(".json"))
    return json.loads(newest.read_bytes())


def _wait_for_holder(out: Path, run: Run, timeout: float = 300.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            record = _lease_record(out)
            if record["pid"] == run.proc.pid and record["mode"] == "once":
                return record
        except (FileNotFoundError, ValueError):
            pass
        assert run.proc.poll() is None, run.err
        time.sleep(0.05)
    raise AssertionError("the first run never took the lease")


def _urls_written(out: Path) -> list[tuple[str, int]]:
    return (
        connect(str(out))
        .execute(
            "SELECT url, count(*) FROM (SELECT url FROM articles UNION ALL SELECT url FROM duplicates)"
            " GROUP BY url ORDER BY url"
        )
        .fetchall()
    )


@pytest.fixture
def desk(tmp_path):
    """An outlet with three pages and one gated page, and its feeds file."""
    with LoopbackOutlet(host="127.0.0.91") as outlet:
        paths = []
        for i, name in enumerate(PAGES):
            path = f"/story/{i}.html"
            outlet.set_route(path, Route(body=_page(name)))
            paths.append(path)
        gate = Gate(_page(SLOW))
        outlet.set_route("/story/gated.html", Route(handler=gate))
        paths.append("/story/gated.html")
        outlet.set_route("/feed.xml", _rss(outlet, paths))
        feeds = tmp_path / "feeds.txt"
        feeds.write_text(outlet.url("/feed.xml") + "\n")
        try:
            yield outlet, gate, feeds, sorted(outlet.url(p) for p in paths)
        finally:
            gate.open.set()


def test_three_overlapping_once_runs_write_every_url_exactly_once(desk, tmp_path):
    outlet, gate, feeds, urls = desk
    out = tmp_path / "out"
    runs: list[Run] = []
    try:
        first = Run(feeds, out, "--lease-heartbeat", "0.5")
        runs.append(first)
        holder = _wait_for_holder(out, first)
        assert gate.arrived.wait(300), first.err  # the first run is mid-run, holding the lease
        second = Run(feeds, out, "--lease-heartbeat", "0.5")  # default: waits
        runs.append(second)
        waiting = second.said(r"waiting up to 300 s for the writer lease")
        third = Run(feeds, out, "--wait-for-lock", "0")
        runs.append(third)
        assert third.finish() == 75
        # One line, naming the holder: its run id, pid, host and since when.
        assert len(third.err) == 1, third.err
        line = third.err[0]
        assert line.startswith("wiredesk: OUT is being written by run ")
        assert f"run {holder['run_id']} (once, pid {first.proc.pid} on {holder['host']})" in line
        assert re.search(r"since \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", line), line
        assert "stopping at once" in line
        assert holder["run_id"] in waiting
        assert second.proc.poll() is None  # still waiting
        gate.open.set()
        assert first.finish() == 0, first.err
        assert second.finish() == 0, second.err
    finally:
        gate.open.set()
        for run in runs:
            run.kill()
    assert not any("took over" in line for line in second.err)  # it waited; nothing was stale
    assert connect(str(out)).execute("SELECT url, reason FROM rejects").fetchall() == []
    written = _urls_written(out)
    assert [url for url, _ in written] == urls
    assert all(count == 1 for _, count in written), written
    summary = "\n".join(second.out)
    assert "written: articles 0, duplicates 0, rejects 0" in summary, summary
    assert all(outlet.hits[f"/story/{i}.html"] == 1 for i in range(len(PAGES)))
    assert _lease_record(out)["mode"] == "released"


def test_a_lease_left_by_kill_9_is_taken_over_after_its_expiry(desk, tmp_path):
    outlet, gate, feeds, urls = desk
    out = tmp_path / "out"
    crashed = Run(feeds, out, "--lease-heartbeat", "0.25")
    try:
        holder = _wait_for_holder(out, crashed)
        assert gate.arrived.wait(300), crashed.err
    finally:
        crashed.kill()  # SIGKILL to the whole group, mid-run: the lease stays behind
    left = _lease_record(out)
    assert left["run_id"] == holder["run_id"] and left["mode"] == "once"
    assert left["expires_after"] == 1.0  # four heartbeats
    # As when the crashed run was on another machine sharing OUT: its pid cannot be
    # checked from here, so only the expiry frees the lease.
    left["host"] = "another-host.invalid"
    newest = max(p for p in (out / "_lease").iterdir() if p.name.endswith(".json"))
    newest.write_text(json.dumps(left))
    gate.open.set()
    started = time.time()
    after = Run(feeds, out, "--lease-heartbeat", "0.25")
    try:
        assert after.finish() == 0, after.err
    finally:
        after.kill()
    took = [line for line in after.err if "took over the writer lease" in line]
    assert len(took) == 1, after.err
    assert f"from run {holder['run_id']} (once, pid {crashed.proc.pid} on another-host" in took[0]
    age = re.search(r"last heartbeat (\d+) s ago", took[0])
    assert age is not None and int(age.group(1)) >= 1  # not before its expiry
    assert started - left["heartbeat"] < 60  # (and the test did not simply run late)
    written = _urls_written(out)
    assert [url for url, _ in written] == urls
    assert all(count == 1 for _, count in written), written
    assert _lease_record(out)["mode"] == "released"
