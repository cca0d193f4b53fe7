"""Story state rebuilt from written articles equals the state the run recorded for them."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import time
from pathlib import Path
from typing import Any

import apache_beam as beam
import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.testing.util import assert_that, equal_to

from wiredesk.schemas.records import Article
from wiredesk.schemas.rows import article_row
from wiredesk.schemas.tables import ARTICLES_SCHEMA
from wiredesk.transforms.dedup.stage_syndication import _SignFn, assign_stories
from wiredesk.transforms.io.written_keys import unfinished_run_files
from wiredesk.transforms.io.written_stories import (
    ReadWrittenStories,
    story_rows_of_article,
    unfinished_story_files,
)

TODAY = dt.date(2024, 10, 23)
FETCHED = dt.datetime(2024, 10, 23, 9, 30, tzinfo=dt.UTC)
BODY = "\n\n".join(
    f"Paragraph {i} of the report says the harbour authority spent {i * 7} million on item {i}."
    for i in range(12)
)


def _article(**changes: Any) -> Article:
    article = Article(
        url="https://gazette.example/news/harbour",
        url_key="gazette.example/news/harbour",
        canonical_url="https://gazette.example/news/harbour",
        source="Gazette",
        feed_url="https://gazette.example/rss",
        title="Harbour report",
        text=BODY,
        published_at=dt.datetime(2024, 10, 22, 23, 30, tzinfo=dt.timezone(dt.timedelta(hours=-2))),
        fetched_at=FETCHED,
        language="en",
    )
    return dataclasses.replace(article, **changes)


def _recorded(article: Article) -> tuple[str, list[dict[str, Any]]]:
    """What DetectSyndication assigns and persists for ``article`` alone in a run."""
    [signed] = list(_SignFn().process(article))
    [(_doc, assignment)], rows = assign_stories([signed], [], today=TODAY, horizon_days=7)
    assert assignment["canonical"]
    return assignment["story_id"], rows


def _through_parquet(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows as a reader gets them back from an ``articles`` file."""
    sink = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(rows, schema=ARTICLES_SCHEMA), sink)
    return pq.read_table(io.BytesIO(sink.getvalue())).to_pylist()


def test_rebuilt_rows_equal_the_recorded_rows():
    for article in (
        _article(),
        _article(published_at=None),  # dated by the run's day, which is the fetch day
        _article(
            url="urn:newsml:dpa.com:20241022:harbour-1",
            url_key="urn:newsml:dpa.com:20241022:harbour-1#v3",
            is_wire=True,
            wire={"item_id": "urn:newsml:dpa.com:20241022:harbour-1", "version": "3"},
        ),
    ):
        story_id, recorded = _recorded(article)
        [row] = _through_parquet([article_row(dataclasses.replace(article, story_id=story_id))])
        assert story_rows_of_article(row) == recorded
    assert len(recorded) == 2  # the wire item's sketch, and its link


def test_a_body_without_tokens_leaves_no_sketch_row():
    article = _article(text="")
    story_id, recorded = _recorded(article)
    row = article_row(dataclasses.replace(article, story_id=story_id))
    assert story_rows_of_article(row) == recorded == []


def test_rebuilt_rows_let_a_later_republication_join_the_story():
    story_id, _ = _recorded(_article())
    [row] = _through_parquet([article_row(_article(story_id=story_id))])
    copy = _article(
        url="https://courier.example/harbour",
        url_key="courier.example/harbour",
        text="Photo: the harbour at dawn.\n\n" + BODY.replace("the report", "a report", 1),
        fetched_at=FETCHED + dt.timedelta(days=1),
    )
    [signed] = list(_SignFn().process(copy))
    [(_doc, assignment)], _rows = assign_stories(
        [signed], story_rows_of_article(row), today=TODAY, horizon_days=7
    )
    assert (assignment["story_id"], assignment["canonical"]) == (story_id, False)


def _touch(root: Path, *parts: str) -> None:
    path = root.joinpath(*parts)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x")


def test_each_kind_of_state_finishes_a_run_on_its_own(tmp_path: Path):
    # Run a: every state file. Run b: seen written, stories not (died in between).
    for kind in ("seen", "stories"):
        _touch(tmp_path, "_state", kind, "part-20241023T000000-aaaaaaaa.parquet")
    _touch(tmp_path, "_state", "seen", "part-20241023T010000-bbbbbbbb.parquet")
    partition = ("date=2024-10-23", "region=unknown")
    for run in ("20241023T000000-aaaaaaaa", "20241023T010000-bbbbbbbb"):
        _touch(tmp_path, "articles", *partition, f"part-{run}-0000-000.parquet")
        _touch(tmp_path, "duplicates", *partition, f"part-{run}-0000-000.parquet")
    _touch(tmp_path, "articles", *partition, "part-compact-20241024T000000-cccccccc.parquet")
    now = time.time()
    assert unfinished_run_files(output=str(tmp_path), horizon_days=30, now=now) == []
    assert [
        Path(p).name for p in unfinished_story_files(output=str(tmp_path), horizon_days=7, now=now)
    ] == ["part-20241023T010000-bbbbbbbb-0000-000.parquet"]
    # Beyond the horizon (by the file's time) nothing is listed.
    assert unfinished_story_files(output=str(tmp_path), horizon_days=7, now=now + 8 * 86_400) == []
    assert unfinished_story_files(output=str(tmp_path / "none"), horizon_days=7, now=now) == []


def test_read_written_stories_in_a_pipeline(tmp_path: Path):
    old = _article(
        url="https://gazette.example/old",
        url_key="gazette.example/old",
        text="Another story altogether. " * 40,
        published_at=dt.datetime(2024, 10, 1, tzinfo=dt.UTC),
    )
    new_id, recorded = _recorded(_article())
    rows = [
        article_row(_article(story_id=new_id)),
        article_row(dataclasses.replace(old, story_id="st_old")),
    ]
    folder = tmp_path / "articles" / "date=2024-10-22" / "region=unknown"
    folder.mkdir(parents=True)
    pq.write_table(
        pa.Table.from_pylist(rows, schema=ARTICLES_SCHEMA),
        folder / "part-20241023T010000-bbbbbbbb-0000-000.parquet",
    )
    with beam.Pipeline() as p:
        rebuilt = p | ReadWrittenStories(
            output=str(tmp_path), horizon_days=7, now=time.time(), today=TODAY
        )
        # The story published three weeks ago is past the horizon, as ReadState drops it.
        assert_that(rebuilt, equal_to(recorded))
