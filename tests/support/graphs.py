"""wiredesk's two graphs, built offline, their DoFns, and a call counter (for tests of Beam trims)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions

from wiredesk.pipelines.graph import build_graph
from wiredesk.pipelines.options import RunConfig
from wiredesk.pipelines.run import without_construction_type_check
from wiredesk.pipelines.unbounded import build_unbounded_graph
from wiredesk.schemas.records import FeedSource


def dofns_of(p: beam.Pipeline) -> list[Any]:
    """Every ParDo's DoFn in ``p``."""
    found: list[Any] = []

    class Visitor(beam.pipeline.PipelineVisitor):
        def visit_transform(self, node: Any) -> None:
            if isinstance(node.transform, beam.ParDo):
                found.append(node.transform.fn)

    p.visit(Visitor())
    return found


def batch_graph(tmp_path: Path) -> beam.Pipeline:
    """The ``--once`` graph with feeds and a WARC file (every batch source)."""
    warc = tmp_path / "in.warc.gz"
    warc.write_bytes(b"")
    args = ["--warc", str(warc), "--output", str(tmp_path / "out"), "--once"]
    options = PipelineOptions(without_construction_type_check(args))
    p = beam.Pipeline(options=options)
    build_graph(p, RunConfig.from_options(options), [FeedSource(url="http://127.0.0.1:9/rss")])
    return p


def unbounded_graph(tmp_path: Path) -> beam.Pipeline:
    """The streaming graph of a managed runner."""
    p = beam.Pipeline(options=PipelineOptions(["--streaming", "--no_pipeline_type_check"]))
    config = RunConfig(feeds=None, output=str(tmp_path / "out"), streaming=True, run_id="t")
    build_unbounded_graph(p, config, [FeedSource(url="http://127.0.0.1:9/rss")])
    return p


class CountingCalls:
    """``fn``, counting how often it is really called (what a memo in front of it saves)."""

    def __init__(self, fn: Any) -> None:
        self.fn = fn
        self.calls = 0

    def __call__(self, *args: Any) -> Any:
        self.calls += 1
        return self.fn(*args)
