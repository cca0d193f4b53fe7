"""Unit-level pins of the hostile-input policies the end-to-end run relies on.

* feeds: a DOCTYPE whose entities we will not expand (billion laughs, quadratic
  blow-up, XXE, parameter entities) or that names an unknown external DTD makes the
  feed a ``parse_error``, in UTF-8, UTF-16 and UTF-32 alike; short entities, W3C
  entity sets and the RSS 0.91 / XHTML DTDs of real old feeds still parse;
* partitions: no hostile text can become a path segment.
"""

from __future__ import annotations

import datetime as dt
import os
import pathlib

import pytest

from wiredesk.schemas.records import FeedSource
from wiredesk.schemas.tables import REGION_SLUGS
from wiredesk.transforms.io.write_table import partition_dir
from wiredesk.transforms.sources.feed_parse import parse_feed

NOW = dt.datetime(2026, 8, 1, tzinfo=dt.UTC)
FEED = FeedSource(url="https://x.example/feed")
ITEM = "<item><title>{title}</title><link>https://x.example/a</link></item>"
FIXTURES = pathlib.Path(__file__).parent.parent / "fixtures" / "feeds" / "feedparser"


def _feed(doctype: str, title: str, encoding: str = "utf-8") -> bytes:
    return (
        f'<?xml version="1.0" encoding="{encoding}"?>\n{doctype}\n<rss version="2.0"><channel>'
        + ITEM.format(title=title)
        + "</channel></rss>"
    ).encode(encoding)


LAUGHS = "".join(
    ['<!ENTITY lol0 "lol">'] + [f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)]
)
REFUSED = {
    "laughs": (f"<!DOCTYPE rss [{LAUGHS}]>", "&lol9;"),
    "laughs-multiline": ("<!DOCTYPE rss [\n" + LAUGHS.replace("><", ">\n<") + "\n]>", "&lol9;"),
    "quadratic": ('<!DOCTYPE rss [<!ENTITY a "' + "x" * 50_000 + '">]>', "&a;" * 1000),
    "xxe-file": ('<!DOCTYPE rss [<!ENTITY x SYSTEM "file:///etc/passwd">]>', "&x;"),
    "xxe-http": ('<!DOCTYPE rss [<!ENTITY x SYSTEM "http://127.0.0.1:9/x">]>', "&x;"),
    "xxe-public": ('<!DOCTYPE rss [<!ENTITY x PUBLIC "-//A//B" "http://127.0.0.1:9/x">]>', "&x;"),
    "parameter": ('<!DOCTYPE rss [<!ENTITY % p SYSTEM "http://127.0.0.1:9/p"> %p;]>', "t"),
    "external-dtd": ('<!DOCTYPE rss SYSTEM "http://127.0.0.1:9/evil.dtd">', "&x;"),
    "unknown-public-dtd": ('<!DOCTYPE rss PUBLIC "-//Evil//DTD//EN" "http://e.test/d">', "t"),
}


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16", "utf-32"])
@pytest.mark.parametrize("attack", sorted(REFUSED))
def test_hostile_doctypes_make_the_feed_a_parse_error(attack: str, encoding: str) -> None:
    doctype, title = REFUSED[attack]
    result = parse_feed(body=_feed(doctype, title, encoding), feed=FEED, fetched_at=NOW)
    assert result.entries == ()
    assert result.reject is not None
    assert (result.reject.stage, result.reject.reason) == ("feed", "parse_error")
    assert result.reject.detail.startswith("refused XML: DOCTYPE")


TOLERATED = {
    "short-entities": ('<!DOCTYPE rss [<!ENTITY nbsp "&#160;"><!ENTITY co "ACME">]>', "a&nbsp;&co;"),
    "rss091-public": (
        '<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN" '
        '"http://my.netscape.com/publish/formats/rss-0.91.dtd">', "t",
    ),
    "rss091-system": ('<!DOCTYPE rss SYSTEM "http://my.netscape.com/publish/formats/rss-0.91.dtd">', "t"),
    "xhtml": ('<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" "http://x.test/">', "t"),
    "w3c-entity-set": (
        '<!DOCTYPE rss [<!ENTITY % HTMLlat1 PUBLIC "-//W3C//ENTITIES Latin 1 for XHTML//EN" '
        '"http://www.w3.org/TR/xhtml1/DTD/xhtml-lat1.ent"> %HTMLlat1;]>', "caf&eacute;",
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(TOLERATED))
def test_doctypes_of_real_feeds_still_parse(case: str) -> None:
    doctype, title = TOLERATED[case]
    result = parse_feed(body=_feed(doctype, title), feed=FEED, fetched_at=NOW)
    assert result.reject is None and len(result.entries) == 1
    assert result.entries[0].title in {"a ACME", "t", "café"}


@pytest.mark.parametrize(
    "name",
    [
        "wellformed/rss/rss_version_091_netscape.xml",
        "illformed/always_strip_doctype.xml",
        "wellformed/rdf/doctype_contains_entity_decl.xml",
    ],
)
def test_corpus_feeds_with_a_doctype_are_not_refused(name: str) -> None:
    result = parse_feed(body=(FIXTURES / name).read_bytes(), feed=FEED, fetched_at=NOW)
    # These upstream samples list no usable item; what matters is why they yield none.
    assert result.reject is not None and result.reject.reason == "no_entries"


HOSTILE_VALUES = ["../", "../../etc", "/", "/etc/passwd", "a/b", "\x00", "x\x00y", "X" * 300,
                  "..", ".", "", " ", "region=eastern-asia/../../x", "EASTERN-ASIA", "\\..\\"]  # fmt: skip


@pytest.mark.parametrize("value", HOSTILE_VALUES)
def test_hostile_text_never_becomes_a_partition(value: str, tmp_path: pathlib.Path) -> None:
    out = str(tmp_path / "out")
    for table in ("articles", "duplicates"):
        folder = partition_dir(out, table, dt.date(2024, 1, 2), value)
        assert folder == os.path.join(out, table, "date=2024-01-02", "region=unknown")
    for slug in REGION_SLUGS:
        assert partition_dir(out, "articles", dt.date(1, 1, 1), slug).endswith(
            f"/articles/date=0001-01-01/region={slug}"
        )
