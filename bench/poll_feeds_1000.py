"""Polling 1,000 feeds in one cycle on one worker, every response 50 ms late.

    python bench/poll_feeds_1000.py            # 1,000 feeds on 20 outlets, 3 rounds
    python bench/poll_feeds_1000.py --quick    # 20 feeds on 2 outlets, 1 round, no whole run (smoke)

The outlets are loopback servers (127.0.0.151+) whose every response (feeds, robots.txt,
pages) sleeps ``--latency`` seconds first. Each feed lists ``--items`` items. Timed:

* ``pure``: :func:`poll_one_feed` over all feeds on one :class:`ThreadPoolMapper` of
  ``fetch_concurrency`` threads, no Beam: what the fetcher and politeness allow;
* ``PollFeeds``: the PollFeeds transform alone over 1,000 FeedSources in a Beam pipeline on
  the FnApiRunner (one worker), feeds in two orders: interleaved (consecutive feeds on
  different outlets) and grouped by outlet (as OPML files usually are);
* ``wiredesk run --once``: the whole run (a subprocess), items pointing to a few real
  fixture pages per outlet (listed by many feeds, so exact dedup leaves a few dozen
  fetches, each paying robots.txt once per origin and the latency).

The bound: ``fetch_concurrency`` requests in flight (16) and ``per_host_concurrency`` (2)
per outlet: ``max(feeds x latency / 16, feeds per outlet x latency / 2)``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.server
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import _rss, fmt_table, load_pages, machine_info, median  # noqa: E402

from wiredesk.loopback import LoopbackOutlet, Route  # noqa: E402


def late(route: Route, latency: float) -> Route:
    """The same response, sent ``latency`` seconds late (on the server's own thread)."""

    def handler(request: http.server.BaseHTTPRequestHandler) -> None:
        time.sleep(latency)
        request.send_response(route.status)
        request.send_header("Content-Type", route.content_type)
        request.send_header("Content-Length", str(len(route.body)))
        request.end_headers()
        request.wfile.write(route.body)

    return Route(body=route.body, content_type=route.content_type, handler=handler)


class FeedFarm:
    """``feeds`` RSS feeds over ``outlets`` outlets, ``items`` items each, every response late."""

    def __init__(self, *, feeds: int, outlets: int, items: int, latency: float) -> None:
        self.outlets = [LoopbackOutlet(host=f"127.0.0.{151 + i}") for i in range(outlets)]
        self.n_feeds, self.items, self.latency = feeds, items, latency
        self.feeds_by_outlet: list[list[str]] = [[] for _ in self.outlets]
        self.pages_per_outlet = 3

    def start(self) -> FeedFarm:
        pages = load_pages(limit=self.pages_per_outlet * len(self.outlets))
        for i, outlet in enumerate(self.outlets):
            outlet.start()
            outlet.set_route(
                "/robots.txt", late(Route(body=b"User-agent: *\nAllow: /\n"), self.latency)
            )
            for k in range(self.pages_per_outlet):
                page = pages[(i * self.pages_per_outlet + k) % len(pages)]
                outlet.set_route(
                    f"/story-{k}.html", late(Route(body=page.html.encode()), self.latency)
                )
        for f in range(self.n_feeds):
            o = f % len(self.outlets)
            outlet = self.outlets[o]
            items = [
                (outlet.url(f"/story-{(f + j) % self.pages_per_outlet}.html"), f"Feed {f} item {j}")
                for j in range(self.items)
            ]
            path = f"/feeds/{f}.xml"
            body = _rss(title=f"Feed {f}", items=items)
            outlet.set_route(
                path,
                late(Route(body=body, content_type="application/rss+xml"), self.latency),
            )
            self.feeds_by_outlet[o].append(outlet.url(path))
        return self

    def stop(self) -> None:
        for outlet in self.outlets:
            outlet.stop()

    def __enter__(self) -> FeedFarm:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def interleaved(self) -> list[str]:
        longest = max(len(f) for f in self.feeds_by_outlet)
        return [f[i] for i in range(longest) for f in self.feeds_by_outlet if i < len(f)]

    def grouped(self) -> list[str]:
        return [url for feeds in self.feeds_by_outlet for url in feeds]


def time_pure(urls: Sequence[str]) -> tuple[float, int]:
    from wiredesk.schemas.records import FeedSource
    from wiredesk.transforms.fetch.concurrency import ThreadPoolMapper
    from wiredesk.transforms.fetch.stage_fetcher import FetchSettings
    from wiredesk.transforms.sources.stage_feeds import poll_one_feed

    settings = FetchSettings(allow_private=True)
    fetcher = settings.make_fetcher()
    mapper = ThreadPoolMapper(max_workers=settings.concurrency)
    now = dt.datetime.now(dt.UTC)
    start = time.perf_counter()
    outcomes = mapper.map(
        lambda url: poll_one_feed(
            fetcher=fetcher, feed=FeedSource(url=url), validators=None, now=now
        ),
        urls,
    )
    seconds = time.perf_counter() - start
    mapper.close()
    fetcher.close()
    return seconds, sum(len(o.entries) for o in outcomes)


def time_poll_transform(urls: Sequence[str]) -> tuple[float, int]:
    import apache_beam as beam
    from apache_beam.metrics.metric import MetricsFilter
    from apache_beam.runners.portability.fn_api_runner import FnApiRunner

    from wiredesk.schemas.records import FeedSource
    from wiredesk.transforms.common.metrics import NAMESPACE
    from wiredesk.transforms.fetch.stage_fetcher import FetchSettings
    from wiredesk.transforms.sources.stage_feeds import PollFeeds

    start = time.perf_counter()
    p = beam.Pipeline(runner=FnApiRunner())
    validators = p | "NoValidators" >> beam.Create([("", {})])
    _ = (
        p
        | "Feeds" >> beam.Create([FeedSource(url=u) for u in urls], reshuffle=False)
        | "PollFeeds"
        >> PollFeeds(settings=FetchSettings(allow_private=True), validators=validators)
    )
    result = p.run()
    result.wait_until_finish()
    seconds = time.perf_counter() - start
    # Elements cannot be collected into this process's lists (DoFns are pickled): count
    # through the transform's own metric.
    query = result.metrics().query(
        MetricsFilter().with_namespace(NAMESPACE).with_name("entries_listed")
    )
    entries = sum(int(c.committed or c.attempted or 0) for c in query["counters"])
    return seconds, entries


def time_full_run(urls: Sequence[str], tmp: Path) -> tuple[float, float, str]:
    feeds = tmp / "feeds.txt"
    feeds.write_text("\n".join(urls) + "\n")
    out = tmp / f"out-{time.time_ns()}"
    cmd = [sys.executable, "-m", "wiredesk.cli", "run", "--feeds", str(feeds)]
    cmd += ["--output", str(out), "--once", "--allow-private-addresses"]
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    shutil.rmtree(out, ignore_errors=True)
    if proc.returncode != 0:
        raise RuntimeError(proc.stdout + proc.stderr)
    run_line = proc.stdout.splitlines()[0]
    return wall, float(run_line.split(": ")[1].split()[0]), proc.stdout


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--outlets", type=int, default=20)
    parser.add_argument("--items", type=int, default=3)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-full-run", action="store_true")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    if args.quick:
        args.feeds, args.outlets, args.rounds, args.no_full_run = 20, 2, 1, True

    print(
        f"# wiredesk feed polling: {args.feeds} feeds on {args.outlets} outlets,"
        f" {args.items} items each, {1000 * args.latency:.0f} ms per response"
    )
    for k, v in machine_info().items():
        print(f"- {k}: {v}")
    per_outlet = -(-args.feeds // args.outlets)
    bound = max(args.feeds * args.latency / 16, per_outlet * args.latency / 2)
    times: dict[str, list[float]] = {}
    counts: dict[str, int] = {}
    full_output = ""
    with (
        FeedFarm(
            feeds=args.feeds, outlets=args.outlets, items=args.items, latency=args.latency
        ) as farm,
        tempfile.TemporaryDirectory(prefix="wiredesk-poll-") as tmp,
    ):
        modes: list[tuple[str, Callable[[], Any]]] = [
            ("pure poll_one_feed, 16 threads, interleaved", lambda: time_pure(farm.interleaved())),
            ("PollFeeds (Beam), interleaved", lambda: time_poll_transform(farm.interleaved())),
            ("PollFeeds (Beam), grouped by outlet", lambda: time_poll_transform(farm.grouped())),
        ]
        for r in range(args.rounds):
            for name, fn in modes:
                seconds, n = fn()
                times.setdefault(name, []).append(seconds)
                counts[name] = n
                print(f"round {r + 1}: {name}: {seconds:.2f} s, {n} entries", flush=True)
            if not args.no_full_run:
                wall, run_s, full_output = time_full_run(farm.interleaved(), Path(tmp))
                times.setdefault("wiredesk run --once (whole run, subprocess)", []).append(run_s)
                counts["wiredesk run --once (whole run, subprocess)"] = args.feeds * args.items
                print(f"round {r + 1}: whole run: {run_s:.1f} s (wall {wall:.1f} s)", flush=True)
    rows = [
        [
            name,
            f"{median(ts):.2f}",
            f"{min(ts):.2f}-{max(ts):.2f}" if len(ts) > 1 else "-",
            counts[name],
            f"{args.feeds / median(ts):.0f}",
        ]
        for name, ts in times.items()
    ]
    print()
    print(fmt_table(["mode", "seconds (median)", "spread", "entries", "feeds/s"], rows))
    print(
        f"\nbound from politeness: max({args.feeds} x {args.latency:g} s / 16 in flight,"
        f" {per_outlet} feeds per outlet x {args.latency:g} s / 2 per host) = {bound:.2f} s"
    )
    if full_output:
        print("\nlast whole run:\n" + full_output.strip())
    return 0


if __name__ == "__main__":
    sys.exit(main())
