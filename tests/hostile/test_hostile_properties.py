"""Property tests of the pure parsers that meet hostile text, where none existed yet.

Already covered elsewhere (not repeated): parse_feed on arbitrary bytes never raising
(test_feed_parse), decode_html alone (test_decode), extract_page on tag soup
(test_extract_page), parse_datetime's bounds (test_dates), normalize_url's idempotence
(test_urlnorm). Here: the entries of generated feeds are well-formed, bytes through
decode_html *and* extract_page, datelines, hostile RFC 822 years and offsets, and the
tracking-parameter invariance of url_key.
"""

from __future__ import annotations

import datetime as dt
import urllib.parse

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wiredesk.schemas.records import FeedSource
from wiredesk.transforms.common.dates import parse_datetime
from wiredesk.transforms.common.urlnorm import TRACKING_PARAMS, url_key
from wiredesk.transforms.enrich.dateline import DEFAULT_CONFIG, parse_dateline
from wiredesk.transforms.extract.page import ExtractedPage, ExtractError, extract_page
from wiredesk.transforms.fetch.decode import Decoded, DecodeError, decode_html
from wiredesk.transforms.sources.feed_parse import parse_feed

NOW = dt.datetime(2026, 8, 1, tzinfo=dt.UTC)
FEED = FeedSource(url="https://feeds.example.org/hostile.xml")

_text = st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=60)
_links = st.one_of(
    st.sampled_from(
        ["https://x.example/a", "/relative/b", "//cdn.example.org/c?utm_source=rss",
         "javascript:alert(1)", "file:///etc/passwd", "http://[::1]/", "http://2130706433/",
         "mailto:a@b.c", "", "https://x.example/a#frag", "http://ex ample.com/"]
    ),
    _text,
)  # fmt: skip
_dates = st.one_of(
    st.sampled_from(
        ["Sat, 01 Jan 0000 00:00:00 GMT", "2024-01-01T00:00:00+99:99", "1000000000-01-01",
         "Mon, 15 Jan 2024 10:00:00 +0100", "2024-02-30T10:00:00Z", "yesterday"]
    ),
    _text,
)  # fmt: skip


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.booleans(),
    st.lists(st.tuples(_text, _links, _dates, _text), max_size=6),
    st.sampled_from(["utf-8", "utf-16", "iso-8859-1"]),
)
def test_generated_feeds_give_well_formed_entries(
    atom: bool, items: list[tuple[str, str, str, str]], encoding: str
) -> None:
    if atom:
        body = "".join(
            f"<entry><title>{_esc(t)}</title><link href='{_esc(link)}'/><id>{_esc(g)}</id>"
            f"<updated>{_esc(d)}</updated></entry>"
            for t, link, d, g in items
        )
        doc = f"<feed xmlns='http://www.w3.org/2005/Atom'><title>F</title>{body}</feed>"
    else:
        body = "".join(
            f"<item><title>{_esc(t)}</title><link>{_esc(link)}</link><guid>{_esc(g)}</guid>"
            f"<pubDate>{_esc(d)}</pubDate></item>"
            for t, link, d, g in items
        )
        doc = f"<rss version='2.0'><channel><title>F</title>{body}</channel></rss>"
    data = f"<?xml version='1.0' encoding='{encoding}'?>{doc}".encode(encoding, "replace")
    result = parse_feed(body=data, feed=FEED, fetched_at=NOW)
    assert bool(result.entries) != (result.reject is not None)
    keys = [e.url_key for e in result.entries]
    assert len(keys) == len(set(keys))  # one entry per normalized URL
    for entry in result.entries:
        assert entry.url.startswith(("http://", "https://")) and entry.url.isascii()
        assert entry.url_key and entry.feed_url == FEED.url
        assert entry.published_at is None or (
            entry.published_at.tzinfo is dt.UTC
            and dt.datetime(1990, 1, 1, tzinfo=dt.UTC) <= entry.published_at
            and entry.published_at <= NOW + dt.timedelta(days=2)
        )
        for text in (entry.title, entry.source):
            assert text is None or (
                text == text.strip() and "\n" not in text and "\x00" not in text
            )


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(
        st.binary(max_size=3000),
        st.text(max_size=1500).map(lambda s: f"<html><body><p>{s}</p></body></html>"
                                   .encode("utf-8", "surrogatepass")),
        st.text(max_size=800).map(lambda s: ("<p>" + s + "</p>").encode("utf-16-le", "surrogatepass")),
    ),
    st.sampled_from([None, "text/html", "text/html; charset=utf-8", "text/html; charset=x-bogus",
                     "text/html; charset=utf-16", "application/octet-stream"]),
)  # fmt: skip
def test_page_bytes_through_decode_and_extract_never_raise(
    body: bytes, content_type: str | None
) -> None:
    decoded = decode_html(body=body, content_type=content_type)
    assert isinstance(decoded, Decoded | DecodeError)
    if isinstance(decoded, DecodeError):
        assert decoded.reason and decoded.detail is not None
        return
    assert isinstance(decoded.text, str)
    page = extract_page(html=decoded.text, url="https://x.example/story")
    assert isinstance(page, ExtractedPage | ExtractError)
    if isinstance(page, ExtractedPage):
        assert page.text.strip()
        assert page.published_at is None or page.published_at.tzinfo is dt.UTC
    else:
        assert page.reason in {"parse_error", "empty_text", "extract_error"}


_DEEP = "\nSEOUL, Oct 23 (Reuters) - North Korea fired a missile, officials said."


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=400))
def test_parse_dateline_never_raises(text: str) -> None:
    found = parse_dateline(text)
    assert found is None or found.line < DEFAULT_CONFIG.max_lines
    parse_dateline(text + _DEEP)  # total on any suffix too


@settings(max_examples=150, deadline=None)
@given(
    st.one_of(
        # six non-empty lines of anything come first ...
        st.lists(st.text(min_size=1, max_size=80).filter(str.strip), min_size=6, max_size=8)
        .map(lambda lines: "\n".join(line.replace("\n", " ").replace("\r", " ") for line in lines)),
        # ... or one line longer than the characters a dateline may follow
        st.text(min_size=1, max_size=40).filter(str.strip)
        .map(lambda s: (s.replace("\n", " ").replace("\r", " ") + " ") * (1 + 1600 // len(s))),
    )
)  # fmt: skip
def test_a_dateline_deep_inside_the_text_is_never_taken(prefix: str) -> None:
    assert parse_dateline(prefix + _DEEP) == parse_dateline(prefix)


@settings(max_examples=200, deadline=None)
@given(
    st.integers(0, 999),
    st.integers(3, 6),
    st.sampled_from(["GMT", "+0000", "-0500", "+9999", "-2400"]),
)
def test_rfc822_years_below_1000_are_null_not_two_digit_years(
    year: int, width: int, zone: str
) -> None:
    assert parse_datetime(f"Sat, 01 Jan {year:0{width}d} 10:00:00 {zone}", now=NOW) is None


@settings(max_examples=100, deadline=None)
@given(st.integers(15, 99), st.integers(0, 99), st.sampled_from("+-"))
def test_offsets_beyond_14_hours_are_null(hours: int, minutes: int, sign: str) -> None:
    for text in (
        f"Mon, 15 Jan 2024 10:00:00 {sign}{hours:02d}{minutes:02d}",
        f"2024-01-15T10:00:00{sign}{hours:02d}:{minutes:02d}",
    ):
        assert parse_datetime(text, now=NOW) is None, text


_label = st.from_regex(r"\A[a-z][a-z0-9-]{0,10}[a-z0-9]\Z")
_param = st.tuples(
    st.from_regex(r"\A[a-z][a-z0-9]{0,8}\Z").filter(
        lambda n: n not in TRACKING_PARAMS and not n.startswith(("utm", "at", "mtm", "hsa", "ref"))
    ),
    st.from_regex(r"\A[A-Za-z0-9._~-]{0,12}\Z"),
)
_tracking = st.tuples(
    st.one_of(
        st.sampled_from(sorted(TRACKING_PARAMS)),
        st.sampled_from(["utm_", "at_", "mtm_", "hsa_"]).flatmap(
            lambda p: st.from_regex(r"\A[a-z]{1,8}\Z").map(lambda s: p + s)
        ),
    ),
    st.from_regex(r"\A[A-Za-z0-9._-]{0,12}\Z"),
)


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(["http", "https"]),
    st.lists(_label, min_size=1, max_size=3),
    st.lists(st.from_regex(r"\A[A-Za-z0-9._~-]{1,10}\Z"), max_size=4),
    st.lists(_param, max_size=3),
    st.lists(_tracking, min_size=1, max_size=4),
    st.randoms(use_true_random=False),
)
def test_tracking_parameters_never_change_the_key(
    scheme: str,
    labels: list[str],
    segments: list[str],
    params: list[tuple[str, str]],
    tracking: list[tuple[str, str]],
    rnd: object,
) -> None:
    host = ".".join([*labels, "example"])
    path = "/" + "/".join(segments)
    plain = f"{scheme}://{host}{path}" + ("?" + urllib.parse.urlencode(params) if params else "")
    mixed = list(params)
    for item in tracking:
        mixed.insert(rnd.randint(0, len(mixed)), item)  # type: ignore[attr-defined]
    tracked = f"{scheme}://{host}{path}?" + urllib.parse.urlencode(mixed)
    assert url_key(tracked) == url_key(plain)
