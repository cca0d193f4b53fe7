"""State under OUT/_state: written after the tables, restored with a horizon."""

from __future__ import annotations

import datetime as dt
import os

import apache_beam as beam
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to

from wiredesk.transforms.io.state_store import ReadState, WriteState

TODAY = dt.date(2024, 10, 30)


def _write(out: str, run_id: str, rows: list[dict]) -> None:
    with TestPipeline() as p:
        _ = p | beam.Create(rows) | WriteState(output=out, kind="seen", run_id=run_id)


def test_state_round_trip_drops_rows_beyond_the_horizon(tmp_path):
    out = str(tmp_path)
    _write(
        out,
        "r1",
        [{"key": "url:a", "day": TODAY}, {"key": "url:old", "day": TODAY - dt.timedelta(days=40)}],
    )
    _write(out, "r2", [{"key": "url:b", "day": TODAY}])
    assert sorted(os.listdir(os.path.join(out, "_state", "seen"))) == [
        "part-r1.parquet",
        "part-r2.parquet",
    ]
    with TestPipeline() as p:
        keys = (
            p
            | ReadState(output=out, kind="seen", horizon_days=30, today=TODAY)
            | beam.Map(lambda r: r["key"])
        )
        assert_that(keys, equal_to(["url:a", "url:b"]))


def test_no_state_yet_reads_as_empty(tmp_path):
    with TestPipeline() as p:
        rows = p | ReadState(output=str(tmp_path), kind="stories", horizon_days=7, today=TODAY)
        assert_that(rows, equal_to([]))


def test_empty_state_writes_no_file(tmp_path):
    _write(str(tmp_path), "r1", [])
    assert not os.path.exists(os.path.join(str(tmp_path), "_state", "seen"))
