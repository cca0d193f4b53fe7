"""A run's processes ask OpenBLAS for one thread: wiredesk does no linear algebra."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _python(code: str, env: dict[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.strip().splitlines()[-1]


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    env.update(extra)
    return env


_THREADS_AFTER_NUMPY = """
import os
from wiredesk.pipelines.blas_threads import one_blas_thread
asked = one_blas_thread()
import numpy
print(asked, os.environ["OPENBLAS_NUM_THREADS"], len(os.listdir("/proc/self/task")))
"""


def test_numpy_imported_after_it_starts_no_thread_pool() -> None:
    assert _python(_THREADS_AFTER_NUMPY, _env()) == "True 1 1"


def test_a_users_choice_is_kept() -> None:
    assert _python(_THREADS_AFTER_NUMPY, _env(OPENBLAS_NUM_THREADS="3")).startswith("False 3 ")


def test_the_run_command_sets_it_for_the_forkserver_and_its_workers(tmp_path: Path) -> None:
    """``console`` (the command) sets it before the forkserver starts, so the workers
    forked from it inherit it; ``main`` (what tests call) leaves the environment alone."""
    code = f"""
    import os, tempfile
    from wiredesk import cli
    from wiredesk.demo import SampleOutlets
    with SampleOutlets() as sample, tempfile.TemporaryDirectory() as tmp:
        rc = cli.console(sample.run_argv(folder=tmp, output={str(tmp_path / "out")!r}))
    # The forkserver is this process's child: its environment is what workers inherit.
    from multiprocessing import forkserver as mp_forkserver
    pid = mp_forkserver._forkserver._forkserver_pid
    with open(f"/proc/{{pid}}/environ", "rb") as handle:
        inherited = dict(
            item.split(b"=", 1) for item in handle.read().split(b"\\0") if b"=" in item
        )
    print(rc, os.environ.get("OPENBLAS_NUM_THREADS"),
          inherited.get(b"OPENBLAS_NUM_THREADS", b"-").decode())
    """
    assert _python(code, _env()) == "0 1 1"
