"""Follow-ups are stories of their own; write-through updates are duplicates (through the CLI).

A wire outlet (127.0.0.71) serves a real Reuters story (the seed story). A newspaper
(127.0.0.72) serves, a day later, a follow-up: a new lede of three paragraphs over the
story's paragraphs 3 to 8, the case that used to be merged into the story. A second
paper (127.0.0.73) serves a write-through update: two new paragraphs on top of the whole
story. docs/syndication.md defines both. The output is read back with DuckDB.
"""

from __future__ import annotations

import datetime as dt
import gzip
import html
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from wiredesk.cli import main
from wiredesk.loopback import LoopbackOutlet, Route
from wiredesk.query import connect

FIXTURE = Path(__file__).parent / "fixtures" / "syndication" / "syndication_docs.json.gz"
# Recent days: stories stay matchable across runs for the horizon (7 days) only.
DAY1 = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(days=2)
DAY2 = DAY1 + dt.timedelta(days=1)

FOLLOW_UP_LEDE = [
    "SEOUL, Oct 24 (Reuters) - North Korea fired a short-range ballistic missile into the sea "
    "off its east coast on Thursday, South Korea's military said, a day after leader Kim Jong "
    "Un inspected missile bases and warned of a growing nuclear threat from Washington.",
    "The launch, detected at 7:10 a.m. from an area near Pyongyang, flew about 350 km before "
    "landing outside Japan's exclusive economic zone, the Joint Chiefs of Staff said, adding "
    "that it was analysing the flight data with the United States.",
    "Japan's defence ministry said it had lodged a protest through diplomatic channels, while "
    "the White House called the test a violation of multiple U.N. Security Council "
    "resolutions and urged Pyongyang to return to talks.",
]
UPDATE_TOP = [
    "SEOUL, Oct 23 (Reuters) - South Korea's military said on Wednesday it was on heightened "
    "alert after state media reported that North Korean leader Kim Jong Un had inspected "
    "missile bases, and officials in Seoul were studying the reports for signs of a launch.",
    "A spokesperson for the Joint Chiefs of Staff told reporters that surveillance had been "
    "stepped up along the border and that the allies were sharing intelligence closely.",
]


def _seed_story() -> list[str]:
    with gzip.open(FIXTURE, "rt", encoding="utf-8") as f:
        docs = json.load(f)["docs"]
    text = next(
        d["text"] for d in docs if d["variant"] == "original" and d["story"] == "seed-reuters-kim"
    )
    return [p.strip() for p in text.split("\n\n") if p.strip()]


def _page(title: str, paragraphs: list[str], published: dt.datetime, site: str) -> bytes:
    body = "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)
    return (
        f"<!doctype html><html><head><title>{html.escape(title)}</title>"
        f'<meta property="og:site_name" content="{site}">'
        f'<meta property="article:published_time" content="{published.isoformat()}">'
        f"</head><body><header><nav><a href='/'>Home</a> <a href='/world'>World</a></nav>"
        f"</header><article><h1>{html.escape(title)}</h1>{body}</article>"
        f"<footer>© {site}</footer></body></html>"
    ).encode()


def _feed(title: str, items: list[tuple[str, str, dt.datetime]]) -> bytes:
    entries = "".join(
        f"<item><title>{html.escape(t)}</title><link>{u}</link><guid>{u}</guid>"
        f"<pubDate>{when.strftime('%a, %d %b %Y %H:%M:%S +0000')}</pubDate></item>"
        for u, t, when in items
    )
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>{title}</title>'
        f"<link>http://example.com/</link><description>news</description>{entries}"
        "</channel></rss>"
    ).encode()


class Newsroom:
    """Three outlets: the wire, a paper with the follow-up, a paper with the update."""

    def __init__(self) -> None:
        self.wire = LoopbackOutlet(host="127.0.0.71")
        self.paper = LoopbackOutlet(host="127.0.0.72")
        self.other = LoopbackOutlet(host="127.0.0.73")

    def __enter__(self) -> Newsroom:
        story = _seed_story()
        for outlet in (self.wire, self.paper, self.other):
            outlet.start()
            outlet.set_route("/robots.txt", Route(body=b"User-agent: *\nAllow: /\n",
                                                  content_type="text/plain"))  # fmt: skip
        self.story_url = self.wire.url("/world/kim-missile-bases")
        self.follow_up_url = self.paper.url("/asia/north-korea-fires-missile")
        self.update_url = self.other.url("/news/seoul-on-alert")
        self.wire.set_route("/world/kim-missile-bases", Route(body=_page(
            "North Korea's Kim visits missile bases, calls U.S. nuclear arsenal a threat",
            story, DAY1, "Reuters")))  # fmt: skip
        self.paper.set_route("/asia/north-korea-fires-missile", Route(body=_page(
            "North Korea fires missile a day after Kim's base visit",
            [*FOLLOW_UP_LEDE, *story[2:8]], DAY2, "The Daily Post")))  # fmt: skip
        self.other.set_route("/news/seoul-on-alert", Route(body=_page(
            "Seoul on alert after Kim inspects missile bases",
            [*UPDATE_TOP, *story], DAY1 + dt.timedelta(hours=5), "The Herald")))  # fmt: skip
        self.set_feeds(follow_up=True)
        return self

    def set_feeds(self, *, follow_up: bool) -> None:
        rss = "application/rss+xml"
        self.wire.set_route("/feed.xml", Route(body=_feed("Reuters World", [
            (self.story_url, "Kim visits missile bases", DAY1)]), content_type=rss))  # fmt: skip
        self.other.set_route("/feed.xml", Route(body=_feed("The Herald", [
            (self.update_url, "Seoul on alert", DAY1)]), content_type=rss))  # fmt: skip
        items = [(self.follow_up_url, "North Korea fires missile", DAY2)] if follow_up else []
        self.paper.set_route("/feed.xml", Route(body=_feed("The Daily Post", items),
                                                content_type=rss))  # fmt: skip

    def feeds_file(self, path: Path) -> Path:
        path.write_text("\n".join(o.url("/feed.xml") for o in (self.wire, self.paper, self.other)))
        return path

    def __exit__(self, *exc: object) -> None:
        for outlet in (self.wire, self.paper, self.other):
            outlet.stop()


@pytest.fixture()
def newsroom() -> Iterator[Newsroom]:
    with Newsroom() as room:
        yield room


def _run(feeds: Path, out: Path) -> None:
    argv = ["run", "--feeds", str(feeds), "--output", str(out), "--once"]
    assert main([*argv, "--allow-private-addresses"]) == 0


def _articles(out: Path) -> dict[str, tuple[str, list[str]]]:
    rows = connect(str(out)).execute("SELECT url, story_id, related_story_ids FROM articles")
    return {url: (sid, list(related or [])) for url, sid, related in rows.fetchall()}


def _duplicates(out: Path) -> dict[str, tuple[object, ...]]:
    sql = (
        "SELECT url, story_id, relation, similarity, copy_in_story, story_in_copy, lede_shared "
        "FROM duplicates"
    )
    return {row[0]: row[1:] for row in connect(str(out)).execute(sql).fetchall()}


def _check(room: Newsroom, out: Path) -> None:
    articles, duplicates = _articles(out), _duplicates(out)
    story_id, story_related = articles[room.story_url]
    assert story_related == []
    # The follow-up: its own row, linked to the story it follows.
    assert room.follow_up_url in articles, (articles, duplicates)
    follow_id, follow_related = articles[room.follow_up_url]
    assert follow_id != story_id
    assert follow_related == [story_id]
    # The write-through update: a duplicate of the story, saying what it is and why.
    sid, relation, similarity, copy_in_story, story_in_copy, lede_shared = duplicates[
        room.update_url
    ]
    assert sid == story_id
    # Two new paragraphs over ten: each text holds most of the other.
    assert relation in ("republication", "extended", "edited")
    assert lede_shared is True
    assert story_in_copy is not None and story_in_copy >= 0.9  # the whole story is in it
    assert copy_in_story is not None and copy_in_story < story_in_copy  # it adds text
    assert similarity is not None and similarity >= 0.9


def test_a_follow_up_in_the_same_run_is_its_own_story(newsroom: Newsroom, tmp_path: Path) -> None:
    out = tmp_path / "out"
    _run(newsroom.feeds_file(tmp_path / "feeds.txt"), out)
    _check(newsroom, out)


def test_a_follow_up_in_a_later_run_is_its_own_story(newsroom: Newsroom, tmp_path: Path) -> None:
    out = tmp_path / "out"
    feeds = newsroom.feeds_file(tmp_path / "feeds.txt")
    newsroom.set_feeds(follow_up=False)
    _run(feeds, out)
    assert newsroom.follow_up_url not in _articles(out)
    newsroom.set_feeds(follow_up=True)
    _run(feeds, out)
    _check(newsroom, out)


def test_the_match_columns_are_in_the_contract(newsroom: Newsroom, tmp_path: Path) -> None:
    out = tmp_path / "out"
    _run(newsroom.feeds_file(tmp_path / "feeds.txt"), out)
    con = connect(str(out))
    kinds = dict(
        con.execute("SELECT column_name, column_type FROM (DESCRIBE duplicates)").fetchall()
    )
    assert kinds["relation"] == "VARCHAR"
    assert kinds["copy_in_story"] == "DOUBLE" and kinds["story_in_copy"] == "DOUBLE"
    assert kinds["lede_shared"] == "BOOLEAN"
    kinds = dict(con.execute("SELECT column_name, column_type FROM (DESCRIBE articles)").fetchall())
    assert kinds["related_story_ids"] == "VARCHAR[]"
