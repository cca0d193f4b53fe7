"""The worker warm-up pays dateparser's per-locale set-up before any page does.

Counted, not timed: in a fresh interpreter, htmldate's external parser compiles a
regex per locale on its first undecided string (~1,400 compiles, ~1.3 s). After the
warm-up, the same calls compile almost nothing. The forkserver preloads the warm-up,
so every extraction worker forked from it starts warm, in a batch run and in local
streaming alike (tests/support/warmup_probe.py counts in the workers).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

_ROOT = Path(__file__).resolve().parent.parent

_COUNT_COMPILES = """
import sys
if sys.argv[1] == "warm":
    import wiredesk.transforms.extract.warmup  # noqa: F401
import regex
count = 0
real = regex._main._compile
def spy(*args, **kwargs):
    global count
    count += 1
    return real(*args, **kwargs)
regex._main._compile = spy
from htmldate.extractors import get_external_parser
for text in ["Updated 5 April 2023", "Stand: 3. März 2024", "mis à jour le 3 mars 2024"]:
    get_external_parser().get_date_data(text)
print(count)
"""


def _compiles(mode: str) -> int:
    done = subprocess.run(
        [sys.executable, "-c", _COUNT_COMPILES, mode],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return int(done.stdout.split()[-1])


def test_after_the_warm_up_htmldate_dates_compile_almost_nothing() -> None:
    cold, warm = _compiles("cold"), _compiles("warm")
    assert cold > 200  # the set-up the warm-up exists for (else this test proves nothing)
    assert warm < 20


@pytest.mark.parametrize("mode", ["batch", "streaming"])
def test_extraction_workers_forked_by_a_run_start_warm(mode: str) -> None:
    # A fresh interpreter: the forkserver (and its preload list) is one per process.
    done = subprocess.run(
        [sys.executable, "-m", "tests.support.warmup_probe", mode, "2"],
        capture_output=True,
        text=True,
        check=True,
        timeout=180,
        cwd=_ROOT,
    )
    per_worker = [int(line) for line in done.stdout.split()]
    assert len(per_worker) == 2
    assert all(count < 20 for count in per_worker), per_worker
