"""Tests for wiredesk.transforms.common.urlnorm."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wiredesk.transforms.common.urlnorm import normalize_url, resolve_link, url_key


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("HTTP://Example.COM", "http://example.com/"),
        ("https://example.com:443/a", "https://example.com/a"),
        ("http://example.com:80/a", "http://example.com/a"),
        ("http://example.com:8080/a", "http://example.com:8080/a"),
        ("https://example.com/a#section-2", "https://example.com/a"),
        ("  https://example.com/a\n ", "https://example.com/a"),
        ("https://exam\tple.com/a\r\nb", "https://example.com/ab"),
        ("https://example.com/a b", "https://example.com/a%20b"),
        ("https://example.com/%7euser/%2fx%3a", "https://example.com/~user/%2Fx%3A"),
        ("https://example.com/100%", "https://example.com/100%25"),
        ("https://example.com/a/./b/../c", "https://example.com/a/c"),
        ("https://example.com/a//b", "https://example.com/a//b"),
        ("https://Bücher.example/über", "https://xn--bcher-kva.example/%C3%BCber"),
        ("https://example.com./a", "https://example.com/a"),
        ("http://2130706433/", "http://127.0.0.1/"),
        ("http://0x7f.0.0.1/", "http://127.0.0.1/"),
        ("http://0177.0.0.1/", "http://127.0.0.1/"),
        ("http://127.1/", "http://127.0.0.1/"),
        # Only ASCII digits make a number (WHATWG); Python's int() takes "-" and "_" too.
        ("http://-1/", "http://-1/"),
        ("http://1_0/", "http://1_0/"),
        ("http://0177.0.0.1/", "http://127.0.0.1/"),
        ("http://0x.0.0.1/", "http://0.0.0.1/"),
        # Only ASCII digits make a number (WHATWG); Python's int() takes "_" too.
        ("http://1_0/", "http://1_0/"),
        ("http://1.0_1/", "http://1.0_1/"),
        ("http://[::FFFF:127.0.0.1]:8080/", "http://[::ffff:7f00:1]:8080/"),
        ("https://example.com?b=2&a=1", "https://example.com/?b=2&a=1"),
    ],
)
def test_normalize_url(raw: str, expected: str) -> None:
    assert normalize_url(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "javascript:alert(1)",
        "mailto:desk@example.com",
        "ftp://example.com/file",
        "file:///etc/passwd",
        "/relative/path",
        "//example.com/x",
        "https://user:secret@example.com/",
        "https://example.com@evil.example/",
        "http://example.com:0/",
        "http://example.com:65536/",
        "http://example.com:80a/",
        "http://256.0.0.1/",
        "http://[::1/",
        "http://exa mple.com/",
        "http:///",
        "https://" + "a" * 64 + ".com/",
    ],
)
def test_normalize_url_refuses(raw: str) -> None:
    assert normalize_url(raw) is None


def test_tracking_parameters_removed_others_kept_in_order() -> None:
    url = (
        "https://www.bbc.co.uk/news/world-1?zeta=1&utm_source=rss&at_medium=RSS"
        "&at_campaign=KARANGA&alpha=2&fbclid=abc&CMP=twt_gu&gclid=x&ref=hp&mc_cid=1"
    )
    assert normalize_url(url) == "https://www.bbc.co.uk/news/world-1?zeta=1&alpha=2"
    # Kept as is when asked (what we fetch).
    assert normalize_url(url, strip_tracking=False) == url


def test_ref_is_content_on_code_hosts() -> None:
    assert normalize_url("https://github.com/o/r/blob/x?ref=main") == (
        "https://github.com/o/r/blob/x?ref=main"
    )
    assert normalize_url("https://news.example/a?ref=main") == "https://news.example/a"


def test_parameters_that_merely_contain_tracker_words_are_kept() -> None:
    # courlan would drop these (its pattern matches "source", "session", "id").
    url = "https://example.com/a?article_source=wire&session=7&id=3"
    assert normalize_url(url) == url


def test_url_key_ignores_scheme_and_www() -> None:
    keys = {
        url_key("http://www.example.com/story?id=1&utm_medium=feed"),
        url_key("https://example.com/story?id=1#comments"),
        url_key("HTTPS://WWW.EXAMPLE.COM:443/story?id=1"),
    }
    assert keys == {"example.com/story?id=1"}
    assert url_key("https://example.com/story?id=2") != url_key("https://example.com/story?id=1")
    # "www" as the whole host or a label of its own is not stripped.
    assert url_key("https://www.com/a") == "www.com/a"


def test_url_key_is_total() -> None:
    assert url_key("not a url") == "raw:not a url"


@pytest.mark.parametrize(
    ("base", "href", "expected"),
    [
        ("https://example.com/news/feed.xml", "story.html", "https://example.com/news/story.html"),
        (
            "https://example.com/news/feed.xml",
            "/a?utm_source=x",
            "https://example.com/a?utm_source=x",
        ),
        ("https://example.com/news/feed.xml", "../b#frag", "https://example.com/b"),
        ("https://example.com/feed", "//cdn.example.org/x", "https://cdn.example.org/x"),
        ("https://example.com/feed", " https://other.example/y ", "https://other.example/y"),
        ("https://example.com/feed", "javascript:void(0)", None),
        ("https://example.com/feed", "", None),
        ("", "/relative", None),
        ("not a base", "https://ok.example/", "https://ok.example/"),
    ],
)
def test_resolve_link(base: str, href: str, expected: str | None) -> None:
    assert resolve_link(base, href) == expected


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_never_raises_and_is_idempotent(text: str) -> None:
    for candidate in (text, "https://example.com/" + text, "http://" + text):
        normalized = normalize_url(candidate)
        assert normalized is None or normalized.startswith(("http://", "https://"))
        if normalized is not None:
            assert normalize_url(normalized) == normalized
            assert normalized.isascii()
        assert isinstance(url_key(candidate), str)
        result = resolve_link("https://example.com/feed/", text)
        assert result is None or result.startswith(("http://", "https://"))


def test_docstring_examples() -> None:
    import doctest

    import wiredesk.transforms.common.urlnorm as module

    assert doctest.testmod(module).failed == 0


def test_host_encodings_are_kept_for_short_spellings_only() -> None:
    from wiredesk.transforms.common import urlnorm

    cached = urlnorm._encode_host.cached
    for raw in ("Bücher.DE", "0x7f.0.0.1", "exa mple.com", "[::1]"):
        assert urlnorm._encode_host(raw) == urlnorm._encode_host.uncached(raw)
    before = cached.cache_info().currsize
    assert urlnorm._encode_host("x" * 500) is None
    assert cached.cache_info().currsize == before
    assert cached.cache_info().maxsize == 4096
