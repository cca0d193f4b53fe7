"""bench/warc_throughput.py runs (``--quick``: 12 pages, 1 round) and prints its table.

No timing is asserted (figures belong in BENCHMARKS.md): what is checked is that the bench
builds its WARC, runs the ceiling and ``wiredesk run --warc`` side by side, and that every
page of the WARC is accounted for.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_warc_bench_runs_quick_and_prints_its_table():
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "warc_throughput.py"), "--quick"],
        cwd=ROOT,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    out = proc.stdout
    assert "| mode | seconds (median) | pages/s | ratio to ceiling |" in out
    assert "runner CPU s (share)" in out
    assert ") trafilatura.extract(with_metadata=True) |" in out
    assert "wiredesk run --warc --extract-workers" in out
    assert "rows: articles 12, duplicates 0, rejects 0 (of 12 pages)" in out
