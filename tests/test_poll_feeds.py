"""PollFeeds: conditional GET, the next poll planned from what the feed said, carried-over state."""

from __future__ import annotations

import datetime as dt

import apache_beam as beam
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to

from wiredesk.loopback import LoopbackOutlet, Route
from wiredesk.schemas.records import FeedSource
from wiredesk.transforms.fetch.http_client import FetchResult
from wiredesk.transforms.fetch.stage_fetcher import FetchSettings
from wiredesk.transforms.sources.poll_schedule import PollStatus, ScheduleConfig
from wiredesk.transforms.sources.stage_feeds import (
    CarryOverFeedState,
    PollFeeds,
    listing_hash,
    poll_one_feed,
)

NOW = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.UTC)
FEED = FeedSource(url="https://news.example.com/rss.xml", title="Example")
SCHEDULE = ScheduleConfig(min_interval=60, max_interval=3600, jitter=0.0)


def _rss(*items: str, ttl: int | None = None) -> bytes:
    ttl_tag = f"<ttl>{ttl}</ttl>" if ttl else ""
    body = "".join(
        f"<item><title>{i}</title><link>https://news.example.com/{i}</link></item>" for i in items
    )
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Example</title>'
        f"<link>https://news.example.com/</link>{ttl_tag}{body}</channel></rss>"
    ).encode()


class FakeFetcher:
    def __init__(self, *results: FetchResult) -> None:
        self.results = list(results)
        self.calls: list[tuple[str, str | None, str | None]] = []

    def fetch_feed(self, url, *, etag=None, last_modified=None):
        self.calls.append((url, etag, last_modified))
        return self.results.pop(0)


def _ok(body: bytes, **headers: str) -> FetchResult:
    merged = {"content-type": "application/rss+xml", **headers}
    return FetchResult(
        ok=True, url=FEED.url, final_url=FEED.url, status=200, headers=merged, body=body
    )


def _poll(fetcher, previous=None, now=NOW):
    return poll_one_feed(
        fetcher=fetcher, feed=FEED, validators=previous, now=now, schedule=SCHEDULE
    )


def _delay(state) -> float:
    return (state["next_poll_at"] - state["polled_at"]).total_seconds()


def test_first_poll_lists_entries_and_plans_the_next():
    fetcher = FakeFetcher(_ok(_rss("a", "b"), etag='"v1"', **{"last-modified": "Wed, 01 May"}))
    out = _poll(fetcher)
    assert out.poll_status is PollStatus.CHANGED and len(out.entries) == 2
    state = out.state
    assert state["etag"] == '"v1"' and state["last_modified"] == "Wed, 01 May"
    assert state["polls"] == 1 and state["consecutive_failures"] == 0
    assert state["last_new_at"] == NOW and state["last_status"] == "changed"
    assert _delay(state) == 60
    assert state["listing_hash"] == listing_hash(out.entries)
    assert fetcher.calls == [(FEED.url, None, None)]


def test_304_sends_validators_keeps_them_and_slows_down():
    first = _poll(FakeFetcher(_ok(_rss("a"), etag='"v1"'))).state
    not_modified = FetchResult(
        ok=True, url=FEED.url, final_url=FEED.url, status=304, headers={}, not_modified=True
    )
    fetcher = FakeFetcher(not_modified)
    later = NOW + dt.timedelta(minutes=1)
    out = _poll(fetcher, first, now=later)
    assert fetcher.calls == [(FEED.url, '"v1"', None)]
    assert out.status == "not_modified" and out.poll_status is PollStatus.NOT_MODIFIED
    assert out.entries == () and out.rejects == ()
    assert out.state["etag"] == '"v1"'
    assert out.state["listing_hash"] == first["listing_hash"]
    assert out.state["interval_s"] == 90 and out.state["polls"] == 2
    assert out.state["last_new_at"] == NOW  # unchanged since the first poll


def test_same_listing_without_validators_counts_as_idle_and_new_items_as_busy():
    first = _poll(FakeFetcher(_ok(_rss("a", "b")))).state
    same = _poll(FakeFetcher(_ok(_rss("b", "a"))), first).state  # order does not matter
    assert same["last_status"] == "unchanged" and same["interval_s"] == 90
    busy = _poll(FakeFetcher(_ok(_rss("a", "b", "c"))), same).state
    assert busy["last_status"] == "changed" and busy["interval_s"] == 60


def test_failure_is_a_reject_backs_off_honours_retry_after_and_keeps_validators():
    first = _poll(FakeFetcher(_ok(_rss("a"), etag='"v1"'))).state
    failed = FetchResult(
        ok=False,
        url=FEED.url,
        final_url=FEED.url,
        status=503,
        reason="http_503",
        detail="Service Unavailable",
        retry_after=1800.0,
    )
    out = _poll(FakeFetcher(failed), first)
    assert out.status == "failed" and out.poll_status is PollStatus.FAILED
    (reject,) = out.rejects
    assert (reject.stage, reject.reason) == ("feed", "http_503")
    assert out.state["etag"] == '"v1"' and out.state["listing_hash"] == first["listing_hash"]
    assert out.state["consecutive_failures"] == 1
    assert _delay(out.state) == 1800
    plain = dict(failed.__dict__, retry_after=None)
    again = _poll(FakeFetcher(FetchResult(**plain)), out.state).state
    assert again["consecutive_failures"] == 2 and _delay(again) == 240


def test_ttl_and_cache_control_set_a_floor():
    out = _poll(FakeFetcher(_ok(_rss("a", ttl=15))))
    assert _delay(out.state) == 900
    out = _poll(FakeFetcher(_ok(_rss("a"), **{"cache-control": "public, max-age=600"})))
    assert _delay(out.state) == 600


def test_an_unusable_body_is_a_failure_whose_validators_are_not_kept():
    first = _poll(FakeFetcher(_ok(_rss("a"), etag='"v1"'))).state
    out = _poll(FakeFetcher(_ok(b"\x00\x01 not a feed", etag='"broken"')), first)
    assert out.poll_status is PollStatus.FAILED and out.rejects
    assert out.state["etag"] == '"v1"'  # the next poll fetches the body again
    assert out.state["consecutive_failures"] == 1


def test_rows_written_before_schedules_existed_are_read():
    legacy = {"feed_url": FEED.url, "day": NOW.date(), "etag": '"old"', "polled_at": NOW}
    fetcher = FakeFetcher(_ok(_rss("a")))
    out = _poll(fetcher, legacy)
    assert fetcher.calls == [(FEED.url, '"old"', None)]
    assert out.state["polls"] == 1 and _delay(out.state) == 60


def test_pipeline_polls_over_http_and_carries_unpolled_feeds_over():
    day = dt.date(2024, 4, 1)
    with LoopbackOutlet(host="127.0.0.47") as outlet:
        outlet.set_route("/rss.xml", Route(body=_rss("x", "y"), content_type="application/rss+xml"))
        polled_url = outlet.url("/rss.xml")
        restored = [
            (polled_url, {"feed_url": polled_url, "day": day, "etag": None, "polled_at": NOW}),
            (
                "https://idle.example/rss",
                {
                    "feed_url": "https://idle.example/rss",
                    "day": day,
                    "etag": '"keep"',
                    "polled_at": NOW,
                    "next_poll_at": NOW + dt.timedelta(hours=1),
                    "interval_s": 3600.0,
                },
            ),
        ]
        settings = FetchSettings(allow_private=True, respect_robots=False)
        with TestPipeline() as p:
            validators = p | "Restored" >> beam.Create(restored)
            polled = (
                p
                | beam.Create([FeedSource(url=polled_url)])
                | PollFeeds(settings=settings, validators=validators, schedule=SCHEDULE)
            )
            state = (polled[PollFeeds.STATE], validators) | CarryOverFeedState()
            summary = state | beam.Map(
                lambda row: (row["feed_url"], row["etag"], row["day"] == day, row.get("polls"))
            )
            assert_that(
                summary,
                equal_to(
                    [
                        (polled_url, Route(body=_rss("x", "y")).etag, False, 1),
                        ("https://idle.example/rss", '"keep"', True, None),
                    ]
                ),
            )
            assert_that(
                polled[PollFeeds.ENTRIES] | beam.Map(lambda e: e.title),
                equal_to(["x", "y"]),
                label="Entries",
            )
        assert outlet.hits["/rss.xml"] == 1


def test_feeds_are_interleaved_by_host_keeping_each_hosts_order():
    from wiredesk.transforms.sources.stage_feeds import interleave_by_host

    feeds = [FeedSource(url=f"http://{host}.example/{n}") for host in "aab" for n in range(3)]
    feeds = list(dict.fromkeys(feeds))  # a.example listed twice above: keep one of each
    ordered = [f.url for f in interleave_by_host(feeds)]
    assert ordered == [
        "http://a.example/0",
        "http://b.example/0",
        "http://a.example/1",
        "http://b.example/1",
        "http://a.example/2",
        "http://b.example/2",
    ]
    assert interleave_by_host([]) == []
