"""End-to-end throughput against the extraction ceiling, side by side in one run.

    python bench/throughput.py                 # 1,068 pages (178 fixture pages x 6), 3 rounds
    python bench/throughput.py --quick         # 12 pages, 1 round, default config only (smoke)
    python bench/throughput.py --corpus DIR --pages 2000   # more pages: *.html(.gz) below DIR

Each round measures, on the same HTML strings:

* the ceiling: ``multiprocessing.Pool(P)`` (P = cores) mapping plain ``trafilatura.extract``
  over the pages (pool warm, imports done), and the same with wiredesk's own
  ``extract_page`` (``bare_extraction`` with metadata, what the pipeline really runs);
* ``wiredesk run --once`` as a subprocess over loopback outlets serving the pages and RSS
  feeds listing them (``--allow-private-addresses``, a fresh OUT per run), once per
  pipeline configuration (default; ``--extract-workers 3``; two SDK worker processes).

Pages are fixture pages plus shuffled copies that are distinct stories (bench/common.py),
so syndication signs and indexes every page and finds (almost) no duplicates.
Pipeline time is the run's own figure (graph construction to last file verified, as
printed by ``wiredesk run``); the process wall (adds interpreter start, imports and
reading the feeds file) is shown too. Rounds interleave all modes so that load from other
users of the machine spreads over all of them; medians are reported.
"""

from __future__ import annotations

import argparse
import dataclasses
import multiprocessing
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (  # noqa: E402
    PageSite,
    fmt_table,
    load_pages,
    machine_info,
    median,
    story_variants,
)

# A leading "@NAME" applies bench/common.py's variant NAME (e.g. the code before a change);
# "@checkout=DIR" runs another checkout's code (``git worktree add DIR <commit>``).
DEFAULT_CONFIGS: dict[str, list[str]] = {
    "before: synchronous ExtractText": ["@sync-extract"],
    "default (in_memory, pool of 2)": [],
    "--extract-workers 3": ["--extract-workers", "3"],
    "multi_processing x2, --extract-workers 1": [
        "--direct_num_workers",
        "2",
        "--direct_running_mode",
        "multi_processing",
        "--extract-workers",
        "1",
    ],
}


# ---- ceiling --------------------------------------------------------------------------


def _plain_extract(html: str) -> int:
    import trafilatura

    return len(trafilatura.extract(html) or "")


def _wiredesk_extract(html: str) -> int:
    from wiredesk.transforms.extract.page import ExtractedPage, extract_page

    result = extract_page(html=html, url="http://127.0.0.1/news/page.html")
    return len(result.text) if isinstance(result, ExtractedPage) else 0


def _warm(_: object) -> None:
    import trafilatura  # noqa: F401

    import wiredesk.transforms.extract.page  # noqa: F401

    # As wiredesk's own workers do before their first page: dateparser's locales
    # (~1.3 s), which htmldate's date fallback would otherwise pay inside the timing.
    import wiredesk.transforms.extract.warmup  # noqa: F401


def ceiling_seconds(
    htmls: Sequence[str], *, fn: Callable[[str], int], processes: int
) -> tuple[float, float]:
    """(pool start + warm-up seconds, map seconds) for ``fn`` over ``htmls``."""
    ctx = multiprocessing.get_context("spawn")  # a clean child, like a fresh worker
    start = time.perf_counter()
    with ctx.Pool(processes) as pool:
        pool.map(_warm, range(processes))
        pool.map(fn, htmls[: processes * 2], chunksize=1)  # trafilatura's lazy set-up
        ready = time.perf_counter()
        pool.map(fn, htmls, chunksize=2)
        done = time.perf_counter()
    return ready - start, done - ready


# ---- pipeline -------------------------------------------------------------------------

_RUN_LINE = re.compile(r"^run \S+: ([0-9.]+) s", re.MULTILINE)
_WRITTEN = re.compile(r"written: articles (\d+), duplicates (\d+), rejects (\d+)")


@dataclasses.dataclass
class PipelineRun:
    wall: float  # the subprocess, start to exit
    run_seconds: float  # as printed by wiredesk run
    articles: int
    duplicates: int
    rejects: int
    cpu_pipeline: float  # user+sys of the run and its extraction workers
    cpu_outlets: float  # user+sys of this process meanwhile: the loopback servers


def run_pipeline(*, feeds: Path, out: Path, extra: Sequence[str]) -> PipelineRun:
    # "@checkout=DIR" runs the code of another checkout of wiredesk (e.g. a git worktree of
    # the commit before a change): its folder goes first on PYTHONPATH.
    checkouts = [a.split("=", 1)[1] for a in extra if a.startswith("@checkout=")]
    variants = [a[1:] for a in extra if a.startswith("@") and not a.startswith("@checkout=")]
    env = dict(os.environ)
    if checkouts:
        env["PYTHONPATH"] = os.pathsep.join([checkouts[-1], env.get("PYTHONPATH", "")])
    cmd = [sys.executable, str(Path(__file__).resolve().parent / "common.py")]
    for name in variants:
        cmd += ["--variant", name]
    cmd += ["run", "--feeds", str(feeds), "--output", str(out), "--once"]
    cmd += ["--allow-private-addresses", *(a for a in extra if not a.startswith("@"))]
    before_children = resource.getrusage(resource.RUSAGE_CHILDREN)
    before_self = time.process_time()
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env)
    wall = time.perf_counter() - start
    cpu_outlets = time.process_time() - before_self
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before_children.ru_utime) + (after.ru_stime - before_children.ru_stime)
    run_m, written = _RUN_LINE.search(proc.stdout), _WRITTEN.search(proc.stdout)
    if proc.returncode != 0 or run_m is None or written is None:
        raise RuntimeError(
            f"wiredesk run failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
        )
    return PipelineRun(
        wall=wall,
        run_seconds=float(run_m.group(1)),
        articles=int(written.group(1)),
        duplicates=int(written.group(2)),
        rejects=int(written.group(3)),
        cpu_pipeline=cpu,
        cpu_outlets=cpu_outlets,
    )


# ---- main -----------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=1068, help="pages in total (default 1068)")
    parser.add_argument("--corpus", type=Path, help="extra pages: *.html(.gz) below this folder")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--outlets", type=int, default=20)
    parser.add_argument("--processes", type=int, default=os.cpu_count() or 1)
    parser.add_argument(
        "--config",
        action="append",
        metavar="NAME=ARGS",
        help="pipeline configuration to time (repeatable), e.g. 'x3=--extract-workers 3'",
    )
    parser.add_argument("--quick", action="store_true", help="12 pages, 1 round, default only")
    args = parser.parse_args(argv)

    configs = DEFAULT_CONFIGS
    if args.config:
        configs = {c.split("=", 1)[0]: c.split("=", 1)[1].split() for c in args.config}
    if args.quick:
        args.pages, args.rounds, args.outlets = 12, 1, 2
        if not args.config:
            configs = {"default (in_memory, pool of 2)": []}

    pages = story_variants(load_pages(corpus=args.corpus), total=args.pages)
    htmls = [p.html for p in pages]
    n = len(pages)
    print(f"# wiredesk throughput: {n} pages, {args.rounds} round(s), {args.processes} processes")
    for k, v in machine_info().items():
        print(f"- {k}: {v}")

    results: dict[str, list[float]] = {}
    runs: dict[str, list[PipelineRun]] = {name: [] for name in configs}
    starts: dict[str, list[float]] = {}
    tmp = Path(tempfile.mkdtemp(prefix="wiredesk-bench-"))
    try:
        with PageSite(pages, outlets=args.outlets, items_per_feed=25) as site:
            feeds = site.write_feeds_file(tmp / "feeds.txt")
            for r in range(args.rounds):
                for label, fn in (
                    ("ceiling: trafilatura.extract", _plain_extract),
                    ("ceiling: wiredesk extract_page", _wiredesk_extract),
                ):
                    start_s, map_s = ceiling_seconds(htmls, fn=fn, processes=args.processes)
                    results.setdefault(label, []).append(map_s)
                    starts.setdefault(label, []).append(start_s)
                    print(f"round {r + 1}: {label}: {map_s:.1f} s", flush=True)
                for name, extra in configs.items():
                    out = tmp / f"out-{r}-{len(runs[name])}-{abs(hash(name))}"
                    run = run_pipeline(feeds=feeds, out=out, extra=extra)
                    shutil.rmtree(out, ignore_errors=True)
                    runs[name].append(run)
                    print(
                        f"round {r + 1}: {name}: run {run.run_seconds:.1f} s, wall {run.wall:.1f} s,"
                        f" articles {run.articles}, duplicates {run.duplicates},"
                        f" rejects {run.rejects}",
                        flush=True,
                    )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    ceiling = median(results["ceiling: trafilatura.extract"])
    rows: list[list[object]] = []
    for label, times in results.items():
        t = median(times)
        rows.append(
            [label, f"{t:.2f}", f"{n / t:.1f}", f"{ceiling / t:.2f}", "-", "-", spread(times)]
        )
    for name, rs in runs.items():
        t = median([x.run_seconds for x in rs])
        wall = median([x.wall for x in rs])
        cpu = median([x.cpu_pipeline for x in rs])
        outlets = median([x.cpu_outlets for x in rs])
        rows.append(
            [
                f"wiredesk run --once: {name}",
                f"{t:.2f} (wall {wall:.2f})",
                f"{n / t:.1f}",
                f"{ceiling / t:.2f} (wall {ceiling / wall:.2f})",
                f"{cpu:.1f}",
                f"{outlets:.1f}",
                spread([x.run_seconds for x in rs]),
            ]
        )
    print()
    print(
        fmt_table(
            [
                "mode",
                "seconds (median)",
                "pages/s",
                "ratio to ceiling",
                "pipeline CPU s",
                "outlet CPU s",
                "spread (min-max s)",
            ],
            rows,
        )
    )
    rs0 = next(iter(runs.values()))[0]
    print(
        f"\nrows: articles {rs0.articles}, duplicates {rs0.duplicates}, rejects {rs0.rejects}"
        f" (of {n} pages); ceiling pool start+warm-up median"
        f" {median(starts['ceiling: trafilatura.extract']):.2f} s (not counted)"
    )
    return 0


def spread(values: Sequence[float]) -> str:
    return f"{min(values):.2f}-{max(values):.2f}" if len(values) > 1 else "-"


if __name__ == "__main__":
    sys.exit(main())
