"""Idle HTTP connections kept for the next request to the same checked address.

A feed lists many pages of one outlet, and opening a connection for each of them costs
a TCP handshake, for HTTPS a TLS handshake too (round trips the per-host limit makes the
pages wait for, and CPU in the run process), and the outlet a connection it must accept
each time. :class:`~wiredesk.transforms.fetch.http_client.SafeFetcher` hands a
connection whose response it read to the end back here, and takes it again for the next
request to the same scheme, host name, port and *checked IP address*. Every request still
passes the address guard, robots.txt and the per-host limit first; only the socket is
reused, and only to the address that was just checked again.

A connection is never handed out when it has been idle longer than ``max_idle_s``, or
when its socket is readable while idle (the server closed it, or sent something nobody
asked for). A server may still close one at the moment it is reused: the fetcher then
asks once more on a new connection.

Example:
    >>> class Conn:
    ...     is_connected = True
    ...     def close(self):
    ...         self.is_connected = False
    >>> now = [0.0]
    >>> idle = IdleConnections(max_idle_s=10, per_key=1, total=8, clock=lambda: now[0])
    >>> first, second = Conn(), Conn()
    >>> idle.give(("http", "a.example", "192.0.2.1", 80), first)
    >>> idle.give(("http", "a.example", "192.0.2.1", 80), second)  # over per_key: closed
    >>> second.is_connected, len(idle)
    (False, 1)
    >>> idle.take(("http", "a.example", "192.0.2.1", 80)) is first
    True
    >>> idle.give(("http", "a.example", "192.0.2.1", 80), first)
    >>> now[0] = 11.0
    >>> idle.take(("http", "a.example", "192.0.2.1", 80)) is None  # idle too long: closed
    True
    >>> idle.give(("http", "b.example", "192.0.2.2", 80), Conn())
    >>> now[0] = 30.0
    >>> idle.give(("http", "c.example", "192.0.2.3", 80), Conn())  # b's is closed now
    >>> len(idle)
    1
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Hashable, Iterable
from typing import Generic, Protocol, TypeVar

__all__ = ["Connection", "IdleConnections"]


class Connection(Protocol):
    """What the store needs of a connection (urllib3's HTTP(S)Connection has it)."""

    @property
    def is_connected(self) -> bool: ...

    def close(self) -> None: ...


_Conn = TypeVar("_Conn", bound=Connection)


class IdleConnections(Generic[_Conn]):
    """Thread-safe store of idle connections by key, newest first, bounded per key and
    in total; whatever it will not keep, it closes."""

    def __init__(
        self,
        *,
        max_idle_s: float,
        per_key: int,
        total: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._max_idle_s = max_idle_s
        self._per_key = max(1, per_key)
        self._total = max(1, total)
        self._clock = clock
        self._lock = threading.Lock()
        # key -> [(idle since, connection)], oldest first
        self._idle: dict[Hashable, list[tuple[float, _Conn]]] = {}
        self._count = 0

    def __len__(self) -> int:
        with self._lock:
            return self._count

    def take(self, key: Hashable) -> _Conn | None:
        """The newest usable idle connection for ``key``, or None."""
        stale: list[_Conn] = []
        found: _Conn | None = None
        with self._lock:
            entries = self._idle.get(key)
            now = self._clock()
            while entries and found is None:
                since, conn = entries.pop()
                self._count -= 1
                if now - since <= self._max_idle_s and _alive(conn):
                    found = conn
                else:
                    stale.append(conn)
            if entries is not None and not entries:
                del self._idle[key]
        _close_all(stale)
        return found

    def give(self, key: Hashable, conn: _Conn) -> None:
        """Keep ``conn`` for the next request to ``key``, or close it."""
        dropped: list[_Conn] = []
        with self._lock:
            # Connections nobody asked for within max_idle_s go now, not when (if ever)
            # their host is asked for again: a long streaming run visits many hosts once.
            dropped.extend(self._pop_expired())
            entries = self._idle.setdefault(key, [])
            if len(entries) >= self._per_key:
                dropped.append(conn)
            else:
                entries.append((self._clock(), conn))
                self._count += 1
                while self._count > self._total:
                    dropped.append(self._pop_oldest())
            if not entries:
                del self._idle[key]
        _close_all(dropped)

    def close(self) -> None:
        """Close every idle connection."""
        with self._lock:
            every = [conn for entries in self._idle.values() for _, conn in entries]
            self._idle.clear()
            self._count = 0
        _close_all(every)

    def _pop_expired(self) -> list[_Conn]:
        oldest_kept = self._clock() - self._max_idle_s
        expired: list[_Conn] = []
        for key in list(self._idle):
            entries = self._idle[key]
            while entries and entries[0][0] < oldest_kept:
                expired.append(entries.pop(0)[1])
                self._count -= 1
            if not entries:
                del self._idle[key]
        return expired

    def _pop_oldest(self) -> _Conn:
        oldest_key = min(self._idle, key=lambda k: self._idle[k][0][0])
        entries = self._idle[oldest_key]
        _, conn = entries.pop(0)
        if not entries:
            del self._idle[oldest_key]
        self._count -= 1
        return conn


def _alive(conn: Connection) -> bool:
    try:
        return bool(conn.is_connected)
    except Exception:  # a socket that cannot even be polled is no use
        return False


def _close_all(conns: Iterable[Connection]) -> None:
    for conn in conns:
        with contextlib.suppress(Exception):
            conn.close()
