"""DedupeEntries: one entry per URL key and guid, and nothing seen in an earlier run."""

from __future__ import annotations

import apache_beam as beam
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to

from wiredesk.schemas.records import FeedEntry
from wiredesk.transforms.dedup.stage_exact import DedupeEntries, entry_keys, guid_identity


def _entry(
    url: str, key: str, feed: str = "http://f/a", guid: str | None = None, wire: bool = False
) -> FeedEntry:
    return FeedEntry(url=url, feed_url=feed, url_key=key, guid=guid, is_wire=wire)


def test_same_url_from_two_feeds_is_kept_once():
    entries = [
        _entry("http://x/a?utm_source=1", "x/a", feed="http://f/1"),
        _entry("http://x/a?utm_source=2", "x/a", feed="http://f/2"),
        _entry("http://x/b", "x/b"),
    ]
    with TestPipeline() as p:
        seen_pc = p | "Seen" >> beam.Create([])
        out = p | beam.Create(entries) | DedupeEntries(seen_keys=beam.pvalue.AsList(seen_pc))
        assert_that(out | beam.Map(lambda e: e.url_key), equal_to(["x/a", "x/b"]))


def test_entries_seen_in_an_earlier_run_are_dropped():
    entries = [_entry("http://x/a", "x/a"), _entry("http://x/b", "x/b")]
    with TestPipeline() as p:
        seen_pc = p | "Seen" >> beam.Create(["url:x/a"])
        out = p | beam.Create(entries) | DedupeEntries(seen_keys=beam.pvalue.AsList(seen_pc))
        assert_that(out | beam.Map(lambda e: e.url_key), equal_to(["x/b"]))


def test_global_guid_merges_different_urls_but_local_numbers_do_not():
    entries = [
        _entry("http://x/a", "x/a", feed="http://f/1", guid="tag:agency.example,2024:123"),
        _entry("http://y/a", "y/a", feed="http://f/2", guid="tag:agency.example,2024:123"),
        _entry("http://x/c", "x/c", feed="http://f/1", guid="42"),
        _entry("http://y/c", "y/c", feed="http://f/2", guid="42"),
    ]
    with TestPipeline() as p:
        seen_pc = p | "Seen" >> beam.Create([])
        out = p | beam.Create(entries) | DedupeEntries(seen_keys=beam.pvalue.AsList(seen_pc))
        suffixes = out | beam.Map(lambda e: e.url_key[-1])
        # One of x/a and y/a (same global guid); both x/c and y/c (local guid "42").
        assert_that(suffixes, equal_to(["a", "c", "c"]))


def test_keys_of_a_wire_item_are_global():
    wire = _entry("urn:newsml:x:1", "urn:newsml:x:1#v1", guid="urn:newsml:x", wire=True)
    assert guid_identity(wire) == "guid:urn:newsml:x"
    assert entry_keys(wire) == ["url:urn:newsml:x:1#v1", "guid:urn:newsml:x"]


def test_guid_equal_to_url_adds_no_key():
    entry = _entry("http://x/a", "x/a", guid="http://x/a")
    assert entry_keys(entry) == ["url:x/a"]
