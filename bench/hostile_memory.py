"""Peak memory of one ``wiredesk run --once`` over every hostile case at once.

    python bench/hostile_memory.py          # about 30 s

The hostile internet of ``tests/hostile`` (bombs of 64 MiB decoded each, 200 MB
pages, endless bodies, entity bombs in RSS/Atom/NewsML, a page that hangs
extraction, ...) is started on loopback, and the same run the tests make is made
here while a sampler reads ``/proc`` every 20 ms: the resident memory of this
process (the Beam runner, the fetchers, and the fake servers, whose payloads are
built before the baseline is taken) and of every process below it (the forkserver
and the extraction workers). ``ru_maxrss`` is printed too, for this process and for
its waited-for children, but it includes whatever happened before the baseline.

A warm-up run of one good page comes first, so the baseline includes the imports
and Beam's set-up. Prints one line per figure; the figures to quote are "peak run
delta" (what the hostile run added on top of the warmed-up process) and "peak
worker".
"""

from __future__ import annotations

import gc
import os
import resource
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.hostile.internet import HostileInternet  # noqa: E402
from wiredesk.cli import main as cli_main  # noqa: E402
from wiredesk.query import connect  # noqa: E402

_PAGE = os.sysconf("SC_PAGE_SIZE")


def _rss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm", encoding="ascii") as handle:
            return int(handle.read().split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        return 0


def _children() -> dict[int, int]:
    """pid -> parent pid of every process on the machine we can see."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            parents[int(entry)] = int(fields[1])
        except (OSError, IndexError, ValueError):
            continue
    return parents


def _descendants(root: int) -> list[int]:
    parents = _children()
    found: list[int] = []
    frontier = [root]
    while frontier:
        pid = frontier.pop()
        kids = [p for p, pp in parents.items() if pp == pid]
        found += kids
        frontier += kids
    return found


class Sampler(threading.Thread):
    def __init__(self, interval: float = 0.02) -> None:
        super().__init__(daemon=True)
        self.interval = interval
        self.stop = threading.Event()
        self.peak_self = 0
        self.peak_worker = 0
        self.peak_total = 0
        self.samples = 0

    def run(self) -> None:
        me = os.getpid()
        while not self.stop.is_set():
            own = _rss(me)
            kids = [_rss(pid) for pid in _descendants(me)]
            self.peak_self = max(self.peak_self, own)
            self.peak_worker = max([self.peak_worker, *kids])
            self.peak_total = max(self.peak_total, own + sum(kids))
            self.samples += 1
            self.stop.wait(self.interval)


def _mib(n: int) -> str:
    return f"{n / 2**20:.0f} MiB"


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp, HostileInternet(secret_dir=tmp) as net:
        feeds = net.write_feeds_file(os.path.join(tmp, "feeds.txt"))
        out = os.path.join(tmp, "out")
        # A warm-up run of one good page first, so that imports and Beam's own set-up
        # are in the baseline and the delta is what the hostile inputs cost.
        news = net.outlets["news"]
        news.routes["/warmup.rss"] = (200, {"Content-Type": "application/rss+xml"},
            "<rss version='2.0'><channel><title>W</title><item><title>w</title>"
            f"<link>{news.url('/case-good-0')}</link></item></channel></rss>")  # fmt: skip
        warm_feeds = os.path.join(tmp, "warm.txt")
        Path(warm_feeds).write_text(news.url("/warmup.rss") + "\n")
        cli_main(net.argv(warm_feeds, os.path.join(tmp, "warm-out")))
        gc.collect()
        baseline = _rss(os.getpid())
        sampler = Sampler()
        sampler.start()
        started = time.monotonic()
        code = cli_main(net.argv(feeds, out))
        seconds = time.monotonic() - started
        sampler.stop.set()
        sampler.join()
        con = connect(out)
        counts = [con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0]
                  for t in ("articles", "duplicates", "rejects")]  # fmt: skip
        inside = net.inside_hits
    self_max = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    kids_max = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    print(f"hostile cases            {len(net.cases)} inputs, exit code {code}, {seconds:.1f} s")
    print(
        f"rows                     articles {counts[0]}, duplicates {counts[1]}, rejects {counts[2]}"
    )
    print(f"inside listener hits     {inside}")
    print(f"baseline RSS (warmed up) {_mib(baseline)}")
    print(f"peak RSS, this process   {_mib(sampler.peak_self)}")
    print(f"peak run delta           {_mib(sampler.peak_self - baseline)}")
    print(f"peak worker RSS          {_mib(sampler.peak_worker)}")
    print(f"peak total (+children)   {_mib(sampler.peak_total)}")
    print(f"ru_maxrss self/children  {_mib(self_max)} / {_mib(kids_max)}")
    print(f"samples                  {sampler.samples}")
    return 0 if code == 0 and inside == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
