"""When each of Beam's stages ran during one ``wiredesk run``, and for how long.

    python bench/stage_times.py run --warc pages.warc.gz --output OUT --once
    python bench/stage_times.py --min-ms 0 run --feeds feeds.txt --output OUT --once

Runs the command in this process with Beam's local runner (FnApiRunner) timing every
bundle it executes: its start (seconds since this script started), its wall time and
the CPU this process used meanwhile, and the transforms fused into its stage. What
bench/cpu_timeline.py shows as a core sitting idle after the last page, this names:
the stages of the serial tail (assigning stories, the join, writing Parquet, state)
and the fixed cost each of them carries.

The timing wraps ``FnApiRunner._execute_bundle``, a private method of Beam 2.77
(pinned in pyproject.toml); a newer Beam may move it.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections.abc import Sequence
from typing import Any

_START = time.perf_counter()


def short_stage_name(name: str) -> str:
    """The distinct labels (two levels deep) of the transforms fused into a stage.

    >>> short_stage_name("((ref_AppliedPTransform_WriteArticles-GroupByPartition-Read_3)"
    ...                  "+(ref_AppliedPTransform_WriteArticles-GroupByPartition-Write_4))")
    'WriteArticles/GroupByPartition'
    >>> short_stage_name("(DetectSyndication/Join/Read)+(ref_AppliedPTransform_WriteArticles_9)"
    ...                  "+(ref_PCollection_PCollection_12)")
    'DetectSyndication/Join + WriteArticles'
    """
    labels = []
    for piece in re.split(r"[()+]", name):
        piece = piece.strip()
        if not piece or piece.startswith("ref_PCollection"):
            continue
        parts = re.split(
            r"[-/]", re.sub(r"_\d+$", "", piece.removeprefix("ref_AppliedPTransform_"))
        )
        labels.append("/".join(parts[:2]))
    return " + ".join(dict.fromkeys(labels))


def time_stages() -> list[tuple[float, float, float, str]]:
    """Patch the local runner to record (start, wall, cpu, stage name) per bundle."""
    from apache_beam.runners.portability.fn_api_runner import fn_runner

    rows: list[tuple[float, float, float, str]] = []
    original = fn_runner.FnApiRunner._execute_bundle

    def timed(self: Any, context: Any, bundle_context_manager: Any, bundle_input: Any) -> Any:
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            return original(self, context, bundle_context_manager, bundle_input)
        finally:
            rows.append(
                (
                    wall - _START,
                    time.perf_counter() - wall,
                    time.process_time() - cpu,
                    bundle_context_manager.stage.name,
                )
            )

    fn_runner.FnApiRunner._execute_bundle = timed  # type: ignore[method-assign]
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--min-ms", type=float, default=8.0, help="hide shorter stages")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="wiredesk's arguments")
    args = parser.parse_args(argv)
    try:  # what the command's entry (wiredesk.cli.console) does, before Beam's import
        from wiredesk.cli import prepare_pipeline_process

        prepare_pipeline_process()
    except ImportError:  # a checkout from before it
        pass
    rows = time_stages()
    from wiredesk.cli import main as wiredesk

    try:
        code = wiredesk(args.command)
    finally:
        end = time.perf_counter() - _START
        print(f"\n{'start s':>8} {'wall s':>7} {'CPU s':>6}  stage")
        for start, wall, cpu, name in rows:
            if wall * 1000 >= args.min_ms:
                print(f"{start:8.3f} {wall:7.3f} {cpu:6.3f}  {short_stage_name(name)[:110]}")
        print(f"{end:8.3f} {'':7} {'':6}  end of the command")
    return code


if __name__ == "__main__":
    sys.exit(main())
