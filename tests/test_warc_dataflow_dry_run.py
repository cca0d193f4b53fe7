"""The WARC graph (--warc on gs://, filters, --capture-warc) translates for Dataflow, offline.

Uses the offline guard and dry-run helpers of tests/test_dataflow_dry_run.py: no
credentials, no network, a deadline.
"""

from __future__ import annotations

import datetime as dt

from tests.test_dataflow_dry_run import (  # noqa: F401  (offline is a fixture)
    _dry_run,
    _needs_gcp,
    _runner,
    _transforms,
    offline,
)
from wiredesk.pipelines.graph import build_graph
from wiredesk.pipelines.options import RunConfig
from wiredesk.schemas.records import FeedSource


def test_warc_graph_translates_for_dataflow(offline):  # noqa: F811
    _needs_gcp()
    config = RunConfig(
        feeds=None,
        output="gs://wiredesk-test/out",
        warc=("gs://commoncrawl-test/crawl-data/CC-NEWS/2024/10/", "gs://b/one.warc.gz"),
        warc_hosts=("bbc.co.uk",),
        since=dt.datetime(2024, 10, 1, tzinfo=dt.UTC),
        until=dt.datetime(2024, 11, 1, tzinfo=dt.UTC),
        languages=("en",),
        capture_warc="gs://wiredesk-test/capture",
        run_id="dry",
    )
    feeds = [FeedSource(url="https://example.org/feed.xml")]
    p = _dry_run(lambda p: build_graph(p, config, feeds), [])
    names = set(_transforms(p))
    for stage in (
        "ReadWarc/Match",
        "ReadWarc/GroupByPath",
        "ReadWarc/Read",
        "AllPages",
        "CaptureWarc",
        "ExtractText",
        "KeepLanguages",
        "DetectSyndication",
        "WriteArticles",
        "WriteRejects",
        "WriteSeenState",
    ):
        assert any(n == stage or n.startswith(stage + "/") for n in names), stage
    assert _runner(p).job.proto.type.name == "JOB_TYPE_BATCH"
    assert offline == []


def test_a_warc_only_run_translates_for_dataflow(offline):  # noqa: F811
    _needs_gcp()
    config = RunConfig(feeds=None, output="gs://wiredesk-test/out", warc=("gs://b/*.warc.gz",))
    p = _dry_run(lambda p: build_graph(p, config, []), [])
    names = set(_transforms(p))
    assert any(n.startswith("ReadWarc/") for n in names)
    # Nothing is listed to fetch: no fetching stages to set up and run on nothing.
    for stage in ("AllEntries", "DedupeEntries", "FetchArticle", "StartExtractWorkers"):
        assert not any(n == stage or n.startswith(stage + "/") for n in names), stage
    # The reader feeds extraction directly: no Flatten that a runner might materialize.
    assert not any(n == "AllPages" or n.startswith("AllPages/") for n in names)
    assert offline == []
