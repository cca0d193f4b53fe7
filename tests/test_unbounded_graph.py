"""The unbounded graph under TestStream: windows fire, files are final, late data, restart.

The poll clock is replaced by a TestStream of ticks (the Python DirectRunner
cannot run an endless PeriodicImpulse here, docs/decisions.md); everything after it is
the graph Dataflow runs. The outlets are the bundled sample's, on loopback.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

import apache_beam as beam
import pyarrow.parquet as pq
import pytest
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions
from apache_beam.testing.test_stream import TestStream
from apache_beam.testing.util import assert_that, equal_to
from apache_beam.transforms.window import TimestampedValue

from wiredesk.cli import main
from wiredesk.demo import SampleOutlets
from wiredesk.pipelines.options import RunConfig
from wiredesk.pipelines.unbounded import build_unbounded_graph
from wiredesk.query import connect
from wiredesk.transforms.io.windowed_write import WindowSettings, WriteWindowedTable
from wiredesk.transforms.sources.feeds_file import read_feeds_file

T0 = 1_729_641_600  # 2024-10-23T00:00:00Z
AT = dt.datetime(2024, 10, 23, 3, 30, tzinfo=dt.UTC)


def _streaming() -> PipelineOptions:
    options = PipelineOptions([])
    options.view_as(StandardOptions).streaming = True
    return options


def _files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def _reject_row(url: str) -> dict:
    return {
        "url": url,
        "feed_url": None,
        "stage": "fetch",
        "reason": "timeout",
        "detail": "",
        "at": AT,
    }


# -- the windowed write -----------------------------------------------------------------


def _write_rejects(out: str, stream: TestStream, expect_rows: list[int]) -> None:
    with beam.Pipeline(options=_streaming()) as p:
        written = (
            p
            | stream
            | WriteWindowedTable(
                output=out,
                table="rejects",
                run_id="r1",
                partition_fn=lambda row: (row["at"].date(), None),
                window=WindowSettings(window_seconds=600, allowed_lateness_seconds=900),
            )
        )
        assert_that(written | beam.Map(lambda w: w[2]), equal_to(expect_rows))


def test_each_window_gets_its_own_complete_file(tmp_path):
    stream = (
        TestStream()
        .advance_watermark_to(T0)
        .add_elements([TimestampedValue(_reject_row(u), T0 + 10) for u in ("a", "b")])
        .advance_watermark_to(T0 + 700)  # the first window [T0, T0+600) fires here
        .add_elements([TimestampedValue(_reject_row("c"), T0 + 650)])
        .advance_watermark_to_infinity()
    )
    _write_rejects(str(tmp_path), stream, [2, 1])
    assert _files(tmp_path) == [
        f"rejects/date=2024-10-23/part-r1-w{T0 + 600}-p0-0000-000.parquet",
        f"rejects/date=2024-10-23/part-r1-w{T0 + 1200}-p0-0000-000.parquet",
    ]
    first = pq.read_table(tmp_path / _files(tmp_path)[0])  # complete Parquet: footer reads
    assert sorted(first.column("url").to_pylist()) == ["a", "b"]


def test_late_rows_get_a_pane_file_of_their_own_and_too_late_rows_are_dropped(tmp_path):
    stream = (
        TestStream()
        .advance_watermark_to(T0)
        .add_elements([TimestampedValue(_reject_row("on-time"), T0 + 10)])
        .advance_watermark_to(T0 + 700)  # window [T0, T0+600) fired
        # Behind the watermark, within the allowed lateness (900 s after the window end):
        .add_elements([TimestampedValue(_reject_row("late"), T0 + 20)])
        .advance_watermark_to(T0 + 600 + 900 + 60)  # past the allowed lateness
        .add_elements([TimestampedValue(_reject_row("too-late"), T0 + 30)])
        .advance_watermark_to_infinity()
    )
    _write_rejects(str(tmp_path), stream, [1, 1])
    files = _files(tmp_path)
    assert files == [
        f"rejects/date=2024-10-23/part-r1-w{T0 + 600}-p0-0000-000.parquet",
        f"rejects/date=2024-10-23/part-r1-w{T0 + 600}-p1-0000-000.parquet",
    ]
    urls = [pq.read_table(tmp_path / f).column("url").to_pylist() for f in files]
    assert urls == [["on-time"], ["late"]]  # the on-time file was not overwritten


# -- the whole graph -------------------------------------------------------------------------


def _ticks(*times: int) -> TestStream:
    stream = TestStream()
    for t in times:
        stream = stream.advance_watermark_to(t).add_elements([TimestampedValue(float(t), t)])
    return stream.advance_watermark_to_infinity()


def _run_graph(outlets: SampleOutlets, out: str, run_id: str, *ticks: int) -> None:
    feeds = read_feeds_file(data=outlets.opml().encode(), name="sample.opml")
    config = RunConfig(
        feeds=None,
        output=out,
        streaming=True,
        allow_private_addresses=True,
        extract_workers=1,
        run_id=run_id,
        # State rows carry the event-time day of their tick; "today" (which bounds what
        # is restored) must be on the same clock.
        today=dt.date(2024, 10, 23),
    )
    with beam.Pipeline(options=_streaming()) as p:
        build_unbounded_graph(p, config, feeds, clock=_ticks(*ticks))


def _rows(out: str, sql: str) -> list[tuple]:
    return sorted(connect(out).execute(sql).fetchall())


@pytest.fixture(scope="module")
def streamed(tmp_path_factory):
    """Two jobs into one OUT: the first polls twice, the second (a restart) once."""
    out = str(tmp_path_factory.mktemp("unbounded"))
    with SampleOutlets() as outlets:
        _run_graph(outlets, out, "job1", T0, T0 + 300)
        first: dict[str, Any] = {
            "files": _files(Path(out)),
            "not_modified": sum(sum(o.not_modified.values()) for o in outlets.outlets.values()),
            "articles": _rows(out, "SELECT url, story_id FROM articles"),
        }
        _run_graph(outlets, out, "job2", T0 + 3600)
        second_not_modified = (
            sum(sum(o.not_modified.values()) for o in outlets.outlets.values())
            - first["not_modified"]
        )
        # The batch graph over the same outlets, for comparison.
        batch_out = str(tmp_path_factory.mktemp("batch"))
        feeds = Path(batch_out) / "feeds.opml"
        feeds.write_text(outlets.opml())
        argv = ["run", "--feeds", str(feeds), "--output", batch_out, "--once"]
        assert main([*argv, "--allow-private-addresses", "--extract-workers", "1"]) == 0
    first["batch_out"] = batch_out
    return out, first, second_not_modified


def test_windows_fire_and_every_file_is_final(streamed):
    out, first, _ = streamed
    files = first["files"]
    assert any(f.startswith("articles/date=") for f in files)
    assert any(f.startswith("duplicates/date=") for f in files)
    assert any(f.startswith("rejects/date=") for f in files)
    assert {f.split("/")[1] for f in files if f.startswith("_state/")} == {
        "seen",
        "stories",
        "feeds",
    }
    for name in files:
        assert name.endswith(".parquet"), name  # no temporary file left behind
        assert f"-w{T0 + 600}-p0-" in name  # both ticks fall in the first 10-minute window
        pq.read_metadata(os.path.join(out, name))  # complete: the footer is there


def test_second_tick_adds_nothing_because_feeds_answer_304(streamed):
    _out, first, _ = streamed
    assert first["not_modified"] >= 3  # every live feed's second poll was conditional
    urls = [u for u, _ in first["articles"]]
    assert len(urls) == len(set(urls))


def test_restart_restores_validators_and_seen_keys_so_nothing_is_written_twice(streamed):
    out, first, second_not_modified = streamed
    assert second_not_modified >= 3  # the new job's first poll used the restored validators
    assert not any(
        f.startswith(("articles/", "duplicates/")) and "job2" in f for f in _files(Path(out))
    )
    assert _rows(out, "SELECT url, story_id FROM articles") == first["articles"]


def test_same_rows_as_the_batch_graph(streamed):
    out, first, _ = streamed
    batch_out = first["batch_out"]
    every_copy = "SELECT url FROM articles UNION ALL SELECT url FROM duplicates"
    assert _rows(out, every_copy) == _rows(batch_out, every_copy)
    # The same copies end up in the same stories (the canonical may differ: in
    # streaming the first seen stays canonical, in batch the agency's copy wins).
    groups = (
        "SELECT list(url ORDER BY url) FROM (SELECT url, story_id FROM articles "
        "UNION ALL SELECT url, story_id FROM duplicates) GROUP BY story_id"
    )
    assert _rows(out, groups) == _rows(batch_out, groups)
    reasons = "SELECT url, stage, reason FROM rejects"
    assert _rows(out, reasons) == _rows(batch_out, reasons)
