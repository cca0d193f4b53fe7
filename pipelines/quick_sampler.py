"""Beam's state sampler, with a period short enough not to hold up the end of each stage.

Every bundle Beam runs has a state sampler: a thread that wakes periodically to charge
the time since its last wake to the step that is running (Beam's msec counters). Its
period grows from 2 ms to 200 ms, and stopping it joins the thread, which first finishes
its current sleep (``statesampler_fast.pyx``: "may have to wait up to sampling_period_ms").
So each stage of a local run ended with a wait of up to 200 ms in which nothing ran: on
the 1,068-page bench 33 stages waited 0.14-0.19 s in all, on the run's serial path (the
stages before the first page is fetched and those after the last is extracted).

Local runs give the sampler a period of :data:`LOCAL_SAMPLING_PERIOD_MS` instead, so a
stage ends at most that long after its work. The thread sleeps without the GIL, so
waking 100 times a second costs nothing measurable. Beam's bundle processor makes its
sampler from the ``statesampler`` module at each bundle, which is where
:func:`use_quick_stop_sampler` puts this class; managed runners keep Beam's own.

Example::

    >>> from apache_beam.utils.counters import CounterFactory
    >>> QuickStopStateSampler("stage", CounterFactory()).sampling_period_ms
    10
"""

from __future__ import annotations

import threading
from typing import Any

from apache_beam.runners.worker import statesampler

__all__ = ["LOCAL_SAMPLING_PERIOD_MS", "QuickStopStateSampler", "use_quick_stop_sampler"]

LOCAL_SAMPLING_PERIOD_MS = 10

_install_lock = threading.Lock()


class QuickStopStateSampler(statesampler.StateSampler):
    """Beam's StateSampler with a default period of :data:`LOCAL_SAMPLING_PERIOD_MS`."""

    def __init__(
        self,
        prefix: str,
        counter_factory: Any,
        sampling_period_ms: int = LOCAL_SAMPLING_PERIOD_MS,
    ) -> None:
        super().__init__(prefix, counter_factory, sampling_period_ms=sampling_period_ms)


def use_quick_stop_sampler() -> None:
    """Make the bundles this process runs from now on use :class:`QuickStopStateSampler`
    (once; later calls change nothing)."""
    with _install_lock:
        if not issubclass(statesampler.StateSampler, QuickStopStateSampler):
            statesampler.StateSampler = QuickStopStateSampler  # type: ignore[misc]
