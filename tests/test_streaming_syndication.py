"""StreamingSyndication under TestStream: first seen is canonical, horizon, restore."""

from __future__ import annotations

import dataclasses
import datetime as dt

import apache_beam as beam
import pyarrow.parquet as pq
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions
from apache_beam.testing.test_stream import TestStream
from apache_beam.testing.util import assert_that, equal_to
from apache_beam.transforms.window import TimestampedValue

from wiredesk.schemas.records import Article
from wiredesk.transforms.dedup.signatures import sketch_text
from wiredesk.transforms.dedup.stage_streaming_syndication import StreamingSyndication
from wiredesk.transforms.dedup.syndication import (
    DocInfo,
    SyndicationConfig,
    SyndicationIndex,
    assign_streaming,
    story_id_for,
)
from wiredesk.transforms.io.state_store import ReadState
from wiredesk.transforms.io.windowed_write import WindowSettings, WriteWindowedState

DAY = 24 * 3600
T0 = 1_729_641_600  # 2024-10-23T00:00:00Z

STORY = "\n".join(
    f"Paragraph {i} of the harbour story reports new figures about shipment {i} and its crew."
    for i in range(9)
)
REPUBLISHED = "Photo: a ship in the harbour.\n" + STORY
OTHER = "\n".join(
    f"Line {i}: the council debated budget item {i} until late in the evening." for i in range(9)
)


def _article(url: str, text: str, *, published: dt.datetime | None = None) -> Article:
    return Article(
        url=url,
        url_key=url,
        canonical_url=url,
        source="outlet",
        feed_url="http://feed",
        title=None,
        text=text,
        published_at=published,
        fetched_at=dt.datetime(2024, 10, 23, tzinfo=dt.UTC),
    )


def _streaming() -> PipelineOptions:
    options = PipelineOptions([])
    options.view_as(StandardOptions).streaming = True
    return options


def _stream(batches):
    ts = TestStream()
    for at, elements in batches:
        ts = ts.advance_watermark_to(at).add_elements([TimestampedValue(e, at) for e in elements])
    return ts.advance_watermark_to_infinity()


def _run(batches, *, canonical, duplicates, horizon_days=7, restored=(), state_out=None):
    """Assert (url, story_id) of canonical and duplicate outputs."""
    with beam.Pipeline(options=_streaming()) as p:
        if isinstance(restored, str):
            rows = p | ReadState(
                output=restored, kind="stories", horizon_days=30, today=dt.date(2024, 10, 23)
            )
        else:
            rows = p | "Restored" >> beam.Create(list(restored))
        synd = (
            p
            | _stream(batches)
            | StreamingSyndication(horizon_days=horizon_days, restored_stories=rows)
        )
        assert_that(
            synd[StreamingSyndication.ARTICLES] | "C" >> beam.Map(lambda a: (a.url, a.story_id)),
            equal_to(canonical),
            label="canonical",
        )
        assert_that(
            synd[StreamingSyndication.DUPLICATES] | "D" >> beam.Map(lambda a: (a.url, a.story_id)),
            equal_to(duplicates),
            label="duplicates",
        )
        if state_out is not None:
            synd[StreamingSyndication.STORIES] | WriteWindowedState(
                output=state_out, kind="stories", run_id="r1", window=WindowSettings(600)
            )


def test_first_copy_seen_stays_canonical_and_later_copies_join_it():
    story = story_id_for("http://late-wire/1")
    _run(
        [
            (T0, [_article("http://late-wire/1", STORY), _article("http://other/1", OTHER)]),
            # The agency's own copy arrives later: in streaming it is still a duplicate.
            (T0 + 600, [_article("http://agency/1", REPUBLISHED)]),
        ],
        canonical=[
            ("http://late-wire/1", story),
            ("http://other/1", story_id_for("http://other/1")),
        ],
        duplicates=[("http://agency/1", story)],
    )


def test_a_story_beyond_the_horizon_is_no_longer_matched():
    _run(
        [
            (T0, [_article("http://a/1", STORY)]),
            (T0 + 3 * DAY, [_article("http://b/1", REPUBLISHED)]),
        ],
        horizon_days=2,
        canonical=[
            ("http://a/1", story_id_for("http://a/1")),
            ("http://b/1", story_id_for("http://b/1")),
        ],
        duplicates=[],
    )


def test_within_the_horizon_a_republication_days_later_is_linked():
    _run(
        [
            (T0, [_article("http://a/1", STORY)]),
            (T0 + 3 * DAY, [_article("http://b/1", REPUBLISHED)]),
        ],
        horizon_days=7,
        canonical=[("http://a/1", story_id_for("http://a/1"))],
        duplicates=[("http://b/1", story_id_for("http://a/1"))],
    )


def test_index_restored_from_state_rows_links_a_copy_after_a_restart(tmp_path):
    out = str(tmp_path)
    # First job: sees the story, writes its index rows to OUT/_state/stories per window.
    _run(
        [(T0, [_article("http://a/1", STORY)])],
        canonical=[("http://a/1", story_id_for("http://a/1"))],
        duplicates=[],
        state_out=out,
    )
    files = list((tmp_path / "_state" / "stories").glob("*.parquet"))
    assert len(files) == 1
    assert pq.read_table(files[0]).column("story_id").to_pylist() == [story_id_for("http://a/1")]
    # A new job (after a drain) restores them: the republication joins the old story.
    _run(
        [(T0 + DAY, [_article("http://b/1", REPUBLISHED)])],
        canonical=[],
        duplicates=[("http://b/1", story_id_for("http://a/1"))],
        restored=out,
    )


def test_state_rows_are_exactly_what_the_pure_index_keeps():
    published = dt.datetime(2024, 10, 21, 22, tzinfo=dt.UTC)
    docs = [
        _article("http://a/1", STORY, published=published),
        _article("http://b/1", REPUBLISHED),
        _article("http://c/1", OTHER),
    ]
    index = SyndicationIndex(SyndicationConfig(horizon_days=7))
    for doc in docs:
        sketch = sketch_text(text=doc.text, title=doc.title, language=doc.language)
        assign_streaming(
            DocInfo(doc_id=doc.url_key, sketch=sketch, published_at=doc.published_at),
            index,
            today=dt.date(2024, 10, 23),
        )
    expected = [(r["story_id"], r["day"], r["sketch"]) for r in index.to_rows()]
    with beam.Pipeline(options=_streaming()) as p:
        rows = p | "Restored" >> beam.Create([])
        synd = (
            p
            | _stream([(T0 + i, [doc]) for i, doc in enumerate(docs)])  # fixed order of sight
            | StreamingSyndication(horizon_days=7, restored_stories=rows)
        )
        assert_that(
            synd[StreamingSyndication.STORIES]
            | beam.Map(lambda r: (r["story_id"], r["day"], r["sketch"])),
            equal_to(expected),
        )


def test_versions_of_one_wire_item_are_one_story_whatever_their_text():
    first = dataclasses.replace(
        _article("http://wire/item-1", STORY), is_wire=True, wire={"item_id": "item-1"}
    )
    # Version 2 is a rewrite: no text in common, but the same wire item.
    second = dataclasses.replace(
        _article("http://wire/item-1?v=2", OTHER), is_wire=True, wire={"item_id": "item-1"}
    )
    story = story_id_for("wire:item-1")
    _run(
        [(T0, [first]), (T0 + 600, [second])],
        canonical=[("http://wire/item-1", story)],
        duplicates=[("http://wire/item-1?v=2", story)],
    )
