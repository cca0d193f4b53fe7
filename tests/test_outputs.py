"""write_tables: the one wiring of the three output tables, in both graphs."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from pathlib import Path

import apache_beam as beam
import pytest
from apache_beam.options.pipeline_options import PipelineOptions

from wiredesk.pipelines.graph import build_graph
from wiredesk.pipelines.options import RunConfig
from wiredesk.pipelines.outputs import reject_partition
from wiredesk.pipelines.unbounded import build_unbounded_graph
from wiredesk.schemas.records import FeedSource

# A running streaming job is updated in place by matching these names (Dataflow --update).
TOP_LEVEL_WRITE_LABELS = {
    "ArticleRows",
    "WriteArticles",
    "DuplicateRows",
    "WriteDuplicates",
    "RejectRows",
    "WriteRejects",
    "AllWritten",
    "VerifyWritten",
}


def _top_level_labels(builder: Callable[..., object], folder: Path) -> set[str]:
    wire_dir = folder / "wire"
    wire_dir.mkdir(parents=True)
    opts = PipelineOptions(["--output", str(folder / "out"), "--wire-dir", str(wire_dir)])
    p = beam.Pipeline(options=opts)
    builder(p, RunConfig.from_options(opts), [])
    names = {t.unique_name for t in p.to_runner_api().components.transforms.values()}
    return {name for name in names if "/" not in name}


def test_both_graphs_keep_the_write_labels_at_the_top_level(tmp_path: Path) -> None:
    assert _top_level_labels(build_graph, tmp_path / "batch") >= TOP_LEVEL_WRITE_LABELS
    unbounded = _top_level_labels(build_unbounded_graph, tmp_path / "unbounded")
    assert unbounded >= TOP_LEVEL_WRITE_LABELS


def test_rejects_are_partitioned_by_their_utc_day() -> None:
    at = dt.datetime(2026, 3, 1, 23, 30, tzinfo=dt.timezone(dt.timedelta(hours=-5)))
    assert reject_partition({"at": at}) == (dt.date(2026, 3, 2), None)


def test_building_the_graphs_raises_no_beam_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Every `wiredesk run` printed Beam's "Using yield and return in the process method"
    # warning for two DoFns: Beam reads a "return  # comment" line as returning a value.
    feeds = [FeedSource(url="https://example.org/feed.xml")]
    for builder in (build_graph, build_unbounded_graph):
        folder = tmp_path / builder.__name__
        (folder / "wire").mkdir(parents=True)
        opts = PipelineOptions(
            ["--output", str(folder / "out"), "--wire-dir", str(folder / "wire")]
        )
        with caplog.at_level(logging.WARNING, logger="apache_beam"):
            builder(beam.Pipeline(options=opts), RunConfig.from_options(opts), feeds)
    beam_warnings = [r.getMessage() for r in caplog.records if r.name.startswith("apache_beam")]
    assert beam_warnings == []
