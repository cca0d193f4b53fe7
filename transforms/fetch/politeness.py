"""Per-host politeness: at most N requests in flight, a gap between starts, Retry-After.

:class:`Politeness` is thread-safe. For each host it keeps a concurrency count,
the time the last request was allowed to start, the crawl-delay learnt from
robots.txt and the end of any Retry-After window. A host's waits happen outside
the global lock, so one slow or rate-limited host never holds up another.

The limits are a promise to the *host*, not to one fetcher: a worker process
runs several fetchers (PollFeeds and FetchArticle each build one, and a runner
may create several instances of each DoFn), and a gate per fetcher would let a
host see the configured concurrency several times over, with starts closer
than the configured delay. :func:`shared_politeness` therefore hands out one
gate per process and configuration, and fetchers built from
:class:`~wiredesk.transforms.fetch.stage_fetcher.FetchSettings` use it. Because the
Retry-After windows and crawl-delays live in the same per-host state, a 429/503
or a ``Crawl-delay`` seen by one stage now also slows every other stage's
requests to that host, which is the point: the host asked *us* to wait.

What happens when a host asks us to wait (Retry-After, crawl-delay, or simply
N requests in flight): a request waits if its turn comes within ``max_wait``
seconds; otherwise it is refused at once with the number of seconds left, and
the fetcher turns that into a ``rate_limited`` reject without sending anything.
That keeps pipeline threads from sleeping for hours behind ``Retry-After: 86400``.

Example::

    >>> from wiredesk.transforms.fetch.politeness import Politeness, Refused
    >>> p = Politeness(concurrency=1, delay=0.0, max_wait=0.0)
    >>> with p.acquire("example.com") as slot:
    ...     isinstance(p.acquire("example.com"), Refused)
    True
    >>> p.note_retry_after("example.com", 120.0)
    >>> p.acquire("example.com").wait > 100
    True
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable
from types import TracebackType

__all__ = [
    "MAX_RETRY_AFTER",
    "Politeness",
    "Refused",
    "Slot",
    "reset_shared_politeness",
    "shared_politeness",
]

#: Longest Retry-After honoured (a day); a larger value is clamped, not ignored.
MAX_RETRY_AFTER = 86400.0


@dataclasses.dataclass(frozen=True)
class Refused:
    """The host cannot be contacted within ``max_wait``; ``wait`` is the seconds left."""

    host: str
    wait: float
    why: str  # "retry_after", "busy" or "delay"


class _HostState:
    __slots__ = ("cond", "in_flight", "next_start", "retry_until", "delay")

    def __init__(self, lock: threading.Lock, delay: float) -> None:
        self.cond = threading.Condition(lock)
        self.in_flight = 0
        self.next_start = float("-inf")
        self.retry_until = float("-inf")
        self.delay = delay


class Slot:
    """Permission to send one request to ``host``; release it when the response is read."""

    def __init__(self, owner: Politeness, host: str) -> None:
        self._owner = owner
        self.host = host
        self._released = False

    def release(self) -> None:
        if not self._released:
            self._released = True
            self._owner._release(self.host)

    def __enter__(self) -> Slot:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


def _limits(concurrency: int, delay: float, max_wait: float) -> tuple[int, float, float]:
    """The limits a :class:`Politeness` actually enforces (also the registry's key)."""
    return max(1, int(concurrency)), max(0.0, float(delay)), max(0.0, float(max_wait))


class Politeness:
    """Thread-safe per-host gate. ``clock``/``sleep`` are injectable for tests."""

    def __init__(
        self,
        *,
        concurrency: int = 2,
        delay: float = 0.0,
        max_wait: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.concurrency, self.delay, self.max_wait = _limits(concurrency, delay, max_wait)
        self._clock = clock
        self._sleep = sleep
        # One lock for the table and all hosts' conditions: held only for
        # bookkeeping, never while sleeping or waiting on the network.
        self._lock = threading.Lock()
        self._hosts: dict[str, _HostState] = {}

    def _state(self, host: str) -> _HostState:
        state = self._hosts.get(host)
        if state is None:
            if len(self._hosts) > 10000:
                self._prune()
            state = _HostState(self._lock, self.delay)
            self._hosts[host] = state
        return state

    def _prune(self) -> None:
        now = self._clock()
        for key in [
            k
            for k, s in self._hosts.items()
            if s.in_flight == 0 and s.next_start < now and s.retry_until < now
        ]:
            del self._hosts[key]

    def set_delay(self, host: str, delay: float) -> None:
        """Raise the gap between requests to ``host`` (e.g. from robots.txt crawl-delay)."""
        with self._lock:
            state = self._state(host)
            state.delay = max(self.delay, float(delay))

    def note_retry_after(self, host: str, seconds: float) -> None:
        """No request to ``host`` may start in the next ``seconds`` (clamped to a day)."""
        seconds = min(max(0.0, float(seconds)), MAX_RETRY_AFTER)
        with self._lock:
            state = self._state(host)
            state.retry_until = max(state.retry_until, self._clock() + seconds)

    def blocked_for(self, host: str) -> float:
        """Seconds left in ``host``'s Retry-After window (0 when none)."""
        with self._lock:
            state = self._hosts.get(host)
            if state is None:
                return 0.0
            return max(0.0, state.retry_until - self._clock())

    def delay_for(self, host: str) -> float:
        """The current minimum gap between request starts to ``host``."""
        with self._lock:
            state = self._hosts.get(host)
            return self.delay if state is None else state.delay

    def in_flight(self, host: str) -> int:
        with self._lock:
            state = self._hosts.get(host)
            return 0 if state is None else state.in_flight

    def acquire(self, host: str) -> Slot | Refused:
        """Wait for a turn at ``host`` (at most ``max_wait`` s) or refuse at once."""
        start = self._clock()
        deadline = start + self.max_wait
        with self._lock:
            state = self._state(host)
            if state.retry_until > deadline:
                return Refused(host, state.retry_until - start, "retry_after")
            while state.in_flight >= self.concurrency:
                left = deadline - self._clock()
                if left <= 0:
                    return Refused(host, 0.0, "busy")
                state.cond.wait(timeout=left)
            now = self._clock()
            begin = max(now, state.next_start, state.retry_until)
            if begin > max(deadline, now):
                return Refused(host, begin - now, "delay")
            # Reserve the start time under the lock: starts stay `delay` apart
            # however many threads queue here.
            state.next_start = begin + state.delay
            state.in_flight += 1
        slot = Slot(self, host)
        try:
            self._wait_until(begin)
        except BaseException:
            slot.release()
            raise
        return slot

    def _wait_until(self, when: float) -> None:
        while True:
            left = when - self._clock()
            if left <= 0:
                return
            self._sleep(left)

    def _release(self, host: str) -> None:
        with self._lock:
            state = self._state(host)
            state.in_flight = max(0, state.in_flight - 1)
            state.cond.notify()


_SHARED: dict[tuple[int, float, float], Politeness] = {}
_SHARED_LOCK = threading.Lock()


def shared_politeness(*, concurrency: int, delay: float, max_wait: float) -> Politeness:
    """The process's one :class:`Politeness` for these limits, created on first use.

    Every fetcher of a worker process that asks with equal limits gets the same
    gate, so a host sees at most ``concurrency`` requests from the whole process
    (not per stage or per DoFn instance), and a Retry-After or crawl-delay noted
    by any of them holds for all (see the module docstring). Different limits get
    different gates: a stage configured more strictly keeps its own promise.
    Only the gate is shared, never a fetcher (those own sockets and threads and
    are closed at teardown). The gate holds no resources, so it lives until exit.
    """
    key = _limits(concurrency, delay, max_wait)
    with _SHARED_LOCK:
        gate = _SHARED.get(key)
        if gate is None:
            gate = _SHARED[key] = Politeness(concurrency=key[0], delay=key[1], max_wait=key[2])
        return gate


def reset_shared_politeness() -> None:
    """Forget every shared gate (tests: one run's Retry-After must not reach the next).

    Fetchers already holding a gate keep it; only later :func:`shared_politeness`
    calls start afresh.
    """
    with _SHARED_LOCK:
        _SHARED.clear()
