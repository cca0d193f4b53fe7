"""Run the per-page work in a small pool of worker processes, each page under a deadline.

The work is :func:`process_page` on a fetched page (extraction, enrichment, content hash
and sketch, in one pass: :meth:`ExtractorPool.process_many`), or :func:`extract_page`
alone on an ``(html, url)`` pair (:meth:`ExtractorPool.extract_many`).

trafilatura and lxml can spend minutes on a pathological page (a few MB of short paragraphs
take over a minute) or grow without bound; a thread cannot be stopped, a process can. Each
worker process:

- is started lazily from the "forkserver" (or "spawn") context, never by ``fork`` (forking a
  multithreaded Beam worker can deadlock), with trafilatura preloaded, so a replacement
  costs milliseconds;
- runs with ``RLIMIT_AS`` capped, so a memory blow-up fails inside the worker
  (``extract_error``) instead of taking the machine down;
- is killed and replaced when its page passes the deadline (``extract_timeout``) or when it
  dies (``extract_error``); the rest of the batch carries on.

The pool is thread-safe: several threads may call :meth:`ExtractorPool.extract_many` at
once; each checks workers out of the shared set and spreads its batch over them.

Example:
    >>> from wiredesk.transforms.extract.pool import ExtractorPool, PoolConfig
    >>> html = ("<html><body><article><p>" + "Markets rallied on Monday as bonds fell. " * 10
    ...         + "</p></article></body></html>")
    >>> with ExtractorPool(PoolConfig(workers=1, timeout_s=30)) as pool:
    ...     [type(r).__name__ for r in pool.extract_many([(html, None), ("", None)])]
    ['ExtractedPage', 'ExtractError']
"""

from __future__ import annotations

import dataclasses
import logging
import multiprocessing
import multiprocessing.connection
import os
import re
import signal
import threading
import time
import weakref
from collections.abc import Iterable
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

from wiredesk.schemas.records import Article, FetchedPage, Reject, RejectReason
from wiredesk.transforms.extract.forkserver import FORKSERVER_PRELOAD
from wiredesk.transforms.extract.page import (
    DEFAULT,
    ExtractConfig,
    ExtractedPage,
    ExtractError,
    extract_page,
)
from wiredesk.transforms.extract.page_pass import process_page

__all__ = ["FORKSERVER_PRELOAD", "ExtractorPool", "PoolConfig"]

LOGGER = logging.getLogger(__name__)

# Test hooks (honoured only by a pool built with _test_hooks=True): a page containing one of
# these markers makes the worker hang (first writing its pid to the file named by
# ``ready=PATH``, if given), or allocate past its memory cap.
TEST_HANG_MARKER = "<!--wiredesk-test:hang-->"
TEST_ALLOC_MARKER = "<!--wiredesk-test:alloc-->"
_TEST_HANG_RE = re.compile(r"<!--wiredesk-test:hang(?: ready=(\S+))?-->")


_WARM_UP_HTML = (
    '<html lang="en"><head><title>Warm-up | Example</title>'
    '<meta property="article:published_time" content="2024-01-02T03:04:05Z">'
    '<script type="application/ld+json">{"@context": "https://schema.org", '
    '"@type": "NewsArticle", "author": {"@type": "Person", "name": "A Writer"}}</script>'
    "</head><body><article><h1>Warm-up</h1>"
    + "<p>This paragraph only primes the extractor's lazy state in a new worker.</p>" * 6
    + "</article></body></html>"
)


@dataclasses.dataclass(frozen=True)
class PoolConfig:
    """How many workers, how long a page may take, how much memory a worker may map."""

    workers: int | None = None  # None: os.cpu_count()
    timeout_s: float = 20.0  # wall clock per page; typical pages take 10-50 ms
    # Address-space cap per worker (RLIMIT_AS). An idle worker maps about 200 MB; the
    # largest pages we met need a few hundred MB more. None: no cap.
    memory_limit_bytes: int | None = 2 * 1024**3
    start_method: str = "forkserver"  # or "spawn"; never "fork" (threads in the parent)
    max_pages_per_worker: int = 5000  # recycle workers, bounding slow leaks/fragmentation
    start_timeout_s: float = 60.0  # a new worker must be ready (imports, warm-up) by then
    extract: ExtractConfig = DEFAULT


def _worker_main(
    conn: Connection, memory_limit: int | None, config: ExtractConfig, test_hooks: bool
) -> None:
    """Worker loop: receive ``(job, kind, payload)``, send ``(job, result)``; ``None`` stops.

    ``kind`` is ``"page"`` (a FetchedPage: :func:`process_page`) or ``"html"`` (an
    ``(html, url)`` pair: :func:`extract_page`)."""
    # Ctrl-C goes to the whole process group; the parent decides when workers stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if memory_limit is not None:
        import resource

        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        soft = memory_limit if hard == resource.RLIM_INFINITY else min(memory_limit, hard)
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
    # The first extraction in a process pays for lazy set-up (about 0.2 s here, and ~1.3 s
    # for dateparser's locales): pay it before reporting ready, so that no page's
    # deadline is spent on it. Already paid when the forkserver preloaded it.
    import wiredesk.transforms.extract.warmup  # noqa: F401

    # A worker that cannot extract this (e.g. a memory cap below what it needs) says so.
    warm = extract_page(html=_WARM_UP_HTML, url="https://example.com/2024/01/02/w", config=config)
    try:
        if isinstance(warm, ExtractError):
            conn.send(("failed", f"{warm.reason}: {warm.detail}"))
            return
        conn.send(("ready", os.getpid()))
    except (OSError, ValueError):
        return

    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError):
            return
        if msg is None:
            return
        job, kind, payload = msg
        result: Any
        try:
            if test_hooks:
                _run_test_hooks(_html_of(kind, payload), memory_limit)
            if kind == "page":
                result = process_page(payload, config=config)
            else:
                html, url = payload
                result = extract_page(html=html, url=url, config=config)
        except MemoryError:
            result = ExtractError(RejectReason.EXTRACT_ERROR.value, "memory limit exceeded")
        except Exception as err:  # the work does not raise; the hooks might
            result = ExtractError(RejectReason.EXTRACT_ERROR.value, f"{type(err).__name__}: {err}")
        try:
            conn.send((job, result))
        except (OSError, ValueError):
            return


def _html_of(kind: str, payload: Any) -> Any:
    return getattr(payload, "html", None) if kind == "page" else payload[0]


def _run_test_hooks(html: Any, memory_limit: int | None) -> None:
    if not isinstance(html, str):
        return
    if m := _TEST_HANG_RE.search(html):
        if m.group(1):
            with open(m.group(1) + ".tmp", "w") as f:
                f.write(str(os.getpid()))
            os.replace(m.group(1) + ".tmp", m.group(1))  # appears complete or not at all
        time.sleep(3600)
    if TEST_ALLOC_MARKER in html:
        size = (memory_limit or 0) + 1024**3
        block = bytearray(size)  # must fail under the cap
        raise RuntimeError(f"allocated {len(block)} bytes: no memory cap in force")


class _Worker:
    """One worker process and our end of its pipe."""

    def __init__(self, process: BaseProcess, conn: Connection) -> None:
        self.process = process
        self.conn = conn
        self.pages = 0

    def alive(self) -> bool:
        return self.process.is_alive()

    def stop(self, *, kill: bool) -> None:
        if not kill:
            try:
                self.conn.send(None)
            except (OSError, ValueError):
                kill = True
            else:
                self.process.join(timeout=2.0)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(timeout=5.0)
        self.conn.close()
        try:
            self.process.close()
        except ValueError:  # still running after SIGKILL and 5 s: leave it to the OS
            LOGGER.warning("extract worker %s did not exit", self.process.pid)


@dataclasses.dataclass
class _InFlight:
    worker: _Worker
    index: int
    deadline: float


def _shutdown(workers: list[_Worker]) -> None:
    for w in workers:
        w.stop(kill=True)


class ExtractorPool:
    """A pool of extraction processes; a context manager; safe to share between threads."""

    def __init__(self, config: PoolConfig = PoolConfig(), *, _test_hooks: bool = False) -> None:
        if config.start_method == "fork":
            raise ValueError("the fork start method is unsafe here; use forkserver or spawn")
        if config.timeout_s <= 0:
            raise ValueError("timeout_s must be positive")
        self._config = config
        self._size = max(1, config.workers or os.cpu_count() or 1)
        self._test_hooks = _test_hooks
        self._ctx: Any = multiprocessing.get_context(config.start_method)
        if config.start_method == "forkserver":
            # Only takes effect if no forkserver runs yet in this process; else workers
            # import trafilatura themselves, a little slower, just as correct.
            self._ctx.set_forkserver_preload(FORKSERVER_PRELOAD)
        self._cond = threading.Condition()
        self._idle: list[_Worker] = []
        self._all: list[_Worker] = []  # for the finalizer: every live worker
        self._live = 0  # idle + checked out + being started
        self._closed = False
        self._up = threading.Event()  # set once any worker has started
        self._finalizer = weakref.finalize(self, _shutdown, self._all)

    @property
    def size(self) -> int:
        return self._size

    @property
    def warm(self) -> bool:
        """Whether a worker has started: the forkserver's imports and warm-up are paid."""
        return self._up.is_set()

    def worker_pids(self) -> list[int]:
        """Process ids of the live workers (for monitoring, and for tests)."""
        with self._cond:
            return [w.process.pid for w in self._all if w.process.pid is not None]

    def __enter__(self) -> ExtractorPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- workers ------------------------------------------------------------------------

    def _start_worker(self) -> _Worker:
        parent, child = self._ctx.Pipe(duplex=True)
        process = self._ctx.Process(
            target=_worker_main,
            args=(child, self._config.memory_limit_bytes, self._config.extract, self._test_hooks),
            name="wiredesk-extract",
            daemon=True,
        )
        process.start()
        child.close()  # so a dead worker reads as EOF on our end
        worker = _Worker(process, parent)
        try:
            ready = parent.poll(self._config.start_timeout_s) and parent.recv()
        except (EOFError, OSError):
            ready = None
        if not (isinstance(ready, tuple) and ready[0] == "ready"):
            why = ready[1] if isinstance(ready, tuple) else f"exit code {process.exitcode}"
            worker.stop(kill=True)
            raise RuntimeError(f"extract worker failed to start: {why}")
        self._up.set()
        return worker

    def _acquire(self, *, block: bool) -> _Worker | None:
        """An idle worker, a new one if the pool is not full, else wait (or None)."""
        dead: list[_Worker] = []
        try:
            with self._cond:
                while True:
                    if self._closed:
                        raise RuntimeError("ExtractorPool is closed")
                    while self._idle:
                        w = self._idle.pop()
                        if w.alive():
                            return w
                        self._forget(w)  # died while idle (killed from outside)
                        dead.append(w)
                    if self._live < self._size:
                        self._live += 1
                        break
                    if not block:
                        return None
                    self._cond.wait()
        finally:
            for d in dead:
                d.stop(kill=True)
        try:
            w = self._start_worker()  # outside the lock: a start can take a while
        except BaseException:
            with self._cond:
                self._live -= 1
                self._cond.notify()
            raise
        with self._cond:
            self._all.append(w)
        return w

    def _forget(self, w: _Worker) -> None:
        # caller holds the lock
        self._live -= 1
        if w in self._all:
            self._all.remove(w)
        self._cond.notify()

    def start_in_background(self) -> threading.Thread:
        """Start every worker now, from a thread, and return that thread.

        A worker's first start pays for the forkserver's imports and warm-up (about
        2 s); started while the caller still builds its graph, the workers are ready
        when the first pages come. A failure here only logs: the first
        ``extract_many`` starts workers again and reports what fails.
        """

        def start_all() -> None:
            started: list[_Worker] = []
            try:
                while len(started) < self._size:
                    w = self._acquire(block=False)
                    if w is None:  # the pool is full already (or busy with pages)
                        break
                    started.append(w)
            except Exception:
                LOGGER.debug("starting extraction workers ahead failed", exc_info=True)
            finally:
                for w in started:
                    self._give_back(w)

        thread = threading.Thread(target=start_all, name="wiredesk-extract-start", daemon=True)
        thread.start()
        return thread

    def _give_back(self, w: _Worker) -> None:
        """Return a worker that did no page (unlike ``_release``, counts none)."""
        with self._cond:
            if not self._closed:
                self._idle.append(w)
                self._cond.notify()
                return
            self._forget(w)
        w.stop(kill=False)

    def _release(self, w: _Worker) -> None:
        w.pages += 1
        with self._cond:
            if not self._closed and w.pages < self._config.max_pages_per_worker:
                self._idle.append(w)
                self._cond.notify()
                return
            self._forget(w)
        w.stop(kill=False)

    def _discard(self, w: _Worker) -> None:
        with self._cond:
            self._forget(w)
        w.stop(kill=True)

    # ---- work ---------------------------------------------------------------------------

    def extract_many(
        self, pages: Iterable[tuple[str, str | None]]
    ) -> list[ExtractedPage | ExtractError]:
        """Extract ``(html, url)`` pages in parallel; results come back in input order."""
        return self._run_many("html", list(pages))

    def process_many(self, pages: Iterable[FetchedPage]) -> list[Article | Reject | ExtractError]:
        """:func:`process_page` over fetched pages in parallel, results in input order; a
        page the pool could not finish (deadline, a dead worker) is an ExtractError."""
        return self._run_many("page", list(pages))

    def _run_many(self, kind: str, todo: list[Any]) -> list[Any]:
        results: list[Any] = [None] * len(todo)
        send_failures = [0] * len(todo)
        inflight: dict[Connection, _InFlight] = {}
        next_i = 0
        try:
            while next_i < len(todo) or inflight:
                while next_i < len(todo):
                    # Block for a worker only when nothing of ours is running: otherwise
                    # our own results free workers, and waiting could deadlock.
                    w = self._acquire(block=not inflight)
                    if w is None:
                        break
                    try:
                        w.conn.send((next_i, kind, todo[next_i]))
                    except (OSError, ValueError) as err:
                        self._discard(w)
                        send_failures[next_i] += 1
                        if send_failures[next_i] >= 2:
                            results[next_i] = ExtractError(
                                RejectReason.EXTRACT_ERROR.value, f"could not hand page over: {err}"
                            )
                            next_i += 1
                        continue
                    except Exception as err:  # e.g. an html that does not pickle
                        self._release(w)
                        results[next_i] = ExtractError(
                            RejectReason.EXTRACT_ERROR.value, f"bad input: {type(err).__name__}"
                        )
                        next_i += 1
                        continue
                    inflight[w.conn] = _InFlight(
                        w, next_i, time.monotonic() + self._config.timeout_s
                    )
                    next_i += 1
                if inflight:
                    self._collect(inflight, results)
        finally:
            # Only on an exception (e.g. KeyboardInterrupt): don't leave workers busy.
            for job in inflight.values():
                self._discard(job.worker)
        return [
            r
            if r is not None
            else ExtractError(RejectReason.EXTRACT_ERROR.value, "no result")  # not reached
            for r in results
        ]

    def _collect(
        self,
        inflight: dict[Connection, _InFlight],
        results: list[Any],
    ) -> None:
        """Wait for the first result or deadline; record results, kill overdue workers."""
        timeout = max(0.0, min(j.deadline for j in inflight.values()) - time.monotonic())
        ready = multiprocessing.connection.wait(list(inflight), timeout=timeout)
        for conn in ready:
            job = inflight.pop(conn)  # type: ignore[call-overload]
            try:
                _, result = job.worker.conn.recv()
            except (EOFError, OSError) as err:
                job.worker.process.join(timeout=1.0)
                code = job.worker.process.exitcode
                results[job.index] = ExtractError(
                    RejectReason.EXTRACT_ERROR.value,
                    f"extract worker died (exit code {code}): {type(err).__name__}",
                )
                self._discard(job.worker)
            else:
                results[job.index] = result
                self._release(job.worker)
        now = time.monotonic()
        for conn, job in list(inflight.items()):
            if job.deadline <= now:
                del inflight[conn]
                results[job.index] = ExtractError(
                    RejectReason.EXTRACT_TIMEOUT.value,
                    f"extraction took over {self._config.timeout_s:g} s",
                )
                self._discard(job.worker)

    def close(self) -> None:
        """Stop idle workers now; workers still busy in other threads stop when released."""
        with self._cond:
            self._closed = True
            idle, self._idle = self._idle, []
            for w in idle:
                self._forget(w)
            self._cond.notify_all()
        for w in idle:
            w.stop(kill=False)
