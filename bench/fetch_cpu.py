"""The fetching process's CPU a page: one deadline thread against a thread per request.

    python bench/fetch_cpu.py                 # 400 pages a round, 5 rounds
    python bench/fetch_cpu.py --quick         # 40 pages, 1 round (smoke)

The bench pages are served by loopback outlets in a child process (its CPU is not
counted). In this process one thread fetches them with ``SafeFetcher.fetch_page``, in
alternating order: with the shared deadline keeper (``transforms/fetch/watchdog.py``)
and with a ``threading.Timer`` per request, as the fetcher did before. Reported: the
median user and system CPU of this process a page, and the wall time a page.
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import socket
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import PageSite, fmt_table, load_pages, machine_info, story_variants  # noqa: E402

from wiredesk.transforms.fetch import http_client  # noqa: E402
from wiredesk.transforms.fetch.http_client import FetchConfig, SafeFetcher  # noqa: E402
from wiredesk.transforms.fetch.watchdog import Watchdog  # noqa: E402


class TimerWatchdog(Watchdog):
    """The watchdog as it was: a ``threading.Timer`` started for each request."""

    def __init__(self, seconds: float, **_: Any) -> None:
        self.fired = False
        self.cancelled = False
        self._lock = threading.Lock()
        self._sock: socket.socket | None = None
        self._timer = threading.Timer(max(0.0, seconds), self.fire)
        self._timer.daemon = True
        self._timer.start()

    def cancel(self) -> None:
        with self._lock:
            self.cancelled = True
            self._sock = None
        self._timer.cancel()


def _serve(pages: int, urls: Any, stop: Any) -> None:
    chosen = story_variants([p for p in load_pages() if p.name != "p0222"], total=pages)
    with PageSite(chosen) as site:
        for i, page in enumerate(chosen):
            urls.put(site.outlets[i % len(site.outlets)].url(f"/news/{page.name}.html"))
        urls.put(None)
        stop.wait()


def _cpu() -> tuple[float, float]:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime, usage.ru_stime


def _round(urls: list[str], watchdog: type[Watchdog]) -> tuple[float, float, float]:
    http_client.Watchdog = watchdog  # type: ignore[misc]
    fetcher = SafeFetcher(FetchConfig(allow_private=True))
    try:
        for url in urls[:20]:  # connections and robots.txt, outside the measurement
            fetcher.fetch_page(url, decode=False)
        user0, sys0 = _cpu()
        start = time.perf_counter()
        for url in urls:
            result = fetcher.fetch_page(url, decode=False)
            if not result.ok:
                raise SystemExit(f"fetch failed: {result.reason} {result.detail}")
        wall = time.perf_counter() - start
        user1, sys1 = _cpu()
    finally:
        fetcher.close()
        http_client.Watchdog = Watchdog  # type: ignore[misc]
    n = len(urls)
    return (user1 - user0) / n * 1e3, (sys1 - sys0) / n * 1e3, wall / n * 1e3


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    if args.quick:
        args.pages, args.rounds = 40, 1
    ctx = multiprocessing.get_context("spawn")
    queue, stop = ctx.Queue(), ctx.Event()
    server = ctx.Process(target=_serve, args=(args.pages, queue, stop), daemon=True)
    server.start()
    urls = list(iter(queue.get, None))
    variants: dict[str, type[Watchdog]] = {
        "one deadline thread": Watchdog,
        "a Timer per request": TimerWatchdog,
    }
    results: dict[str, list[tuple[float, float, float]]] = {name: [] for name in variants}
    try:
        for r in range(args.rounds):
            order = list(variants) if r % 2 == 0 else list(reversed(variants))
            for name in order:
                results[name].append(_round(urls, variants[name]))
    finally:
        stop.set()
        server.join(10)
    print(machine_info())
    print(f"{len(urls)} pages a round, {args.rounds} rounds, medians, ms a page")
    rows = [
        [name] + [f"{statistics.median(x[i] for x in rs):.3f}" for i in range(3)]
        for name, rs in results.items()
    ]
    print(fmt_table(["watchdog", "user CPU", "system CPU", "wall"], rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
