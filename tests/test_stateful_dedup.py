"""Keyed-state dedup of the unbounded graph, under TestStream (event time is ours)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions
from apache_beam.testing.test_stream import TestStream
from apache_beam.testing.util import assert_that, equal_to
from apache_beam.transforms.window import TimestampedValue

from wiredesk.loopback import LoopbackOutlet, Route
from wiredesk.schemas.records import FeedEntry, FeedSource
from wiredesk.transforms.common.stage_keyed_state import day_of, expiry_time
from wiredesk.transforms.dedup.stage_stateful import DedupeEntriesStateful, KeepFirstSeen
from wiredesk.transforms.fetch.stage_fetcher import FetchSettings
from wiredesk.transforms.sources.stage_feeds import PollFeedsStateful

DAY = 24 * 3600
T0 = 1_729_641_600  # 2024-10-23T00:00:00Z


def _streaming() -> PipelineOptions:
    options = PipelineOptions([])
    options.view_as(StandardOptions).streaming = True
    return options


def _stream(batches: Sequence[tuple[float, list]]) -> TestStream:
    """Each batch: advance the watermark to its time, then add its elements at that time."""
    ts = TestStream()
    for at, elements in batches:
        ts = ts.advance_watermark_to(at).add_elements([TimestampedValue(e, at) for e in elements])
    return ts.advance_watermark_to_infinity()


def _first_seen(batches, *, values, rows, horizon_days=1, restored=()):
    """Run KeepFirstSeen over the batches; assert the values and (key, day) rows it emits."""
    with beam.Pipeline(options=_streaming()) as p:
        restored_side = p | "Restored" >> beam.Create(list(restored))
        out = (
            p
            | _stream(batches)
            | KeepFirstSeen(what="t", horizon_days=horizon_days, restored_keys=restored_side)
        )
        assert_that(out[KeepFirstSeen.VALUES], equal_to(values), label="values")
        assert_that(
            out[KeepFirstSeen.SEEN] | beam.Map(lambda r: (r["key"], r["day"])),
            equal_to(rows),
            label="rows",
        )


OCT23, OCT24 = dt.date(2024, 10, 23), dt.date(2024, 10, 24)


def test_first_value_of_each_key_passes_and_repeats_are_dropped():
    _first_seen(
        [
            (T0, [("a", 1), ("b", 2), ("a", 3)]),
            (T0 + 600, [("a", 4), ("c", 5)]),
        ],
        values=[1, 2, 5],
        rows=[("a", OCT23), ("b", OCT23), ("c", OCT23)],
    )


def test_a_key_unseen_for_the_horizon_is_accepted_again():
    _first_seen(
        [(T0, [("a", 1)]), (T0 + 2 * DAY, [("a", 2)])],
        horizon_days=1,
        values=[1, 2],
        rows=[("a", OCT23), ("a", dt.date(2024, 10, 25))],
    )


def test_each_sighting_moves_the_expiry_so_a_long_listed_item_is_not_refetched():
    # Seen at day 0 and day 0.8; at day 1.5 the key was last seen 0.7 days ago.
    # The persisted row is refreshed on the new day (for a restart), once.
    _first_seen(
        [(T0, [("a", 1)]), (T0 + 0.8 * DAY, [("a", 2)]), (T0 + 1.5 * DAY, [("a", 3)])],
        horizon_days=1,
        values=[1],
        rows=[("a", OCT23), ("a", OCT24)],
    )


def test_keys_restored_from_an_earlier_run_are_dropped():
    # The restored key's row is refreshed for the next restart; the new key gets its own.
    _first_seen(
        [(T0, [("old", 1), ("new", 2)])],
        restored=["old"],
        values=[2],
        rows=[("new", OCT23), ("old", OCT23)],
    )


def _entry(url: str, *, guid: str | None = None, feed: str = "http://f/1") -> FeedEntry:
    return FeedEntry(url=url, feed_url=feed, url_key=url.lower(), guid=guid)


def test_entries_are_unique_by_url_then_by_guid():
    batches = [
        (
            T0,
            [
                _entry("http://a/1", guid="urn:x:1"),
                _entry("http://a/1", feed="http://f/2"),  # same URL from another feed
                _entry("http://b/1", guid="urn:x:1"),  # same global guid, other URL
                _entry("http://c/1", guid="7", feed="http://f/1"),
                _entry("http://d/1", guid="7", feed="http://f/2"),  # local guids differ by feed
            ],
        ),
        (T0 + 300, [_entry("http://a/1", guid="urn:x:1"), _entry("http://e/1")]),
    ]
    with beam.Pipeline(options=_streaming()) as p:
        restored = p | "Restored" >> beam.Create([])
        out = p | _stream(batches) | DedupeEntriesStateful(horizon_days=30, restored_keys=restored)
        urls = out[DedupeEntriesStateful.ENTRIES] | beam.Map(lambda e: e.url)
        assert_that(urls, equal_to(["http://a/1", "http://c/1", "http://d/1", "http://e/1"]))


def test_time_helpers_hold_at_the_ends_of_time():
    end = beam.transforms.window.GlobalWindow().max_timestamp()
    assert day_of(end) == dt.date(9999, 12, 31)
    horizon = beam.utils.timestamp.Duration(seconds=30 * DAY)
    assert expiry_time(end, horizon) == end
    start = beam.utils.timestamp.Timestamp(T0)
    assert expiry_time(start, horizon) == start + horizon


RSS = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>Loop</title>
<link>http://127.0.0.51/</link><description>d</description>
<item><title>One</title><link>http://127.0.0.51/a/1</link><guid>http://127.0.0.51/a/1</guid></item>
<item><title>Two</title><link>http://127.0.0.51/a/2</link><guid>http://127.0.0.51/a/2</guid></item>
</channel></rss>"""


def test_feed_validators_live_in_keyed_state_and_make_the_next_poll_conditional():
    outlet = LoopbackOutlet(host="127.0.0.51", routes={"/feed.xml": Route(body=RSS)})
    with outlet:
        feed = FeedSource(url=outlet.url("/feed.xml"), title="Loop")
        ticks = [(T0, [feed]), (T0 + 300, [feed]), (T0 + 600, [feed])]
        with beam.Pipeline(options=_streaming()) as p:
            restored = p | "Restored" >> beam.Create([])
            out = (
                p
                | _stream(ticks)
                | PollFeedsStateful(
                    settings=FetchSettings(allow_private=True, respect_robots=False),
                    horizon_days=30,
                    restored_validators=restored,
                )
            )
            assert_that(
                out[PollFeedsStateful.ENTRIES] | beam.Map(lambda e: e.url),
                equal_to(["http://127.0.0.51/a/1", "http://127.0.0.51/a/2"]),
                label="entries once",
            )
            assert_that(
                out[PollFeedsStateful.STATE] | beam.Map(lambda r: r["etag"]),
                equal_to([Route(body=RSS).etag]),
                label="one validators row",
            )
        assert outlet.hits["/feed.xml"] == 3
        assert outlet.not_modified["/feed.xml"] == 2


def test_restored_validators_make_the_first_poll_conditional():
    outlet = LoopbackOutlet(host="127.0.0.52", routes={"/feed.xml": Route(body=RSS)})
    with outlet:
        feed = FeedSource(url=outlet.url("/feed.xml"))
        row = {
            "feed_url": feed.url,
            "day": dt.date(2024, 10, 22),
            "etag": Route(body=RSS).etag,
            "last_modified": None,
            "polled_at": dt.datetime(2024, 10, 22, 23, tzinfo=dt.UTC),
        }
        older = dict(row, etag='"stale"', polled_at=dt.datetime(2024, 10, 20, tzinfo=dt.UTC))
        with beam.Pipeline(options=_streaming()) as p:
            restored = p | "Restored" >> beam.Create([older, row])
            out = (
                p
                | _stream([(T0, [feed])])
                | PollFeedsStateful(
                    settings=FetchSettings(allow_private=True, respect_robots=False),
                    horizon_days=30,
                    restored_validators=restored,
                )
            )
            assert_that(out[PollFeedsStateful.ENTRIES], equal_to([]), label="nothing new")
        assert outlet.not_modified["/feed.xml"] == 1


def _poller_counters(result: beam.runners.runner.PipelineResult) -> dict[str, int]:
    from apache_beam.metrics.metric import MetricsFilter

    from wiredesk.transforms.common.metrics import NAMESPACE

    result.wait_until_finish()
    query = result.metrics().query(MetricsFilter().with_namespace(NAMESPACE))
    return {
        c.key.metric.name: c.committed
        for c in query["counters"]
        if c.key.metric.name.startswith(("feeds_", "entries_", "rejected_feed_"))
    }


def test_the_stream_poller_counts_as_the_batch_poller_does():
    from wiredesk.transforms.sources.stage_feeds import PollFeeds

    outlet = LoopbackOutlet(
        host="127.0.0.53",
        routes={
            "/feed.xml": Route(body=RSS),
            "/gone.xml": Route(status=404, body=b"gone"),
            "/junk.xml": Route(body=b"<html>no feed here</html>", content_type="text/html"),
        },
    )
    settings = FetchSettings(allow_private=True, respect_robots=False)
    with outlet:
        feeds = [
            FeedSource(url=outlet.url(path)) for path in ("/feed.xml", "/gone.xml", "/junk.xml")
        ]
        batch = beam.Pipeline()
        no_state = batch | "Validators" >> beam.Create([])
        _ = batch | beam.Create(feeds) | PollFeeds(settings=settings, validators=no_state)
        batch_counters = _poller_counters(batch.run())
        stream = beam.Pipeline(options=_streaming())
        restored = stream | "Restored" >> beam.Create([])
        _ = (
            stream
            | _stream([(T0, feeds)])
            | PollFeedsStateful(settings=settings, horizon_days=30, restored_validators=restored)
        )
        stream_counters = _poller_counters(stream.run())
    assert batch_counters["feeds_polled"] == 3
    assert batch_counters["entries_listed"] == 2
    assert batch_counters["feeds_rejected"] == 2
    assert sum(v for k, v in batch_counters.items() if k.startswith("rejected_feed_")) == 2
    assert stream_counters == batch_counters
