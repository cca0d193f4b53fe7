"""ExtractText: clean text and metadata from each fetched page, with trafilatura.

Extraction is the pipeline's real work and the one stage that can hang or
blow up on a hostile page, so it runs in a small pool of worker processes
(:class:`ExtractorPool`) with a per-page deadline and a memory cap. That pool
also puts every core to work when the runner gives us one process.

Outputs (tagged): main = Article (not yet enriched), ``rejects`` = Reject.

Example::

    extracted = pages | ExtractText(workers=2, timeout=30.0)
    articles = extracted[ExtractText.ARTICLES]
"""

from __future__ import annotations

import atexit
import collections
import concurrent.futures
import dataclasses
import datetime as dt
import hashlib
import threading
import unicodedata
from collections.abc import Iterator
from typing import Any

import apache_beam as beam
from apache_beam.metrics import Metrics
from apache_beam.utils.windowed_value import WindowedValue

from wiredesk.schemas.records import Article, FetchedPage, Reject, RejectReason, Stage
from wiredesk.transforms.common.metrics import NAMESPACE, rejected
from wiredesk.transforms.common.urlnorm import normalize_url
from wiredesk.transforms.extract.page import ExtractedPage, ExtractError, extract_fragment
from wiredesk.transforms.extract.pool import ExtractorPool, PoolConfig

__all__ = [
    "ExtractText",
    "content_hash",
    "pool_config",
    "prestart_pool",
    "shared_pool",
    "to_article",
]


def content_hash(text: str) -> str:
    """Hash of the normalized text: NFKC, case-folded, whitespace collapsed."""
    # is_normalized is a quick check that spares most texts the NFKC pass, and
    # split/join collapses the same (str.isspace) whitespace as a \s+ regex, 2.5x faster.
    if not unicodedata.is_normalized("NFKC", text):
        text = unicodedata.normalize("NFKC", text)
    normalized = " ".join(text.casefold().split())
    return hashlib.sha256(normalized.encode("utf-8")).hexdigest()[:32]


def _published(
    page: FetchedPage, extracted: ExtractedPage
) -> tuple[dt.datetime | None, str | None]:
    """Order of trust (docs/output-contract.md): the page, then the feed or wire item (the fetch time is
    the writer's last resort). A feed's date never overrides a date the page states."""
    if extracted.published_at is not None:
        return extracted.published_at, extracted.published_at_source
    if page.entry.published_at is not None:
        return page.entry.published_at, "wire" if page.entry.is_wire else "feed"
    return None, None


def to_article(page: FetchedPage, extracted: ExtractedPage) -> Article:
    """Merge what the listing said with what the page says (the page is trusted first)."""
    entry = page.entry
    published_at, published_source = _published(page, extracted)
    canonical = extracted.canonical_url and normalize_url(extracted.canonical_url)
    return Article(
        url=entry.url,
        url_key=entry.url_key,
        canonical_url=canonical or normalize_url(page.final_url) or page.final_url,
        source=entry.source or extracted.site_name,
        feed_url=entry.feed_url,
        title=extracted.title or entry.title,
        text=extracted.text,
        published_at=published_at,
        fetched_at=page.fetched_at,
        language=entry.language if entry.is_wire and entry.language else extracted.language,
        authors=list(extracted.authors) or list(entry.authors),
        agency=entry.agency,
        dateline=entry.dateline,
        site_name=extracted.site_name,
        paywalled=True if page.paywalled else extracted.paywalled,
        guid=entry.guid,
        feed_region=entry.feed_region,
        feed_country=entry.feed_country,
        is_wire=entry.is_wire,
        wire=entry.wire,
        content_hash=content_hash(extracted.text),
        published_at_source=published_source,
        modified_at=extracted.modified_at,
        modified_at_source=extracted.modified_at_source,
        # A 401/402 answer is a teaser by definition.
        text_complete=extracted.text_complete and not page.paywalled,
    )


def pool_config(*, workers: int, timeout: float) -> PoolConfig:
    """The pool an ExtractText(workers=, timeout=) uses (0 workers: one per core)."""
    return PoolConfig(workers=workers or None, timeout_s=timeout)


def prestart_pool(*, workers: int, timeout: float) -> None:
    """Start this process's extraction workers for ExtractText(workers=, timeout=) now.

    For a run whose DoFns execute in this process (the local in-memory runner): the
    workers' start-up (forkserver imports, dateparser's locales: ~2 s of one core)
    then overlaps building, translating and starting the graph on the other core,
    instead of holding up the first pages.
    """
    shared_pool(pool_config(workers=workers, timeout=timeout)).start_in_background()


_POOLS: dict[PoolConfig, ExtractorPool] = {}
_POOLS_LOCK = threading.Lock()


def shared_pool(config: PoolConfig) -> ExtractorPool:
    """One pool per process and configuration.

    A runner may create several instances of a DoFn in one process (one per
    bundle processor); each sizing its own pool to the core count would
    oversubscribe the machine. The pool is thread-safe and closes at exit.
    """
    with _POOLS_LOCK:
        pool = _POOLS.get(config)
        if pool is None:
            pool = _POOLS[config] = ExtractorPool(config)
            atexit.register(pool.close)
        return pool


class _ExtractFn(beam.DoFn):
    """Hands batches to the extraction pool and keeps the runner thread free meanwhile.

    With ``max_pending_pages > 0`` a batch is submitted to the pool from a helper thread
    and ``process`` returns at once; results are emitted (in batch order, each with its
    batch's window, timestamp and pane) when a later ``process`` call finds them done,
    when more than ``max_pending_pages`` pages wait, or at ``finish_bundle``. So the
    runner thread fetches, enriches and signs other pages while the pool's processes
    extract, and the pool never idles on the tail of one batch. ``0`` extracts each
    batch synchronously inside ``process`` (the runner thread waits).
    """

    def __init__(self, *, workers: int, timeout: float, max_pending_pages: int) -> None:
        self._workers = workers
        self._timeout = timeout
        self._max_pending_pages = max_pending_pages
        self._ok = Metrics.counter(NAMESPACE, "pages_extracted")
        self._rejected = Metrics.counter(NAMESPACE, "pages_extract_rejected")

    def setup(self) -> None:
        self._pool = shared_pool(pool_config(workers=self._workers, timeout=self._timeout))
        self._submitter: concurrent.futures.ThreadPoolExecutor | None = None
        if self._max_pending_pages > 0:
            # Two callers of extract_many keep every pool worker busy across batch ends.
            self._submitter = concurrent.futures.ThreadPoolExecutor(
                max_workers=2, thread_name_prefix="wiredesk-extract-submit"
            )
        self._pending: collections.deque[_Pending] = collections.deque()
        self._pending_pages = 0

    def teardown(self) -> None:
        if self._submitter is not None:
            self._submitter.shutdown(wait=True, cancel_futures=True)
            self._submitter = None

    def start_bundle(self) -> None:
        self._pending.clear()
        self._pending_pages = 0

    def process(
        self,
        batch: list[FetchedPage],
        window: Any = beam.DoFn.WindowParam,
        timestamp: Any = beam.DoFn.TimestampParam,
        pane: Any = beam.DoFn.PaneInfoParam,
    ) -> Iterator[Any]:
        jobs = [(page.html, page.final_url) for page in batch if not page.entry.is_wire]
        if self._submitter is None:
            yield from self._outputs(batch, self._pool.extract_many(jobs))
            return
        future = self._submitter.submit(self._pool.extract_many, jobs)
        self._pending.append(_Pending(batch, future, window, timestamp, pane))
        self._pending_pages += len(batch)
        yield from self._drain(limit=self._max_pending_pages)

    def finish_bundle(self) -> Iterator[Any]:
        yield from self._drain(limit=0)

    def _drain(self, *, limit: int) -> Iterator[Any]:
        """Emit finished batches from the head; wait while more than ``limit`` pages wait."""
        while self._pending and (self._pending_pages > limit or self._pending[0].future.done()):
            job = self._pending.popleft()
            self._pending_pages -= len(job.batch)
            # extract_many turns every page's failure into a result; a failure of the
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
        self, batch: list[FetchedPage], web_results: list[ExtractedPage | ExtractError]
    ) -> Iterator[Any]:
        extracted = iter(web_results)
        for page in batch:
            # A wire body is the article already: read its paragraphs, no boilerplate removal.
            result = extract_fragment(html=page.html) if page.entry.is_wire else next(extracted)
            if isinstance(result, ExtractError):
                self._rejected.inc()
                Metrics.counter(NAMESPACE, rejected(Stage.EXTRACT, result.reason)).inc()
                yield beam.pvalue.TaggedOutput(
                    ExtractText.REJECTS,
                    Reject(
                        url=page.entry.url,
                        feed_url=page.entry.feed_url,
                        stage=Stage.EXTRACT.value,
                        reason=result.reason or RejectReason.EXTRACT_ERROR.value,
                        detail=result.detail,
                    ),
                )
                continue
            self._ok.inc()
            yield to_article(page, result)


@dataclasses.dataclass
class _Pending:
    batch: list[FetchedPage]
    future: concurrent.futures.Future[list[ExtractedPage | ExtractError]]
    window: Any
    timestamp: Any
    pane: Any


class ExtractText(beam.PTransform):
    """FetchedPage -> Article (main) and Reject (``rejects``)."""

    ARTICLES = "articles"
    REJECTS = "rejects"

    def __init__(
        self,
        *,
        workers: int = 0,
        timeout: float = 30.0,
        batch_size: int = 32,
        max_pending_pages: int | None = None,
    ) -> None:
        super().__init__()
        self._workers = workers
        self._timeout = timeout
        self._batch_size = batch_size
        # Pages handed to the pool and not yet emitted (bench/profile_stages.py: waiting
        # synchronously left the pool idle while the runner thread did everything else).
        self._max_pending_pages = (
            2 * batch_size if max_pending_pages is None else max(0, max_pending_pages)
        )

    def expand(self, pages: beam.PCollection) -> beam.pvalue.DoOutputsTuple:
        return (
            pages
            # Fixed size, as in FetchArticle: no per-batch regression.
            | "Batch"
            >> beam.BatchElements(min_batch_size=self._batch_size, max_batch_size=self._batch_size)
            | "Extract"
            >> beam.ParDo(
                _ExtractFn(
                    workers=self._workers,
                    timeout=self._timeout,
                    max_pending_pages=self._max_pending_pages,
                )
            ).with_outputs(self.REJECTS, main=self.ARTICLES)
        )
