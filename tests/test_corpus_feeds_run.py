"""Every feed of the corpus, served on loopback, through one real run: none crashes it.

The feeds are real and ill-formed captures whose item links point at the
public internet; the test network jail (conftest.py) answers those lookups
with "no such name", so every page becomes a ``dns_error`` reject and no
packet leaves loopback. What this proves is the accounting: every feed is
either polled or rejected, and every unique entry it listed is a row.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from wiredesk.loopback import LoopbackOutlet, Route
from wiredesk.pipelines.options import RunConfig
from wiredesk.pipelines.run import load_feeds, run_cycle
from wiredesk.query import connect
from wiredesk.schemas.records import FeedSource
from wiredesk.transforms.sources.feed_parse import parse_feed

FEEDS = Path(__file__).parent / "fixtures" / "feeds"


def _corpus_feeds() -> list[Path]:
    files = []
    for path in sorted(FEEDS.rglob("*")):
        if not path.is_file() or path.suffix == ".md":
            continue
        if "expected" in path.parts or path.name.endswith(".serde.json"):
            continue  # other parsers' expected outputs, not feeds
        files.append(path)
    return files


@pytest.fixture(scope="module")
def corpus_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("corpus-feeds")
    files = _corpus_feeds()
    outlet = LoopbackOutlet(host="127.0.0.51").start()
    try:
        urls = []
        for n, path in enumerate(files):
            route = f"/feed/{n}/{path.name}"
            ctype = "application/json" if path.suffix == ".json" else "application/xml"
            outlet.set_route(route, Route(body=path.read_bytes(), content_type=ctype))
            urls.append(outlet.url(route))
        feeds = tmp / "feeds.txt"
        feeds.write_text("\n".join(urls) + "\n")
        out = str(tmp / "out")
        config = RunConfig(
            feeds=str(feeds),
            output=out,
            allow_private_addresses=True,
            fetch_timeout=3.0,
            connect_timeout=1.0,
        )
        summary = run_cycle(config=config, feeds=load_feeds(str(feeds)))
    finally:
        outlet.stop()
    return files, urls, out, summary


def test_every_corpus_file_is_a_listed_feed(corpus_run):
    files, urls, _out, _summary = corpus_run
    assert len(files) == len(urls) >= 120


def test_every_feed_is_polled_or_rejected(corpus_run):
    _files, urls, out, summary = corpus_run
    con = connect(out)
    rejected = {
        row[0]
        for row in con.execute("SELECT feed_url FROM rejects WHERE stage = 'feed'").fetchall()
    }
    polled = set(
        row[0]
        for row in con.execute(
            f"SELECT feed_url FROM read_parquet('{out}/_state/feeds/*.parquet')"
        ).fetchall()
    )
    assert set(urls) <= rejected | polled
    assert summary.count("feeds_polled") == len(urls)


def test_every_unique_entry_is_a_row(corpus_run):
    files, _urls, out, summary = corpus_run
    listed = sum(
        len(
            parse_feed(
                body=path.read_bytes(),
                feed=FeedSource(url="http://127.0.0.51/x"),
                fetched_at=dt.datetime.now(dt.UTC),
            ).entries
        )
        for path in files
    )
    assert summary.count("entries_listed") == listed > 500
    unique = (
        summary.count("entries_new")
        - summary.count("entries_duplicate_url_in_run")
        - summary.count("entries_duplicate_guid_in_run")
    )
    con = connect(out)
    rows = sum(
        con.execute(f"SELECT count(*) FROM {table} {where}").fetchall()[0][0]
        for table, where in (
            ("articles", ""),
            ("duplicates", ""),
            ("rejects", "WHERE stage <> 'feed'"),
        )
    )
    assert rows == unique
