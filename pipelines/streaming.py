"""Local ``--streaming``: one bounded poll cycle after another until stopped.

The Python DirectRunner cannot run the unbounded graph on this machine (no
window fires before the source ends; docs/decisions.md, "Runners"), so locally each cycle is a
complete batch run of the same graph into the same OUT. What must survive
between cycles (validators, poll schedules, seen URLs, story sketches) is kept
with the output, so a cycle never adds a duplicate row, a late republication
still finds its story, and a restart resumes where the last cycle ended.

Each cycle polls only the feeds that are due (transforms/sources/poll_schedule.py: an
adaptive interval per feed between ``--poll-interval`` and
``--max-poll-interval``, server hints, back-off, jitter), then the loop sleeps
until the earliest next due feed, at most ``--poll-interval`` after the cycle
began. Each cycle's feed state file is complete (feeds not due are carried
over), so older ones are pruned: the state read stays one small file. A cycle
that fails is reported and retried after a pause; only
``max_failed_cycles`` failures in a row end the run (exit 1).

Stopping: Ctrl-C or SIGTERM drains: the cycle in flight finishes and is
written, then the process exits 0. The extraction workers and their
forkserver are started with SIGTERM ignored (SIGINT they ignore already), so a
SIGTERM sent to the whole process group (systemd, ``kill -TERM -PGID``) does
not kill them under the cycle that is draining; they stop when wiredesk exits.

Example::

    run_streaming(config=config, feeds=feeds, beam_args=[], max_cycles=1)
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import gc
import logging
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from types import FrameType

from apache_beam.io.filesystems import FileSystems

from wiredesk.pipelines.graph import schedule_for
from wiredesk.pipelines.options import RunConfig, new_run_id
from wiredesk.pipelines.run import RunSummary, run_cycle
from wiredesk.pipelines.writer_lease import holding_writer_lease
from wiredesk.schemas.records import FeedSource
from wiredesk.transforms.extract.forkserver import start_extraction_forkserver
from wiredesk.transforms.io.state_store import latest_feed_rows, read_state_rows, state_glob
from wiredesk.transforms.sources.poll_schedule import (
    due_feeds,
    schedule_from_row,
    seconds_until_next_due,
)

__all__ = [
    "StopFlag",
    "progress_line",
    "prune_feed_state",
    "run_streaming",
    "shield_extraction_from_sigterm",
]

_LOG = logging.getLogger(__name__)


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

    def set(self) -> None:
        self._event.set()

    def is_set(self) -> bool:
        return self._event.is_set()

    def wait(self, seconds: float) -> bool:
        return self._event.wait(timeout=max(0.0, seconds))


def shield_extraction_from_sigterm() -> bool:
    """Start the multiprocessing forkserver now, with SIGTERM ignored.

    The extraction pool forks its workers from the forkserver; an ignored signal
    survives fork and exec, so the forkserver and every worker ignore SIGTERM,
    and a group-wide SIGTERM leaves the draining cycle its workers. (Workers are
    stopped by the pool with SIGKILL or a pipe message, never SIGTERM; with the
    parent gone they read EOF and exit.) Returns False when a forkserver was
    already running (then it keeps its own signal dispositions).
    """
    return start_extraction_forkserver(ignore_sigterm=True)


def progress_line(*, cycle: int, summary: RunSummary, next_in: float | None = None) -> str:
    """The terminal line of one cycle: the same numbers as the Beam metrics."""
    c = summary.count
    line = (
        f"cycle {cycle}: feeds polled {c('feeds_polled')} (304 {c('feeds_not_modified')}, "
        f"failed {c('feeds_rejected')}), new {c('entries_new')}, "
        f"articles {c('articles_rows_written')}, duplicates {c('duplicates_rows_written')}, "
        f"rejects {c('rejects_rows_written')} in {summary.seconds:.1f} s"
    )
    if next_in is not None:
        line += f"; next poll in {next_in:.0f} s"
    return line


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _next_poll_times(output: str) -> dict[str, dt.datetime]:
    times: dict[str, dt.datetime] = {}
    for url, row in latest_feed_rows(read_state_rows(output=output, kind="feeds")).items():
        planned = schedule_from_row(row)
        if planned is not None:
            times[url] = planned.next_poll_at
    return times


def prune_feed_state(*, output: str, keep: int = 3) -> int:
    """Delete all but the ``keep`` newest ``_state/feeds`` files. Returns how many went.

    Every run that polls feeds writes one row per known feed (polled rows and
    carried-over ones), so the newest file alone is the whole state and older
    files only slow down each cycle's read. A few are kept as a margin.
    """
    try:
        matches = FileSystems.match([state_glob(output, "feeds")])[0].metadata_list
    except Exception:
        return 0
    ordered = sorted(matches, key=lambda m: (m.last_updated_in_seconds, m.path), reverse=True)
    stale = [m.path for m in ordered[keep:]]
    if stale:
        try:
            FileSystems.delete(stale)
        except Exception as exc:  # e.g. a compaction swapped them away meanwhile
            _LOG.info("could not prune old feed state: %s", exc)
            return 0
    return len(stale)


@holding_writer_lease(new_stop=StopFlag)  # one writer lease on OUT around every cycle
def run_streaming(
    *,
    config: RunConfig,
    feeds: Sequence[FeedSource],
    beam_args: Sequence[str] = (),
    stop: StopFlag | None = None,
    max_cycles: int | None = None,
    max_failed_cycles: int = 5,
    on_cycle: Callable[[int, RunSummary], None] | None = None,
    install_signals: bool = True,
) -> int:
    """Poll cycles until stopped (or ``max_cycles`` cycles ran). Returns the exit code.

    ``install_signals=False`` leaves SIGINT/SIGTERM alone (an embedding program
    stops the loop through ``stop``).
    """
    stop = stop or StopFlag()
    if install_signals and threading.current_thread() is threading.main_thread():
        shield_extraction_from_sigterm()
        stop.install()
    schedule = schedule_for(config)
    urls = [feed.url for feed in feeds]
    cycle = 0
    failed_in_a_row = 0
    while not stop.is_set():
        started = time.monotonic()
        now = _utcnow()
        try:
            next_at = _next_poll_times(config.output)
        except Exception as exc:  # unreadable state: poll everything rather than nothing
            _LOG.warning("cannot read the feeds state: %s", exc)
            next_at = {}
        due_urls = set(due_feeds(feed_urls=urls, next_poll_at=next_at, now=now, config=schedule))
        due = [feed for feed in feeds if feed.url in due_urls]
        if due or config.wire_dir:
            cycle += 1
            # A run that lasts weeks needs today's date for horizons and state days.
            cycle_config = dataclasses.replace(config, run_id=new_run_id(), today=now.date())
            try:
                summary = run_cycle(config=cycle_config, feeds=due, beam_args=beam_args)
            except Exception as exc:
                failed_in_a_row += 1
                print(
                    f"cycle {cycle}: failed ({type(exc).__name__}: {exc}); "
                    f"{failed_in_a_row} in a row",
                    file=sys.stderr,
                    flush=True,
                )
                if failed_in_a_row >= max_failed_cycles:
                    print("wiredesk: too many failed cycles in a row, stopping", file=sys.stderr)
                    return 1
                if stop.wait(config.poll_interval):
                    break
                continue
            failed_in_a_row = 0
            if due:
                prune_feed_state(output=config.output)
            # Each cycle builds a fresh pipeline and runner: drop their cycles now.
            gc.collect()
            try:
                next_at = _next_poll_times(config.output)
            except Exception:
                next_at = {}
            wait = seconds_until_next_due(
                feed_urls=urls,
                next_poll_at=next_at,
                now=_utcnow(),
                cap=config.poll_interval - (time.monotonic() - started),
            )
            print(progress_line(cycle=cycle, summary=summary, next_in=wait), flush=True)
            if on_cycle is not None:
                on_cycle(cycle, summary)
            if max_cycles is not None and cycle >= max_cycles:
                break
        else:
            wait = seconds_until_next_due(
                feed_urls=urls,
                next_poll_at=next_at,
                now=_utcnow(),
                cap=config.poll_interval - (time.monotonic() - started),
            )
            # Due times are planned to the microsecond; never spin on a tiny remainder.
            wait = max(wait, min(1.0, 0.05 * config.poll_interval))
        if stop.wait(wait):
            break
    return 0
