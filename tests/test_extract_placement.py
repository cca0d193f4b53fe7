"""Where ExtractText's per-page pass runs, through the run entry point, read back with DuckDB.

* the local in-memory runner runs every DoFn in one process: the pass goes to the
  extraction pool, which starts only once something new is there to extract;
* Beam's multi-process harness (``--direct_running_mode=multi_processing``) runs SDK
  workers as separate processes, as a cluster does: the pass runs in the DoFn there,
  with no pool, and the rows are the same as a plain local run's.

The Dataflow side (the translated job's ExtractText DoFn is in-process) is checked in
tests/test_dataflow_dry_run.py.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
from apache_beam.options.pipeline_options import PipelineOptions

from wiredesk.demo import SampleOutlets
from wiredesk.pipelines.options import uses_extract_pool
from wiredesk.pipelines.run import run
from wiredesk.query import connect
from wiredesk.transforms.common import metrics
from wiredesk.transforms.extract import pool as pool_module
from wiredesk.transforms.extract import stage as stage_module

MULTI_PROCESS = ["--direct_num_workers", "2", "--direct_running_mode", "multi_processing"]


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        ([], True),
        (["--runner", "DirectRunner"], True),
        (["--direct_running_mode", "in_memory"], True),
        (["--direct_running_mode", "multi_threading", "--direct_num_workers", "2"], True),
        # The DoFns run in other processes, one per core: no pool in each.
        (["--direct_running_mode", "multi_processing"], False),
        (["--runner", "DataflowRunner"], False),
        (["--runner", "FlinkRunner"], False),
        (["--runner", "SparkRunner"], False),
    ],
)
def test_who_uses_the_extraction_pool(argv: list[str], expected: bool) -> None:
    assert uses_extract_pool(PipelineOptions(argv)) is expected


@pytest.fixture(scope="module")
def sample():
    with SampleOutlets() as outlets:
        yield outlets


@pytest.fixture
def pool_calls(monkeypatch) -> dict[str, int]:
    """How often this process started the pool ahead, and handed it pages."""
    calls = {"prestart": 0, "process_many": 0}
    real_prestart = stage_module.prestart_pool
    real_process_many = pool_module.ExtractorPool.process_many

    def prestart(**kwargs: Any) -> None:
        calls["prestart"] += 1
        real_prestart(**kwargs)

    def process_many(self: Any, pages: Any) -> Any:
        calls["process_many"] += 1
        return real_process_many(self, pages)

    monkeypatch.setattr(stage_module, "prestart_pool", prestart)
    monkeypatch.setattr(pool_module.ExtractorPool, "process_many", process_many)
    return calls


def _argv(sample: SampleOutlets, tmp_path: Any, out: str, *extra: str) -> list[str]:
    feeds = os.path.join(tmp_path, "feeds.opml")
    with open(feeds, "w", encoding="utf-8") as handle:
        handle.write(sample.opml())
    return ["--feeds", feeds, "--output", out, "--once", "--allow-private-addresses", *extra]


def _rows(out: str) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Every row's content, with each story named by its canonical URL (ids and times vary)."""
    con = connect(out)
    articles = con.execute(
        "SELECT url, canonical_url, title, text, language, country, region, agency, dateline,"
        " authors, word_count, content_hash, published_at, published_at_source"
        " FROM articles ORDER BY url"
    ).fetchall()
    duplicates = con.execute(
        "SELECT d.url, a.url, d.relation, d.similarity, d.lede_shared FROM duplicates d"
        " JOIN articles a USING (story_id) ORDER BY d.url"
    ).fetchall()
    rejects = con.execute("SELECT url, stage, reason FROM rejects ORDER BY url").fetchall()
    return articles, duplicates, rejects


def test_local_runs_use_the_pool_and_start_none_when_nothing_is_new(
    sample, tmp_path, pool_calls
) -> None:
    out = str(tmp_path / "out")
    first = run(_argv(sample, tmp_path, out, "--extract-workers", "1"))
    extracted = first.count(metrics.PAGES_EXTRACTED)
    assert extracted > 10
    assert first.count(metrics.PAGES_PROCESSED_IN_POOL) >= extracted
    assert first.count(metrics.PAGES_PROCESSED_IN_PROCESS) == 0
    assert pool_calls["prestart"] == 1 and pool_calls["process_many"] >= 1

    pool_calls.update(prestart=0, process_many=0)
    again = run(_argv(sample, tmp_path, out, "--extract-workers", "1"))
    # Every feed answers "not modified" or lists only what the first run wrote.
    assert again.count(metrics.FEEDS_POLLED) > 0
    assert again.count(metrics.ENTRIES_NEW) == 0
    assert again.count(metrics.PAGES_EXTRACTED) == 0
    assert pool_calls == {"prestart": 0, "process_many": 0}


def test_a_refused_feed_alone_starts_no_pool(tmp_path, pool_calls) -> None:
    feeds = tmp_path / "feeds.txt"
    feeds.write_text("http://127.0.0.1:9/closed.xml\n")  # refused at once, on loopback
    argv = ["--feeds", str(feeds), "--output", str(tmp_path / "out"), "--once"]
    summary = run([*argv, "--allow-private-addresses", "--extract-workers", "1"])
    assert summary.count(metrics.FEEDS_REJECTED) == 1
    assert pool_calls == {"prestart": 0, "process_many": 0}


def test_multi_process_harness_extracts_in_process_with_the_same_rows(
    sample, tmp_path, pool_calls
) -> None:
    plain_out, multi_out = str(tmp_path / "plain"), str(tmp_path / "multi")
    plain = run(_argv(sample, tmp_path, plain_out, "--extract-workers", "1"))
    pool_calls.update(prestart=0, process_many=0)
    multi = run(_argv(sample, tmp_path, multi_out, *MULTI_PROCESS))

    extracted = multi.count(metrics.PAGES_EXTRACTED)
    assert extracted == plain.count(metrics.PAGES_EXTRACTED) > 10
    assert multi.count(metrics.PAGES_PROCESSED_IN_PROCESS) >= extracted
    assert multi.count(metrics.PAGES_PROCESSED_IN_POOL) == 0
    # Nothing reached this process's pool (the SDK workers are other processes; a pool
    # there would count pages_processed_in_pool).
    assert pool_calls == {"prestart": 0, "process_many": 0}

    plain_rows, multi_rows = _rows(plain_out), _rows(multi_out)
    assert len(plain_rows[0]) > 10
    assert multi_rows == plain_rows


def test_the_pool_starts_at_the_first_entry_no_earlier_run_took(monkeypatch) -> None:
    import apache_beam as beam
    from apache_beam.testing.test_pipeline import TestPipeline

    from wiredesk.schemas.records import FeedEntry
    from wiredesk.transforms.dedup.stage_exact import entry_keys

    started: list[int] = []
    monkeypatch.setattr(stage_module, "prestart_pool", lambda **kw: started.append(kw["workers"]))

    def entry(n: int) -> FeedEntry:
        url = f"http://127.0.0.1/news/{n}"
        return FeedEntry(url=url, feed_url="http://127.0.0.1/feed", url_key=url)

    def run_with(entries: list[FeedEntry], seen: list[str]) -> None:
        with TestPipeline() as p:
            seen_side = beam.pvalue.AsList(p | "Seen" >> beam.Create(seen))
            _ = (
                p
                | beam.Create(entries)
                | stage_module.StartExtractWorkers(workers=3, seen_keys=seen_side)
            )

    old = [entry(n) for n in range(5)]
    seen = [key for e in old for key in entry_keys(e)]
    run_with(old, seen)
    assert started == []  # every entry listed again was taken by an earlier run
    run_with([*old, entry(99), entry(100)], seen)
    assert started == [3]  # once, for the first new one
