"""Counter names: one module, bounded families, and the run summary reads them by name."""

from __future__ import annotations

from wiredesk.pipelines.run import RunSummary
from wiredesk.schemas.records import RejectReason, Stage
from wiredesk.transforms.common import metrics
from wiredesk.transforms.sources.wire_parse import SkipReason


def test_outlet_counters_are_capped_with_an_other_bucket() -> None:
    names = metrics.OutletNames(cap=3)
    seen = [names(f"Outlet {i}") for i in range(10)]
    assert seen[:3] == ["outlet_0", "outlet_1", "outlet_2"]
    assert set(seen[3:]) == {metrics.OTHER_OUTLETS}
    assert names("Outlet 1") == "outlet_1"  # a named outlet keeps its name
    assert names(None) == metrics.OTHER_OUTLETS
    assert len(set(seen)) == 4


def test_the_rejected_family_is_built_from_the_enums_and_http_statuses() -> None:
    family = metrics.rejected_total_names()
    assert family["rejected_fetch_timeout_total"] == ("fetch", "timeout")
    assert family["rejected_fetch_http_404_total"] == ("fetch", RejectReason.http(404))
    assert len(family) == len(Stage) * (len(RejectReason) + 500)
    assert metrics.rejected(Stage.FEED, RejectReason.NO_ENTRIES) == "rejected_feed_no_entries"


def test_every_skip_reason_of_the_parsers_is_in_the_family() -> None:
    wire = {v for k, v in vars(SkipReason).items() if k.isupper()}
    feed = {"bad_link", "no_link", "over_limit", "duplicate"}  # feed_parse's, documented there
    assert wire | feed == set(metrics.SKIP_REASONS)


def test_the_run_summary_reads_counters_by_their_names() -> None:
    summary = RunSummary(
        run_id="r1",
        seconds=1.0,
        counters={
            metrics.FEEDS_POLLED: 3,
            metrics.FEEDS_NOT_MODIFIED: 1,
            metrics.ENTRIES_LISTED: 7,
            metrics.entries_skipped("over_limit"): 2,
            metrics.ENTRIES_SKIPPED_UNUSABLE: 2,
            metrics.rejected_total("fetch", RejectReason.http(404)): 4,
            metrics.ARTICLES_ROWS_WRITTEN: 5,
            metrics.HTTP_CONNECTIONS_OPENED: 6,
            metrics.HTTP_REQUESTS_ON_KEPT_CONNECTIONS: 40,
        },
    )
    text = "\n".join(summary.lines())
    assert "HTTP connections opened 6, requests on kept connections 40" in text
    assert "feeds polled 3 (not modified 1, rejected 0)" in text
    assert "entries listed 7" in text
    assert "past the entry limit (one reject row per feed) 2" in text
    assert "rejects by stage/reason: fetch_http_404 4" in text
    assert "written: articles 5" in text


def test_a_run_without_http_has_no_connection_line() -> None:
    summary = RunSummary(run_id="r1", seconds=1.0, counters={metrics.ARTICLES_ROWS_WRITTEN: 1})
    assert not any("HTTP connections" in line for line in summary.lines())
