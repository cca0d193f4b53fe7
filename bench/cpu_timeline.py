"""How busy the two cores are during one ``wiredesk run --once``, half a second at a time.

    python bench/cpu_timeline.py                      # 1,068 pages, the code of this checkout
    python bench/cpu_timeline.py --pages 356 --checkout /tmp/before   # another checkout's code
    python bench/cpu_timeline.py --quick              # 12 pages (smoke)
    python bench/cpu_timeline.py --warc               # the same pages read from a WARC

Serves the bench pages (bench/common.py) from loopback outlets (with ``--warc``: writes
them into a ``.warc.gz`` as bench/warc_throughput.py does, and runs ``--warc`` on it), starts the run as a
subprocess and samples ``/proc`` every ``--interval`` seconds: the CPU the run's own
process used (Beam's runner thread, fetching, enrichment, signing) and the CPU of its
descendants (the extraction workers), in cores. The bar shows their sum; on 2 cores a
bar of 40 marks means both are busy. What the totals cannot show, this does: when a
core sits idle (start-up, a stage boundary, the tail) and which side is busy meanwhile.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import PageSite, load_pages, story_variants  # noqa: E402

_TICKS = os.sysconf("SC_CLK_TCK")


def descendants(pid: int) -> list[int]:
    """``pid`` and every process below it (children of any of its threads)."""
    found = [pid]
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except FileNotFoundError:
        return found
    for task in tasks:
        try:
            children = Path(f"/proc/{pid}/task/{task}/children").read_text().split()
        except FileNotFoundError:
            continue
        for child in children:
            found += descendants(int(child))
    return found


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of one process, None once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return (int(fields[11]) + int(fields[12])) / _TICKS


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=1068)
    parser.add_argument("--interval", type=float, default=0.5)
    parser.add_argument("--checkout", help="run another checkout's code (PYTHONPATH)")
    parser.add_argument("--quick", action="store_true", help="12 pages on 2 outlets (smoke)")
    parser.add_argument("--warc", action="store_true", help="read the pages from a WARC")
    parser.add_argument("extra", nargs="*", help="more arguments for wiredesk run")
    args = parser.parse_args(argv)
    outlets = 20
    if args.quick:
        args.pages, outlets = 12, 2

    pages = story_variants(load_pages(), total=args.pages)
    tmp = Path(tempfile.mkdtemp(prefix="wiredesk-timeline-"))
    env = dict(os.environ)
    if args.checkout:
        env["PYTHONPATH"] = os.pathsep.join([args.checkout, env.get("PYTHONPATH", "")])
    samples: list[tuple[float, float, float]] = []
    try:
        with contextlib.ExitStack() as stack:
            cmd = [sys.executable, str(Path(__file__).resolve().parent / "common.py"), "run"]
            if args.warc:
                from warc_throughput import write_warc

                write_warc(tmp / "pages.warc.gz", [page.html for page in pages])
                cmd += ["--warc", str(tmp / "pages.warc.gz")]
            else:
                site = stack.enter_context(PageSite(pages, outlets=outlets, items_per_feed=25))
                cmd += ["--feeds", str(site.write_feeds_file(tmp / "feeds.txt"))]
                cmd += ["--allow-private-addresses"]
            cmd += ["--output", str(tmp / "out"), "--once", *args.extra]
            start = time.perf_counter()
            proc = subprocess.Popen(
                cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env
            )
            seen: dict[int, float] = {}
            while proc.poll() is None:
                time.sleep(args.interval)
                main_cpu = workers_cpu = 0.0
                for pid in descendants(proc.pid):
                    now = cpu_seconds(pid)
                    if now is None:
                        continue
                    delta, seen[pid] = now - seen.get(pid, 0.0), now
                    if pid == proc.pid:
                        main_cpu += delta
                    else:
                        workers_cpu += delta
                samples.append((time.perf_counter() - start, main_cpu, workers_cpu))
            out, _ = proc.communicate()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    print(f"# CPU of wiredesk run --once over {args.pages} pages, in cores per sample")
    print(next((line for line in out.splitlines() if line.startswith("run ")), "(no run line)"))
    for at, main_cpu, workers_cpu in samples:
        main_cores, worker_cores = main_cpu / args.interval, workers_cpu / args.interval
        bar = "#" * round((main_cores + worker_cores) * 20)
        print(f"{at:6.1f} s  main {main_cores:4.2f}  workers {worker_cores:4.2f}  {bar}")
    busy = sum(m + w for _, m, w in samples)
    wall = samples[-1][0] if samples else 0.0
    print(f"mean {busy / wall if wall else 0:.2f} cores busy over {wall:.1f} s")
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main())
