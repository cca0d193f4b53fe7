"""A run's processes ask OpenBLAS for one thread: wiredesk does no linear algebra."""

from __future__ import annotations

from pathlib import Path

from tests.support.new_process import env_without, python_c, run_sample


def _python(code: str, env: dict[str, str]) -> str:
    done = python_c(code, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.strip().splitlines()[-1]


def _env(**extra: str) -> dict[str, str]:
    return env_without("OPENBLAS_NUM_THREADS", **extra)


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
    via_console = run_sample("console", tmp_path / "console", env=_env())
    assert via_console["rc"] == 0
    assert via_console["blas_threads"] == via_console["forkserver_blas_threads"] == "1"
    via_main = run_sample("main", tmp_path / "main", env=_env())
    assert via_main["rc"] == 0
    assert via_main["blas_threads"] is via_main["forkserver_blas_threads"] is None
