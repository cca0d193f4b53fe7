"""Keys derived from written rows equal the keys the run recorded for the same inputs."""

from __future__ import annotations

import datetime as dt

from wiredesk.schemas.records import Article, FeedEntry, Reject
from wiredesk.schemas.rows import article_row, duplicate_row
from wiredesk.transforms.common.urlnorm import url_key
from wiredesk.transforms.dedup.stage_exact import entry_keys
from wiredesk.transforms.io.written_keys import keys_of_row

NOW = dt.datetime(2024, 10, 23, tzinfo=dt.UTC)


def _article(entry: FeedEntry) -> Article:
    return Article(
        url=entry.url,
        url_key=entry.url_key,
        canonical_url=entry.url,
        source="s",
        feed_url=entry.feed_url,
        title="t",
        text="x",
        published_at=None,
        fetched_at=NOW,
        guid=entry.guid,
        is_wire=entry.is_wire,
        story_id="st_1",
    )


def test_article_and_duplicate_rows_give_back_the_entry_keys():
    entries = [
        FeedEntry(
            url="https://www.x.example/a?utm_source=rss",
            feed_url="http://f/1",
            url_key=url_key("https://www.x.example/a?utm_source=rss"),
        ),
        FeedEntry(
            url="https://x.example/b",
            feed_url="http://f/1",
            url_key=url_key("https://x.example/b"),
            guid="tag:x.example,2024:b",
        ),
        FeedEntry(
            url="https://x.example/c",
            feed_url="http://f/2",
            url_key=url_key("https://x.example/c"),
            guid="17",
        ),
        FeedEntry(
            url="urn:newsml:x:1",
            feed_url="/drop",
            url_key="urn:newsml:x:1#v2",
            guid="urn:newsml:x:1#v2",
            is_wire=True,
        ),
    ]
    for entry in entries:
        from_articles = set(keys_of_row("articles", article_row(_article(entry))))
        from_duplicates = set(keys_of_row("duplicates", duplicate_row(_article(entry))))
        if entry.is_wire:
            # A wire entry's URL key carries its version; its guid key says the same.
            assert f"guid:{entry.guid}" in from_articles & from_duplicates
        else:
            assert from_articles == from_duplicates == set(entry_keys(entry))


def test_reject_rows_give_back_the_reject_and_entry_keys():
    reject = Reject(
        url="https://x.example/a",
        feed_url="http://f/1",
        stage="fetch",
        reason="timeout",
        detail="d",
        at=NOW,
    )
    keys = keys_of_row("rejects", reject.to_row())
    assert reject.key() in keys
    assert f"url:{url_key('https://x.example/a')}" in keys
    feed_reject = Reject(
        url="http://f/1", feed_url="http://f/1", stage="feed", reason="http_404", detail="", at=NOW
    )
    assert keys_of_row("rejects", feed_reject.to_row()) == [feed_reject.key()]


def test_compacted_files_are_recognised_by_their_prefix():
    from wiredesk.compact import MERGED_PREFIX
    from wiredesk.transforms.io.written_keys import COMPACTED_PREFIX

    assert COMPACTED_PREFIX == MERGED_PREFIX


def test_only_files_of_runs_without_seen_state_are_unfinished(tmp_path):
    import time

    from wiredesk.transforms.io.written_keys import unfinished_run_files

    def touch(*parts: str) -> None:
        path = tmp_path.joinpath(*parts)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")

    touch("_state", "seen", "part-20241023T000000-aaaaaaaa.parquet")
    touch(
        "articles",
        "date=2024-10-23",
        "region=unknown",
        "part-20241023T000000-aaaaaaaa-0000-000.parquet",
    )
    touch(
        "articles",
        "date=2024-10-23",
        "region=unknown",
        "part-20241023T010000-bbbbbbbb-0000-000.parquet",
    )
    touch("rejects", "date=2024-10-23", "part-20241023T010000-bbbbbbbb-0000-000.parquet")
    touch(
        "duplicates",
        "date=2024-10-23",
        "region=unknown",
        "part-compact-20241024T000000-cccccccc.parquet",
    )
    found = unfinished_run_files(output=str(tmp_path), horizon_days=30, now=time.time())
    assert [(table, path.rsplit("/", 1)[1]) for table, path in found] == [
        ("articles", "part-20241023T010000-bbbbbbbb-0000-000.parquet"),
        ("rejects", "part-20241023T010000-bbbbbbbb-0000-000.parquet"),
    ]
    assert (
        unfinished_run_files(output=str(tmp_path / "nothing"), horizon_days=30, now=time.time())
        == []
    )


def test_a_streaming_job_with_state_is_not_unfinished(tmp_path):
    """Windowed files (part-<run>-w<end>-p<pane>-...) belong to their job's run id."""
    import time

    from wiredesk.transforms.io.windowed_write import pane_file_name
    from wiredesk.transforms.io.written_keys import unfinished_run_files

    def touch(*parts: str) -> None:
        path = tmp_path.joinpath(*parts)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")

    def pane(run_id: str, end: int) -> str:
        return pane_file_name(run_id=run_id, window_end_s=end, pane=0, shard=0, chunk=0)

    day = ("date=2024-10-23", "region=unknown")
    # A job that saved state for one window: none of its table files is unfinished.
    touch("_state", "seen", pane("stream-a", 1729641600))
    touch("articles", *day, pane("stream-a", 1729641600))
    touch("articles", *day, pane("stream-a", 1729645200))
    # A job that never saved any: its files are read back, as a batch run's would be.
    touch("articles", *day, pane("stream-b", 1729641600))
    found = unfinished_run_files(output=str(tmp_path), horizon_days=30, now=time.time())
    assert [path.rsplit("/", 1)[1] for _, path in found] == [pane("stream-b", 1729641600)]
