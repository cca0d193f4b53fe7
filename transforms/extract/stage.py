"""ExtractText: each fetched page extracted, enriched and signed, in one pass.

Everything that needs only the page itself (trafilatura's text and metadata, the
article record, enrichment, the content hash and the syndication sketch:
:func:`process_page`) runs in one pass, where the runner's parallelism is
(docs/architecture.md, "Where the per-page work runs"):

* ``in_process=False`` (the local in-memory runner, which runs every DoFn in one
  process): in a small pool of worker processes (:class:`ExtractorPool`), which also
  gives each page a deadline and each worker a memory cap, since a hostile page can
  hang trafilatura or blow it up. The runner process keeps polling, fetching,
  assigning stories and writing. The pool starts on the first page, so a run with
  nothing new starts none (:class:`StartExtractWorkers` starts it earlier, on the
  first new entry).
* ``in_process=True`` (Dataflow, Flink, Spark, and Beam's local multi-process
  harness): in the DoFn itself. Those runners already start one SDK process per core;
  a pool in each would multiply the processes by the core count again.

Outputs (tagged): main = Article (enriched, with its sketch), ``rejects`` = Reject
(stage ``extract`` or ``enrich``).

Example::

    extracted = pages | ExtractText(workers=2, timeout=30.0)
    articles = extracted[ExtractText.ARTICLES]
"""

from __future__ import annotations

import atexit
import collections
import concurrent.futures
import dataclasses
import threading
from collections.abc import Iterator, Sequence
from typing import Any

import apache_beam as beam
from apache_beam.metrics import Metrics
from apache_beam.utils.windowed_value import WindowedValue

from wiredesk.schemas.records import Article, FetchedPage, Reject, RejectReason, Stage
from wiredesk.transforms.common.metrics import (
    ARTICLES_ENRICHED,
    NAMESPACE,
    PAGES_EXTRACTED,
    PAGES_PROCESSED_IN_POOL,
    PAGES_PROCESSED_IN_PROCESS,
    rejected,
)
from wiredesk.transforms.common.stage_coders import holding
from wiredesk.transforms.dedup.stage_exact import SeenKeys
from wiredesk.transforms.extract.page import ExtractError
from wiredesk.transforms.extract.page_pass import content_hash, process_page, to_article
from wiredesk.transforms.extract.pool import ExtractorPool, PoolConfig

__all__ = [
    "ExtractText",
    "StartExtractWorkers",
    "content_hash",
    "pool_config",
    "prestart_pool",
    "shared_pool",
    "to_article",
]


def pool_config(*, workers: int, timeout: float) -> PoolConfig:
    """The pool an ExtractText(workers=, timeout=) uses (0 workers: one per core)."""
    return PoolConfig(workers=workers or None, timeout_s=timeout)


def prestart_pool(*, workers: int, timeout: float) -> None:
    """Start this process's extraction workers for ExtractText(workers=, timeout=) now,
    in the background (the forkserver's imports and warm-up take ~4 s of one core)."""
    shared_pool(pool_config(workers=workers, timeout=timeout)).start_in_background()


_POOLS: dict[PoolConfig, ExtractorPool] = {}
_POOLS_LOCK = threading.Lock()


def shared_pool(config: PoolConfig) -> ExtractorPool:
    """One pool per process and configuration.

    A runner may create several instances of a DoFn in one process (one per
    bundle processor); each sizing its own pool to the core count would
    oversubscribe the machine. The pool is thread-safe and closes at exit.
    Making the pool starts no process: its workers start on first use.
    """
    with _POOLS_LOCK:
        pool = _POOLS.get(config)
        if pool is None:
            pool = _POOLS[config] = ExtractorPool(config)
            atexit.register(pool.close)
        return pool


class _StartWorkersFn(beam.DoFn):
    """On its first new element in this process, starts the extraction workers; emits nothing."""

    def __init__(self, *, workers: int, timeout: float) -> None:
        self._workers = workers
        self._timeout = timeout
        self._started = False
        self._seen_keys = SeenKeys()

    def setup(self) -> None:
        self._started = False

    def process(self, element: Any, seen_keys: list[str] | None = None) -> Iterator[Any]:
        if self._started:
            return iter(())
        if seen_keys is not None and self._seen_keys.took(element, seen_keys):
            return iter(())  # an entry an earlier run took: nothing new yet
        self._started = True
        prestart_pool(workers=self._workers, timeout=self._timeout)
        return iter(())


class StartExtractWorkers(beam.PTransform):
    """Starts the local extraction pool as soon as its input holds something new.

    Applied to the listed entries with the keys earlier runs saw (``seen_keys``, a side
    input), it starts the pool at the first entry no earlier run took, while the feeds
    are still being polled: the workers' start-up (~2 s of one core) then overlaps
    polling and fetching instead of holding up the first pages, and a run with nothing
    new starts no pool. Without ``seen_keys``, any first element starts it. Only for
    graphs whose ExtractText uses the pool.
    """

    def __init__(self, *, workers: int = 0, timeout: float = 30.0, seen_keys: Any = None) -> None:
        super().__init__()
        self._workers = workers
        self._timeout = timeout
        self._seen_keys = seen_keys

    def expand(self, elements: beam.PCollection) -> beam.PCollection:
        fn = _StartWorkersFn(workers=self._workers, timeout=self._timeout)
        if self._seen_keys is None:
            return elements | "OnFirst" >> beam.ParDo(fn)
        return elements | "OnFirstNew" >> beam.ParDo(fn, self._seen_keys)


# How many times ``max_pending_pages`` may wait while the pool has no worker up yet
# (bench/cpu_timeline.py: the runner thread sat idle through the workers' start-up),
# as long as their HTML stays under _WARMING_MAX_CHARS: 512 pages at the 5 MiB
# --max-page-bytes would otherwise be 2.5 GB held for a few seconds. (512 bench pages,
# 180 K characters each on average, are 92 M.)
_WARMING_FACTOR = 8
_WARMING_MAX_CHARS = 128 * 1024 * 1024


class _ExtractFn(beam.DoFn):
    """One pass over each page of a batch, in the pool or in this process.

    In the pool, with ``max_pending_pages > 0``, a batch is submitted from a helper
    thread and ``process`` returns at once; results are emitted (in batch order, each
    with its batch's window, timestamp and pane) when a later ``process`` call finds
    them done, when more than ``max_pending_pages`` pages wait (eight times as many,
    up to 128 M characters of HTML, while no worker of the pool is up yet), or at
    ``finish_bundle``. So the runner thread fetches other pages while the pool's
    processes work, and the pool never idles on the tail of one batch. ``0`` waits
    for each batch inside ``process``.
    """

    def __init__(
        self, *, workers: int, timeout: float, max_pending_pages: int, in_process: bool
    ) -> None:
        self._workers = workers
        self._timeout = timeout
        self._max_pending_pages = max_pending_pages
        self._in_process = in_process
        self._ok = Metrics.counter(NAMESPACE, PAGES_EXTRACTED)
        self._rejected = Metrics.counter(NAMESPACE, "pages_extract_rejected")
        self._enriched = Metrics.counter(NAMESPACE, ARTICLES_ENRICHED)
        self._enrich_rejected = Metrics.counter(NAMESPACE, "articles_enrich_rejected")
        self._no_country = Metrics.counter(NAMESPACE, "articles_without_country")
        self._with_agency = Metrics.counter(NAMESPACE, "articles_with_agency")
        self._with_dateline = Metrics.counter(NAMESPACE, "articles_with_dateline")
        where = PAGES_PROCESSED_IN_PROCESS if in_process else PAGES_PROCESSED_IN_POOL
        self._where = Metrics.counter(NAMESPACE, where)

    def setup(self) -> None:
        self._pool: ExtractorPool | None = None
        self._submitter: concurrent.futures.ThreadPoolExecutor | None = None
        self._pending: collections.deque[_Pending] = collections.deque()
        self._pending_pages = 0
        self._pending_chars = 0
        if self._in_process:
            # Pay the lazy set-up (dateparser's locales, the gazetteer, the language
            # model: ~4 s) once per worker process, before the first page.
            import wiredesk.transforms.extract.warmup  # noqa: F401

            return
        self._pool = shared_pool(pool_config(workers=self._workers, timeout=self._timeout))
        if self._max_pending_pages > 0:
            # Two callers of process_many keep every pool worker busy across batch ends.
            self._submitter = concurrent.futures.ThreadPoolExecutor(
                max_workers=2, thread_name_prefix="wiredesk-extract-submit"
            )

    def teardown(self) -> None:
        if self._submitter is not None:
            self._submitter.shutdown(wait=True, cancel_futures=True)
            self._submitter = None

    def start_bundle(self) -> None:
        self._pending.clear()
        self._pending_pages = 0
        self._pending_chars = 0

    def process(
        self,
        batch: list[FetchedPage],
        window: Any = beam.DoFn.WindowParam,
        timestamp: Any = beam.DoFn.TimestampParam,
        pane: Any = beam.DoFn.PaneInfoParam,
    ) -> Iterator[Any]:
        if self._pool is None:
            yield from self._outputs(batch, [process_page(page) for page in batch])
            return
        if self._submitter is None:
            yield from self._outputs(batch, self._pool.process_many(batch))
            return
        future = self._submitter.submit(self._pool.process_many, batch)
        job = _Pending(batch, future, window, timestamp, pane, chars=_chars(batch))
        self._pending.append(job)
        self._pending_pages += len(batch)
        self._pending_chars += job.chars
        # While the pool's workers are still coming up (seconds of one core), waiting on
        # them would idle the runner thread too; it fetches ahead instead, up to a cap.
        warming = not self._pool.warm and self._pending_chars <= _WARMING_MAX_CHARS
        yield from self._drain(
            limit=self._max_pending_pages * _WARMING_FACTOR if warming else self._max_pending_pages
        )

    def finish_bundle(self) -> Iterator[Any]:
        yield from self._drain(limit=0)

    def _drain(self, *, limit: int) -> Iterator[Any]:
        """Emit finished batches from the head; wait while more than ``limit`` pages wait."""
        while self._pending and (self._pending_pages > limit or self._pending[0].future.done()):
            job = self._pending.popleft()
            self._pending_pages -= len(job.batch)
            self._pending_chars -= job.chars
            # process_many turns every page's failure into a result; a failure of the
            # pool itself raises here and fails the bundle, as it did inline.
            results = job.future.result()
            for out in self._outputs(job.batch, results):
                if isinstance(out, beam.pvalue.TaggedOutput):
                    yield beam.pvalue.TaggedOutput(
                        out.tag, WindowedValue(out.value, job.timestamp, (job.window,), job.pane)
                    )
                else:
                    yield WindowedValue(out, job.timestamp, (job.window,), job.pane)

    def _outputs(
        self, batch: Sequence[FetchedPage], results: Sequence[Article | Reject | ExtractError]
    ) -> Iterator[Any]:
        for page, result in zip(batch, results, strict=True):
            self._where.inc()
            if isinstance(result, ExtractError):  # the pool's own: a deadline, a dead worker
                result = Reject(
                    url=page.entry.url,
                    feed_url=page.entry.feed_url,
                    stage=Stage.EXTRACT.value,
                    reason=result.reason or RejectReason.EXTRACT_ERROR.value,
                    detail=result.detail,
                )
            if isinstance(result, Reject):
                if result.stage == Stage.ENRICH.value:
                    self._ok.inc()
                    self._enrich_rejected.inc()
                else:
                    self._rejected.inc()
                Metrics.counter(NAMESPACE, rejected(result.stage, result.reason)).inc()
                yield beam.pvalue.TaggedOutput(ExtractText.REJECTS, result)
                continue
            self._ok.inc()
            self._enriched.inc()
            if result.country is None:
                self._no_country.inc()
            if result.agency:
                self._with_agency.inc()
            if result.dateline:
                self._with_dateline.inc()
            yield result


def _chars(batch: Sequence[FetchedPage]) -> int:
    return sum(page.size for page in batch)


@dataclasses.dataclass
class _Pending:
    batch: list[FetchedPage]
    future: concurrent.futures.Future[list[Article | Reject | ExtractError]]
    window: Any
    timestamp: Any
    pane: Any
    chars: int  # of the batch's HTML, counted once when it is handed over


class ExtractText(beam.PTransform):
    """FetchedPage -> Article, enriched and signed (main), and Reject (``rejects``)."""

    ARTICLES = "articles"
    REJECTS = "rejects"

    def __init__(
        self,
        *,
        workers: int = 0,
        timeout: float = 30.0,
        batch_size: int = 32,
        max_pending_pages: int | None = None,
        in_process: bool = False,
    ) -> None:
        super().__init__()
        self._workers = workers
        self._timeout = timeout
        self._batch_size = batch_size
        self._in_process = in_process
        # Pages handed to the pool and not yet emitted (bench/profile_stages.py: waiting
        # synchronously left the pool idle while the runner thread did everything else).
        self._max_pending_pages = (
            2 * batch_size if max_pending_pages is None else max(0, max_pending_pages)
        )

    def expand(self, pages: beam.PCollection) -> beam.pvalue.DoOutputsTuple:
        batches = holding(
            pages
            # Fixed size, as in FetchArticle: no per-batch regression.
            | "Batch"
            >> beam.BatchElements(min_batch_size=self._batch_size, max_batch_size=self._batch_size),
            beam.typehints.List[FetchedPage],
        )
        extracted = batches | "Extract" >> beam.ParDo(
            _ExtractFn(
                workers=self._workers,
                timeout=self._timeout,
                max_pending_pages=self._max_pending_pages,
                in_process=self._in_process,
            )
        ).with_outputs(self.REJECTS, main=self.ARTICLES)
        holding(extracted[self.ARTICLES], Article)
        return extracted
