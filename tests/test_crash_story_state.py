"""A run that dies before its state files still has its stories found by later runs.

``wiredesk run --once`` over two loopback outlets: the first publishes a story;
the run's state files are then deleted, as a crash between the verified table
files and ``OUT/_state`` leaves them. A second run, where another outlet
republishes the story (lightly edited, in other chrome), must put the
republication in ``duplicates`` under the first run's story id, and must not
write the first run's article again. After a clean run nothing is rebuilt.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import html
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import wiredesk.pipelines.run as run_module
from wiredesk.cli import main
from wiredesk.loopback import LoopbackOutlet, Route
from wiredesk.query import connect
from wiredesk.transforms.io.written_stories import unfinished_story_files

REBUILT = "state_stories_rows_rebuilt_from_unfinished_runs"
FILES_READ = "state_stories_files_of_unfinished_runs_read"
KEYS_RECOVERED = "state_rows_recovered_from_unfinished_runs"

STORY = [
    "The city council of Marlow Bay voted late on Tuesday to close the old harbour bridge "
    "to all heavy traffic from the first of next month, after engineers found deep cracks "
    "in two of the steel girders that carry the eastern span over the shipping channel.",
    "Council leader Agnes Whitford said the decision had been taken with great reluctance, "
    "because the bridge carries almost four thousand lorries a week between the container "
    "terminal and the motorway, but that the safety of residents had to come first.",
    "The inspection report, published on the council website on Monday evening, describes "
    "corrosion that has spread under the paint of the lower chords, and estimates that the "
    "repairs will take at least eighteen months and cost around 42 million pounds.",
    "Haulage firms reacted with dismay. The regional freight association warned that a "
    "detour through the town centre would add forty minutes to every trip and fill narrow "
    "residential streets with trucks that were never designed to pass through them.",
    "Residents of the Quayside district, where the detour would begin, have already started "
    "a petition asking for a temporary bypass along the disused railway line that runs "
    "behind the fish market, a plan the council said it would study in the coming weeks.",
    "Port director Samuel Okafor said cargo volumes had grown by a fifth over the past two "
    "years and that the terminal could not afford a long period of disruption, adding that "
    "the port was ready to contribute to the cost of a temporary steel bridge.",
    "Buses, cars and bicycles will still be allowed to cross the bridge during the repairs, "
    "although the speed limit will be lowered to twenty miles an hour and one lane in each "
    "direction will be closed while the engineers replace the damaged girders.",
    "The bridge was opened in 1961 and was last strengthened in the early nineties. A full "
    "replacement had been planned for the end of the decade, but the council said the "
    "findings had forced it to bring forward part of the work by several years.",
]


def _page(*, outlet: str, headline: str, paragraphs: list[str], extra: str) -> bytes:
    """One article page in ``outlet``'s own chrome."""
    body = "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(headline)} | "
        f"{outlet}</title><meta property='og:site_name' content='{outlet}'></head><body>"
        f"<header><nav><a href='/'>{outlet}</a> <a href='/news'>News</a> "
        f"<a href='/sport'>Sport</a> <a href='/opinion'>Opinion</a></nav></header><main><article>"
        f"<h1>{html.escape(headline)}</h1>{extra}{body}</article><aside><h2>Most read</h2><ul>"
        f"<li><a href='/x'>{outlet} weather: storms expected at the weekend</a></li>"
        "<li><a href='/y'>Local team wins the cup after extra time</a></li></ul></aside></main>"
        f"<footer>© {outlet} · Privacy · Contact</footer></body></html>"
    ).encode()


def _rss(*, title: str, items: list[tuple[str, str, dt.datetime]]) -> bytes:
    body = "".join(
        f"<item><title>{html.escape(headline)}</title><link>{html.escape(link)}</link>"
        f"<pubDate>{email.utils.format_datetime(when)}</pubDate></item>"
        for link, headline, when in items
    )
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{title}'
        f"</title><link>http://example.invalid/</link>{body}</channel></rss>"
    ).encode()


def _republication() -> list[str]:
    """The story as a second outlet runs it: a caption above, one sentence reworded."""
    edited = list(STORY)
    edited[1] = edited[1].replace("with great reluctance", "reluctantly")
    return ["Pictured: the eastern span of the harbour bridge at dusk.", *edited]


@pytest.fixture
def outlets() -> Iterator[tuple[LoopbackOutlet, LoopbackOutlet]]:
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    gazette = LoopbackOutlet(host="127.0.0.81").start()
    courier = LoopbackOutlet(host="127.0.0.82").start()
    try:
        gazette.set_route(
            "/news/bridge",
            Route(
                body=_page(
                    outlet="Harbour Gazette",
                    headline="Harbour bridge to close to lorries",
                    paragraphs=STORY,
                    extra="<p class='byline'>By Tom Reyes, Local Affairs Reporter</p>",
                )
            ),
        )
        gazette.set_route(
            "/rss.xml",
            Route(
                body=_rss(
                    title="Harbour Gazette",
                    items=[
                        (
                            gazette.url("/news/bridge"),
                            "Harbour bridge to close to lorries",
                            now - dt.timedelta(hours=3),
                        )
                    ],
                ),
                content_type="application/rss+xml",
            ),
        )
        courier.set_route(
            "/region/marlow-bay-bridge",
            Route(
                body=_page(
                    outlet="Valley Courier",
                    headline="Cracks force Marlow Bay to shut bridge to heavy traffic",
                    paragraphs=_republication(),
                    extra="<p class='meta'>Updated 2 hours ago · 4 min read</p>",
                )
            ),
        )
        courier.set_route(
            "/feed.xml",
            Route(
                body=_rss(
                    title="Valley Courier",
                    items=[
                        (
                            courier.url("/region/marlow-bay-bridge"),
                            "Cracks force Marlow Bay to shut bridge to heavy traffic",
                            now - dt.timedelta(hours=1),
                        )
                    ],
                ),
                content_type="application/rss+xml",
            ),
        )
        yield gazette, courier
    finally:
        gazette.stop()
        courier.stop()


def _feeds(path: Path, *urls: str) -> str:
    outlines = "".join(f'<outline text="feed" xmlUrl="{html.escape(u)}"/>' for u in urls)
    path.write_text(f'<?xml version="1.0"?><opml version="2.0"><body>{outlines}</body></opml>')
    return str(path)


def _run(*, feeds: str, out: Path, run_id: str) -> dict[str, int]:
    """``wiredesk run --once`` through the CLI; returns the run's wiredesk counters."""
    seen: list[dict[str, int]] = []
    real = run_module._counters

    def spy(result: Any) -> dict[str, int]:
        counters = real(result)
        seen.append(counters)
        return counters

    argv = ["run", "--feeds", feeds, "--output", str(out), "--once", "--allow-private-addresses"]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(run_module, "_counters", spy)
        assert main([*argv, "--run-id", run_id]) == 0
    assert len(seen) == 1
    return seen[0]


def _rows(out: Path, sql: str) -> list[tuple[Any, ...]]:
    return connect(str(out)).execute(sql).fetchall()


def test_a_republication_joins_a_story_whose_run_died_before_its_state(
    outlets: tuple[LoopbackOutlet, LoopbackOutlet], tmp_path: Path
) -> None:
    gazette, courier = outlets
    out = tmp_path / "out"
    first = _run(
        feeds=_feeds(tmp_path / "first.opml", gazette.url("/rss.xml")), out=out, run_id="crash-1"
    )
    assert first.get("articles_rows_written") == 1
    [(story_id, url)] = _rows(out, "SELECT story_id, url FROM articles")
    assert url == gazette.url("/news/bridge")
    assert [p.name for p in (out / "articles").rglob("*.parquet")] == [
        "part-crash-1-0000-000.parquet"
    ]

    # The crash: table files verified, no state file written.
    state = sorted(p.relative_to(out).as_posix() for p in (out / "_state").rglob("*.parquet"))
    assert state == [
        "_state/feed_list/part-crash-1.parquet",  # recorded when the run started
        "_state/feeds/part-crash-1.parquet",
        "_state/seen/part-crash-1.parquet",
        "_state/stories/part-crash-1.parquet",
    ]
    for name in state:
        (out / name).unlink()
    assert unfinished_story_files(output=str(out), horizon_days=7, now=time.time())

    second = _run(
        feeds=_feeds(tmp_path / "both.opml", gazette.url("/rss.xml"), courier.url("/feed.xml")),
        out=out,
        run_id="after-2",
    )
    assert _rows(out, "SELECT story_id, url FROM duplicates") == [
        (story_id, courier.url("/region/marlow-bay-bridge"))
    ]
    assert _rows(out, "SELECT story_id, url FROM articles") == [(story_id, url)]
    assert gazette.hits["/news/bridge"] == 1  # polled again, but not fetched again
    assert _rows(out, "SELECT count(*) FROM rejects") == [(0,)]
    assert second.get(FILES_READ) == 1
    assert second.get(REBUILT) == 1  # the one story's sketch
    assert second.get(KEYS_RECOVERED, 0) >= 1  # and its keys (ReadWrittenKeys)


def test_after_clean_runs_no_story_state_is_rebuilt(
    outlets: tuple[LoopbackOutlet, LoopbackOutlet], tmp_path: Path
) -> None:
    gazette, courier = outlets
    out = tmp_path / "out"
    first = _run(
        feeds=_feeds(tmp_path / "first.opml", gazette.url("/rss.xml")), out=out, run_id="clean-1"
    )
    assert first.get(FILES_READ, 0) == first.get(REBUILT, 0) == 0
    assert unfinished_story_files(output=str(out), horizon_days=7, now=time.time()) == []
    second = _run(
        feeds=_feeds(tmp_path / "both.opml", gazette.url("/rss.xml"), courier.url("/feed.xml")),
        out=out,
        run_id="clean-2",
    )
    assert second.get(FILES_READ, 0) == second.get(REBUILT, 0) == 0
    assert second.get("state_stories_rows_restored", 0) >= 1  # found through the saved state
    [(story_id,)] = _rows(out, "SELECT story_id FROM articles")
    assert _rows(out, "SELECT story_id, url FROM duplicates") == [
        (story_id, courier.url("/region/marlow-bay-bridge"))
    ]
    assert unfinished_story_files(output=str(out), horizon_days=7, now=time.time()) == []


def test_damaged_files_of_earlier_runs_are_skipped_not_fatal(
    outlets: tuple[LoopbackOutlet, LoopbackOutlet], tmp_path: Path
) -> None:
    """A truncated table file of a run that left no state, and a state file overwritten
    with junk: each is read at the start of every later run. Each costs its own rows,
    with a warning and a counter, and never the run."""
    gazette, courier = outlets
    out = tmp_path / "out"
    _run(feeds=_feeds(tmp_path / "first.opml", gazette.url("/rss.xml")), out=out, run_id="ok-1")
    [written] = (out / "articles").rglob("part-ok-1-*.parquet")
    damaged_table = written.with_name("part-died-0000-000.parquet")
    damaged_table.write_bytes(written.read_bytes()[: written.stat().st_size // 2])
    damaged_state = out / "_state" / "seen" / "part-junk.parquet"
    damaged_state.write_bytes(b"PAR1 this is not a parquet file")

    second = _run(
        feeds=_feeds(tmp_path / "both.opml", gazette.url("/rss.xml"), courier.url("/feed.xml")),
        out=out,
        run_id="ok-2",
    )
    # The table file twice (seen keys, stories), the state file once.
    assert second.get("unreadable_files_skipped") == 3
    damaged_table.unlink()  # DuckDB would refuse the table with it, as it should
    [(story_id,)] = _rows(out, "SELECT story_id FROM articles")
    assert _rows(out, "SELECT story_id, url FROM duplicates") == [
        (story_id, courier.url("/region/marlow-bay-bridge"))
    ]
    assert gazette.hits["/news/bridge"] == 1  # the good state still held
