"""The health fields of a feed's state row, and the log filter that keeps runs clean."""

from __future__ import annotations

import datetime as dt
import logging

import pyarrow as pa

from wiredesk.feeds_table import STATE_COLUMNS
from wiredesk.quiet import BeamImportNoise
from wiredesk.schemas.records import FeedSource, Reject
from wiredesk.transforms.io.state_store import STATE_SCHEMAS
from wiredesk.transforms.sources.feed_health import HEALTH_FIELDS, health_fields
from wiredesk.transforms.sources.stage_feeds import PollOutcome, poll_one_feed

NOW = dt.datetime(2025, 3, 1, 12, tzinfo=dt.UTC)


def _reject(reason: str, detail: str) -> Reject:
    return Reject(url="u", feed_url="u", stage="feed", reason=reason, detail=detail, at=NOW)


def test_a_failed_poll_keeps_its_first_reject_as_the_error():
    fields = health_fields(
        status="failed",
        entries=0,
        rejects=(_reject("http_500", "HTTP 500 " + "x" * 900), _reject("no_link", "item")),
    )
    assert fields["last_error"] == "http_500"
    assert (
        fields["last_error_detail"].startswith("HTTP 500")
        and len(fields["last_error_detail"]) == 300
    )
    assert fields["items_last_poll"] == 0


def test_item_rejects_of_a_usable_feed_are_not_its_error():
    fields = health_fields(status="ok", entries=7, rejects=(_reject("no_link", "item"),))
    assert fields == {"last_error": None, "last_error_detail": None, "items_last_poll": 7}


def test_every_outcome_with_a_state_row_carries_the_health_fields():
    outcome = PollOutcome(state={"feed_url": "u"}, status="not_modified")
    assert {key: outcome.state[key] for key in HEALTH_FIELDS} == {  # type: ignore[index]
        "last_error": None,
        "last_error_detail": None,
        "items_last_poll": 0,
    }


class _DeadFetcher:
    def fetch_feed(self, url, *, etag=None, last_modified=None):
        class Result:
            ok = False
            not_modified = False
            reason = "connection_error"
            detail = "ConnectionRefusedError: [Errno 111] Connection refused"
            retry_after = None
            headers: dict = {}
            body = b""

        return Result()


def test_a_dead_feed_state_row_says_why():
    outcome = poll_one_feed(
        fetcher=_DeadFetcher(),
        feed=FeedSource(url="http://127.0.0.9/rss"),
        validators=None,
        now=NOW,
    )
    assert outcome.state is not None
    assert outcome.state["last_status"] == "failed"
    assert outcome.state["last_error"] == "connection_error"
    assert "refused" in outcome.state["last_error_detail"]
    # The row fits the state file's schema.
    pa.Table.from_pylist([outcome.state], schema=STATE_SCHEMAS["feeds"])


def test_the_feeds_view_reads_state_columns_as_the_poller_writes_them():
    written = STATE_SCHEMAS["feeds"]
    for field in STATE_COLUMNS:
        assert written.field(field.name).type == field.type, field.name


def _record(name: str, message: str, level: int = logging.WARNING) -> logging.LogRecord:
    return logging.LogRecord(name, level, __file__, 1, message, (), None)


def test_the_log_filter_drops_exactly_beams_apitools_notice():
    noise = BeamImportNoise()
    notice = (
        "apitools not found, and bigquery client libraries are not available despite the "
        "import not raising an ImportError."
    )
    assert not noise.filter(_record("root", notice))
    assert noise.filter(_record("apache_beam.io", notice))  # another logger: kept
    assert noise.filter(_record("root", "apitools is fine"))
    assert noise.filter(_record("root", "disk full"))
    assert noise.filter(_record("root", notice, logging.ERROR))


def test_importing_wiredesk_installs_the_filter_once():
    import wiredesk.quiet

    wiredesk.quiet.install()
    wiredesk.quiet.install()
    filters = [f for f in logging.getLogger().filters if isinstance(f, BeamImportNoise)]
    assert len(filters) == 1
