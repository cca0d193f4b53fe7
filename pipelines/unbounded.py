"""The unbounded graph: ``--streaming`` on a managed runner (Dataflow, Flink, Spark).

docs/architecture.md, "Unbounded, for Dataflow". The stage transforms
are the batch graph's (FetchArticle, ExtractText, and the pure feed
poll :func:`poll_one_feed`); what only works on a bounded run is replaced:

    PollClock (PeriodicImpulse, every --poll-interval) ─ FeedsPerTick ─ Reshuffle
      ─ PollFeeds (validators in keyed state) ─┐
    wire dir (read once at start) ─────────────┴─ DedupeEntries (keyed state, expiry timer)
      ─ FetchArticle ─ ExtractText (+ enrich, sign: in the DoFn, one SDK process per core)
      ─ DetectSyndication (StreamingSyndication: index in keyed state, first seen is canonical)
      ─┬─ articles/   ┐
       └─ duplicates/ ├ fixed event-time windows; each window's files are final
    rejects (first of each key) ─ rejects/ ┘
    state rows ─ OUT/_state/{seen,stories,feeds}/ (windowed too: a drained job's successor,
                 the batch graph and local streaming all restore them)

Beam state holds what dedup needs while the job runs (and across a Dataflow
``--update``, which keeps state); ``OUT/_state`` holds it across a drain and a
new job. Every element carries the event time of the poll tick that produced
it, and windows are cut on that time.

Example (offline: builds the Dataflow job graph without submitting it)::

    import apache_beam as beam
    from apache_beam.options.pipeline_options import PipelineOptions
    from wiredesk.pipelines.options import RunConfig
    from wiredesk.pipelines.unbounded import build_unbounded_graph
    from wiredesk.schemas.records import FeedSource
    opts = PipelineOptions(["--runner=DataflowRunner", "--dry_run=True", "--streaming",
                            "--project=p", "--region=europe-west1",
                            "--temp_location=gs://b/tmp"])
    p = beam.Pipeline(options=opts)
    build_unbounded_graph(p, RunConfig(feeds=None, output="gs://b/out", streaming=True),
                          [FeedSource(url="https://example.org/feed.xml")])
    p.run()
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator, Sequence
from typing import Any

import apache_beam as beam
from apache_beam.transforms import window as window_fn
from apache_beam.transforms.periodicsequence import PeriodicImpulse, RebaseMode
from apache_beam.transforms.window import TimestampedValue

from wiredesk.pipelines.graph import fetch_settings_for, schedule_for
from wiredesk.pipelines.options import RunConfig, uses_extract_pool
from wiredesk.pipelines.outputs import read_states, write_states, write_tables
from wiredesk.schemas.records import FeedEntry, FeedSource
from wiredesk.transforms.common.stage_keyed_state import day_of
from wiredesk.transforms.dedup.stage_stateful import DedupeEntriesStateful, KeepFirstSeen
from wiredesk.transforms.dedup.stage_streaming_syndication import StreamingSyndication
from wiredesk.transforms.extract.stage import ExtractText
from wiredesk.transforms.fetch.stage import FetchArticle
from wiredesk.transforms.io.windowed_write import (
    WindowSettings,
    WriteWindowedState,
    WriteWindowedTable,
)
from wiredesk.transforms.sources.stage_feeds import PollFeedsStateful
from wiredesk.transforms.sources.stage_wire import ReadWireDir

__all__ = ["UnboundedOutputs", "UnboundedSettings", "build_unbounded_graph", "poll_clock"]


@dataclasses.dataclass(frozen=True)
class UnboundedSettings:
    """What only the unbounded graph needs (defaults in one place)."""

    window: WindowSettings = WindowSettings()


@dataclasses.dataclass
class UnboundedOutputs:
    articles: beam.PCollection
    duplicates: beam.PCollection
    rejects: beam.PCollection
    written: beam.PCollection


def poll_clock(config: RunConfig) -> beam.PTransform:
    """A tick every ``poll_interval`` seconds, forever, in the global window.

    ``REBASE_START`` starts the clock when the job runs, not when the module
    was imported (PeriodicImpulse's default start is evaluated at import).
    Ticks are float epoch seconds stamped with the same event time.
    """
    return PeriodicImpulse(
        fire_interval=config.poll_interval,
        apply_windowing=False,
        rebase=RebaseMode.REBASE_START,
    )


class _FeedsPerTick(beam.DoFn):
    """Every feed of the list, once a tick (the tick's event time carries over)."""

    def __init__(self, feeds: Sequence[FeedSource]) -> None:
        self._feeds = tuple(feeds)

    def process(self, tick: Any) -> Iterator[FeedSource]:
        del tick  # only its timestamp matters, and outputs inherit it
        yield from self._feeds


class _StampNow(beam.DoFn):
    """Give a bounded source's elements (event time: the beginning of time) the
    wall-clock time they were read, so windows and expiry timers are meaningful.
    Moving a timestamp forward never makes an element late."""

    def process(self, element: Any) -> Iterator[Any]:
        yield TimestampedValue(element, time.time())


def _seen_row(key: str, timestamp: Any = beam.DoFn.TimestampParam) -> dict[str, Any]:
    return {"key": key, "day": day_of(timestamp)}


def build_unbounded_graph(
    p: beam.Pipeline,
    config: RunConfig,
    feeds: Sequence[FeedSource],
    *,
    settings: UnboundedSettings = UnboundedSettings(),
    clock: beam.PTransform | None = None,
) -> UnboundedOutputs:
    """Build the unbounded graph on ``p``. ``clock`` replaces the poll clock (tests
    pass a ``TestStream`` of ticks); any element of it triggers one poll of every feed."""
    fetch = fetch_settings_for(config)
    window = settings.window

    restored = read_states(p, config)
    seen_keys = restored.seen_keys
    # The latest row per feed is picked by the poller (a CombinePerKey here would
    # not run on the local streaming runner the TestStream tests use).
    validator_rows = restored.feed_rows

    entry_sets: list[beam.PCollection] = []
    reject_sets: list[beam.PCollection] = []
    seen_rows: list[beam.PCollection] = []
    feed_state = None
    if feeds:
        polled = (
            p
            | "PollClock" >> (clock if clock is not None else poll_clock(config))
            | "FeedsPerTick" >> beam.ParDo(_FeedsPerTick(feeds))
            | "Reshuffle" >> beam.Reshuffle()
            | "PollFeeds"
            >> PollFeedsStateful(
                settings=fetch,
                horizon_days=config.seen_horizon_days,
                restored_validators=validator_rows,
                schedule=schedule_for(config),
            )
        )
        entry_sets.append(polled[PollFeedsStateful.ENTRIES])
        reject_sets.append(polled[PollFeedsStateful.REJECTS])
        feed_state = polled[PollFeedsStateful.STATE]
    if config.wire_dir:
        # Read once when the job starts; for a continuous wire, list it in the
        # feeds file as a ninjs/NewsML endpoint (it is then polled every tick).
        wire = p | "ReadWireDir" >> ReadWireDir(
            wire_dir=config.wire_dir, seen_keys=beam.pvalue.AsList(seen_keys)
        )
        entry_sets.append(wire[ReadWireDir.ENTRIES] | "StampWireEntries" >> beam.ParDo(_StampNow()))
        reject_sets.append(
            wire[ReadWireDir.REJECTS] | "StampWireRejects" >> beam.ParDo(_StampNow())
        )
        seen_rows.append(
            wire[ReadWireDir.SEEN]
            | "StampWireSeen" >> beam.ParDo(_StampNow())
            | "WireSeenRows" >> beam.Map(_seen_row)
        )
    if not entry_sets:
        raise ValueError("the unbounded graph needs --feeds (or --wire-dir)")

    entries = tuple(entry_sets) | "AllEntries" >> beam.Flatten().with_output_types(FeedEntry)
    unique = entries | "DedupeEntries" >> DedupeEntriesStateful(
        horizon_days=config.seen_horizon_days, restored_keys=seen_keys
    )
    # BatchElements (inside FetchArticle and ExtractText) stamps each batch with the
    # end of its window: in the global window that is the end of time. So these
    # stages run in the write windows (batches keep their window's time), and the
    # stateful syndication runs in the global window again (state outlives windows).
    fetched = (
        unique[DedupeEntriesStateful.ENTRIES]
        | "WindowForBatches" >> beam.WindowInto(window_fn.FixedWindows(window.window_seconds))
        | "FetchArticle" >> FetchArticle(settings=fetch)
    )
    extracted = fetched[FetchArticle.PAGES] | "ExtractText" >> ExtractText(
        workers=config.extract_workers,
        timeout=config.extract_timeout,
        in_process=not uses_extract_pool(p.options),
    )
    synd = (
        extracted[ExtractText.ARTICLES]
        | "GlobalForState" >> beam.WindowInto(window_fn.GlobalWindows())
    ) | "DetectSyndication" >> StreamingSyndication(
        horizon_days=config.dedup_horizon_days, restored_stories=restored.stories
    )

    windowed_rejects = (
        fetched[FetchArticle.REJECTS],
        extracted[ExtractText.REJECTS],
    )
    reject_sets.append(
        windowed_rejects
        | "StageRejects" >> beam.Flatten()
        | "GlobalRejects" >> beam.WindowInto(window_fn.GlobalWindows())
    )
    # A feed that keeps failing the same way adds one reject row per horizon, not one a tick.
    first_rejects = (
        tuple(reject_sets)
        | "AllRejects" >> beam.Flatten()
        | "KeyRejects" >> beam.Map(lambda r: (r.key(), r))
        | "DropSeenRejects"
        >> KeepFirstSeen(
            what="reject", horizon_days=config.seen_horizon_days, restored_keys=seen_keys
        )
    )
    rejects = first_rejects[KeepFirstSeen.VALUES]

    written = write_tables(
        articles=synd[StreamingSyndication.ARTICLES],
        duplicates=synd[StreamingSyndication.DUPLICATES],
        rejects=rejects,
        writer=lambda **table: WriteWindowedTable(
            output=config.output, run_id=config.run_id, window=window, **table
        ),
    )

    seen_rows += [unique[DedupeEntriesStateful.SEEN], first_rejects[KeepFirstSeen.SEEN]]
    write_states(
        seen=tuple(seen_rows) | "AllSeenRows" >> beam.Flatten(),
        stories=synd[StreamingSyndication.STORIES],
        feeds=feed_state,
        writer=lambda **kind: WriteWindowedState(
            output=config.output, run_id=config.run_id, window=window, **kind
        ),
    )
    return UnboundedOutputs(
        articles=synd[StreamingSyndication.ARTICLES],
        duplicates=synd[StreamingSyndication.DUPLICATES],
        rejects=rejects,
        written=written,
    )
