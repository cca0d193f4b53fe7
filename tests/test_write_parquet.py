"""WriteTable: complete files only, unique per run, idempotent on retry, hostile-proof paths."""

from __future__ import annotations

import datetime as dt
import os

import apache_beam as beam
import pyarrow.dataset as ds
import pytest
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to

from wiredesk.schemas.tables import ARTICLES_SCHEMA, REJECTS_SCHEMA
from wiredesk.transforms.io.write_table import (
    VerifyWritten,
    WriteTable,
    partition_dir,
    write_rows_atomically,
)

AT = dt.datetime(2024, 10, 23, 3, 30, tzinfo=dt.UTC)


def _reject(url: str) -> dict:
    return {
        "url": url,
        "feed_url": None,
        "stage": "fetch",
        "reason": "timeout",
        "detail": "",
        "at": AT,
    }


def _files(root: str) -> list[str]:
    found = []
    for folder, _dirs, files in os.walk(root):
        found += [os.path.relpath(os.path.join(folder, name), root) for name in files]
    return sorted(found)


def _write(output: str, run_id: str, rows: list[dict]) -> None:
    with TestPipeline() as p:
        written = (
            p
            | beam.Create(rows)
            | WriteTable(
                output=output,
                table="rejects",
                run_id=run_id,
                partition_fn=lambda row: (row["at"].date(), None),
            )
            | VerifyWritten()
        )
        assert_that(written | beam.Map(lambda w: w[2]), equal_to([len(rows)]))


def test_rows_land_in_hive_partition_with_unique_run_names(tmp_path):
    out = str(tmp_path)
    _write(out, "run1", [_reject("a"), _reject("b")])
    _write(out, "run2", [_reject("c")])
    files = _files(out)
    assert files == [
        "rejects/date=2024-10-23/part-run1-0000-000.parquet",
        "rejects/date=2024-10-23/part-run2-0000-000.parquet",
    ]
    table = ds.dataset(os.path.join(out, "rejects"), partitioning="hive").to_table()
    assert sorted(table.column("url").to_pylist()) == ["a", "b", "c"]
    # The partition column is not stored in the file: readers add it back.
    assert "date" not in REJECTS_SCHEMA.names


def test_retried_bundle_rewrites_the_same_file(tmp_path):
    out = str(tmp_path)
    rows = [_reject("a"), _reject("b")]
    _write(out, "run1", rows)
    _write(out, "run1", rows)  # the same bundle again
    table = ds.dataset(os.path.join(out, "rejects"), partitioning="hive").to_table()
    assert sorted(table.column("url").to_pylist()) == ["a", "b"]
    assert not [f for f in _files(out) if ".tmp-" in f]


def test_failed_write_leaves_no_visible_file(tmp_path, monkeypatch):
    from apache_beam.io.filesystems import FileSystems

    def broken_rename(sources, destinations):
        raise OSError("disk full")

    monkeypatch.setattr(FileSystems, "rename", staticmethod(broken_rename))
    path = os.path.join(str(tmp_path), "rejects", "date=2024-10-23", "part-x.parquet")
    with pytest.raises(OSError):
        write_rows_atomically(rows=[_reject("a")], schema=REJECTS_SCHEMA, path=path)
    assert _files(str(tmp_path)) == []


@pytest.mark.parametrize("hostile", ["../../etc", "a/b", "x\x00y", "é" * 300, "", "EASTERN-ASIA"])
def test_partition_values_never_come_from_text(tmp_path, hostile):
    folder = partition_dir(str(tmp_path), "articles", dt.date(2024, 1, 2), hostile)
    assert folder == os.path.join(str(tmp_path), "articles", "date=2024-01-02", "region=unknown")


def test_low_years_are_zero_padded(tmp_path):
    folder = partition_dir(str(tmp_path), "rejects", dt.date(999, 1, 2), None)
    assert folder.endswith("date=0999-01-02")


def test_every_article_column_is_declared():
    assert {
        "story_id",
        "url",
        "canonical_url",
        "source",
        "feed_url",
        "title",
        "text",
        "published_at",
        "fetched_at",
        "language",
        "authors",
        "agency",
        "dateline",
        "country",
        "word_count",
        "content_hash",
    } <= set(ARTICLES_SCHEMA.names)
