"""Tests for wiredesk.transforms.sources.feeds_file."""

from __future__ import annotations

import pathlib
import socket

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wiredesk.schemas.records import FeedSource
from wiredesk.transforms.sources.feeds_file import (
    FeedsFileConfig,
    FeedsFileError,
    parse_feeds_file,
    read_feeds_file,
)

OPML = b"""<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0">
  <head><title>wire desk</title></head>
  <body>
    <outline text="Asia" region="eastern-asia">
      <outline type="rss" text="NHK World" xmlUrl="https://www3.nhk.or.jp/rss/news/cat0.xml" country="jp"/>
      <outline text="Yonhap" title="Yonhap News" xmlurl="https://en.yna.co.kr/RSS/news.xml" country="KR"/>
      <outline text="Inner folder" country="CN">
        <outline text="Xinhua" url="http://www.xinhuanet.com/english/rss/worldrss.xml" type="atom"/>
      </outline>
    </outline>
    <outline text="Europe">
      <outline text="Bad region" xmlUrl="https://example.eu/rss" region="Atlantis" country="FRA"/>
      <outline text="Spaced region" xmlUrl="https://example.de/rss" region="Western Europe"/>
      <outline text="Wire" xmlUrl="https://api.example.com/ninjs" type="ninjs"/>
      <outline text="Odd type" xmlUrl="https://example.nl/feed" type="podcast"/>
      <outline text="Homepage" type="link" url="https://example.com/"/>
      <outline text="Dup" xmlUrl="HTTPS://www3.NHK.or.jp/rss/news/cat0.xml#x"/>
      <outline text="Not http" xmlUrl="ftp://example.org/feed"/>
    </outline>
  </body>
</opml>
"""


def test_opml_nested_outlines_and_attributes() -> None:
    result = parse_feeds_file(data=OPML, name="feeds.opml")
    assert result.sources == (
        FeedSource("https://www3.nhk.or.jp/rss/news/cat0.xml", "NHK World", "eastern-asia", "JP", "rss"),
        FeedSource("https://en.yna.co.kr/RSS/news.xml", "Yonhap News", "eastern-asia", "KR", "auto"),
        FeedSource("http://www.xinhuanet.com/english/rss/worldrss.xml", "Xinhua", "eastern-asia", "CN", "rss"),
        FeedSource("https://example.eu/rss", "Bad region", None, None, "auto"),
        FeedSource("https://example.de/rss", "Spaced region", "western-europe", None, "auto"),
        FeedSource("https://api.example.com/ninjs", "Wire", None, None, "ninjs"),
        FeedSource("https://example.nl/feed", "Odd type", None, None, "auto"),
    )  # fmt: skip
    text = "\n".join(result.warnings)
    assert "region 'Atlantis'" in text
    assert "country 'FRA'" in text
    assert "type 'podcast'" in text
    assert 'type="link"' in text
    assert "listed again" in text
    assert "ftp://example.org/feed" in text
    assert all("\n" not in w and w.startswith("feeds file feeds.opml: ") for w in result.warnings)


def test_read_feeds_file_logs_warnings(caplog: pytest.LogCaptureFixture) -> None:
    sources = read_feeds_file(data=OPML, name="feeds.opml")
    assert len(sources) == 7
    assert any("Atlantis" in r.getMessage() for r in caplog.records)


def test_text_list_with_extras_and_comments() -> None:
    data = (
        "\ufeff# my feeds\n"
        "\n"
        'https://www3.nhk.or.jp/rss/news/cat0.xml  region=eastern-asia country=jp title="NHK News"\n'
        "   https://example.com/rss   # inline comment\n"
        "feed://example.org/atom.xml type=atom\n"
        "feed:https://example.net/x kind=newsml\n"
        "https://example.com/rss\n"
        "https://example.fr/rss country=France colour=blue region=nowhere\n"
        "https://example.es/rss title='unbalanced\n"
        "not-a-url\n"
    ).encode()
    result = parse_feeds_file(data=data, name="feeds.txt")
    assert result.sources == (
        FeedSource("https://www3.nhk.or.jp/rss/news/cat0.xml", "NHK News", "eastern-asia", "JP", "auto"),
        FeedSource("https://example.com/rss"),
        FeedSource("http://example.org/atom.xml", kind="rss"),
        FeedSource("https://example.net/x", kind="newsml"),
        FeedSource("https://example.fr/rss"),
    )  # fmt: skip
    warnings = "\n".join(result.warnings)
    for expected in ("line 7: https://example.com/rss is listed again", "line 8: 'colour=blue'",
                     "line 8: country 'France'", "line 8: region 'nowhere'", "line 9: cannot split",
                     "line 10: 'not-a-url'"):  # fmt: skip
        assert expected in warnings


def test_feed_url_keeps_its_query_parameters() -> None:
    data = b"https://example.com/rss?utm_source=x&section=world\n"
    (source,) = read_feeds_file(data=data)
    assert source.url == "https://example.com/rss?utm_source=x&section=world"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "lists no usable feed URL"),
        (b"# only a comment\n\n", "lists no usable feed URL"),
        (b"<opml><body><outline text='folder'/></body></opml>", "lists no usable feed URL"),
        (b"<rss version='2.0'><channel/></rss>", "is XML but not OPML (root element <rss>)"),
        (b"<opml version='2.0'><head/></opml>", "is OPML without a <body>"),
        (b"<opml><body><outline xmlUrl='https://a.example/'></body>", "is not well-formed XML"),
        (b"https://a.example/rss\n\xff\xfe broken", "is not UTF-8 text"),
    ],
)
def test_unusable_files_raise_one_line(data: bytes, message: str) -> None:
    with pytest.raises(FeedsFileError) as info:
        read_feeds_file(data=data, name="f")
    assert message in str(info.value)
    assert "\n" not in str(info.value)
    assert isinstance(info.value, ValueError)


def test_limits() -> None:
    data = b"".join(b"https://example.com/%d\n" % i for i in range(5))
    with pytest.raises(FeedsFileError, match="more than 3 feeds"):
        read_feeds_file(data=data, config=FeedsFileConfig(max_feeds=3))
    with pytest.raises(FeedsFileError, match="larger than 10 bytes"):
        read_feeds_file(data=data, config=FeedsFileConfig(max_bytes=10))


def test_opml_in_utf16_and_latin1() -> None:
    doc = '<?xml version="1.0" encoding="{}"?><opml><body><outline text="Le Monde é" xmlUrl="https://lemonde.fr/rss"/></body></opml>'
    for encoding in ("utf-16", "iso-8859-1"):
        (source,) = read_feeds_file(data=doc.format(encoding).encode(encoding))
        assert source.title == "Le Monde é"


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE opml [
 <!ENTITY a "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa">
 <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
 <!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">
 <!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">
 <!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;">
]>
<opml><body><outline text="&e;" xmlUrl="https://example.com/&e;"/></body></opml>
"""


def test_entity_declarations_are_refused() -> None:
    with pytest.raises(FeedsFileError, match="declares entities"):
        read_feeds_file(data=BILLION_LAUGHS)


def test_external_entities_never_fetched(tmp_path: pathlib.Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOPSECRET")
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        port = listener.getsockname()[1]
        docs = [
            f'<!DOCTYPE opml SYSTEM "http://127.0.0.1:{port}/x.dtd"><opml><body>'
            '<outline xmlUrl="https://a.example/"/></body></opml>',
            f'<!DOCTYPE opml [<!ENTITY x SYSTEM "file://{secret}">]><opml><body>'
            '<outline text="&x;" xmlUrl="https://a.example/"/></body></opml>',
            f'<!DOCTYPE opml [<!ENTITY % p SYSTEM "http://127.0.0.1:{port}/p">%p;]><opml/>',
        ]
        for doc in docs:
            try:
                sources = read_feeds_file(data=doc.encode())
            except FeedsFileError:
                continue
            assert all("TOPSECRET" not in (s.title or "") for s in sources)
        listener.settimeout(0.2)
        with pytest.raises(TimeoutError):
            listener.accept()


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.binary(max_size=300), st.text(max_size=300).map(str.encode)))
def test_any_bytes_give_sources_or_feeds_file_error(data: bytes) -> None:
    for candidate in (data, b"<opml><body>" + data + b"</body></opml>"):
        try:
            sources = read_feeds_file(data=candidate)
        except FeedsFileError as err:
            assert "\n" not in str(err)
        else:
            assert sources
            assert all(s.url.startswith(("http://", "https://")) for s in sources)


def test_docstring_examples() -> None:
    import doctest

    import wiredesk.transforms.sources.feeds_file as module

    assert doctest.testmod(module).failed == 0
