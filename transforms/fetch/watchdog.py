"""Socket deadlines kept by one thread per process, not one thread per request.

A fetch's total deadline is enforced by shutting its socket down when the deadline
passes, which unblocks any ``recv``/``send`` on it, however a server drips or stalls.
Each request used to start a ``threading.Timer`` for that: a new thread per request,
~80 microseconds of CPU to start and end, plus the GIL hand-offs of its start, in the
process that also runs Beam. Almost no deadline ever fires, so here every
:class:`Watchdog` is an entry in one heap, and a single daemon thread sleeps until the
earliest live deadline.

Example::

    import socket
    from wiredesk.transforms.fetch.watchdog import Watchdog

    sock = socket.create_connection(("127.0.0.1", 8080))
    dog = Watchdog(20.0)   # armed: at 20 s from now the socket is shut down
    dog.attach(sock)
    try:
        sock.sendall(b"GET / HTTP/1.0\\r\\n\\r\\n"); sock.recv(65536)
    finally:
        dog.cancel()       # the deadline no longer applies
    print(dog.fired)
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import os
import socket
import threading
import time
from collections.abc import Callable

__all__ = ["DeadlineKeeper", "Watchdog", "default_keeper"]

# Cancelled entries stay in the heap until they reach its top; beyond this many (and
# half the heap), the heap is rebuilt without them, so memory follows live requests.
_COMPACT_AT = 256


class Watchdog:
    """Shuts a socket down at the deadline, which unblocks any recv/send on it.

    Armed at creation, ``seconds`` from now (0 or less: at once). ``fired`` tells a
    request that its failure was the deadline's doing.
    """

    def __init__(self, seconds: float, *, keeper: DeadlineKeeper | None = None) -> None:
        self.fired = False
        self.cancelled = False
        self._lock = threading.Lock()
        self._sock: socket.socket | None = None
        self._keeper = keeper or default_keeper()
        self._keeper.arm(self, seconds)

    def _shutdown(self) -> None:
        if self._sock is not None:
            with contextlib.suppress(OSError):  # already closed: nothing to unblock
                self._sock.shutdown(socket.SHUT_RDWR)

    def fire(self) -> None:
        """The deadline passed (called by the keeper; a cancelled watchdog ignores it)."""
        with self._lock:
            if self.cancelled:
                return
            self.fired = True
            self._shutdown()

    def attach(self, sock: socket.socket) -> None:
        with self._lock:
            self._sock = sock
            if self.fired:
                self._shutdown()

    def detach(self) -> None:
        """Let go of the socket: firing later leaves it alone (it may serve another
        request by then)."""
        with self._lock:
            self._sock = None

    def cancel(self) -> None:
        """The request is over: the deadline no longer applies. Idempotent."""
        with self._lock:
            if self.cancelled:
                return
            self.cancelled = True
            self._sock = None
        self._keeper.forget()


class DeadlineKeeper:
    """A heap of armed watchdogs and the one thread that fires them when due.

    The thread starts with the first watchdog and then sleeps until the earliest
    deadline that was live when it last looked; a cancelled entry is dropped when it
    reaches the top. ``clock`` is monotonic seconds.
    """

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._cond = threading.Condition(threading.Lock())
        self._heap: list[tuple[float, int, Watchdog]] = []
        self._order = itertools.count()
        self._cancelled = 0
        self._thread: threading.Thread | None = None

    def arm(self, dog: Watchdog, seconds: float) -> None:
        due = self._clock() + max(0.0, seconds)
        with self._cond:
            heapq.heappush(self._heap, (due, next(self._order), dog))
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="wiredesk-deadlines", daemon=True
                )
                self._thread.start()
            elif self._heap[0][2] is dog:
                self._cond.notify()  # earlier than what the thread sleeps towards

    def forget(self) -> None:
        """One armed watchdog was cancelled (its entry is dropped lazily)."""
        with self._cond:
            self._cancelled += 1
            if self._cancelled > _COMPACT_AT and self._cancelled * 2 > len(self._heap):
                self._heap = [entry for entry in self._heap if not entry[2].cancelled]
                heapq.heapify(self._heap)
                self._cancelled = 0

    def pending(self) -> int:
        """Entries in the heap, cancelled ones not yet dropped included (for tests)."""
        with self._cond:
            return len(self._heap)

    def _due(self) -> tuple[list[Watchdog], float | None]:
        """Pop what is due or cancelled; the seconds to the next live deadline."""
        now = self._clock()
        due: list[Watchdog] = []
        while self._heap:
            when, _, dog = self._heap[0]
            if dog.cancelled:
                heapq.heappop(self._heap)
                self._cancelled = max(0, self._cancelled - 1)
            elif when <= now:
                heapq.heappop(self._heap)
                due.append(dog)
            else:
                return due, when - now
        return due, None

    def _run(self) -> None:
        while True:
            with self._cond:
                due, wait = self._due()
                if not due:
                    self._cond.wait(wait)
                    continue
            for dog in due:  # outside the heap's lock: firing shuts a socket down
                dog.fire()


_KEEPER: DeadlineKeeper | None = None
_KEEPER_LOCK = threading.Lock()


def default_keeper() -> DeadlineKeeper:
    """This process's keeper (a forked child makes its own: threads do not fork)."""
    global _KEEPER
    if _KEEPER is None:
        with _KEEPER_LOCK:
            if _KEEPER is None:
                _KEEPER = DeadlineKeeper()
    return _KEEPER


def _forget_parent_keeper() -> None:
    global _KEEPER, _KEEPER_LOCK
    _KEEPER = None
    _KEEPER_LOCK = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_parent_keeper)
