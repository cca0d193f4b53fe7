"""FetchArticle: fetch each entry's page safely and politely.

Safety and politeness live in :class:`SafeFetcher` (SSRF guard on every hop,
robots.txt, per-host limits, byte caps, deadlines); this transform batches
entries and keeps many requests in flight per worker. Wire items carry their
body and are never fetched.

Outputs (tagged): main = FetchedPage, ``rejects`` = Reject.

Example::

    fetched = entries | FetchArticle(settings=FetchSettings(allow_private=True))
    pages, rejects = fetched[FetchArticle.PAGES], fetched[FetchArticle.REJECTS]
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import apache_beam as beam
from apache_beam.metrics import Metrics

from wiredesk.schemas.records import FeedEntry, FetchedPage, Reject, RejectReason, Stage, utcnow
from wiredesk.transforms.common.metrics import NAMESPACE, rejected
from wiredesk.transforms.common.stage_coders import holding
from wiredesk.transforms.fetch.http_client import PAYWALL_STATUSES
from wiredesk.transforms.fetch.stage_fetcher import FetchingDoFn, FetchSettings

__all__ = ["FetchArticle", "fetch_one_page"]


def fetch_one_page(*, fetcher: Any, entry: FeedEntry) -> FetchedPage | Reject:
    """Fetch one entry's page. Never raises: failures are rejects."""
    if entry.is_wire:
        return FetchedPage(
            entry=entry,
            final_url=entry.url,
            html=entry.body_html or "",
            fetched_at=utcnow(),
            status=200,
            content_type="text/html",
        )
    # The body stays bytes: the extraction pass decodes it (FetchedPage), so the runner
    # neither decodes it nor encodes the text again to hand it to a worker.
    result = fetcher.fetch_page(entry.url, decode=False)
    fetched_at = utcnow()
    # A paywall's 401/402 teaser is kept, marked (the fetcher checked it is HTML).
    teaser = not result.ok and result.status in PAYWALL_STATUSES and bool(result.body)
    if result.ok or teaser:
        return FetchedPage(
            entry=entry,
            final_url=result.final_url or entry.url,
            html="",
            fetched_at=fetched_at,
            status=result.status or 200,
            content_type=result.headers.get("content-type"),
            paywalled=True if teaser else None,
            body=result.body,
        )
    return Reject(
        url=entry.url,
        feed_url=entry.feed_url,
        stage=Stage.FETCH.value,
        reason=result.reason or RejectReason.CONNECTION_ERROR.value,
        detail=result.detail or "",
        at=fetched_at,
    )


class _FetchFn(FetchingDoFn):
    def __init__(self, settings: FetchSettings) -> None:
        super().__init__(settings)
        self._fetched = Metrics.counter(NAMESPACE, "pages_fetched")
        self._wire = Metrics.counter(NAMESPACE, "wire_items_passed")
        self._rejected = Metrics.counter(NAMESPACE, "pages_rejected")

    def process(self, batch: list[FeedEntry]) -> Iterator[Any]:
        def fetch(entry: FeedEntry) -> FetchedPage | Reject:
            try:
                return fetch_one_page(fetcher=self._fetcher, entry=entry)
            except Exception as exc:  # a bug must not lose the rest of the batch
                return Reject(
                    url=entry.url,
                    feed_url=entry.feed_url,
                    stage=Stage.FETCH.value,
                    reason=RejectReason.CONNECTION_ERROR.value,
                    detail=f"{type(exc).__name__}: {exc}",
                )

        for outcome in self._mapper.map(fetch, batch):
            if isinstance(outcome, Reject):
                self._rejected.inc()
                Metrics.counter(NAMESPACE, rejected(Stage.FETCH, outcome.reason)).inc()
                yield beam.pvalue.TaggedOutput(FetchArticle.REJECTS, outcome)
            else:
                (self._wire if outcome.entry.is_wire else self._fetched).inc()
                yield outcome


class FetchArticle(beam.PTransform):
    """FeedEntry -> FetchedPage (main) and Reject (``rejects``)."""

    PAGES = "pages"
    REJECTS = "rejects"

    def __init__(self, *, settings: FetchSettings) -> None:
        super().__init__()
        self._settings = settings

    def expand(self, entries: beam.PCollection) -> beam.pvalue.DoOutputsTuple:
        fetched = (
            entries
            # A fixed size: Beam's adaptive sizing fits a regression per batch (~1.5 ms),
            # and a batch is only the unit handed to the fetch threads.
            | "Batch" >> beam.BatchElements(min_batch_size=64, max_batch_size=64)
            | "Fetch"
            >> beam.ParDo(_FetchFn(self._settings)).with_outputs(self.REJECTS, main=self.PAGES)
        )
        holding(fetched[self.PAGES], FetchedPage)
        return fetched
