"""extract_page: text shape, metadata fields, paywall flags, dates, and bad input."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import logging
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wiredesk.transforms.extract.page import (
    ExtractConfig,
    ExtractedPage,
    ExtractError,
    extract_page,
)

FUNDUS = Path(__file__).parent / "fixtures" / "extraction" / "fundus"

logging.getLogger("trafilatura").setLevel(logging.CRITICAL)
logging.getLogger("htmldate").setLevel(logging.CRITICAL)

BODY = (
    "<article><h1>Storm closes ports</h1>"
    "<p>Heavy storms closed three ports on the northern coast on Tuesday, officials said, "
    "as winds of up to 150 kilometres an hour swept across the region.</p>"
    "<p>Ferries were cancelled and fishing boats were ordered to stay in harbour until "
    "the weather improves, the coast guard said in a statement.</p>"
    "<p>Forecasters expect the storm to weaken by Thursday, when the ports should reopen "
    "and the backlog of cargo ships waiting offshore can be cleared.</p>"
    "</article>"
)


def page(head: str = "", body: str = BODY, lang: str = "en") -> str:
    return f'<html lang="{lang}"><head>{head}</head><body>{body}</body></html>'


def ok(html: str, url: str | None = "https://news.example.com/a/1") -> ExtractedPage:
    result = extract_page(html=html, url=url)
    assert isinstance(result, ExtractedPage), result
    return result


def ld(obj: object) -> str:
    return f'<script type="application/ld+json">{json.dumps(obj)}</script>'


# ---- text ----------------------------------------------------------------------------------


def test_paragraphs_are_separated_by_blank_lines() -> None:
    p = ok(page())
    paras = p.text.split("\n\n")
    assert len(paras) >= 3
    assert all(para.strip() == para and para for para in paras)
    assert "\n\n\n" not in p.text
    assert paras[-1].startswith("Forecasters expect the storm")


def test_comments_are_not_part_of_the_text() -> None:
    comments = (
        '<div id="comments" class="comments"><p>Great article, thanks for sharing it with '
        "everyone here, I learned a lot about the storms and the ports.</p></div>"
    )
    p = ok(page(body=BODY + comments))
    assert "Great article" not in p.text


def test_text_is_nfc_normalised() -> None:
    decomposed = BODY.replace("Heavy", "Cafe\u0301 owners said heavy")
    p = ok(page(body=decomposed))
    assert "Café owners" in p.text


# ---- metadata ------------------------------------------------------------------------------


def test_metadata_fields() -> None:
    head = (
        "<title>Storm closes ports | Example News</title>"
        '<meta property="og:site_name" content="Example News">'
        '<meta name="description" content="Three ports shut as storms hit the coast.">'
        '<meta name="author" content="Jane Doe">'
        '<meta property="article:published_time" content="2024-03-05T14:30:00+09:00">'
        '<link rel="canonical" href="/story/storm-closes-ports">'
    )
    p = ok(page(head=head, lang="en-GB"))
    assert p.title == "Storm closes ports"
    assert p.site_name == "Example News"
    assert p.description == "Three ports shut as storms hit the coast."
    assert p.authors == ("Jane Doe",)
    assert p.published_at == dt.datetime(2024, 3, 5, 5, 30, tzinfo=dt.UTC)
    assert p.published_at is not None and p.published_at.utcoffset() == dt.timedelta(0)
    assert p.language == "en"
    assert p.canonical_url == "https://news.example.com/story/storm-closes-ports"
    assert p.paywalled is None


def test_several_authors_become_a_list() -> None:
    head = ld(
        {
            "@context": "https://schema.org",
            "@type": "NewsArticle",
            "author": [
                {"@type": "Person", "name": "Ann Lee"},
                {"@type": "Person", "name": "Bo Kim"},
            ],
        }
    )
    p = ok(page(head=head))
    assert p.authors == ("Ann Lee", "Bo Kim")


def test_canonical_must_be_absolute_http() -> None:
    head = '<link rel="canonical" href="ftp://files.example.com/a">'
    assert ok(page(head=head), url=None).canonical_url is None
    head = '<link rel="canonical" href="https://www.example.com/a?id=1">'
    assert ok(page(head=head), url=None).canonical_url == "https://www.example.com/a?id=1"


def test_title_keeps_a_segment_that_only_contains_a_short_site_name() -> None:
    # the host label "ft" is inside "Soft drinks", but short names must match whole
    head = '<meta property="og:title" content="Tax rises in Europe - Soft drinks">'
    p = ok(page(head=head), url="https://www.ft.com/content/1")
    assert p.title == "Tax rises in Europe - Soft drinks"


def test_title_drops_site_and_date_segments() -> None:
    head = (
        "<title>Storm closes ports – DW – 13.06.2023</title>"
        '<meta property="og:site_name" content="DW">'
    )
    body = BODY.replace("<h1>Storm closes ports</h1>", "")
    p = ok(page(head=head, body=body), url="https://www.dw.com/en/storm/a-1")
    assert p.title == "Storm closes ports"


@pytest.mark.parametrize(
    ("stamp", "expected"),
    [
        ("2999-01-01T10:00:00Z", None),  # in the future
        ("1850-06-01T10:00:00Z", None),  # before any web page
    ],
)
def test_nonsense_dates_are_dropped(stamp: str, expected: dt.datetime | None) -> None:
    head = f'<meta property="article:published_time" content="{stamp}">'
    p = ok(page(head=head), url="https://news.example.com/story")
    assert p.published_at == expected


def test_precise_time_from_json_ld_when_the_date_alone_was_found() -> None:
    # htmldate finds the day in the URL; JSON-LD has the time on that day
    head = ld({"@type": "NewsArticle", "datePublished": "2021-07-09T18:45:00-04:00"})
    p = ok(page(head=head), url="https://news.example.com/2021/07/09/storm")
    assert p.published_at == dt.datetime(2021, 7, 9, 22, 45, tzinfo=dt.UTC)


# ---- paywall flag --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (ld({"@type": "NewsArticle", "isAccessibleForFree": False}), True),
        (ld({"@type": "NewsArticle", "isAccessibleForFree": "False"}), True),
        (ld({"@type": "NewsArticle", "isAccessibleForFree": "true"}), False),
        (ld({"@type": "NewsArticle", "headline": "x"}), None),
        ("", None),
        # a list at the top, the flag on a nested hasPart
        (
            ld(
                [
                    {"@type": "WebSite", "name": "x"},
                    {
                        "@type": "NewsArticle",
                        "hasPart": {"@type": "WebPageElement", "isAccessibleForFree": "False"},
                    },
                ]
            ),
            True,
        ),
        # @graph
        (
            ld({"@context": "https://schema.org", "@graph": [{"isAccessibleForFree": True}]}),
            False,
        ),
        # broken JSON, then a good block: the broken one is skipped
        (
            '<script type="application/ld+json">{"isAccessibleForFree": false,</script>'
            + ld({"isAccessibleForFree": "True"}),
            False,
        ),
        # wrapped in an HTML comment, as some CMSs do
        (
            '<script type="application/ld+json"><!-- {"isAccessibleForFree": "False"} --></script>',
            True,
        ),
        # deep nesting does not blow the stack
        (
            '<script type="application/ld+json">' + "[" * 5000 + "]" * 5000 + "</script>",
            None,
        ),
    ],
)
def test_paywall_flag(head: str, expected: bool | None) -> None:
    assert ok(page(head=head)).paywalled is expected


# ---- bad input -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("html", "reason"),
    [
        ("", "parse_error"),
        ("   \n ", "parse_error"),
        (None, "parse_error"),
        (b"<html><body><p>bytes</p></body></html>", "parse_error"),
        ("<html><body><nav>Home</nav></body></html>", "empty_text"),
        ("<html><body><p>Short note.</p></body></html>", "empty_text"),
        ("<html><head><title>Only a title</title></head><body></body></html>", "empty_text"),
    ],
)
def test_bad_input_becomes_an_error(html: object, reason: str) -> None:
    result = extract_page(html=html, url=None)
    assert isinstance(result, ExtractError)
    assert result.reason == reason
    assert result.detail


def test_oversized_page_is_refused_before_parsing() -> None:
    result = extract_page(html=page(), url=None, config=ExtractConfig(max_html_chars=100))
    assert isinstance(result, ExtractError)
    assert result.reason == "extract_error"
    assert "limit 100" in result.detail


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.one_of(
            st.sampled_from(
                ["<p>", "</p>", "<div>", "</div>", "<script>", "<!--", "-->", "<html>", "&amp;"]
            ),
            st.text(max_size=40),
        ),
        max_size=30,
    ),
    st.one_of(st.none(), st.text(max_size=30)),
)
def test_never_raises(parts: list[str], url: str | None) -> None:
    result = extract_page(html="".join(parts), url=url)
    assert isinstance(result, ExtractedPage | ExtractError)
    if isinstance(result, ExtractedPage):
        assert result.text.strip()


# ---- real pages ----------------------------------------------------------------------------


def _fundus_rows() -> list[dict]:
    return json.loads((FUNDUS / "expected.json").read_text(encoding="utf-8"))


def test_real_pages_publication_time_matches_fundus() -> None:
    matched = 0
    rows = _fundus_rows()
    for row in rows:
        with gzip.open(FUNDUS / row["html"], "rt", encoding="utf-8") as f:
            result = extract_page(html=f.read(), url=row["url"])
        assert isinstance(result, ExtractedPage), row["html"]
        assert result.text and "\n\n" in result.text
        assert result.canonical_url is None or result.canonical_url.startswith("http")
        if result.published_at is not None:
            assert result.published_at.tzinfo is dt.UTC
        want = dt.datetime.fromisoformat(row["publishing_date"])
        if want.tzinfo is None:
            want = want.replace(tzinfo=dt.UTC)
        got = result.published_at
        matched += got is not None and abs((got - want).total_seconds()) < 1
    # measured: 26 of 29 (day/month swapped on one page, day-only dates on two)
    assert matched >= 25


# ---- when trafilatura's readability/jusText comparison runs ------------------------------


def _count_full_passes(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Record the ``fast`` flag of every trafilatura pass extract_page makes."""
    import trafilatura.core

    passes: list[bool] = []
    real = trafilatura.core.bare_extraction

    def spy(*args: object, **kwargs: object) -> object:
        passes.append(bool(kwargs.get("fast")))
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(trafilatura.core, "bare_extraction", spy)
    return passes


LONG_BODY = (
    "<article><h1>Storm closes ports</h1>"
    + "".join(
        f"<p>Paragraph {i}: heavy storms closed three ports on the northern coast on Tuesday, "
        "officials said, as winds of up to 150 kilometres an hour swept across the region.</p>"
        for i in range(8)
    )
    + "</article>"
)


def test_a_sure_fast_pass_skips_the_comparison(monkeypatch: pytest.MonkeyPatch) -> None:
    passes = _count_full_passes(monkeypatch)
    result = ok(page(body=LONG_BODY))
    assert passes == [True]
    assert result.text.count("\n\n") == 8  # the headline and 8 paragraphs


def test_a_short_fast_pass_is_compared(monkeypatch: pytest.MonkeyPatch) -> None:
    passes = _count_full_passes(monkeypatch)
    ok(page())  # three paragraphs, under 1,000 characters
    assert passes == [True, False]


def test_comparison_can_be_forced_or_turned_off(monkeypatch: pytest.MonkeyPatch) -> None:
    passes = _count_full_passes(monkeypatch)
    extract_page(html=page(body=LONG_BODY), config=ExtractConfig(compare_when_unsure=False))
    assert passes == [False]
    passes.clear()
    extract_page(html=page(), config=ExtractConfig(fast=True))
    assert passes == [True]


def test_the_compared_text_replaces_the_fast_text_but_keeps_its_metadata() -> None:
    gated = ok(page(head="<title>Storm closes ports</title>"))
    always = extract_page(
        html=page(head="<title>Storm closes ports</title>"),
        url="https://news.example.com/a/1",
        config=ExtractConfig(compare_when_unsure=False),
    )
    assert isinstance(always, ExtractedPage)
    assert gated == always


def test_a_failing_metadata_reader_costs_the_metadata_not_the_text(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import htmldate

    def broken(*args: object, **kwargs: object) -> None:
        raise ValueError("offset +99:99")

    monkeypatch.setattr(htmldate, "find_date", broken)
    result = ok(page(head="<title>Storm closes ports</title>", body=LONG_BODY))
    assert result.text.startswith("Storm closes ports")
    assert result.title is None and result.published_at is None


def test_metadata_is_read_without_categories_or_tags() -> None:
    head = (
        '<meta property="og:title" content="Storm closes ports">'
        '<meta name="author" content="Jane Doe">'
        '<meta property="article:published_time" content="2024-03-05T08:30:00+00:00">'
        '<meta property="og:site_name" content="Coast Times">'
        '<meta name="description" content="Three ports shut.">'
        '<meta property="article:tag" content="weather">'
    )
    result = ok(page(head=head, body=LONG_BODY))
    assert (result.title, result.authors, result.site_name, result.description) == (
        "Storm closes ports",
        ("Jane Doe",),
        "Coast Times",
        "Three ports shut.",
    )
    assert result.published_at == dt.datetime(2024, 3, 5, 8, 30, tzinfo=dt.UTC)
    assert not hasattr(result, "tags")


def test_the_extensive_date_search_runs_only_when_markup_has_no_date(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import htmldate

    real = htmldate.find_date
    searches: list[bool] = []

    def spy(*args: object, **kwargs: object) -> object:
        searches.append(bool(kwargs.get("extensive_search")))
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(htmldate, "find_date", spy)
    dated = '<meta property="article:published_time" content="2024-03-05T08:30:00+00:00">'
    result = ok(page(head=dated, body=LONG_BODY))
    assert searches == []  # the markup states the date: htmldate is not asked at all
    assert result.published_at_source == "page_meta"
    undated = LONG_BODY.replace("</article>", "<p>Posted on March 5, 2024.</p></article>")
    result = ok(page(body=undated), url="https://news.example.com/a/1")
    assert searches == [False, True]
    assert result.published_at == dt.datetime(2024, 3, 5, tzinfo=dt.UTC)
    assert result.published_at_source == "text"
