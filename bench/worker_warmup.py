"""How long the extraction workers take to start, in a batch run and in local streaming.

    python bench/worker_warmup.py                       # 5 rounds of each mode, 2 workers
    python bench/worker_warmup.py --rounds 3 --workers 2 --checkout /tmp/before

Each round is a fresh interpreter (the forkserver is one per process). ``batch`` builds
the pool as ``wiredesk run --once`` does; ``streaming`` first starts the forkserver as
local ``wiredesk run --streaming`` does (``shield_extraction_from_sigterm``). Measured,
once every worker has reported ready (a worker imports the warm-up and extracts one
page before it says so):

* ``worker CPU``: the CPU seconds each worker process used to get ready (a forked
  process starts its own count at zero, so what the forkserver preloaded is not in it);
  this is what a worker pays itself, and what the load of a shared machine hardly moves;
* ``forkserver CPU``: what the forkserver used (its preload, paid once);
* ``wall``: seconds from the start until every worker was ready (the pool starts its
  workers one after the other), which on a busy machine mostly measures the load.

Prints the medians of each mode.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

_ROUND = """
import multiprocessing, os, sys, time
from multiprocessing import forkserver
mode, workers = sys.argv[1], int(sys.argv[2])
from wiredesk.pipelines.streaming import shield_extraction_from_sigterm
from wiredesk.transforms.extract.pool import ExtractorPool, PoolConfig
t0 = time.perf_counter()  # imports done: only the forkserver and the workers count
if mode == "streaming":
    assert shield_extraction_from_sigterm()
pool = ExtractorPool(PoolConfig(workers=workers))
pool.start_in_background().join()
t1 = time.perf_counter()
pids = pool.worker_pids()
assert len(pids) == workers

def cpu(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

workers_cpu = [cpu(pid) for pid in pids]
server_cpu = cpu(forkserver._forkserver._forkserver_pid)
pool.close()
print(max(workers_cpu), sum(workers_cpu) / len(workers_cpu), server_cpu, t1 - t0)
"""


def one_round(*, mode: str, workers: int, checkout: Path | None) -> tuple[float, ...]:
    """(max worker CPU s, mean worker CPU s, forkserver CPU s, wall s) of one fresh run."""
    env = dict(os.environ)
    if checkout is not None:  # that checkout's wiredesk comes first on the path
        env["PYTHONPATH"] = str(checkout)
    done = subprocess.run(
        [sys.executable, "-c", _ROUND, mode, str(workers)],
        capture_output=True,
        text=True,
        check=True,
        env=env,
        cwd=checkout or Path.cwd(),
    )
    return tuple(float(x) for x in done.stdout.split()[-4:])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--checkout", type=Path, help="run another checkout's code")
    args = parser.parse_args()
    for mode in ("batch", "streaming"):
        rounds = [
            one_round(mode=mode, workers=args.workers, checkout=args.checkout)
            for _ in range(args.rounds)
        ]
        median = [statistics.median(r[i] for r in rounds) for i in range(4)]
        print(
            f"{mode:9}: worker CPU {median[1]:.2f} s (max {median[0]:.2f}), forkserver CPU "
            f"{median[2]:.2f} s, {args.workers} workers ready after {median[3]:.2f} s wall "
            f"(medians of {args.rounds})"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
