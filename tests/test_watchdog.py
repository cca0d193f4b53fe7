"""The fetcher's socket deadlines: one thread per process fires every due watchdog."""

from __future__ import annotations

import os
import socket
import threading
import time

import pytest

from wiredesk.transforms.fetch import watchdog as watchdog_module
from wiredesk.transforms.fetch.watchdog import DeadlineKeeper, Watchdog, default_keeper


def _deadline_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "wiredesk-deadlines"]


def _blocked_recv(sock: socket.socket) -> tuple[bytes | None, float]:
    """What a recv that nobody answers returns once the socket is shut down, and when."""
    start = time.monotonic()
    sock.settimeout(10)
    try:
        data: bytes | None = sock.recv(100)
    except OSError:
        data = None
    return data, time.monotonic() - start


def test_a_due_watchdog_unblocks_a_waiting_recv() -> None:
    ours, theirs = socket.socketpair()
    with ours, theirs:
        dog = Watchdog(0.2, keeper=DeadlineKeeper())
        dog.attach(ours)
        data, waited = _blocked_recv(ours)
        assert dog.fired
        assert not data  # b"" (shut down) or an error, never a hang
        assert 0.1 < waited < 5


def test_a_cancelled_watchdog_leaves_the_socket_alone() -> None:
    keeper = DeadlineKeeper()
    ours, theirs = socket.socketpair()
    with ours, theirs:
        dog = Watchdog(0.1, keeper=keeper)
        dog.attach(ours)
        dog.cancel()
        dog.cancel()  # idempotent
        time.sleep(0.3)
        assert not dog.fired
        theirs.sendall(b"still open")
        assert ours.recv(100) == b"still open"
        dog.fire()  # a late firing after cancel changes nothing
        assert not dog.fired


def test_attaching_after_the_deadline_shuts_the_socket_at_once() -> None:
    keeper = DeadlineKeeper()
    dog = Watchdog(0.0, keeper=keeper)
    for _ in range(200):
        if dog.fired:
            break
        time.sleep(0.01)
    assert dog.fired
    ours, theirs = socket.socketpair()
    with ours, theirs:
        dog.attach(ours)
        data, waited = _blocked_recv(ours)
        assert not data and waited < 5


def test_a_detached_socket_survives_its_watchdog() -> None:
    """A kept connection is detached before it serves another request."""
    ours, theirs = socket.socketpair()
    with ours, theirs:
        dog = Watchdog(0.1, keeper=DeadlineKeeper())
        dog.attach(ours)
        dog.detach()
        time.sleep(0.3)
        assert dog.fired  # the deadline passed ...
        theirs.sendall(b"x")
        assert ours.recv(1) == b"x"  # ... but the socket was not ours to shut any more


def test_an_earlier_deadline_armed_later_wakes_the_sleeping_thread() -> None:
    keeper = DeadlineKeeper()
    late = Watchdog(60.0, keeper=keeper)  # the thread now sleeps towards 60 s
    time.sleep(0.05)
    early = Watchdog(0.1, keeper=keeper)
    start = time.monotonic()
    while not early.fired and time.monotonic() - start < 5:
        time.sleep(0.01)
    assert early.fired and not late.fired
    late.cancel()


def test_many_requests_share_one_thread() -> None:
    keeper = DeadlineKeeper()
    before = len(_deadline_threads())
    dogs = [Watchdog(30.0, keeper=keeper) for _ in range(300)]
    assert len(_deadline_threads()) == before + 1
    for dog in dogs:
        dog.cancel()
    assert not any(dog.fired for dog in dogs)


class _FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_due_pops_what_is_due_in_deadline_order_and_skips_cancelled() -> None:
    clock = _FakeClock()
    keeper = DeadlineKeeper(clock=clock)
    keeper._thread = threading.current_thread()  # no firing thread: _due is driven here
    dogs = [Watchdog(s, keeper=keeper) for s in (5.0, 1.0, 3.0, 2.0, 4.0)]
    dogs[2].cancel()  # the 3 s one
    clock.now += 3.5
    due, wait = keeper._due()
    assert due == [dogs[1], dogs[3]]  # 1 s, 2 s; the cancelled 3 s one dropped
    assert wait == pytest.approx(0.5)  # to the 4 s one
    assert keeper.pending() == 2
    clock.now += 10
    due, wait = keeper._due()
    assert due == [dogs[4], dogs[0]] and wait is None and keeper.pending() == 0


def test_cancelled_entries_are_compacted_away() -> None:
    keeper = DeadlineKeeper(clock=_FakeClock())
    keeper._thread = threading.current_thread()
    live = Watchdog(100.0, keeper=keeper)  # on top: cancelled ones never reach the top
    dogs = [Watchdog(200.0 + i, keeper=keeper) for i in range(2000)]
    for dog in dogs:
        dog.cancel()
    assert keeper.pending() <= 2 * watchdog_module._COMPACT_AT + 1
    assert not live.cancelled


def test_the_process_keeper_is_one_and_a_forked_child_makes_its_own() -> None:
    assert default_keeper() is default_keeper()
    Watchdog(30.0).cancel()  # the parent's thread runs
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through the pipe
        try:
            ours, theirs = socket.socketpair()
            dog = Watchdog(0.1)
            dog.attach(ours)
            data, _ = _blocked_recv(ours)
            ok = dog.fired and not data and default_keeper() is not None
            os.write(write_end, b"1" if ok else b"0")
        finally:
            os._exit(0)
    os.close(write_end)
    try:
        assert os.read(read_end, 1) == b"1"
    finally:
        os.close(read_end)
        os.waitpid(pid, 0)
