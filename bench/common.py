"""Shared helpers for the throughput, profiling and feed-polling benches.

Pages come from the extraction fixtures (tests/fixtures/extraction: 149 AEB pages and
29 fundus pages), optionally plus a corpus folder (``--corpus DIR``: every ``*.html.gz``
or ``*.html`` below it). To reach 1,000+ pages each page is served several times as
*distinct stories*: copy 0 is the page as published; copy k > 0 has the words of every
text run between tags shuffled with a seed of k (scripts, styles, comments, tags and
attributes untouched). The DOM, the byte size and the bag of words stay the same, so
extraction costs the same, but the 5-word shingles differ, so syndication treats each
copy as a story of its own (a unique sentence alone would not: a copy with one extra
sentence is, correctly, a republication of the same story).

Example::

    from common import PageSite, load_pages, story_variants  # bench/ on sys.path
    pages = story_variants(load_pages(), total=200)
    with PageSite(pages, outlets=4, items_per_feed=25) as site:
        print(site.feed_urls[:2])
"""

from __future__ import annotations

import dataclasses
import gzip
import html
import os
import platform
import random
import re
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    # Last: a checkout on PYTHONPATH (throughput.py's "@checkout=DIR") must win.
    sys.path.append(str(ROOT))

from wiredesk.loopback import LoopbackOutlet, Route  # noqa: E402

__all__ = [
    "FIXTURE_DIRS",
    "Measured",
    "Page",
    "PageSite",
    "fmt_table",
    "load_pages",
    "machine_info",
    "measure_process",
    "median",
    "shuffle_text_runs",
    "story_variants",
    "timed",
]

FIXTURE_DIRS = (
    ROOT / "tests" / "fixtures" / "extraction" / "aeb" / "html",
    ROOT / "tests" / "fixtures" / "extraction" / "fundus",
)


@dataclasses.dataclass(frozen=True)
class Page:
    name: str  # unique, path-safe
    html: str


def _read(path: Path) -> str:
    data = path.read_bytes()
    if path.suffix == ".gz":
        data = gzip.decompress(data)
    return data.decode("utf-8", "replace")


def load_pages(*, corpus: Path | None = None, limit: int | None = None) -> list[Page]:
    """The fixture pages (sorted, deterministic), then any pages found under ``corpus``."""
    files: list[Path] = []
    for folder in FIXTURE_DIRS:
        files += sorted(folder.rglob("*.html.gz"))
    if corpus is not None:
        known = {p.name for p in files}
        extra = sorted(corpus.rglob("*.html.gz")) + sorted(corpus.rglob("*.html"))
        files += [p for p in extra if p.name not in known]
    pages = [Page(name=f"p{i:04d}", html=_read(p)) for i, p in enumerate(files)]
    return pages[:limit] if limit else pages


# Text runs are what lies between markup; script/style/comment blocks are kept whole.
_MARKUP = re.compile(
    r"(<script\b.*?</script\s*>|<style\b.*?</style\s*>|<!--.*?-->|<[^>]*>)",
    re.IGNORECASE | re.DOTALL,
)


def shuffle_text_runs(markup: str, *, seed: int) -> str:
    """Shuffle the words of every text run of 4+ words; seed 0 returns ``markup`` unchanged."""
    if seed == 0:
        return markup
    rng = random.Random(seed)
    parts = _MARKUP.split(markup)
    for i in range(0, len(parts), 2):  # even indices: text between markup
        words = parts[i].split()
        if len(words) >= 4:
            rng.shuffle(words)
            lead = parts[i][: len(parts[i]) - len(parts[i].lstrip())]
            tail = parts[i][len(parts[i].rstrip()) :]
            parts[i] = lead + " ".join(words) + tail
    return "".join(parts)


def story_variants(pages: Sequence[Page], *, total: int) -> list[Page]:
    """``total`` pages: every page once as published, then shuffled copies, round-robin."""
    out: list[Page] = []
    k = 0
    while len(out) < total:
        for page in pages:
            if len(out) >= total:
                break
            out.append(Page(name=f"{page.name}-v{k}", html=shuffle_text_runs(page.html, seed=k)))
        k += 1
    return out


def _rss(*, title: str, items: Iterable[tuple[str, str]]) -> bytes:
    now = time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime())
    body = "".join(
        f"<item><title>{html.escape(t)}</title><link>{html.escape(u)}</link>"
        f"<guid>{html.escape(u)}</guid><pubDate>{now}</pubDate></item>"
        for u, t in items
    )
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>{html.escape(title)}</title><link>http://example.com/</link>"
        f"<description>bench</description>{body}</channel></rss>"
    ).encode()


class PageSite:
    """Pages spread round-robin over ``outlets`` loopback outlets (127.0.0.101+), each
    outlet with RSS feeds of ``items_per_feed`` items and a permissive robots.txt.
    ``page_handler`` (optional) wraps page serving, e.g. to add latency."""

    def __init__(
        self,
        pages: Sequence[Page],
        *,
        outlets: int = 20,
        items_per_feed: int = 25,
        first_host: int = 101,
        page_handler: Callable[[Route], Route] | None = None,
    ) -> None:
        self.pages = list(pages)
        self.outlets = [LoopbackOutlet(host=f"127.0.0.{first_host + i}") for i in range(outlets)]
        self.items_per_feed = items_per_feed
        self._wrap = page_handler or (lambda route: route)
        self.feed_urls: list[str] = []

    def start(self) -> PageSite:
        for outlet in self.outlets:
            outlet.start()
            outlet.set_route(
                "/robots.txt",
                self._wrap(Route(body=b"User-agent: *\nAllow: /\n", content_type="text/plain")),
            )
        per_outlet: list[list[tuple[str, str]]] = [[] for _ in self.outlets]
        for i, page in enumerate(self.pages):
            o = i % len(self.outlets)
            path = f"/news/{page.name}.html"
            self.outlets[o].set_route(path, self._wrap(Route(body=page.html.encode("utf-8"))))
            per_outlet[o].append((self.outlets[o].url(path), f"Story {page.name}"))
        for outlet, items in zip(self.outlets, per_outlet, strict=True):
            for f, start in enumerate(range(0, len(items), self.items_per_feed)):
                path = f"/feed-{f}.xml"
                body = _rss(
                    title=f"Outlet {outlet.host}", items=items[start : start + self.items_per_feed]
                )
                outlet.set_route(
                    path,
                    self._wrap(Route(body=body, content_type="application/rss+xml; charset=utf-8")),
                )
                self.feed_urls.append(outlet.url(path))
        return self

    def stop(self) -> None:
        for outlet in self.outlets:
            outlet.stop()

    def __enter__(self) -> PageSite:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def write_feeds_file(self, path: Path) -> Path:
        path.write_text("\n".join(self.feed_urls) + "\n", encoding="utf-8")
        return path


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def fmt_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A GitHub-markdown table (also readable in a terminal)."""

    def cell(v: Any) -> str:
        if isinstance(v, float):
            return f"{v:.3f}" if abs(v) < 10 else f"{v:.1f}"
        return str(v)

    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def machine_info() -> dict[str, str]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "unknown"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    import apache_beam
    import trafilatura

    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    return {
        "nproc": str(os.cpu_count()),
        "cpu": cpu,
        "memory": mem,
        "python": platform.python_version(),
        "apache-beam": apache_beam.__version__,
        "trafilatura": trafilatura.__version__,
        "loadavg(1,5,15)": " ".join(f"{x:.2f}" for x in load),
    }


# ---- one process tree, measured --------------------------------------------------------

# Printed by ``common.py run ...`` (below) as its last line: the CPU of the run's own process
# (Beam's runner, fetching, everything not in a worker process).
_RUNNER_CPU = re.compile(r"^bench: runner process CPU ([0-9.]+) s$", re.MULTILINE)
_PR_SET_CHILD_SUBREAPER = 36


@dataclasses.dataclass(frozen=True)
class Measured:
    wall: float  # start to exit of the process
    cpu: float  # user + system CPU of the process and every process under it
    runner_cpu: float | None  # of the process itself, when it reported it
    stdout: str
    stderr: str
    returncode: int


def _adopt_orphans() -> None:
    """Make this process the reaper of its orphaned descendants (Linux), so that their
    CPU is counted: a forkserver outlives the run that started it by a moment, and its
    workers are its children, not the run's."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def _reap_adopted(deadline_s: float = 5.0) -> None:
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return  # none left
        if pid == 0:
            time.sleep(0.02)


def measure_process(
    cmd: Sequence[str], *, env: dict[str, str] | None = None, cwd: str | None = None
) -> Measured:
    """Run ``cmd`` to its end; its wall time, the CPU of its whole process tree, and the
    CPU its own process reported (``bench: runner process CPU`` on stderr).

    Run nothing else as a child of this process meanwhile: every adopted orphan is reaped
    and counted."""
    _adopt_orphans()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(list(cmd), capture_output=True, text=True, check=False, env=env, cwd=cwd)
    wall = time.perf_counter() - start
    _reap_adopted()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    runner = _RUNNER_CPU.search(proc.stderr)
    return Measured(
        wall=wall,
        cpu=cpu,
        runner_cpu=float(runner.group(1)) if runner else None,
        stdout=proc.stdout,
        stderr=proc.stderr,
        returncode=proc.returncode,
    )


# ---- variants: ``python bench/common.py --variant NAME run ...`` ----------------------
# Runs the CLI with a patch applied, so that a bench can time the code as it was before a
# change (or a prototype of a change elsewhere) side by side with the code as it is.


def _variant_sync_extract() -> None:
    """ExtractText as before: each batch extracted inline, the runner thread waiting."""
    from wiredesk.transforms.extract import stage as extract_text

    original = extract_text.ExtractText.__init__

    def init(self: Any, **kwargs: Any) -> None:
        kwargs["max_pending_pages"] = 0
        original(self, **kwargs)

    setattr(extract_text.ExtractText, "__init__", init)  # noqa: B010 - a patch


def _variant_pending(pages: int) -> Callable[[], None]:
    """ExtractText keeping up to ``pages`` pages in the pool (default: 2 batches = 64)."""

    def apply() -> None:
        from wiredesk.transforms.extract import stage as extract_text

        original = extract_text.ExtractText.__init__

        def init(self: Any, **kwargs: Any) -> None:
            kwargs["max_pending_pages"] = pages
            original(self, **kwargs)

        setattr(extract_text.ExtractText, "__init__", init)  # noqa: B010 - a patch

    return apply


def _variant_blas_per_core() -> None:
    """OpenBLAS's own default, a thread per core in each process, as before
    ``pipelines/blas_threads.py`` (which keeps a value the environment sets)."""
    os.environ["OPENBLAS_NUM_THREADS"] = str(os.cpu_count() or 1)


VARIANTS: dict[str, Callable[[], None]] = {
    "sync-extract": _variant_sync_extract,
    "pending-256": _variant_pending(256),
    "blas-per-core": _variant_blas_per_core,
}


def run_variant(argv: Sequence[str]) -> int:
    """``wiredesk`` with ``argv`` (the command's own entry), after any ``--variant``."""
    try:
        from wiredesk.cli import console
    except ImportError:  # a checkout from before the command had its own entry
        from wiredesk.cli import main as console

    args = list(argv)
    while args and args[0] == "--variant":
        VARIANTS[args[1]]()
        args = args[2:]
    try:
        return console(args)
    finally:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        print(
            f"bench: runner process CPU {usage.ru_utime + usage.ru_stime:.3f} s",
            file=sys.stderr,
            flush=True,
        )


if __name__ == "__main__":
    sys.exit(run_variant(sys.argv[1:]))
