"""Every item a feed lists ends as a row, through the CLI: an article, a duplicate or a reject.

Items whose link cannot be fetched (``javascript:``, ``ftp:``, credentials, a port out of
range, a broken IPv6 literal, no link at all) used to be only counted while the feed was
parsed, so they were in no table: a user looking for them found nothing. They are now
``feed`` rejects beside the ``fetch`` rejects of links that can be tried, and a re-run
adds no second row for them.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import html
from pathlib import Path

import pytest

from wiredesk.cli import main
from wiredesk.loopback import LoopbackOutlet, Route
from wiredesk.query import connect

HOST = "127.0.0.85"
# Three different stories, so syndication keeps each as its own.
STORIES = {
    "terminal": "The harbour authority said on Tuesday that the new container terminal "
    "would open in the spring, after a long dispute over who would run it. ",
    "dredging": "Dredgers working the approach channel finished their last pass this week, "
    "leaving a depth of sixteen metres at the lowest tide, engineers said. ",
    "ferry": "A second ferry will serve the islands from June, the transport board "
    "announced, ending the winter timetable's single crossing a day. ",
}


def _page(title: str, story: str) -> bytes:
    body = "".join(f"<p>{STORIES[story]}(Part {i}.)</p>" for i in range(6))
    return (
        f"<html><head><title>{title}</title></head><body><article><h1>{title}</h1>"
        f"{body}</article></body></html>"
    ).encode()


def _rss(items: list[tuple[str, str | None, str | None]]) -> bytes:
    when = email.utils.format_datetime(dt.datetime.now(dt.UTC) - dt.timedelta(hours=1))
    parts = []
    for title, link, guid in items:
        link_xml = f"<link>{html.escape(link)}</link>" if link is not None else ""
        guid_xml = f'<guid isPermaLink="false">{html.escape(guid)}</guid>' if guid else ""
        parts.append(
            f"<item><title>{html.escape(title)}</title>{link_xml}{guid_xml}"
            f"<pubDate>{when}</pubDate></item>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Harbour'
        f" Gazette</title><link>http://{HOST}/</link>{''.join(parts)}</channel></rss>"
    ).encode()


def test_every_item_of_a_feed_is_an_article_or_a_reject_row(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with LoopbackOutlet(host=HOST) as outlet:
        port = outlet.url("/").split(":")[2].split("/")[0]
        outlet.set_route("/robots.txt", Route(body=b"User-agent: *\nAllow: /\n"))
        outlet.set_route(
            "/news/terminal", Route(body=_page("Terminal to open in spring", "terminal"))
        )
        outlet.set_route(
            "/news/dredging", Route(body=_page("Dredging ends at the harbour", "dredging"))
        )
        outlet.set_route("/news/ferry", Route(body=_page("A second ferry from June", "ferry")))
        items: list[tuple[str, str | None, str | None]] = [
            ("Terminal to open in spring", outlet.url("/news/terminal"), None),
            ("Dredging ends", "/news/dredging", None),  # relative: resolved against the feed
            ("Script", "javascript:alert(1)", None),
            ("File server", f"ftp://{HOST}/story", None),
            ("Credentials", f"http://user:secret@{HOST}:{port}/news/terminal", None),
            ("Port out of range", f"http://{HOST}:99999/story", None),
            ("Broken IPv6", "http://[::1/story", None),
            ("No link, a guid", None, "urn:harbour:1234"),
            ("No link at all", None, None),
            ("Gone", outlet.url("/news/missing"), None),
        ]
        outlet.set_route("/rss.xml", Route(body=_rss(items), content_type="application/rss+xml"))
        feed_url, missing = outlet.url("/rss.xml"), outlet.url("/news/missing")
        feeds = tmp_path / "feeds.txt"
        feeds.write_text(feed_url + "\n")
        out = tmp_path / "out"
        argv = ["run", "--feeds", str(feeds), "--output", str(out), "--once"]
        assert main([*argv, "--allow-private-addresses"]) == 0
        summary = capsys.readouterr().out
        assert (
            "  feed items not listed: unusable link (a reject row each) 5, "
            "no link (a reject row each) 2\n" in summary
        )
        # The feed gains an item, so the next run reads it again: the bad items are
        # listed again, and add no second row.
        items.append(("A second ferry from June", outlet.url("/news/ferry"), None))
        outlet.set_route("/rss.xml", Route(body=_rss(items), content_type="application/rss+xml"))
        assert main([*argv, "--allow-private-addresses"]) == 0

    db = connect(str(out))
    articles = db.execute("SELECT title FROM articles ORDER BY title").fetchall()
    assert articles == [
        ("A second ferry from June",),
        ("Dredging ends at the harbour",),
        ("Terminal to open in spring",),
    ]
    assert db.execute("SELECT count(*) FROM duplicates").fetchone() == (0,)
    rejects = db.execute(
        "SELECT stage, reason, url, feed_url FROM rejects ORDER BY stage, reason, url"
    ).fetchall()
    assert sorted((stage, reason, url) for stage, reason, url, _ in rejects) == sorted(
        [
            ("feed", "bad_url", "javascript:alert(1)"),
            ("feed", "bad_url", f"ftp://{HOST}/story"),
            ("feed", "bad_url", f"http://user:***@{HOST}:{port}/news/terminal"),
            ("feed", "bad_url", f"http://{HOST}:99999/story"),
            ("feed", "bad_url", "http://[::1/story"),
            ("feed", "no_link", "urn:harbour:1234"),
            ("feed", "no_link", feed_url),
            ("fetch", "http_404", missing),
        ]
    )
    assert {row[3] for row in rejects} == {feed_url}
    # good + rejected == input
    assert len(articles) + len(rejects) == len(items)


def test_a_feed_longer_than_the_entry_limit_is_one_reject_row_and_its_items_still_run(
    tmp_path: Path,
) -> None:
    # 2,001 items: the first a real story, then 1,999 listings of it (repeats in a feed are
    # no rejects), then one past the 2,000-entry limit, which is not read at all.
    with LoopbackOutlet(host=HOST) as outlet:
        outlet.set_route("/robots.txt", Route(body=b"User-agent: *\nAllow: /\n"))
        outlet.set_route("/news/ferry", Route(body=_page("A second ferry from June", "ferry")))
        story = outlet.url("/news/ferry")
        items: list[tuple[str, str | None, str | None]] = [("Ferry", story, None)] * 2000
        items.append(("Past the limit", outlet.url("/news/never-read"), None))
        outlet.set_route("/rss.xml", Route(body=_rss(items), content_type="application/rss+xml"))
        feed_url = outlet.url("/rss.xml")
        feeds = tmp_path / "feeds.txt"
        feeds.write_text(feed_url + "\n")
        out = tmp_path / "out"
        argv = ["run", "--feeds", str(feeds), "--output", str(out), "--once"]
        assert main([*argv, "--allow-private-addresses"]) == 0
        assert outlet.hits.get("/news/never-read", 0) == 0

    db = connect(str(out))
    assert db.execute("SELECT url FROM articles").fetchall() == [(story,)]
    rejects = db.execute("SELECT stage, reason, url, detail FROM rejects").fetchall()
    assert [(s, r, u) for s, r, u, _ in rejects] == [("feed", "too_many_entries", feed_url)]
    assert "2001 entries; only the first 2000 are read, 1 are not" in rejects[0][3]
