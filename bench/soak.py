"""Soak test of local ``wiredesk run --streaming``: memory over time and time-to-Parquet.

    python bench/soak.py --minutes 30 --poll-interval 30 --log /tmp/soak.log
    python bench/soak.py --minutes 3 --poll-interval 10          # a quick look

Starts loopback outlets (``--outlets`` of them, 127.0.0.61 and up) serving
``--feeds`` RSS feeds in all. Every item is one of the bundled sample's real
pages (wiredesk/sample/pages) under its own unique URL, with the item id in its
title and first paragraph. Busy feeds gain one item per poll interval (at
staggered times), every fifth feed gains one every ten intervals (so some
polls see 304s and back off). Then it runs ``wiredesk run --streaming`` in a
subprocess, exactly as a newsroom would, and watches:

* resident memory (``VmRSS`` of the wiredesk process and, summed, of its
  descendants: the forkserver and extraction workers), every 10 s;
* the delay from an item's appearance (the moment its feed starts listing it)
  to its row being readable (a complete Parquet file under OUT holding its URL,
  in ``articles``, ``duplicates`` or ``rejects``).

At the end it sends SIGTERM, checks the exit code and prints a JSON summary:
memory after warm-up vs at the end (the acceptance: flat within 10 % over 30
minutes with 50 feeds) and the delay p50 / p95 (the acceptance: p95 under two
poll intervals). Progress goes to stdout and to ``--log``.
"""

from __future__ import annotations

import argparse
import email.utils
import gzip
import html
import http.server
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from wiredesk.loopback import LoopbackOutlet, Route  # noqa: E402

PAGES = sorted((ROOT / "wiredesk" / "sample" / "pages").glob("*.html.gz"))
ITEMS_LISTED = 20  # a feed lists its newest items, like a real one


def _log(handle: Any, message: str) -> None:
    line = f"{time.strftime('%H:%M:%S')} {message}"
    print(line, flush=True)
    if handle is not None:
        handle.write(line + "\n")
        handle.flush()


class SoakFeeds:
    """The outlets, their feeds, and when each item appeared."""

    def __init__(self, *, feeds: int, outlets: int, interval: float) -> None:
        self.interval = interval
        self.outlets = [LoopbackOutlet(host=f"127.0.0.{61 + i}") for i in range(outlets)]
        self.pages = [gzip.decompress(p.read_bytes()).decode("utf-8", "replace") for p in PAGES]
        self.feed_count = feeds
        self.items: dict[int, list[tuple[str, str, float]]] = {i: [] for i in range(feeds)}
        self.appeared: dict[str, float] = {}
        self._lock = threading.Lock()
        self._next_id = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def outlet_of(self, feed: int) -> LoopbackOutlet:
        return self.outlets[feed % len(self.outlets)]

    def feed_url(self, feed: int) -> str:
        return self.outlet_of(feed).url(f"/feeds/{feed}.xml")

    def start(self) -> None:
        for outlet in self.outlets:
            outlet.start()
        for feed in range(self.feed_count):
            self._add_item(feed)  # every feed starts with one item
        self._thread = threading.Thread(target=self._grow, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        for outlet in self.outlets:
            outlet.stop()

    def _page(self, item_id: int, title: str) -> bytes:
        page = self.pages[item_id % len(self.pages)]
        marker = f"Soak item {item_id}: {title}."
        page = re.sub(r"<title>", f"<title>{html.escape(marker)} ", page, count=1, flags=re.I)
        page = re.sub(r"<p>", f"<p>{html.escape(marker)} ", page, count=1, flags=re.I)
        return page.encode("utf-8")

    def _add_item(self, feed: int) -> None:
        outlet = self.outlet_of(feed)
        with self._lock:
            item_id = self._next_id
            self._next_id += 1
        path = f"/news/{feed}/{item_id}.html"
        title = f"Desk {feed} story {item_id}"
        body = self._page(item_id, title)

        def serve(handler: http.server.BaseHTTPRequestHandler, body: bytes = body) -> None:
            handler.send_response(200)
            handler.send_header("Content-Type", "text/html; charset=utf-8")
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            handler.wfile.write(body)

        outlet.set_route(path, Route(handler=serve))
        url = outlet.url(path)
        now = time.time()
        items = self.items[feed]
        items.append((url, title, now))
        del items[:-ITEMS_LISTED]
        entries = "".join(
            f"<item><title>{html.escape(t)}</title><link>{html.escape(u)}</link>"
            f"<guid>{html.escape(u)}</guid><pubDate>{email.utils.formatdate(at, usegmt=True)}"
            "</pubDate></item>"
            for u, t, at in reversed(items)
        )
        rss = (
            '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            f"<title>Soak desk {feed}</title><link>{outlet.base_url}/</link>"
            f"<description>soak</description>{entries}</channel></rss>"
        )
        # The feed lists the item from this moment on: that is its appearance.
        outlet.set_route(
            f"/feeds/{feed}.xml", Route(body=rss.encode(), content_type="application/rss+xml")
        )
        with self._lock:
            self.appeared[url] = now

    def _grow(self) -> None:
        # Busy feeds: one item per interval, staggered over the interval.
        # Every fifth feed: one item per ten intervals.
        tick = 0
        start = time.time()
        slots = max(1, self.feed_count)
        while not self._stop.is_set():
            for feed in range(self.feed_count):
                at = start + tick * self.interval + self.interval * feed / slots
                if self._stop.wait(max(0.0, at - time.time())):
                    return
                slow = feed % 5 == 4
                if not slow or tick % 10 == 9:
                    self._add_item(feed)
            tick += 1


class ParquetWatcher:
    """Reads each new complete Parquet file once and notes when each URL became readable."""

    def __init__(self, output: str) -> None:
        self.output = output
        self.landed: dict[str, float] = {}
        self._read: set[str] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def scan(self) -> None:
        now = time.time()
        for table in ("articles", "duplicates", "rejects"):
            for path in Path(self.output, table).glob("**/*.parquet"):
                key = str(path)
                if key in self._read or path.name.startswith("."):
                    continue
                try:
                    urls = pq.read_table(path, columns=["url"]).column("url").to_pylist()
                except (OSError, ValueError):
                    continue  # compacted away meanwhile; its rows are in the merged file
                self._read.add(key)
                for url in urls:
                    self.landed.setdefault(url, now)

    def _loop(self) -> None:
        while not self._stop.wait(1.0):
            self.scan()


def _rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                stat = handle.read()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    out: list[int] = []
    stack = list(children.get(pid, []))
    while stack:
        child = stack.pop()
        out.append(child)
        stack.extend(children.get(child, []))
    return out


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--poll-interval", type=float, default=30.0)
    parser.add_argument("--max-poll-interval", type=float, default=None)
    parser.add_argument("--feeds", type=int, default=50)
    parser.add_argument("--outlets", type=int, default=5)
    parser.add_argument("--warmup-minutes", type=float, default=None)
    parser.add_argument("--output", default=None, help="OUT (default: a temporary folder)")
    parser.add_argument("--log", default=None, help="also append progress to this file")
    args = parser.parse_args(argv)
    interval = args.poll_interval
    max_interval = args.max_poll_interval or 4 * interval
    warmup = args.warmup_minutes if args.warmup_minutes is not None else min(5.0, args.minutes / 4)
    log = open(args.log, "a", encoding="utf-8") if args.log else None  # noqa: SIM115
    tmp = tempfile.mkdtemp(prefix="wiredesk-soak-")
    output = args.output or os.path.join(tmp, "out")

    feeds = SoakFeeds(feeds=args.feeds, outlets=args.outlets, interval=interval)
    feeds.start()
    feeds_file = os.path.join(tmp, "feeds.txt")
    with open(feeds_file, "w", encoding="utf-8") as handle:
        handle.write("\n".join(feeds.feed_url(i) for i in range(args.feeds)) + "\n")
    command = [
        sys.executable, "-m", "wiredesk.cli", "run", "--streaming",
        "--feeds", feeds_file, "--output", output,
        "--poll-interval", str(interval), "--max-poll-interval", str(max_interval),
        "--allow-private-addresses",
    ]  # fmt: skip
    _log(log, f"soak: {args.feeds} feeds on {args.outlets} outlets, OUT {output}")
    _log(log, "soak: " + " ".join(command))
    wiredesk_log = open(os.path.join(tmp, "wiredesk.log"), "w", encoding="utf-8")  # noqa: SIM115
    proc = subprocess.Popen(command, stdout=wiredesk_log, stderr=subprocess.STDOUT, cwd=str(ROOT))
    watcher = ParquetWatcher(output)
    watcher.start()

    samples: list[tuple[float, int, int]] = []  # (minutes, main kB, descendants kB)
    started = time.time()
    deadline = started + args.minutes * 60
    next_report = started + 60
    while time.time() < deadline and proc.poll() is None:
        time.sleep(10)
        main_kb = _rss_kb(proc.pid)
        kids_kb = sum(_rss_kb(pid) for pid in _descendants(proc.pid))
        minute = (time.time() - started) / 60
        samples.append((minute, main_kb, kids_kb))
        if time.time() >= next_report:
            next_report += 60
            pending = len(feeds.appeared) - len(watcher.landed)
            _log(
                log,
                f"t={minute:5.1f} min  rss main {main_kb / 1024:7.1f} MB  "
                f"workers {kids_kb / 1024:7.1f} MB  items {len(feeds.appeared)}  "
                f"landed {len(watcher.landed)}  pending {pending}",
            )

    exit_code = proc.poll()
    if exit_code is None:
        proc.send_signal(signal.SIGTERM)
        try:
            exit_code = proc.wait(timeout=max(120, 4 * interval))
        except subprocess.TimeoutExpired:
            proc.kill()
            exit_code = proc.wait()
    watcher.scan()
    watcher.stop()
    feeds.stop()
    wiredesk_log.close()

    appeared = dict(feeds.appeared)
    ended = time.time()
    delays = [watcher.landed[u] - at for u, at in appeared.items() if u in watcher.landed]
    # Items that appeared too late to be polled before the stop are not "missing".
    missing = [
        u for u, at in appeared.items() if u not in watcher.landed and ended - at > 3 * interval
    ]
    after = [s for s in samples if s[0] >= warmup]

    def _window(rows: list[tuple[float, int, int]], pick: int) -> float:
        return statistics.median(r[pick] + (r[2] if pick == 1 else 0) for r in rows) / 1024

    summary: dict[str, Any] = {
        "minutes": round((ended - started) / 60, 1),
        "feeds": args.feeds,
        "poll_interval_s": interval,
        "max_poll_interval_s": max_interval,
        "exit_code_after_sigterm": exit_code,
        "items_appeared": len(appeared),
        "items_landed": len(delays),
        "items_missing": len(missing),
        "delay_p50_s": round(_percentile(delays, 0.5), 1),
        "delay_p95_s": round(_percentile(delays, 0.95), 1),
        "delay_max_s": round(max(delays), 1) if delays else None,
        "delay_p95_in_intervals": round(_percentile(delays, 0.95) / interval, 2),
    }
    if len(after) >= 4:
        head, tail = after[: max(2, len(after) // 6)], after[-max(2, len(after) // 6) :]
        total_head, total_tail = _window(head, 1), _window(tail, 1)
        main_head = statistics.median(r[1] for r in head) / 1024
        main_tail = statistics.median(r[1] for r in tail) / 1024
        summary.update(
            {
                "warmup_minutes": warmup,
                "rss_total_after_warmup_mb": round(total_head, 1),
                "rss_total_at_end_mb": round(total_tail, 1),
                "rss_total_growth_pct": round(100 * (total_tail / total_head - 1), 1),
                "rss_main_after_warmup_mb": round(main_head, 1),
                "rss_main_at_end_mb": round(main_tail, 1),
                "rss_main_growth_pct": round(100 * (main_tail / main_head - 1), 1),
            }
        )
    summary["rss_series_mb"] = [
        [round(m, 1), round(a / 1024, 1), round(k / 1024, 1)] for m, a, k in samples[::6]
    ]
    summary["wiredesk_log"] = os.path.join(tmp, "wiredesk.log")
    _log(log, "soak summary: " + json.dumps(summary))
    if log is not None:
        log.close()
    return 0 if exit_code == 0 and not missing else 1


if __name__ == "__main__":
    sys.exit(main())
