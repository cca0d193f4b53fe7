"""End-to-end throughput against the with-metadata ceiling, side by side in one run.

    python bench/throughput.py                 # 1,068 pages (178 fixture pages x 6), 3 rounds
    python bench/throughput.py --quick         # 12 pages, 1 round, default config only (smoke)
    python bench/throughput.py --corpus DIR --pages 2000   # more pages: *.html(.gz) below DIR

Each round measures, on the same pages, every process from its start to its exit:

* the ceiling (bench/ceiling.py): the script a user would write to get text, title, date
  and authors: ``multiprocessing.Pool(P)`` (P = cores) over the pages as files, each
  through ``trafilatura.extract(html, output_format="json", with_metadata=True)``;
  interpreter start, imports and the pool's start included;
* ``wiredesk run --once`` over loopback outlets serving the pages and RSS feeds listing
  them (``--allow-private-addresses``, a fresh OUT per run), once per pipeline
  configuration (default: the pool of 2; ``--extract-workers 1``; Beam's multi-process
  harness with 2 SDK workers, which extract in-process).

For each run: the process wall, the CPU of its whole process tree (the run, the
forkserver and its extraction workers, or the SDK worker processes), and the CPU of the
run's own process, the **runner** (Beam, polling, fetching, assigning stories, writing).
The runner's share of all CPU is what caps a local run's parallelism (Amdahl). A
projection to 8, 16 and 64 cores follows from the runs with 1 and 2 extraction workers
(:func:`project`), labelled as such.

Pages are fixture pages plus shuffled copies that are distinct stories (bench/common.py),
so syndication signs and indexes every page and finds (almost) no duplicates. Rounds
interleave all modes so that load from other users of the machine spreads over all of
them; medians are reported.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ceiling import ceiling_command, write_page_files  # noqa: E402
from common import (  # noqa: E402
    Measured,
    Page,
    PageSite,
    fmt_table,
    load_pages,
    machine_info,
    measure_process,
    median,
    story_variants,
)

TWO_WORKERS = "default (in_memory, pool of 2)"
ONE_WORKER = "--extract-workers 1"
# A leading "@NAME" applies bench/common.py's variant NAME (e.g. the code before a change);
# "@checkout=DIR" runs another checkout's code (``git worktree add DIR <commit>``).
DEFAULT_CONFIGS: dict[str, list[str]] = {
    TWO_WORKERS: [],
    ONE_WORKER: ["--extract-workers", "1"],
    "multi_processing x2 (extraction in-process)": [
        "--direct_num_workers",
        "2",
        "--direct_running_mode",
        "multi_processing",
    ],
}

_WRITTEN = re.compile(r"written: articles (\d+), duplicates (\d+), rejects (\d+)")


@dataclasses.dataclass
class PipelineRun:
    wall: float  # the process, start to exit
    articles: int
    duplicates: int
    rejects: int
    cpu: float  # user+sys of the run's process and every process under it
    runner_cpu: float  # user+sys of the run's own process

    @property
    def runner_share(self) -> float:
        return self.runner_cpu / self.cpu if self.cpu else 0.0


def run_wiredesk(
    run_args: Sequence[str],
    *,
    variants: Sequence[str] = (),
    env: dict[str, str] | None = None,
    cwd: str | None = None,
    python: str = sys.executable,
) -> PipelineRun:
    """``wiredesk run RUN_ARGS`` as a measured process (bench/common.py's wrapper, with
    its ``--variant`` patches) under the interpreter ``python``, with the rows it reports
    having written."""
    cmd = [python, str(Path(__file__).resolve().parent / "common.py")]
    for name in variants:
        cmd += ["--variant", name]
    m = measure_process([*cmd, "run", *run_args], env=env, cwd=cwd)
    written = _WRITTEN.search(m.stdout)
    if m.returncode != 0 or written is None or m.runner_cpu is None:
        raise RuntimeError(f"wiredesk run failed ({m.returncode}):\n{m.stdout}\n{m.stderr}")
    return PipelineRun(
        wall=m.wall,
        articles=int(written.group(1)),
        duplicates=int(written.group(2)),
        rejects=int(written.group(3)),
        cpu=m.cpu,
        runner_cpu=m.runner_cpu,
    )


def run_config(run_args: Sequence[str], extra: Sequence[str]) -> PipelineRun:
    """``wiredesk run RUN_ARGS`` under one configuration: its plain arguments are added;
    "@checkout=DIR" runs the code of another checkout of wiredesk (e.g. a git worktree of
    the commit before a change: its folder goes first on PYTHONPATH); "@python=PATH" runs
    it under another interpreter, e.g. a virtual environment holding only what `pip install
    .` installs, where Beam finds no Cloud client libraries to import; "@NAME" applies
    bench/common.py's variant NAME."""
    checkouts = [a.split("=", 1)[1] for a in extra if a.startswith("@checkout=")]
    pythons = [a.split("=", 1)[1] for a in extra if a.startswith("@python=")]
    variants = [
        a[1:] for a in extra if a.startswith("@") and not a.startswith(("@checkout=", "@python="))
    ]
    env = dict(os.environ)
    if checkouts:
        env["PYTHONPATH"] = os.pathsep.join([checkouts[-1], env.get("PYTHONPATH", "")])
    args = [*run_args, *(a for a in extra if not a.startswith("@"))]
    # The checkout is also the working directory: a forkserver puts it first on its path.
    return run_wiredesk(
        args,
        variants=variants,
        env=env,
        cwd=checkouts[-1] if checkouts else None,
        python=pythons[-1] if pythons else sys.executable,
    )


def run_pipeline(*, feeds: Path, out: Path, extra: Sequence[str]) -> PipelineRun:
    run_args = ["--feeds", str(feeds), "--output", str(out), "--once", "--allow-private-addresses"]
    return run_config(run_args, extra)


def measure_ceiling(page_dir: Path, processes: int) -> Measured:
    """One run of bench/ceiling.py over ``page_dir``, as a measured process."""
    ceiling = measure_process(ceiling_command(page_dir, processes))
    if ceiling.returncode != 0:
        raise RuntimeError(f"the ceiling failed:\n{ceiling.stderr}")
    return ceiling


HEADERS = ["mode", "seconds (median)", "pages/s", "ratio to ceiling"]
HEADERS += ["CPU s, all processes", "runner CPU s (share)", "spread (min-max s)"]


def ceiling_row(ceilings: Sequence[Measured], *, pages: int, processes: int) -> list[object]:
    c = median([m.wall for m in ceilings])
    return [
        f"ceiling: Pool({processes}) trafilatura.extract(with_metadata=True)",
        f"{c:.2f}",
        f"{pages / c:.1f}",
        "1.00",
        f"{median([m.cpu for m in ceilings]):.1f}",
        "-",
        spread([m.wall for m in ceilings]),
    ]


def run_row(label: str, runs: Sequence[PipelineRun], *, pages: int, ceiling: float) -> list[object]:
    t = median([x.wall for x in runs])
    runner = median([x.runner_cpu for x in runs])
    share = median([x.runner_share for x in runs])
    return [
        label,
        f"{t:.2f}",
        f"{pages / t:.1f}",
        f"{ceiling / t:.2f}",
        f"{median([x.cpu for x in runs]):.1f}",
        f"{runner:.1f} ({share:.3f})",
        spread([x.wall for x in runs]),
    ]


def project(*, one: float, two: float, runner_cpu: float, cores: int) -> float:
    """Projected seconds on ``cores`` cores from the runs with 1 and 2 extraction workers.

    Amdahl's law fitted to the two points, t(n) = a + b / n (b = 2 (t1 - t2), a = t1 - b),
    and never below the runner process's own CPU seconds: the runner is one process, so
    its work does not spread over more cores. A projection, not a measurement: it assumes
    nothing else (disk, network, the outlets, memory) becomes the limit first.
    """
    b = max(0.0, 2 * (one - two))
    return max(one - b + b / cores, runner_cpu)


def spread(values: Sequence[float]) -> str:
    return f"{min(values):.2f}-{max(values):.2f}" if len(values) > 1 else "-"


def _measure(
    args: argparse.Namespace, configs: dict[str, list[str]], pages: Sequence[Page]
) -> tuple[list[Measured], dict[str, list[PipelineRun]]]:
    ceilings: list[Measured] = []
    runs: dict[str, list[PipelineRun]] = {name: [] for name in configs}
    tmp = Path(tempfile.mkdtemp(prefix="wiredesk-bench-"))
    try:
        page_dir = write_page_files([p.html for p in pages], tmp / "pages")
        with PageSite(pages, outlets=args.outlets, items_per_feed=25) as site:
            feeds = site.write_feeds_file(tmp / "feeds.txt")
            for r in range(args.rounds):
                ceiling = measure_ceiling(page_dir, args.processes)
                ceilings.append(ceiling)
                print(f"round {r + 1}: ceiling: {ceiling.wall:.1f} s", flush=True)
                for name, extra in configs.items():
                    out = tmp / f"out-{r}-{len(runs[name])}-{abs(hash(name))}"
                    run = run_pipeline(feeds=feeds, out=out, extra=extra)
                    shutil.rmtree(out, ignore_errors=True)
                    runs[name].append(run)
                    print(
                        f"round {r + 1}: {name}: wall {run.wall:.1f} s, CPU {run.cpu:.1f} s"
                        f" (runner {run.runner_cpu:.1f} s), articles {run.articles},"
                        f" duplicates {run.duplicates}, rejects {run.rejects}",
                        flush=True,
                    )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return ceilings, runs


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
    parser.add_argument(
        "--exclude",
        action="append",
        default=[],
        metavar="NAME",
        help="leave out a fixture page and its copies (repeatable), as in warc_throughput.py",
    )
    args = parser.parse_args(argv)

    configs = DEFAULT_CONFIGS
    if args.config:
        configs = {c.split("=", 1)[0]: c.split("=", 1)[1].split() for c in args.config}
    if args.quick:
        args.pages, args.rounds, args.outlets = 12, 1, 2
        if not args.config:
            configs = {TWO_WORKERS: []}

    fixtures = [p for p in load_pages(corpus=args.corpus) if p.name not in set(args.exclude)]
    pages = story_variants(fixtures, total=args.pages)
    n = len(pages)
    print(f"# wiredesk throughput: {n} pages, {args.rounds} round(s), {args.processes} processes")
    for k, v in machine_info().items():
        print(f"- {k}: {v}")
    ceilings, runs = _measure(args, configs, pages)

    c = median([m.wall for m in ceilings])
    rows = [ceiling_row(ceilings, pages=n, processes=args.processes)]
    rows += [
        run_row(f"wiredesk run --once: {name}", rs, pages=n, ceiling=c) for name, rs in runs.items()
    ]
    print()
    print(fmt_table(HEADERS, rows))
    if ONE_WORKER in runs and TWO_WORKERS in runs:
        one = median([x.wall for x in runs[ONE_WORKER]])
        two = median([x.wall for x in runs[TWO_WORKERS]])
        runner = median([x.runner_cpu for x in runs[TWO_WORKERS]])
        projected = [
            (k, project(one=one, two=two, runner_cpu=runner, cores=k)) for k in (8, 16, 64)
        ]
        print("\nProjection, not a measurement (Amdahl fit to the 1- and 2-worker runs):")
        print(
            fmt_table(
                ["cores", "projected seconds", "projected pages/s"],
                [[k, f"{t:.1f}", f"{n / t:.0f}"] for k, t in projected],
            )
        )
    rs0 = next(iter(runs.values()))[0]
    print(
        f"\nrows: articles {rs0.articles}, duplicates {rs0.duplicates}, rejects {rs0.rejects}"
        f" (of {n} pages)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
