"""Publication and update dates from a page's markup, and where each came from."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

import pytest
from lxml import html

from wiredesk.schemas.records import Article, FeedEntry, FetchedPage
from wiredesk.schemas.rows import article_row, duplicate_row
from wiredesk.transforms.extract.page import ExtractedPage, extract_page
from wiredesk.transforms.extract.page_dates import page_dates, parse_page_datetime, url_has_date
from wiredesk.transforms.extract.stage import to_article

UTC = dt.UTC
BODY = "<article><h1>Port</h1>" + "<p>The harbour authority met again on Monday.</p>" * 30


def _tree(head: str = "", body: str = "") -> html.HtmlElement:
    return html.fromstring(f"<html><head>{head}</head><body>{body}</body></html>")


def _ld(obj: object) -> str:
    return f'<script type="application/ld+json">{json.dumps(obj)}</script>'


def test_jsonld_is_trusted_over_meta_that_a_live_blog_rewrites() -> None:
    head = (
        _ld(
            {
                "@type": "LiveBlogPosting",
                "datePublished": "2024-08-04T13:23:00Z",
                "dateModified": "2024-08-05T19:49:50Z",
            }
        )
        + '<meta property="article:published_time" content="2024-08-05T19:49:50Z">'
    )
    found = page_dates(_tree(head))
    assert found.published is not None and found.modified is not None
    assert (found.published.at, found.published.source) == (
        dt.datetime(2024, 8, 4, 13, 23, tzinfo=UTC),
        "page_jsonld",
    )
    assert (found.modified.at, found.modified.source) == (
        dt.datetime(2024, 8, 5, 19, 49, 50, tzinfo=UTC),
        "page_jsonld",
    )


def test_time_zones_are_kept() -> None:
    head = _ld({"@type": "NewsArticle", "datePublished": "2023-04-28T17:23:42.981+02:00"})
    found = page_dates(_tree(head))
    assert found.published is not None
    assert found.published.at == dt.datetime(2023, 4, 28, 15, 23, 42, 981000, tzinfo=UTC)


def test_java_style_dates_with_a_zone_name() -> None:
    assert parse_page_datetime("Fri Apr 28 19:20:36 CEST 2023") == (
        dt.datetime(2023, 4, 28, 19, 20, 36, tzinfo=dt.timezone(dt.timedelta(hours=2))),
        True,
    )
    assert parse_page_datetime("Fri Apr 28 19:20:36 IST 2023") is None  # IST is ambiguous
    assert parse_page_datetime("2024-01-01T10:00:00+99:00") is None
    assert parse_page_datetime("not a date") is None


def test_a_naive_time_takes_the_offset_the_page_uses_elsewhere() -> None:
    head = (
        '<meta property="article:published_time" content="2023-04-28T18:41:00">'
        '<meta property="article:modified_time" content="2023-04-29T11:14:10+02:00">'
    )
    found = page_dates(_tree(head))
    assert found.published is not None
    assert found.published.at == dt.datetime(2023, 4, 28, 16, 41, tzinfo=UTC)


def test_a_bare_day_is_refined_by_a_time_on_that_day() -> None:
    head = _ld({"@type": "NewsArticle", "datePublished": "2025-06-30"})
    body = '<time class="entry-date published" datetime="2025-06-30T07:48:14+02:00">30 Juni</time>'
    found = page_dates(_tree(head, body))
    assert found.published is not None
    assert found.published.at == dt.datetime(2025, 6, 30, 5, 48, 14, tzinfo=UTC)


def test_related_stories_dates_are_not_the_pages() -> None:
    head = _ld(
        {
            "@type": "ItemList",
            "itemListElement": [{"@type": "NewsArticle", "datePublished": "2020-01-01T00:00Z"}],
        }
    )
    body = '<article><header><time datetime="2024-02-02T08:00:00Z">2 Feb</time></header></article>'
    found = page_dates(_tree(head, body))
    assert found.published is not None
    assert (found.published.at.date(), found.published.source) == (
        dt.date(2024, 2, 2),
        "page_time",
    )


def test_an_update_before_the_publication_is_dropped() -> None:
    head = (
        '<meta property="article:published_time" content="2024-03-02T10:00:00Z">'
        '<meta property="article:modified_time" content="2020-01-01T00:00:00Z">'
    )
    assert page_dates(_tree(head)).modified is None


def test_url_dates() -> None:
    assert url_has_date("https://x.com/2024/03/01/story", dt.date(2024, 3, 1))
    assert url_has_date("https://x.com/story-20240301.html", dt.date(2024, 3, 1))
    assert not url_has_date("https://x.com/2024/03/02/story", dt.date(2024, 3, 1))
    assert not url_has_date(None, dt.date(2024, 3, 1))


def test_a_date_from_the_url_says_so() -> None:
    result = extract_page(
        html=f"<html><body>{BODY}</body></html>", url="https://x.com/2021/05/04/a"
    )
    assert isinstance(result, ExtractedPage)
    assert (result.published_at, result.published_at_source) == (
        dt.datetime(2021, 5, 4, tzinfo=UTC),
        "url",
    )


# ---- the order of trust, to the row ---------------------------------------------------------

FETCHED = dt.datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
FEED_DATE = dt.datetime(2000, 1, 1, 12, 0, tzinfo=UTC)


def _article(
    *, page_date: dt.datetime | None, feed_date: dt.datetime | None, wire: bool
) -> Article:
    entry = FeedEntry(
        url="https://x.com/a",
        feed_url="https://x.com/rss",
        url_key="x.com/a",
        published_at=feed_date,
        is_wire=wire,
    )
    page = FetchedPage(entry=entry, final_url=entry.url, html="", fetched_at=FETCHED)
    extracted = ExtractedPage(
        text="Text.",
        published_at=page_date,
        published_at_source="page_meta" if page_date else None,
    )
    # Articles are frozen: the story comes with a new record, as DetectSyndication does.
    return dataclasses.replace(to_article(page, extracted), story_id="s")


@pytest.mark.parametrize(
    ("page_date", "feed_date", "wire", "expected"),
    [
        (dt.datetime(2024, 4, 30, tzinfo=UTC), FEED_DATE, False, ("page_meta", 2024)),
        (None, FEED_DATE, False, ("feed", 2000)),
        (None, FEED_DATE, True, ("wire", 2000)),
        (None, None, False, ("fetch", 2024)),
    ],
)
def test_order_of_trust_page_feed_wire_fetch(
    page_date: dt.datetime | None, feed_date: dt.datetime | None, wire: bool, expected: tuple
) -> None:
    article = _article(page_date=page_date, feed_date=feed_date, wire=wire)
    for row in (article_row(article), duplicate_row(article)):
        assert (row["published_at_source"], row["published_at"].year) == expected
    if expected[0] == "fetch":
        assert article_row(article)["published_at"] == FETCHED


def test_a_site_headers_clock_is_not_the_story_date() -> None:
    body = (
        '<header class="masthead"><time datetime="2026-12-05T08:00:00Z">Today</time></header>'
        "<main><article><p>Story.</p></article></main>"
    )
    assert page_dates(_tree("", body)).published is None
