"""The wiredesk graph (docs/architecture.md, "The flow"), built from a RunConfig.

Batch (``--once``) and each local streaming cycle run exactly this graph:

    feeds ─ PollFeeds ─┐
    wire dir ─ ReadWireDir ─┴─ DedupeEntries ─ FetchArticle ─┬─ ExtractText (+ enrich, sign)
    WARC files ─ ReadWarc ────────────────────────────────────┘   [─ KeepLanguages]
        ─ DetectSyndication ─┬─ articles/   (canonical copy per story)
                             └─ duplicates/ (every republication)
    every stage's rejects ─ rejects/

State from earlier runs into the same OUT (seen keys, story sketches, feed
validators) is read at the start and this run's state is written only after
every table file has been verified.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import apache_beam as beam
from apache_beam.metrics import Metrics

from wiredesk.pipelines.options import RunConfig, uses_extract_pool
from wiredesk.pipelines.outputs import read_states, write_states, write_tables
from wiredesk.schemas.records import FeedSource, Reject
from wiredesk.transforms.common.metrics import NAMESPACE
from wiredesk.transforms.dedup.stage_exact import DedupeEntries, SeenKeys, entry_keys
from wiredesk.transforms.dedup.stage_syndication import DetectSyndication
from wiredesk.transforms.extract.stage import ExtractText, StartExtractWorkers
from wiredesk.transforms.fetch.stage import FetchArticle
from wiredesk.transforms.fetch.stage_fetcher import FetchSettings
from wiredesk.transforms.io.state_store import WriteState
from wiredesk.transforms.io.write_table import WriteTable
from wiredesk.transforms.io.written_keys import ReadWrittenKeys
from wiredesk.transforms.io.written_stories import ReadWrittenStories
from wiredesk.transforms.sources.poll_schedule import ScheduleConfig
from wiredesk.transforms.sources.stage_feeds import (
    CarryOverFeedState,
    PollFeeds,
    interleave_by_host,
)
from wiredesk.transforms.sources.stage_warc import ReadWarc
from wiredesk.transforms.sources.stage_wire import ReadWireDir
from wiredesk.transforms.sources.warc_records import WarcFilters

__all__ = ["GraphOutputs", "build_graph", "fetch_settings_for", "schedule_for"]


@dataclasses.dataclass
class GraphOutputs:
    articles: beam.PCollection
    duplicates: beam.PCollection
    rejects: beam.PCollection
    written: beam.PCollection


def fetch_settings_for(config: RunConfig) -> FetchSettings:
    return FetchSettings(
        allow_private=config.allow_private_addresses,
        allowed_hosts=frozenset(config.allow_hosts),
        max_bytes=config.max_page_bytes,
        total_timeout=config.fetch_timeout,
        connect_timeout=config.connect_timeout,
        concurrency=config.fetch_concurrency,
        per_host_concurrency=config.per_host_concurrency,
        per_host_delay=config.per_host_delay,
        respect_robots=not config.ignore_robots,
    )


def schedule_for(config: RunConfig) -> ScheduleConfig:
    return ScheduleConfig(
        min_interval=config.poll_interval,
        max_interval=max(config.max_poll_interval, config.poll_interval),
    )


class _DropSeenRejects(beam.DoFn):
    """A feed that fails the same way again adds no second reject row."""

    def __init__(self) -> None:
        self._repeat = Metrics.counter(NAMESPACE, "rejects_seen_in_earlier_run")
        self._seen_keys = SeenKeys()

    def process(self, reject: Reject, seen_keys: list[str]) -> Iterator[Reject]:
        if reject.key() in self._seen_keys.of(seen_keys):
            self._repeat.inc()
            return
        yield reject


def _latest_validators(rows: Iterable[dict[str, Any]]) -> dict[str, Any]:
    return max(rows, key=lambda row: row["polled_at"])


def _capture(config: RunConfig) -> beam.PTransform:
    from wiredesk.transforms.io.warc_capture import CaptureWarc

    assert config.capture_warc is not None
    return CaptureWarc(folder=config.capture_warc, run_id=config.run_id)


def _with_warc_pages(
    p: beam.Pipeline,
    config: RunConfig,
    pages: beam.PCollection | None,
    seen_side: Any,
    reject_sets: list[beam.PCollection],
    seen_sets: list[beam.PCollection],
) -> beam.PCollection:
    """The fetched pages (None: no feed or wire input) plus the pages of the --warc files;
    their rejects and seen keys join the run's."""
    filters = WarcFilters(hosts=config.warc_hosts, since=config.since, until=config.until)
    warc = p | "ReadWarc" >> ReadWarc(
        paths=config.warc, seen_keys=seen_side, filters=filters, max_bytes=config.max_page_bytes
    )
    reject_sets.append(warc[ReadWarc.REJECTS])
    seen_sets.append(warc[ReadWarc.SEEN])
    if pages is None:
        # A backfill alone streams from the reader into extraction: the local runner
        # materializes every multi-input Flatten (FnApiRunner's sink_flattens), which
        # would hold all the pages of the WARC files in memory at once.
        return warc[ReadWarc.PAGES]
    return (pages, warc[ReadWarc.PAGES]) | "AllPages" >> beam.Flatten()


def build_graph(p: beam.Pipeline, config: RunConfig, feeds: Sequence[FeedSource]) -> GraphOutputs:
    today = config.today
    now = time.time()
    settings = fetch_settings_for(config)

    restored = read_states(p, config)
    # The tables' own rows count as seen too: a run that died after some of its files
    # became visible, but before its seen state was written, must not write them twice.
    written_before = p | "ReadWrittenKeys" >> ReadWrittenKeys(
        output=config.output, horizon_days=config.seen_horizon_days, now=now
    )
    seen = (restored.seen_keys, written_before) | "AllSeenBefore" >> beam.Flatten()
    seen_side = beam.pvalue.AsList(seen)
    # Likewise the stories of such a run: rebuilt from its articles, so a later
    # republication still joins the story already written.
    written_stories = p | "ReadWrittenStories" >> ReadWrittenStories(
        output=config.output, horizon_days=config.dedup_horizon_days, now=now, today=today
    )
    stories = (restored.stories, written_stories) | "AllStoriesBefore" >> beam.Flatten()
    validators = (
        restored.feed_rows
        | "KeyByFeed" >> beam.Map(lambda row: (row["feed_url"], row))
        | "LatestPerFeed" >> beam.CombinePerKey(_latest_validators)
    )

    entry_sets = []
    reject_sets = []
    seen_sets = []
    feed_state = None
    if feeds:
        polled = (
            p
            | "Feeds" >> beam.Create(interleave_by_host(feeds))
            | "PollFeeds"
            >> PollFeeds(settings=settings, validators=validators, schedule=schedule_for(config))
        )
        entry_sets.append(polled[PollFeeds.ENTRIES])
        reject_sets.append(polled[PollFeeds.REJECTS])
        # Feeds not polled this run (not due) keep their rows: each run's file is complete.
        feed_state = (polled[PollFeeds.STATE], validators) | "CarryOverFeedState" >> (
            CarryOverFeedState()
        )
    if config.wire_dir:
        wire = p | "ReadWireDir" >> ReadWireDir(wire_dir=config.wire_dir, seen_keys=seen_side)
        entry_sets.append(wire[ReadWireDir.ENTRIES])
        reject_sets.append(wire[ReadWireDir.REJECTS])
        seen_sets.append(wire[ReadWireDir.SEEN])

    in_pool = uses_extract_pool(p.options)
    pages: beam.PCollection | None = None
    # A --warc run alone lists nothing to fetch: it builds no fetching stages at all, which
    # Beam would otherwise set up and run on nothing (~0.1 s of a backfill's tail).
    if entry_sets:
        entries = tuple(entry_sets) | "AllEntries" >> beam.Flatten()
        if in_pool:
            _ = entries | "StartExtractWorkers" >> StartExtractWorkers(
                workers=config.extract_workers, timeout=config.extract_timeout, seen_keys=seen_side
            )
        unique = entries | "DedupeEntries" >> DedupeEntries(seen_keys=seen_side)
        fetched = unique | "FetchArticle" >> FetchArticle(settings=settings)
        pages = fetched[FetchArticle.PAGES]
        reject_sets.append(fetched[FetchArticle.REJECTS])
        seen_sets.append(entries | "EntryKeys" >> beam.FlatMap(entry_keys))
        if config.capture_warc:
            _ = pages | "CaptureWarc" >> _capture(config)
    if config.warc:
        pages = _with_warc_pages(p, config, pages, seen_side, reject_sets, seen_sets)
    if pages is None:  # RunConfig requires feeds, a wire folder or WARC files
        raise ValueError("nothing to read: no feeds, no wire folder, no WARC files")
    # Extraction, enrichment, the content hash and the sketch: one pass per page.
    extracted = pages | "ExtractText" >> ExtractText(
        workers=config.extract_workers, timeout=config.extract_timeout, in_process=not in_pool
    )
    articles = extracted[ExtractText.ARTICLES]
    if config.languages:
        from wiredesk.transforms.enrich.stage_language import KeepLanguages

        articles = articles | "KeepLanguages" >> KeepLanguages(languages=config.languages)
    synd = articles | "DetectSyndication" >> DetectSyndication(
        restored_stories=stories, today=today, horizon_days=config.dedup_horizon_days
    )

    reject_sets.append(extracted[ExtractText.REJECTS])
    rejects = (
        tuple(reject_sets)
        | "AllRejects" >> beam.Flatten()
        | "DropSeenRejects" >> beam.ParDo(_DropSeenRejects(), seen_side)
    )

    written = write_tables(
        articles=synd[DetectSyndication.ARTICLES],
        duplicates=synd[DetectSyndication.DUPLICATES],
        rejects=rejects,
        writer=lambda **table: WriteTable(output=config.output, run_id=config.run_id, **table),
    )

    seen_sets.append(rejects | "RejectKeys" >> beam.Map(lambda r: r.key()))
    new_seen = (
        tuple(seen_sets)
        | "AllSeen" >> beam.Flatten()
        | "UniqueSeen" >> beam.Distinct()
        | "SeenRows" >> beam.Map(lambda key: {"key": key, "day": today})
    )
    write_states(
        seen=new_seen,
        stories=synd[DetectSyndication.STORIES],
        feeds=feed_state,
        writer=lambda **kind: WriteState(
            output=config.output, run_id=config.run_id, after=written, **kind
        ),
    )
    return GraphOutputs(
        articles=synd[DetectSyndication.ARTICLES],
        duplicates=synd[DetectSyndication.DUPLICATES],
        rejects=rejects,
        written=written,
    )
