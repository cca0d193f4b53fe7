"""PollFeeds: fetch each feed (conditional GET) and turn it into FeedEntry records.

RSS/Atom/JSON Feed go through :func:`parse_feed`; ninjs and NewsML-G2 endpoints
(OPML ``type="ninjs"``/``"newsml"``, or sniffed) through :func:`parse_wire`.
A feed that cannot be fetched or yields nothing becomes a reject row; a feed
that answers 304 Not Modified yields nothing and is counted.

Outputs (tagged): main = FeedEntry, ``rejects`` = Reject, ``feed_state`` =
validator rows for the ``feeds`` state.

Example::

    polled = sources | PollFeeds(settings=FetchSettings(), validators=validators_side)
    entries, rejects = polled[PollFeeds.ENTRIES], polled[PollFeeds.REJECTS]
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator, Mapping
from typing import Any

import apache_beam as beam
from apache_beam.metrics import Metrics

from wiredesk.schemas.records import FeedSource, Reject, RejectReason, Stage, utcnow
from wiredesk.transforms.concurrency import ThreadPoolMapper
from wiredesk.transforms.feed_parse import parse_feed
from wiredesk.transforms.fetch_settings import FetchSettings
from wiredesk.transforms.wire_parse import parse_wire, sniff_wire_kind
from wiredesk.transforms.write_parquet import NAMESPACE

__all__ = ["PollFeeds", "poll_one_feed", "PollOutcome"]


@dataclasses.dataclass(frozen=True)
class PollOutcome:
    """What polling one feed gave: entries, rejects, new validators, and how it went."""

    entries: tuple[Any, ...] = ()
    rejects: tuple[Reject, ...] = ()
    state: dict[str, Any] | None = None
    status: str = "ok"  # ok | not_modified | failed
    skipped: int = 0


def poll_one_feed(
    *, fetcher: Any, feed: FeedSource, validators: Mapping[str, Any] | None, now: dt.datetime
) -> PollOutcome:
    """Fetch and parse one feed. Never raises: failures are rejects."""
    etag = validators.get("etag") if validators else None
    last_modified = validators.get("last_modified") if validators else None
    result = fetcher.fetch_feed(feed.url, etag=etag, last_modified=last_modified)
    if not result.ok:
        reject = Reject(
            url=feed.url,
            feed_url=feed.url,
            stage=Stage.FEED.value,
            reason=result.reason or RejectReason.CONNECTION_ERROR.value,
            detail=result.detail,
            at=now,
        )
        return PollOutcome(rejects=(reject,), status="failed")
    state = {
        "feed_url": feed.url,
        "day": now.date(),
        "etag": result.headers.get("etag"),
        "last_modified": result.headers.get("last-modified"),
        "polled_at": now,
    }
    if result.not_modified:
        # Keep the validators we sent: a 304 need not repeat them.
        state["etag"] = state["etag"] or etag
        state["last_modified"] = state["last_modified"] or last_modified
        return PollOutcome(state=state, status="not_modified")
    kind = feed.kind
    if kind == "auto":
        kind = sniff_wire_kind(result.body) or "rss"
    if kind in ("ninjs", "newsml", "dpa"):
        parsed_wire = parse_wire(
            body=result.body, source_url=feed.url, feed=feed, fetched_at=now, kind=kind
        )
        return PollOutcome(
            entries=tuple(parsed_wire.entries),
            rejects=tuple(parsed_wire.rejects),
            state=state,
            skipped=len(parsed_wire.skipped),
        )
    parsed = parse_feed(body=result.body, feed=feed, headers=result.headers, fetched_at=now)
    rejects = (parsed.reject,) if parsed.reject is not None else ()
    return PollOutcome(
        entries=tuple(parsed.entries), rejects=rejects, state=state, skipped=parsed.skipped
    )


class _PollFeedsFn(beam.DoFn):
    def __init__(self, settings: FetchSettings) -> None:
        self._settings = settings
        self._feeds = Metrics.counter(NAMESPACE, "feeds_polled")
        self._not_modified = Metrics.counter(NAMESPACE, "feeds_not_modified")
        self._failed = Metrics.counter(NAMESPACE, "feeds_rejected")
        self._entries = Metrics.counter(NAMESPACE, "entries_listed")
        self._skipped = Metrics.counter(NAMESPACE, "entries_skipped_unusable")

    def setup(self) -> None:
        self._fetcher = self._settings.make_fetcher()
        self._mapper = ThreadPoolMapper(max_workers=self._settings.concurrency)

    def teardown(self) -> None:
        self._mapper.close()
        self._fetcher.close()

    def process(
        self, batch: list[FeedSource], validators: Mapping[str, Mapping[str, Any]]
    ) -> Iterator[Any]:
        now = utcnow()

        def poll(feed: FeedSource) -> PollOutcome:
            try:
                return poll_one_feed(
                    fetcher=self._fetcher, feed=feed, validators=validators.get(feed.url), now=now
                )
            except Exception as exc:  # a bug must not lose the other feeds
                reject = Reject(
                    url=feed.url,
                    feed_url=feed.url,
                    stage=Stage.FEED.value,
                    reason=RejectReason.PARSE_ERROR.value,
                    detail=f"{type(exc).__name__}: {exc}",
                    at=now,
                )
                return PollOutcome(rejects=(reject,), status="failed")

        for outcome in self._mapper.map(poll, batch):
            self._feeds.inc()
            if outcome.status == "not_modified":
                self._not_modified.inc()
            elif outcome.status == "failed":
                self._failed.inc()
            self._skipped.inc(outcome.skipped)
            for entry in outcome.entries:
                self._entries.inc()
                yield entry
            for reject in outcome.rejects:
                Metrics.counter(NAMESPACE, f"rejected_feed_{reject.reason}").inc()
                yield beam.pvalue.TaggedOutput(PollFeeds.REJECTS, reject)
            if outcome.state is not None:
                yield beam.pvalue.TaggedOutput(PollFeeds.STATE, outcome.state)


class PollFeeds(beam.PTransform):
    """FeedSource -> FeedEntry (main), Reject (``rejects``), validator rows (``feed_state``)."""

    ENTRIES = "entries"
    REJECTS = "rejects"
    STATE = "feed_state"

    def __init__(self, *, settings: FetchSettings, validators: beam.PCollection) -> None:
        super().__init__()
        self._settings = settings
        self._validators = validators

    def expand(self, feeds: beam.PCollection) -> beam.pvalue.DoOutputsTuple:
        return (
            feeds
            | "Batch" >> beam.BatchElements(min_batch_size=1, max_batch_size=64)
            | "FetchAndParse"
            >> beam.ParDo(
                _PollFeedsFn(self._settings), beam.pvalue.AsDict(self._validators)
            ).with_outputs(self.REJECTS, self.STATE, main=self.ENTRIES)
        )
