"""A local run starts the extraction workers' forkserver before it imports Beam.

The forkserver's imports and warm-up (about 2 s of one core) then overlap Beam's import
and the graph's construction instead of following the first new page
(wiredesk/transforms/extract/forkserver.py). It starts no worker: a run with nothing
new still starts no pool. Runs whose per-page work happens elsewhere (a managed
runner, Beam's multi-process harness) start no forkserver.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from apache_beam.options.pipeline_options import PipelineOptions

from wiredesk.cli import main
from wiredesk.pipelines.options import uses_extract_pool
from wiredesk.pipelines.placement import flag_value, pool_expected
from wiredesk.transforms.extract import forkserver

PLACEMENTS = [
    [],
    ["--once"],
    ["--runner=DirectRunner"],
    ["--runner", "FnApiRunner"],
    ["--runner=DataflowRunner"],
    ["--runner", "DataflowRunner", "--project", "p"],
    ["--runner=PrismRunner"],
    ["--runner=DataflowRunner", "--runner=DirectRunner"],  # the last one wins, as in Beam
    ["--direct_running_mode=multi_processing", "--direct_num_workers=2"],
    ["--direct_running_mode", "multi_threading"],
    ["--direct_running_mode=in_memory"],
]


@pytest.mark.parametrize("args", PLACEMENTS, ids=lambda a: " ".join(a) or "(none)")
def test_the_raw_arguments_tell_the_pool_as_beams_parsed_options_do(args) -> None:
    assert pool_expected(args) == uses_extract_pool(PipelineOptions(args))


def test_flag_value_reads_both_spellings_and_keeps_the_last() -> None:
    assert flag_value(["--runner", "A"], "--runner") == "A"
    assert flag_value(["--runner=A", "--runner", "B"], "--runner") == "B"
    assert flag_value(["--runner"], "--runner") is None  # no value follows
    assert flag_value(["--runners=A"], "--runner") is None


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ([], [{"ignore_sigterm": False}]),
        (["--runner=DataflowRunner"], []),
        (["--direct_running_mode=multi_processing"], []),
    ],
)
def test_run_starts_the_forkserver_only_where_the_pool_works(
    monkeypatch, tmp_path, extra, expected
) -> None:
    calls: list[dict[str, bool]] = []
    monkeypatch.setattr(forkserver, "start_extraction_forkserver", lambda **kw: calls.append(kw))
    # No --feeds: the run stops at its options, after the point where the forkserver starts.
    assert main(["run", "--once", "--output", str(tmp_path / "out"), *extra]) != 0
    assert calls == expected


_SPY = """
import json, sys
from wiredesk.transforms.extract import forkserver
calls = []
real = forkserver.start_extraction_forkserver
def spy(**kw):
    calls.append({"beam_imported": "apache_beam" in sys.modules, **kw})
    return real(**kw)
forkserver.start_extraction_forkserver = spy
from wiredesk.cli import main
rc = main(sys.argv[1:])
from wiredesk.transforms.extract.stage import _POOLS
workers = [pid for pool in _POOLS.values() for pid in pool.worker_pids()]
print(json.dumps({"rc": rc, "calls": calls, "workers": workers,
                  "forkserver": forkserver.forkserver_running()}))
"""


def test_a_run_with_nothing_new_warms_the_forkserver_first_and_starts_no_worker(
    tmp_path,
) -> None:
    feeds = tmp_path / "feeds.txt"
    feeds.write_text("http://127.0.0.1:9/feed.xml\n", encoding="utf-8")  # refused: no entries
    args = ["run", "--once", "--feeds", str(feeds), "--output", str(tmp_path / "out")]
    proc = subprocess.run(
        [sys.executable, "-c", _SPY, *args], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    seen = json.loads(proc.stdout.strip().splitlines()[-1])
    assert seen["rc"] == 0
    assert seen["calls"] == [{"beam_imported": False, "ignore_sigterm": False}]
    assert seen["forkserver"] is True
    assert seen["workers"] == []  # nothing new: no extraction worker started
