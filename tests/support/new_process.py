"""Code run in a new Python process, and the bundled sample run there through the CLI
(for what a command does to its own process: modules it hides, its environment)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def python_c(
    code: str, *, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """``python -c code`` (dedented) from the repository's root."""
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        env=env,
        check=False,
    )


def env_without(*names: str, **extra: str) -> dict[str, str]:
    """This process's environment without ``names``, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if k not in names}
    env.update(extra)
    return env


_RUN_SAMPLE = """
import json, os, sys, tempfile
from multiprocessing import forkserver
from wiredesk import cli
from wiredesk.demo import SampleOutlets
with SampleOutlets() as sample, tempfile.TemporaryDirectory() as tmp:
    rc = getattr(cli, ENTRY)(sample.run_argv(folder=tmp, output=OUT))
# The forkserver is this process's child: its environment is what the workers inherit.
with open(f"/proc/{forkserver._forkserver._forkserver_pid}/environ", "rb") as handle:
    inherited = dict(item.split(b"=", 1) for item in handle.read().split(b"\\0") if b"=" in item)
print(json.dumps({
    "rc": rc,
    "pandas_loaded": "pandas" in sys.modules,
    "blas_threads": os.environ.get("OPENBLAS_NUM_THREADS"),
    "forkserver_blas_threads": inherited.get(b"OPENBLAS_NUM_THREADS", b"").decode() or None,
}))
"""


def run_sample(entry: str, out: Path, *, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run the bundled sample into ``out`` through ``wiredesk.cli.<entry>`` (``console``,
    the command's entry, or ``main``) in a new process; what that process saw."""
    done = python_c(f"OUT = {str(out)!r}\nENTRY = {entry!r}\n" + _RUN_SAMPLE, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result
