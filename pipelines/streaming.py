"""Local ``--streaming``: one bounded poll cycle after another until stopped.

The Python DirectRunner cannot run the unbounded graph on this machine (no
window fires before the source ends; NOTES.md), so locally each cycle is a
complete batch run of the same graph into the same OUT. What must survive
between cycles (validators, seen URLs, story sketches) is kept with the output,
so a cycle never adds a duplicate row and a late republication still finds its
story. Ctrl-C or SIGTERM drains: the cycle in flight finishes and is written,
then the process exits 0.

Example::

    run_streaming(config=config, feeds=feeds, beam_args=[])
"""

from __future__ import annotations

import dataclasses
import signal
import sys
import threading
import time
from collections.abc import Sequence
from types import FrameType

from wiredesk.pipelines.options import RunConfig, new_run_id
from wiredesk.pipelines.run import run_cycle
from wiredesk.schemas.records import FeedSource

__all__ = ["StopFlag", "run_streaming"]


class StopFlag:
    """Set by SIGINT/SIGTERM; a second signal while draining is ignored (drain wins)."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def install(self) -> None:
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, self._handle)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if not self._event.is_set():
            print(
                f"\nwiredesk: {signal.Signals(signum).name} received, finishing this cycle",
                file=sys.stderr,
                flush=True,
            )
        self._event.set()

    def is_set(self) -> bool:
        return self._event.is_set()

    def wait(self, seconds: float) -> bool:
        return self._event.wait(timeout=max(0.0, seconds))


def run_streaming(
    *,
    config: RunConfig,
    feeds: Sequence[FeedSource],
    beam_args: Sequence[str] = (),
    stop: StopFlag | None = None,
    max_cycles: int | None = None,
) -> int:
    stop = stop or StopFlag()
    stop.install()
    cycle = 0
    while not stop.is_set():
        cycle += 1
        started = time.monotonic()
        cycle_config = dataclasses.replace(config, run_id=new_run_id())
        summary = run_cycle(config=cycle_config, feeds=feeds, beam_args=beam_args)
        c = summary.count
        print(
            f"cycle {cycle}: feeds {c('feeds_polled')} (304 {c('feeds_not_modified')}), "
            f"new {c('entries_new')}, articles {c('articles_rows_written')}, "
            f"duplicates {c('duplicates_rows_written')}, rejects {c('rejects_rows_written')} "
            f"in {summary.seconds:.1f} s",
            flush=True,
        )
        if max_cycles is not None and cycle >= max_cycles:
            break
        if stop.wait(config.poll_interval - (time.monotonic() - started)):
            break
    return 0
