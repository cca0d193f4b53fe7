"""The writer lease on OUT: one writer at a time, and a crashed writer never blocks forever.

Two runs writing into one OUT each read the state before the other wrote its
own, so each writes every row (three overlapping ``--once`` runs wrote 483 rows
for 161 URLs). A run therefore holds a lease on OUT from before it reads any
state until after its state is written.

The lease is one small JSON record (:class:`LeaseRecord`: holder host, pid and
run id, when it was taken, its last heartbeat) kept in a store that offers one
primitive, a conditional write: *write this record only if the current
generation is still G* (G = 0: only if there is none). Every change goes
through it, so of two writers that saw the same generation exactly one wins:

* acquire: write over "nothing" (0), over a released record, or over a stale
  one (a *takeover*; two waiters that both saw the stale record race on the same
  generation and only one of them wins);
* renew (the heartbeat): write the holder's own generation again with a new
  heartbeat; failing means another writer took the lease over (``lost``);
* release: write a "released" record over the holder's own generation.

A record is stale when its heartbeat is older than ``expires_after`` seconds by
the waiter's clock, or when the waiter itself has seen the same generation
unchanged for that long (a waiter whose clock runs behind still takes over), or
when its holder ran on this host, in this PID namespace, and that process is
gone (a ``kill -9``: taken over at once). A record without ``expires_after``
(a streaming job on a managed runner, which no local process can renew) is
never stale.

The stores:

* :class:`LocalLeaseStore` (a local path): ``OUT/_lease/<generation>.json``,
  one file per generation, each created with ``link(2)`` of a complete
  temporary file, which fails when the name exists (an atomic create with its
  content). The newest generation is the current one; older files are pruned.
* :class:`GcsLeaseStore` (``gs://``): the object ``OUT/_lease/lease.json``,
  written with the google-cloud-storage client's ``if_generation_match``
  precondition (``0``: only if it does not exist); a lost race is the store's
  ``412 PreconditionFailed``. Beam's filesystem API has no preconditions.

Example::

    store = lease_store_for("/tmp/out")
    with WriterLease(store, run_id="r1", mode="once", timing=LeaseTiming(wait_s=300)):
        ...  # read state, write rows, write state
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import importlib
import json
import logging
import os
import re
import socket
import sys
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any, Protocol

__all__ = [
    "FREE_MODE",
    "STREAM_JOB_MODE",
    "GcsLeaseStore",
    "LeaseBusy",
    "LeaseRecord",
    "LeaseStore",
    "LeaseTiming",
    "LocalLeaseStore",
    "WriterLease",
    "lease_store_for",
    "pid_namespace",
]

_LOG = logging.getLogger(__name__)

FREE_MODE = "released"
# A streaming job on a managed runner: marked when submitted, never renewed from here.
STREAM_JOB_MODE = "stream-job"
LEASE_FOLDER = "_lease"


class LeaseBusy(RuntimeError):
    """Another writer holds the lease on OUT (the message is one line: who, since when)."""


class LeaseStore(Protocol):
    """A conditional store for one small record."""

    where: str  # for messages: where the lease lives

    def read(self) -> tuple[int, bytes] | None:
        """(generation, data) of the current record, None when there is none."""
        ...

    def write(self, data: bytes, *, if_generation: int) -> int | None:
        """Write ``data`` only if the current generation is ``if_generation`` (0: none).

        Returns the new generation, or None when the precondition failed."""
        ...


def pid_namespace() -> str:
    """This process's PID namespace ("" when unknown): a pid means a process only within it."""
    try:
        return os.readlink("/proc/self/ns/pid")
    except OSError:
        return ""


def _process_gone(pid: int) -> bool:
    """Whether no process ``pid`` runs here any more (a zombie counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # alive, someone else's
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            # The state follows the command name in parentheses, which may hold spaces.
            return handle.read().rsplit(b")", 1)[1].split()[0] == b"Z"
    except (OSError, IndexError):
        return False


def _iso(seconds: float) -> str:
    return dt.datetime.fromtimestamp(seconds, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclasses.dataclass(frozen=True)
class LeaseRecord:
    """Who holds the lease, since when, and their last sign of life."""

    run_id: str
    mode: str  # "once", "streaming", STREAM_JOB_MODE, or FREE_MODE once released
    host: str
    pid: int
    pid_ns: str
    since: float  # wall clock (seconds) when this holder took the lease
    heartbeat: float  # wall clock of its last renewal
    expires_after: float | None  # seconds without a heartbeat before takeover; None: never
    token: str  # unique per acquisition: tells a holder its own write from another's

    def to_bytes(self) -> bytes:
        return json.dumps(dataclasses.asdict(self), sort_keys=True).encode()

    @classmethod
    def from_bytes(cls, data: bytes, *, fallback_time: float) -> LeaseRecord:
        """Parse a record; an unreadable one is an unknown live holder (never taken at once)."""
        try:
            raw = json.loads(data)
            return cls(
                run_id=str(raw["run_id"]),
                mode=str(raw["mode"]),
                host=str(raw["host"]),
                pid=int(raw["pid"]),
                pid_ns=str(raw.get("pid_ns") or ""),
                since=float(raw["since"]),
                heartbeat=float(raw["heartbeat"]),
                expires_after=None
                if raw.get("expires_after") is None
                else float(raw["expires_after"]),
                token=str(raw["token"]),
            )
        except (ValueError, KeyError, TypeError):
            return cls(
                run_id="?",
                mode="unknown",
                host="?",
                pid=0,
                pid_ns="",
                since=fallback_time,
                heartbeat=fallback_time,
                expires_after=600.0,
                token="?",
            )

    @property
    def free(self) -> bool:
        return self.mode == FREE_MODE

    def dead_here(self, *, host: str, pid_ns: str) -> bool:
        """The holder ran on this host, in this PID namespace, and its process is gone."""
        if self.mode in (FREE_MODE, STREAM_JOB_MODE) or self.pid <= 0:
            return False
        if not pid_ns or self.pid_ns != pid_ns or self.host != host:
            return False
        return _process_gone(self.pid)

    def describe(self, now: float) -> str:
        """One phrase: who holds it and since when."""
        if self.mode == STREAM_JOB_MODE:
            return (
                f"streaming job run {self.run_id} (submitted from {self.host}, pid {self.pid}) "
                f"since {_iso(self.since)}"
            )
        age = max(0.0, now - self.heartbeat)
        return (
            f"run {self.run_id} ({self.mode}, pid {self.pid} on {self.host}) since "
            f"{_iso(self.since)}, last heartbeat {age:.0f} s ago"
        )


class LocalLeaseStore:
    """``OUT/_lease/<generation>.json``: one file per generation, created atomically."""

    _NAME = re.compile(r"^(\d{12})\.json$")

    def __init__(self, output: str) -> None:
        self._folder = os.path.join(output, LEASE_FOLDER)
        self.where = self._folder

    def _generations(self) -> list[int]:
        try:
            names = os.listdir(self._folder)
        except FileNotFoundError:
            return []
        return sorted(int(m.group(1)) for m in map(self._NAME.match, names) if m)

    def _path(self, generation: int) -> str:
        return os.path.join(self._folder, f"{generation:012d}.json")

    def read(self) -> tuple[int, bytes] | None:
        for _ in range(10):
            generations = self._generations()
            if not generations:
                return None
            try:
                with open(self._path(generations[-1]), "rb") as handle:
                    return generations[-1], handle.read()
            except FileNotFoundError:  # pruned by a newer generation meanwhile: list again
                continue
        raise OSError(f"the lease in {self._folder} changes too fast to read")

    def write(self, data: bytes, *, if_generation: int) -> int | None:
        os.makedirs(self._folder, exist_ok=True)
        target = if_generation + 1
        if not self._create(self._path(target), data):
            return None
        # Generation files below an older pruned one may be created again by a writer that
        # read long ago; such a file is never the newest, so it loses here.
        generations = self._generations()
        if not generations or generations[-1] != target:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self._path(target))
            return None
        for old in self._generations():
            if old < target - 1:  # the previous one stays, for a reader that just listed
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(self._path(old))
        return target

    def _create(self, path: str, data: bytes) -> bool:
        """Create ``path`` holding ``data`` only if it does not exist; False if it does."""
        # Not ".tmp-": run.py removes stale ".tmp-*" files under OUT after each run.
        temporary = os.path.join(self._folder, f".lease-{uuid.uuid4().hex}")
        with open(temporary, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(temporary, path)  # fails if path exists; readers see it whole or not at all
            return True
        except FileExistsError:
            return False
        except OSError:
            # No hard links here (some network or FUSE filesystems): an exclusive create.
            # A reader may then meet a half-written record: it reads as an unknown live holder.
            try:
                fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                return False
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            return True
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)


class GcsLeaseStore:
    """``gs://bucket/OUT/_lease/lease.json``, written with generation-match preconditions."""

    def __init__(self, output: str, *, client: Any | None = None) -> None:
        bucket, _, prefix = output[len("gs://") :].partition("/")
        prefix = prefix.strip("/")
        self._bucket_name = bucket
        self._name = (
            f"{prefix}/{LEASE_FOLDER}/lease.json" if prefix else f"{LEASE_FOLDER}/lease.json"
        )
        self._client = client
        self.where = f"gs://{bucket}/{self._name}"

    def _bucket(self) -> Any:
        if self._client is None:
            # apache-beam[gcp] brings google-cloud-storage (imported by name: it ships no
            # type information mypy can follow through the google.cloud namespace).
            storage = importlib.import_module("google.cloud.storage")
            self._client = storage.Client()
        return self._client.bucket(self._bucket_name)

    def read(self) -> tuple[int, bytes] | None:
        from google.api_core.exceptions import NotFound, PreconditionFailed

        bucket = self._bucket()
        for _ in range(10):
            blob = bucket.get_blob(self._name)
            if blob is None:
                return None
            generation = int(blob.generation)
            try:
                # The same generation as listed, or the read starts over: never a mix.
                data = blob.download_as_bytes(if_generation_match=generation)
            except (NotFound, PreconditionFailed):
                continue
            return generation, data
        raise OSError(f"the lease {self.where} changes too fast to read")

    def write(self, data: bytes, *, if_generation: int) -> int | None:
        from google.api_core.exceptions import PreconditionFailed

        blob = self._bucket().blob(self._name)
        try:
            blob.upload_from_string(
                data, content_type="application/json", if_generation_match=if_generation
            )
        except PreconditionFailed:
            return None
        return int(blob.generation)


def lease_store_for(output: str, *, gcs_client: Any | None = None) -> LeaseStore | None:
    """The lease store of OUT; None for a filesystem without a conditional create."""
    if output.startswith("gs://"):
        return GcsLeaseStore(output, client=gcs_client)
    if output.startswith("file://"):
        return LocalLeaseStore(output[len("file://") :])
    if "://" in output:
        return None
    return LocalLeaseStore(output)


@dataclasses.dataclass(frozen=True)
class LeaseTiming:
    """How often a holder renews, when its lease goes stale, how long a newcomer waits."""

    heartbeat_s: float = 15.0
    expires_after_s: float | None = 60.0  # None: never stale (a streaming job's mark)
    wait_s: float = 0.0
    poll_s: float = 1.0  # how often a waiting writer looks again


def _stderr(line: str) -> None:
    print(f"wiredesk: {line}", file=sys.stderr, flush=True)


class WriterLease:
    """Acquire, renew in a heartbeat thread, release: the lease of one writer.

    Used as a context manager: ``__enter__`` acquires (waiting up to
    ``timing.wait_s``, else :class:`LeaseBusy`) and starts the heartbeat,
    ``__exit__`` stops it and releases. ``lost`` tells whether another writer
    took the lease over meanwhile (this holder stopped renewing for longer than
    ``expires_after``); ``on_lost`` is called once when that is noticed.
    """

    def __init__(
        self,
        store: LeaseStore,
        *,
        run_id: str,
        mode: str,
        timing: LeaseTiming,
        on_lost: Callable[[str], None] | None = None,
        say: Callable[[str], None] = _stderr,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._run_id = run_id
        self._mode = mode
        self._timing = timing
        self._on_lost = on_lost
        self._say = say
        self._clock = clock
        self._host = socket.gethostname()
        self._pid_ns = pid_namespace()
        self._record: LeaseRecord | None = None
        self._generation = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.lost = False
        self.lost_to = ""
        self.taken_over_from: LeaseRecord | None = None

    @property
    def record(self) -> LeaseRecord | None:
        return self._record

    def _parse(self, data: bytes) -> LeaseRecord:
        return LeaseRecord.from_bytes(data, fallback_time=self._clock())

    def _new_record(self) -> LeaseRecord:
        now = self._clock()
        return LeaseRecord(
            run_id=self._run_id,
            mode=self._mode,
            host=self._host,
            pid=os.getpid(),
            pid_ns=self._pid_ns,
            since=now,
            heartbeat=now,
            expires_after=self._timing.expires_after_s,
            token=uuid.uuid4().hex,
        )

    def _conditional_write(self, record: LeaseRecord, if_generation: int) -> int | None:
        """Write ``record`` over ``if_generation``; a write of ours that landed although
        the store reported otherwise (a retried upload meeting itself) is recognised by
        its bytes, which hold this acquisition's token and this heartbeat."""
        data = record.to_bytes()
        generation = self._store.write(data, if_generation=if_generation)
        if generation is not None:
            return generation
        current = self._store.read()
        if current is not None and current[1] == data:
            return current[0]
        return None

    def _stale(self, record: LeaseRecord, seen_for: float) -> bool:
        if record.free:
            return True
        if record.dead_here(host=self._host, pid_ns=self._pid_ns):
            return True
        if record.expires_after is None:
            return False
        return (
            self._clock() - record.heartbeat > record.expires_after
            or seen_for > record.expires_after
        )

    def acquire(self) -> None:
        """Take the lease, waiting up to ``timing.wait_s``; raise LeaseBusy if it stays held."""
        deadline = time.monotonic() + self._timing.wait_s
        first_seen: dict[int, float] = {}  # generation -> when this waiter first saw it
        announced = False
        while True:
            current = self._store.read()
            holder: LeaseRecord | None = None
            if current is None:
                generation = 0
            else:
                generation, data = current
                holder = self._parse(data)
                seen_for = time.monotonic() - first_seen.setdefault(generation, time.monotonic())
                if not self._stale(holder, seen_for):
                    # A streaming job's mark never expires: waiting for it is pointless.
                    if time.monotonic() >= deadline or holder.mode == STREAM_JOB_MODE:
                        raise LeaseBusy(self._busy_message(holder))
                    if not announced:
                        self._say(
                            f"waiting up to {self._timing.wait_s:.0f} s for the writer lease "
                            f"({self._store.where}): held by {holder.describe(self._clock())}"
                        )
                        announced = True
                    time.sleep(max(0.0, min(self._timing.poll_s, deadline - time.monotonic())))
                    continue
            record = self._new_record()
            written = self._conditional_write(record, generation)
            if written is None:
                continue  # another writer changed it first: look again
            self._record, self._generation = record, written
            if holder is not None and not holder.free:
                self.taken_over_from = holder
                self._say(
                    f"took over the writer lease ({self._store.where}) from "
                    f"{holder.describe(self._clock())}; its unfinished files are read back"
                )
            return

    def _busy_message(self, holder: LeaseRecord) -> str:
        now = self._clock()
        if holder.mode == STREAM_JOB_MODE:
            return (
                f"OUT is owned by {holder.describe(now)}: a batch run beside it would write "
                f"rows twice; drain the job, then delete {self._store.where} to write here"
            )
        waited = f"after waiting {self._timing.wait_s:.0f} s" if self._timing.wait_s else "at once"
        return (
            f"OUT is being written by {holder.describe(now)}; stopping {waited} "
            f"(--wait-for-lock SECONDS waits longer)"
        )

    def renew(self) -> bool:
        """One heartbeat. False once the lease is lost to another writer."""
        with self._lock:
            if self.lost or self._record is None:
                return not self.lost
            record = dataclasses.replace(self._record, heartbeat=self._clock())
            written = self._conditional_write(record, self._generation)
            if written is None:
                current = self._store.read()
                holder = self._parse(current[1]) if current else None
                self.lost = True
                self.lost_to = holder.describe(self._clock()) if holder else "nobody"
            else:
                self._record, self._generation = record, written
                return True
        _LOG.error("lost the writer lease on OUT to %s", self.lost_to)
        if self._on_lost is not None:
            self._on_lost(self.lost_to)
        return False

    def _beat(self) -> None:
        while not self._stop.wait(self._timing.heartbeat_s):
            try:
                if not self.renew():
                    return
            except Exception as exc:  # a store hiccup: the next beat tries again
                _LOG.warning("could not renew the writer lease: %s", exc)

    def start_heartbeat(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._beat, name="wiredesk-lease", daemon=True)
        self._thread.start()

    def stop_heartbeat(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def release(self) -> None:
        """Mark the lease free (only if it is still ours)."""
        with self._lock:
            if self._record is None or self.lost:
                return
            released = dataclasses.replace(self._record, mode=FREE_MODE, heartbeat=self._clock())
            if self._conditional_write(released, self._generation) is None:
                self.lost = True
            self._record = None

    def keep(self) -> None:
        """Leave the record as it is when the context ends (a streaming job's mark)."""
        self.stop_heartbeat()
        with self._lock:
            self._record = None

    def __enter__(self) -> WriterLease:
        self.acquire()
        if self._timing.expires_after_s is not None:
            self.start_heartbeat()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_heartbeat()
        try:
            self.release()
        except Exception as err:  # it then expires like a crashed holder's
            _LOG.warning("could not release the writer lease: %s", err)
