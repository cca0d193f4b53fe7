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
import hashlib
import re
import threading
import unicodedata
from collections.abc import Iterator
from typing import Any

import apache_beam as beam
from apache_beam.metrics import Metrics

from wiredesk.schemas.records import Article, FetchedPage, Reject, RejectReason, Stage
from wiredesk.transforms.extract_page import ExtractedPage, ExtractError, extract_fragment
from wiredesk.transforms.extract_pool import ExtractorPool, PoolConfig
from wiredesk.transforms.urlnorm import normalize_url
from wiredesk.transforms.write_parquet import NAMESPACE

__all__ = ["ExtractText", "content_hash", "shared_pool", "to_article"]

_SPACE = re.compile(r"\s+")


def content_hash(text: str) -> str:
    """Hash of the normalized text: NFKC, case-folded, whitespace collapsed."""
    normalized = _SPACE.sub(" ", unicodedata.normalize("NFKC", text).casefold()).strip()
    return hashlib.sha256(normalized.encode("utf-8")).hexdigest()[:32]


def to_article(page: FetchedPage, extracted: ExtractedPage) -> Article:
    """Merge what the listing said with what the page says (the page is trusted first)."""
    entry = page.entry
    canonical = extracted.canonical_url and normalize_url(extracted.canonical_url)
    return Article(
        url=entry.url,
        url_key=entry.url_key,
        canonical_url=canonical or normalize_url(page.final_url) or page.final_url,
        source=entry.source or extracted.site_name,
        feed_url=entry.feed_url,
        title=extracted.title or entry.title,
        text=extracted.text,
        # Order of trust (DESIGN.md): the page, then the feed or wire item.
        published_at=extracted.published_at or entry.published_at,
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
    )


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
    def __init__(self, *, workers: int, timeout: float) -> None:
        self._workers = workers
        self._timeout = timeout
        self._ok = Metrics.counter(NAMESPACE, "pages_extracted")
        self._rejected = Metrics.counter(NAMESPACE, "pages_extract_rejected")

    def setup(self) -> None:
        self._pool = shared_pool(PoolConfig(workers=self._workers or None, timeout_s=self._timeout))

    def process(self, batch: list[FetchedPage]) -> Iterator[Any]:
        web = [page for page in batch if not page.entry.is_wire]
        extracted = iter(self._pool.extract_many((page.html, page.final_url) for page in web))
        for page in batch:
            # A wire body is the article already: read its paragraphs, no boilerplate removal.
            result = extract_fragment(html=page.html) if page.entry.is_wire else next(extracted)
            if isinstance(result, ExtractError):
                self._rejected.inc()
                Metrics.counter(NAMESPACE, f"rejected_extract_{result.reason}").inc()
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


class ExtractText(beam.PTransform):
    """FetchedPage -> Article (main) and Reject (``rejects``)."""

    ARTICLES = "articles"
    REJECTS = "rejects"

    def __init__(self, *, workers: int = 0, timeout: float = 30.0, batch_size: int = 32) -> None:
        super().__init__()
        self._workers = workers
        self._timeout = timeout
        self._batch_size = batch_size

    def expand(self, pages: beam.PCollection) -> beam.pvalue.DoOutputsTuple:
        return (
            pages
            | "Batch" >> beam.BatchElements(min_batch_size=1, max_batch_size=self._batch_size)
            | "Extract"
            >> beam.ParDo(_ExtractFn(workers=self._workers, timeout=self._timeout)).with_outputs(
                self.REJECTS, main=self.ARTICLES
            )
        )
