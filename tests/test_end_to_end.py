"""End to end at the user's boundary: `wiredesk run --once` over loopback outlets, read with DuckDB.

The outlets are the bundled sample's (real pages from the article-extraction
benchmark, RSS 2.0, Atom, JSON Feed, a real ill-formed feed, a feed that is
gone, a wire story and its republication in other chrome), each on its own
127.0.0.x address.
"""

from __future__ import annotations

import os
import re

import pytest

from wiredesk.cli import main
from wiredesk.demo import SampleOutlets
from wiredesk.query import connect
from wiredesk.schemas.tables import REGION_SLUGS

ARTICLE_TYPES = {
    "story_id": "VARCHAR",
    "url": "VARCHAR",
    "canonical_url": "VARCHAR",
    "source": "VARCHAR",
    "feed_url": "VARCHAR",
    "title": "VARCHAR",
    "text": "VARCHAR",
    "published_at": "TIMESTAMP WITH TIME ZONE",
    "fetched_at": "TIMESTAMP WITH TIME ZONE",
    "language": "VARCHAR",
    "authors": "VARCHAR[]",
    "agency": "VARCHAR",
    "dateline": "VARCHAR",
    "country": "VARCHAR",
    "word_count": "INTEGER",
    "content_hash": "VARCHAR",
    "date": "DATE",
    "region": "VARCHAR",
}
DUPLICATE_TYPES = {
    "url": "VARCHAR",
    "story_id": "VARCHAR",
    "source": "VARCHAR",
    "feed_url": "VARCHAR",
    "title": "VARCHAR",
    "published_at": "TIMESTAMP WITH TIME ZONE",
    "fetched_at": "TIMESTAMP WITH TIME ZONE",
    "similarity": "DOUBLE",
    "date": "DATE",
    "region": "VARCHAR",
}
REJECT_TYPES = {
    "url": "VARCHAR",
    "feed_url": "VARCHAR",
    "stage": "VARCHAR",
    "reason": "VARCHAR",
    "detail": "VARCHAR",
    "at": "TIMESTAMP WITH TIME ZONE",
    "date": "DATE",
}


def _table(out: str, name: str) -> str:
    return f"read_parquet('{out}/{name}/**/*.parquet', hive_partitioning=true)"


def _rows(out: str, sql: str) -> list[tuple]:
    # The views of `wiredesk query` (an empty table is an empty view, not an error).
    return connect(out).execute(sql).fetchall()


def _count_all(out: str) -> tuple[int, int, int]:
    return tuple(  # type: ignore[return-value]
        _rows(out, f"SELECT count(*) FROM {name}")[0][0]
        for name in ("articles", "duplicates", "rejects")
    )


def _feeds_file(sample: SampleOutlets, tmp_path) -> str:
    path = os.path.join(tmp_path, "feeds.opml")
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(sample.opml())
    return path


@pytest.fixture(scope="module")
def sample():
    with SampleOutlets() as outlets:
        yield outlets


@pytest.fixture(scope="module")
def first_run(sample, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("e2e")
    out = str(tmp / "out")
    feeds = _feeds_file(sample, tmp)
    argv = ["run", "--feeds", feeds, "--output", out, "--once", "--allow-private-addresses"]
    assert main(argv) == 0
    return out, feeds, argv


def test_columns_and_types_match_the_contract(first_run):
    out, _, _ = first_run
    for name, expected in (
        ("articles", ARTICLE_TYPES),
        ("duplicates", DUPLICATE_TYPES),
        ("rejects", REJECT_TYPES),
    ):
        described = dict(
            (row[0], row[1]) for row in _rows(out, f"DESCRIBE SELECT * FROM {_table(out, name)}")
        )
        for column, type_name in expected.items():
            assert described.get(column) == type_name, (name, column, described.get(column))


def test_partition_folders_follow_the_contract(first_run):
    out, _, _ = first_run
    for table in ("articles", "duplicates"):
        for folder, _dirs, files in os.walk(os.path.join(out, table)):
            rel = os.path.relpath(folder, os.path.join(out, table))
            if not files:
                continue
            match = re.fullmatch(r"date=(\d{4}-\d{2}-\d{2})/region=([a-z-]+)", rel)
            assert match, rel
            assert match.group(2) in REGION_SLUGS
            assert all(re.fullmatch(r"part-[\w-]+\.parquet", name) for name in files), files
    for folder, _dirs, files in os.walk(os.path.join(out, "rejects")):
        if files:
            assert re.fullmatch(r"date=\d{4}-\d{2}-\d{2}", os.path.basename(folder))
    leftovers = [
        os.path.join(folder, name)
        for folder, dirs, files in os.walk(out)
        for name in files + dirs
        if name.startswith((".tmp", ".temp"))
    ]
    assert leftovers == []


def test_every_listed_page_is_a_row_or_a_reject(first_run, sample):
    out, _, _ = first_run
    articles, duplicates, rejects = _count_all(out)
    page_rejects = _rows(out, "SELECT count(*) FROM rejects WHERE stage <> 'feed'")[0][0]
    # The sample lists 17 distinct pages (one twice, with other tracking
    # parameters) and two links that cannot be fetched.
    assert articles + duplicates + page_rejects == 19
    assert articles >= 14


def test_the_republication_is_linked_to_the_wire_story(first_run):
    out, _, _ = first_run
    rows = _rows(
        out,
        "SELECT d.source, a.source, d.similarity FROM duplicates d JOIN articles a USING (story_id) "
        "WHERE d.url LIKE '%20241023-kim%'",
    )
    assert len(rows) == 1
    dup_source, canonical_source, similarity = rows[0]
    assert dup_source == "The Japan News"
    assert canonical_source == "Wire Desk Agency"
    assert 0.5 < similarity <= 1.0


def test_rejects_carry_stage_and_reason(first_run):
    out, _, _ = first_run
    reasons = set(_rows(out, "SELECT stage, reason FROM rejects"))
    assert ("fetch", "blocked_address") in reasons  # the 169.254.169.254 link
    assert ("fetch", "http_404") in reasons  # a removed story
    assert ("feed", "http_404") in reasons  # a feed that is gone


def test_articles_are_enriched(first_run):
    out, _, _ = first_run
    kim = _rows(
        out,
        "SELECT dateline, agency, country, region, language, word_count FROM articles "
        "WHERE url LIKE '%kim-missile-bases%'",
    )
    assert kim == [("SEOUL", "Reuters", "KR", "eastern-asia", "en", kim[0][5])]
    assert kim[0][5] > 200
    regions = {row[0] for row in _rows(out, "SELECT DISTINCT region FROM articles")}
    assert regions <= REGION_SLUGS
    assert len(regions) >= 3


def test_a_second_run_adds_no_rows(first_run):
    out, _, argv = first_run
    before = _count_all(out)
    assert main(argv) == 0
    assert _count_all(out) == before


def test_without_the_flags_nothing_is_requested_from_loopback(sample, tmp_path):
    feeds = _feeds_file(sample, tmp_path)
    hits_before = {name: sum(o.hits.values()) for name, o in sample.outlets.items()}
    out = str(tmp_path / "out")
    assert main(["run", "--feeds", feeds, "--output", out, "--once"]) == 0
    assert {name: sum(o.hits.values()) for name, o in sample.outlets.items()} == hits_before
    reasons = _rows(out, "SELECT DISTINCT stage, reason FROM rejects")
    assert reasons == [("feed", "blocked_address")]
