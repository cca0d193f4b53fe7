"""The writer lease around each kind of run into OUT (transforms/io/lease.py).

* ``--once`` (any runner whose job this process waits for): the lease is held
  from before the graph reads any state until its state is written, renewed
  every ``--lease-heartbeat`` seconds; a second writer waits ``--wait-for-lock``
  seconds (default 300) and then stops with exit code 75.
* local ``--streaming``: one lease for the whole loop, across cycles; a second
  writer is refused at once (``--wait-for-lock`` defaults to 0).
* ``--streaming`` on a managed runner: the job runs after this process has gone,
  so nothing here can renew a lease for it. Submitting it marks OUT as owned by
  the streaming job (a record that never expires), and every other writer is
  refused until the mark is deleted after the job is drained.
* a batch job launched from the Flex Template: the launcher exits when the job
  is submitted, so it can only check that no other writer holds OUT.

A ``--dry_run`` submits nothing and takes no lease.

Example::

    with writer_lease(config, mode="once", beam_args=args) as lease:
        summary = run_cycle(config=config, feeds=feeds, beam_args=args)
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import logging
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol

from apache_beam.options.pipeline_options import PipelineOptions, TestOptions

from wiredesk.pipelines.options import RunConfig
from wiredesk.transforms.io.lease import (
    STREAM_JOB_MODE,
    LeaseTiming,
    WriterLease,
    lease_store_for,
)

__all__ = [
    "EXIT_LEASE_BUSY",
    "LEASE_EXPIRY_HEARTBEATS",
    "check_no_other_writer",
    "holding_writer_lease",
    "stream_job_mark",
    "writer_lease",
]

_LOG = logging.getLogger(__name__)

EXIT_LEASE_BUSY = 75  # EX_TEMPFAIL: another writer holds OUT; try again later
LEASE_EXPIRY_HEARTBEATS = 4  # a lease not renewed for this many heartbeats is taken over
_DEFAULT_WAIT = {"once": 300.0, "streaming": 0.0, STREAM_JOB_MODE: 0.0}


def is_dry_run(beam_args: Sequence[str]) -> bool:
    """Whether the runner will submit nothing: read as Beam reads it (any value is true)."""
    if not any(arg.startswith("--dry_run") for arg in beam_args):
        return False
    return bool(PipelineOptions(list(beam_args)).view_as(TestOptions).dry_run)


def _timing(config: RunConfig, mode: str) -> LeaseTiming:
    wait = config.wait_for_lock if config.wait_for_lock is not None else _DEFAULT_WAIT[mode]
    heartbeat = config.lease_heartbeat
    return LeaseTiming(
        heartbeat_s=heartbeat,
        expires_after_s=None if mode == STREAM_JOB_MODE else LEASE_EXPIRY_HEARTBEATS * heartbeat,
        wait_s=wait,
        poll_s=min(1.0, heartbeat),
    )


def _no_lease_warning(output: str) -> None:
    scheme = output.split("://", 1)[0]
    print(
        f"wiredesk: no writer lease on {scheme}:// (no conditional create there): "
        "make sure only one run writes into this OUT at a time",
        file=sys.stderr,
        flush=True,
    )


@contextlib.contextmanager
def writer_lease(
    config: RunConfig,
    *,
    mode: str,
    beam_args: Sequence[str] = (),
    on_lost: Callable[[str], None] | None = None,
) -> Iterator[WriterLease | None]:
    """Hold the writer lease on ``config.output`` for the block (None: no lease taken).

    Raises :class:`LeaseBusy` when another writer still holds it after the wait."""
    store = None if is_dry_run(beam_args) else lease_store_for(config.output)
    if store is None:
        if not is_dry_run(beam_args):
            _no_lease_warning(config.output)
        yield None
        return
    lease = WriterLease(
        store, run_id=config.run_id, mode=mode, timing=_timing(config, mode), on_lost=on_lost
    )
    with lease:
        yield lease


@contextlib.contextmanager
def stream_job_mark(config: RunConfig, *, beam_args: Sequence[str] = ()) -> Iterator[None]:
    """Mark OUT as owned by the streaming job submitted in the block (kept on success)."""
    with writer_lease(config, mode=STREAM_JOB_MODE, beam_args=beam_args) as lease:
        yield
        if lease is not None:
            lease.keep()


def check_no_other_writer(config: RunConfig, *, beam_args: Sequence[str] = ()) -> None:
    """Raise LeaseBusy when a live writer (or a streaming job) holds OUT; hold nothing.

    The check takes the lease without waiting and gives it back at once, so it
    follows the rules a waiting writer follows (a crashed holder's lease is free)."""
    timing = dataclasses.replace(_timing(config, "once"), wait_s=0.0)
    store = None if is_dry_run(beam_args) else lease_store_for(config.output)
    if store is None:
        return
    with WriterLease(store, run_id=config.run_id, mode="once", timing=timing):
        pass


class _Stop(Protocol):
    def set(self) -> None: ...


def holding_writer_lease(
    new_stop: Callable[[], Any],
) -> Callable[[Callable[..., int]], Callable[..., int]]:
    """Decorate the local streaming loop: one lease around all its cycles.

    When the lease is lost (this process stalled past its expiry and another writer
    took OUT over), the loop is stopped after the cycle in flight, and exits 1.
    """

    def decorate(loop: Callable[..., int]) -> Callable[..., int]:
        @functools.wraps(loop)
        def run(*, config: RunConfig, beam_args: Sequence[str] = (), **kwargs: Any) -> int:
            stop: _Stop = kwargs.pop("stop", None) or new_stop()

            def lost(to: str) -> None:
                print(
                    f"wiredesk: lost the writer lease on OUT to {to}; stopping after this cycle",
                    file=sys.stderr,
                    flush=True,
                )
                stop.set()

            with writer_lease(config, mode="streaming", beam_args=beam_args, on_lost=lost) as lease:
                code = loop(config=config, beam_args=beam_args, stop=stop, **kwargs)
            return 1 if lease is not None and lease.lost else code

        return run

    return decorate
