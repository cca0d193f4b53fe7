"""Wire items (ninjs 1.4/2.1/3.0, NewsML-G2, NewsML 1.2, dpa digitalwires) to FeedEntry records."""

from __future__ import annotations

import datetime as dt
import http.server
import json
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import lxml.html
import pytest

from wiredesk.schemas.records import FeedEntry, FeedSource, RejectReason
from wiredesk.transforms.sources.wire_parse import (
    WireParseConfig,
    WireParseResult,
    canonical_agency,
    dateline_place,
    parse_wire,
)

FIXTURES = Path(__file__).parent / "fixtures" / "wire"
ALL_FILES = sorted(p for p in FIXTURES.rglob("*") if p.suffix in (".json", ".xml"))
FEED = FeedSource(url="file:///drop/", title=None)
NOW = dt.datetime(2025, 2, 1, tzinfo=dt.UTC)
REASONS = {r.value for r in RejectReason}
SKIP_REASONS = {"not_text", "no_body", "withdrawn"}


def parse(body: bytes, *, kind: str = "auto", **kw: Any) -> WireParseResult:
    return parse_wire(
        body=body, source_url="file:///drop/x", feed=FEED, fetched_at=NOW, kind=kind, **kw
    )


def parse_file(rel: str) -> WireParseResult:
    path = FIXTURES / rel
    return parse_wire(body=path.read_bytes(), source_url=path.as_uri(), feed=FEED, fetched_at=NOW)


def only_entry(rel: str) -> FeedEntry:
    result = parse_file(rel)
    assert len(result.entries) == 1, (result.skipped, result.rejects)
    return result.entries[0]


_BLOCK = re.compile(r"<(?=/?(?:p|h[1-6]|li|ul|ol|div|section|tr|td|th|br|blockquote|table)\b)")


def html_text(html: str) -> str:
    """Paragraph-aware HTML to text, whitespace normalized (a stand-in for the pipeline's cleaner)."""
    return " ".join(lxml.html.fromstring(_BLOCK.sub(" <", html)).text_content().split())


def utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).astimezone(dt.UTC)


# --------------------------------------------------------------------------- every corpus file


def test_fixture_corpus_is_complete() -> None:
    assert len(ALL_FILES) >= 115
    assert (FIXTURES / "LICENSE-NOTE.md").is_file()


@pytest.mark.parametrize("path", ALL_FILES, ids=lambda p: str(p.relative_to(FIXTURES)))
def test_every_corpus_file_is_entries_skips_or_rejects(path: Path) -> None:
    result = parse_wire(body=path.read_bytes(), source_url=path.as_uri(), feed=FEED, fetched_at=NOW)
    assert result.entries or result.skipped or result.rejects
    for entry in result.entries:
        assert entry.is_wire and entry.feed_url == path.as_uri()
        assert entry.url and entry.url_key.startswith(entry.url)
        assert entry.body_html and html_text(entry.body_html)
        assert entry.wire and entry.wire["item_id"] and entry.wire["format"] == result.format
        if entry.wire["version"]:
            assert entry.url_key == f"{entry.url}#v{entry.wire['version']}" == entry.guid
        json.dumps(entry.wire)  # wire metadata must be plain JSON values
    for skip in result.skipped:
        assert skip.reason in SKIP_REASONS and skip.detail
    for reject in result.rejects:
        assert reject.stage == "feed" and reject.reason in REASONS and reject.detail


def test_corpus_totals() -> None:
    entries = skipped = rejected = 0
    for path in ALL_FILES:
        result = parse_wire(
            body=path.read_bytes(), source_url=path.as_uri(), feed=FEED, fetched_at=NOW
        )
        entries += len(result.entries)
        skipped += len(result.skipped)
        rejected += len(result.rejects)
    # Counted by hand from the listing: 60 text items, 66 media/event/concept/package
    # items, 10 rejects (4 placeholder newsItems, 5 XML fragments, 1 JSON Schema file).
    assert (entries, skipped, rejected) == (60, 66, 10)


# --------------------------------------------------------------------------- mapped fields, read by hand

# (file, headline, item_id, version, published_at, agency, dateline, language, urgency, body start)
HAND_READ = [
    (
        "ninjs/2.1/dpa_text.json",
        "Faktencheck Derby-Elfmeter: Hat Schiedsrichter Zwayer recht?",
        "urn:newsml:dpa.com:20090101:190510-99-167362",
        "2",
        "2019-05-10T16:02:28+02:00",
        "dpa",
        None,
        "de",
        4,
        "Für Lucien Favre war es «der größte Skandal im Fußball seit Jahren».",
    ),
    (
        "ninjs/3.0/ntb_text.json",
        "Google har kjøpt giganttomt i Skien",
        "urn:8d19cf88-b3ab-4972-8fec-1207599f2872",
        "6",
        "2019-08-09T09:30:04Z",
        "NTB",
        None,
        "no",  # declared "nb": Norwegian is one code, see transforms/common/langcodes.py
        5,
        "IT-giganten Google har kjøpt en tomt på nærmere 2.000 mål i Skien",
    ),
    (
        "ninjs/1.4/ninjsExMediumText1.json",
        "Captain of wrecked cruise ship on trial in Italy",
        "http://ninjs.example.com/newsitems/20130709med123",
        None,
        "2013-07-09T10:37:00Z",
        None,
        "Grossetto, Italy",
        "en",
        None,
        "GROSSETO, Italy (AP) -- The trial of the captain",
    ),
    (
        "ninjs/3.0/tt_text_image_3.json",
        "Militärövning i jätteformat hålls 2023",
        "http://tt.se/media/text/210526-militarovning-a0f2d045",
        "1",
        "2021-05-26T13:40:18+02:00",
        "TT",
        None,
        "sv",
        3,
        "Pandemin satte stopp för den stora internationella militärövningen Aurora 2020",
    ),
    (
        "ninjs/3.0/20231008-anti-doping-measures-at-the-tour-down-under-will-be-the-toughest-ever-addb-ninjs-nitf.json",
        "Anti-doping measures at the 'Tour Down Under' will be the toughest ever",
        "https://antidopingdatabase.com/news/anti-doping-measures-at-the-tour-down-under-will-be-the-toughest-ever",
        "2",
        "2023-10-08T02:34:03+02:00",
        None,
        "Oslo, Norway",
        "en",
        4,
        "The Australian Sports Anti-Doping Authority (ASADA) today announced",
    ),
    (
        "newsml-g2/LISTING_2_NewsML-G2_Text_Document.xml",
        'Fed to halt QE to avert "bubble"',
        "urn:newsml:acmenews.com:20161121:US-FINANCE-FED",
        "11",
        "2016-11-21T15:21:06-05:00",
        "AP",
        "New York, NY",
        "en",
        None,
        "(New York, NY - October 21) Et, sent luptat luptat",
    ),
    (
        "newsml-g2/LISTING_22_Sports_story_in_NewsML-G2NITF.xml",
        "Preview: Arizona Diamondbacks (29-23) at Philadelphia Phillies (26-24), 7:05 p.m.",
        "tag:xmlteam.com,2016:xt.5932656-preview",
        "11",
        "2016-10-19T11:15:00-05:00",
        None,
        None,
        "en",
        None,
        "(Sports Network) - A pair of teams coming off big weekend sweeps",
    ),
    (
        "newsml-g2/Receiver View.xml",
        'Fed to halt QE to avert "bubble"',
        "urn:newsml:NAG.com:20161121:US-FINANCE-FED",
        "11",
        "2016-11-21T15:21:06-05:00",
        "AP",
        "New York, NY",
        "en",
        5,
        "(New York, NY - November 21) Et, sent luptat luptat",
    ),
    (
        "dpa-digitalwires/input/with_dateline.json",
        "DeepSeek-Schock aus China: Zeichen für KI-Zeitenwende?",
        "urn:newsml:dpa.com:20090101:250128-930-357319",
        "2",
        "2025-01-28T09:18:34+01:00",
        "dpa",
        "New York",
        "de",
        3,
        "New York (dpa) - Ein Chatbot aus China schockt die Wall Street",
    ),
    (
        "dpa-digitalwires/input/no_notepad.json",
        "Shares in India's Adani Group plunge 20% after US bribery, fraud indictments",
        "urn:newsml:ap.org:20230101:cd1ee53edee0df1bf00de01b044366b4",
        "4",
        "2024-11-21T11:13:20+01:00",
        "AP",
        None,
        "en",
        4,
        "One of Asia’s richest men, controversial Indian tycoon Gautam Adani",
    ),
    (
        "dpa-digitalwires/input/empty_paragraph.json",
        'AMP.- O.Próximo.- Netanyahu acusa al TPI de actuar por "odio antisemita" hacia Israel al ordenar su arresto',
        "urn:newsml:europapress.es:20241121:DN_2024-11-21_15-35-06",
        "1",
        "2024-11-21T15:35:06+01:00",
        "Europa Press",
        "MADRID",
        "es",
        4,
        "MADRID, 21 Nov. 2024 (Europa Press) - El primer ministro israelí, Benjamin Netanyahu",
    ),
    (
        "dpa-digitalwires/output/eil.xml",
        "Grünen-Spitze tritt nach Wahlniederlagen ab",
        "urn:newsml:dpa.com:20090101:240925-930-242744",
        "1",
        "2024-09-25T10:37:24+02:00",
        "dpa",
        "Berlin",
        "de",
        2,
        "Berlin (dpa) - Die Grünen-Spitze zieht nach den Misserfolgen der Partei",
    ),
    (
        "ninjs/NewsML/businesswire-newsml-20130731006140.xml",
        "Lunch Taking a Toll? Let Applebee’s® Industrial Strength Lunch Decoy Stand In",
        "businesswire.com:20130731006140",
        "1",
        "2013-07-31T15:32:00Z",
        "Business Wire",
        "KANSAS CITY, Mo.",
        "en",
        None,
        "With more Applebee’s® Lunch Combos than ever",
    ),
]


@pytest.mark.parametrize("row", HAND_READ, ids=[r[0] for r in HAND_READ])
def test_mapped_fields_match_hand_read_values(row: tuple[Any, ...]) -> None:
    rel, headline, item_id, version, published, agency, dateline, language, urgency, body_start = (
        row
    )
    entry = only_entry(rel)
    assert entry.title == headline
    assert entry.wire is not None
    assert entry.wire["item_id"] == item_id
    assert entry.wire["version"] == version
    assert entry.published_at == utc(published)
    assert entry.agency == agency
    assert entry.dateline == dateline
    assert entry.language == language
    assert entry.wire["urgency"] == urgency
    assert entry.body_html is not None
    assert html_text(entry.body_html).startswith(body_start)


def test_authors_are_people_and_agency_credits_are_dropped() -> None:
    assert only_entry("ninjs/2.1/dpa_text.json").authors == ("Von Christian Hollmann, dpa",)
    assert only_entry("ninjs/2.1/ntb_text.json").authors == ()  # by: "NTB"
    assert only_entry("dpa-digitalwires/input/no_notepad.json").authors == ("By ASHOK SHARMA",)
    # dpa G2 creators are desk logins ("nickel.valeria"), never authors.
    assert only_entry("dpa-digitalwires/output/eil.xml").authors == ()


def test_body_choice_and_extras() -> None:
    tt = only_entry("ninjs/3.0/tt_text_image_3.json")
    assert tt.wire is not None and tt.wire["body_source"] == "bodies[html5]"
    assert tt.body_html is not None
    text = html_text(tt.body_html)
    assert "Karl Melander/TT" not in text  # image byline
    assert "Arkivbild" not in text  # figcaption
    assert not text.startswith("Militärövning")  # the h1 repeat of the headline
    nitf = only_entry(HAND_READ[4][0])
    assert nitf.wire is not None and nitf.wire["body_source"] == "bodies[nitf]"
    assert nitf.body_html is not None and nitf.body_html.count("<p>") == 18


def test_dpa_editorial_extras_never_reach_the_body() -> None:
    raw = json.loads((FIXTURES / "dpa-digitalwires/input/with_infobox.json").read_bytes())
    entry = only_entry("dpa-digitalwires/input/with_infobox.json")
    assert entry.body_html is not None
    body = html_text(entry.body_html)
    for extra in (raw["infobox_html"], raw["linkbox_html"], raw["notepad"]["public_html"]):
        extra_text = html_text(extra)
        assert extra_text and extra_text not in body
    assert "DW-Faktencheck zu Bränden auf Hawaii" not in body  # infobox link
    g2 = only_entry("dpa-digitalwires/output/with_infobox.xml")
    assert g2.body_html is not None and "DW-Faktencheck" not in html_text(g2.body_html)
    assert "Notizblock" not in html_text(g2.body_html)


def test_teaser_becomes_summary_not_body() -> None:
    entry = only_entry("dpa-digitalwires/output/with_dateline.xml")
    assert entry.summary is not None and entry.summary.startswith("Dass ein Start-up aus China")
    assert entry.body_html is not None and entry.summary not in html_text(entry.body_html)


def test_brief_without_body_uses_its_description() -> None:
    entry = only_entry("ninjs/2.1/ntb_text.json")
    assert entry.wire is not None and entry.wire["body_source"] == "description"


# --------------------------------------------------------------------------- same story, several formats


@pytest.mark.parametrize("story", ["20130731006140", "20130605006126"])
def test_same_business_wire_story_in_every_format_is_one_item(story: str) -> None:
    versions = [
        v
        for v in ("1.4", "2.1", "3.0")
        if (FIXTURES / f"ninjs/{v}/businesswire-newsml-{story}.json").exists()
    ]
    assert len(versions) == 3
    ninjs = [only_entry(f"ninjs/{v}/businesswire-newsml-{story}.json") for v in versions]
    newsml = only_entry(f"ninjs/NewsML/businesswire-newsml-{story}.xml")
    everything = [*ninjs, newsml]
    assert {e.wire["item_id"] for e in everything if e.wire} == {f"businesswire.com:{story}"}
    assert len({e.title for e in everything}) == 1
    assert len({e.wire["version"] for e in everything if e.wire}) == 1
    assert {e.agency for e in everything} == {"Business Wire"}
    assert [e.wire["format"] for e in everything if e.wire] == [
        "ninjs-1.4",
        "ninjs-2.1",
        "ninjs-3.0",
        "newsml-1.2",
    ]
    texts = [html_text(e.body_html or "") for e in ninjs]
    assert texts[0] and texts.count(texts[0]) == 3
    # The ninjs examples carry only the first paragraph of the NewsML 1.2 release.
    assert html_text(newsml.body_html or "").startswith(texts[0])
    # The three ninjs copies are the same item and version (one exact-dedup key); the
    # NewsML 1.2 copy has its own uri and key, and syndication merges it by item_id.
    assert {e.url_key for e in everything} == {ninjs[0].url_key, newsml.url_key}
    assert ninjs[0].url_key != newsml.url_key


def test_dpa_digitalwires_and_its_newsml_g2_rendering_are_the_same_item() -> None:
    checked = 0
    for source in sorted((FIXTURES / "dpa-digitalwires/input").glob("*.json")):
        target = FIXTURES / "dpa-digitalwires/output" / f"{source.stem}.xml"
        if not target.exists():
            continue
        a = parse_file(str(source.relative_to(FIXTURES)))
        b = parse_file(str(target.relative_to(FIXTURES)))
        assert [s.reason for s in a.skipped] == [s.reason for s in b.skipped]
        for ea, eb in zip(a.entries, b.entries, strict=True):
            assert ea.wire and eb.wire
            assert (ea.wire["item_id"], ea.wire["version"], ea.title) == (
                eb.wire["item_id"],
                eb.wire["version"],
                eb.title,
            )
            assert ea.published_at == eb.published_at and ea.agency == eb.agency
            assert html_text(ea.body_html or "") == html_text(eb.body_html or ""), source.stem
            checked += 1
    assert checked == 15


# --------------------------------------------------------------------------- skips and packages


@pytest.mark.parametrize(
    ("rel", "reason", "detail_part"),
    [
        ("ninjs/2.1/ap_image.json", "not_text", "picture"),
        ("ninjs/3.0/ap_video.json", "not_text", "video"),
        ("ninjs/3.0/simpleEvent.json", "not_text", "event"),
        ("newsml-g2/LISTING_3_Photo_in_NewsML-G2.xml", "not_text", "ninat:picture"),
        ("newsml-g2/LISTING_17_Planning_Item_a_CCL.xml", "not_text", "planningItem"),
        (
            "newsml-g2/LISTING_11_Person_Concept_conveyed_in_a_NewsML-G2_Concept_Item.xml",
            "not_text",
            "conceptItem",
        ),
        ("newsml-g2/LISTING_1_A_NewsML-G2_News_Item.xml", "no_body", "no inline text"),
        ("newsml-g2/LISTING_21_A_complete_sample_SportsML-G2_document.xml", "no_body", "sportsml"),
        ("dpa-digitalwires/input/audio.json", "not_text", "audio"),
        ("ninjs/1.4/ninjs-1-4-examples.json", "no_body", "no body"),
    ],
)
def test_valid_non_articles_are_skipped_with_a_reason(
    rel: str, reason: str, detail_part: str
) -> None:
    result = parse_file(rel)
    assert not result.entries and not result.rejects
    assert [s.reason for s in result.skipped] == [reason]
    assert detail_part in result.skipped[0].detail
    assert result.skipped_counts == {reason: 1}


def test_package_records_its_references() -> None:
    result = parse_file("newsml-g2/LISTING_6_Simple_NewsML-G2_Package.xml")
    [skip] = result.skipped
    assert skip.item_id == "tag:example.com,2008:UK-NEWS-TOPTEN:UK20081220098658"
    assert len(skip.refs) == 2 and all(skip.refs)


def test_news_message_links_entries_to_their_package() -> None:
    item = (
        '<newsItem guid="urn:t:{n}" version="1"><itemMeta><itemClass qcode="ninat:text"/></itemMeta>'
        "<contentMeta><headline>H{n}</headline></contentMeta><contentSet>"
        '<inlineXML contenttype="application/xhtml+xml"><html xmlns="http://www.w3.org/1999/xhtml">'
        "<body><p>Body {n}</p></body></html></inlineXML></contentSet></newsItem>"
    )
    message = (
        '<newsMessage xmlns="http://iptc.org/std/nar/2006-10-01/"><itemSet>'
        '<packageItem guid="urn:t:pkg"><groupSet><group><itemRef residref="urn:t:1"/></group></groupSet></packageItem>'
        + item.format(n=1)
        + item.format(n=2)
        + "</itemSet></newsMessage>"
    ).encode()
    result = parse(message)
    assert [e.title for e in result.entries] == ["H1", "H2"]
    assert [e.wire["packages"] for e in result.entries if e.wire] == [["urn:t:pkg"], []]
    assert result.skipped[0].refs == ("urn:t:1",)


def test_placeholder_items_in_a_message_are_rejected_one_by_one() -> None:
    result = parse_file("newsml-g2/LISTING_24_News_Message_conveying_a_complete_News_Package.xml")
    assert [r.reason for r in result.rejects] == ["schema_error"] * 4
    assert [r.url for r in result.rejects] == ["N1", "N2", "N3", "N4"]
    assert result.skipped[0].refs == ("N1", "N2", "N3", "N4")


def test_fragments_are_not_items() -> None:
    result = parse_file(
        "newsml-g2/LISTING_7_Group_Set_example_showing_Hierarchical_Package_Structure.xml"
    )
    assert [(r.reason, r.stage) for r in result.rejects] == [("schema_error", "feed")]
    assert "groupSet" in result.rejects[0].detail


def test_withdrawn_item_is_skipped() -> None:
    body = json.dumps(
        {
            "uri": "urn:x:9",
            "type": "text",
            "pubstatus": "canceled",
            "headline": "H",
            "body_text": "x",
        }
    )
    result = parse(body.encode())
    assert result.skipped_counts == {"withdrawn": 1} and not result.entries


# --------------------------------------------------------------------------- versions and shapes


def ninjs_item(version: str, **extra: Any) -> dict[str, Any]:
    item = {
        "uri": "urn:newsml:example.com:20240101:story-1",
        "version": version,
        "type": "text",
        "versioncreated": f"2024-01-01T1{version}:00:00Z",
        "firstcreated": "2024-01-01T10:00:00Z",
        "headlines": [{"role": "main", "value": f"Headline v{version}"}],
        "bodies": [
            {"role": "main", "contenttype": "text/html", "value": f"<p>Body v{version}</p>"}
        ],
    }
    item.update(extra)
    return item


def test_a_newer_version_keeps_its_identity_but_not_its_dedup_key() -> None:
    v1 = parse(json.dumps(ninjs_item("1")).encode()).entries[0]
    v2 = parse(json.dumps(ninjs_item("2")).encode()).entries[0]
    assert v1.wire and v2.wire
    assert v1.wire["item_id"] == v2.wire["item_id"] == v1.url == v2.url
    assert v1.url_key != v2.url_key and v1.guid != v2.guid
    assert v1.published_at == v2.published_at == utc("2024-01-01T10:00:00Z")
    assert v2.wire["version_created"] == "2024-01-01T12:00:00+00:00"


@pytest.mark.parametrize(
    "wrap",
    [
        lambda items: items,
        lambda items: {"items": items},
        lambda items: {"data": items},
        lambda items: {"data": {"items": [{"item": i} for i in items]}},
        lambda items: {"entries": items},
    ],
    ids=["list", "items", "data", "data.items.item", "entries"],
)
def test_endpoint_wrappers(wrap: Any) -> None:
    items = [ninjs_item("1"), ninjs_item("2", uri="urn:x:other")]
    result = parse(json.dumps(wrap(items)).encode())
    assert [e.title for e in result.entries] == ["Headline v1", "Headline v2"]
    assert result.format == "ninjs-2.1"


def test_mixed_list_of_dpa_and_ninjs() -> None:
    dpa = json.loads((FIXTURES / "dpa-digitalwires/input/eil.json").read_bytes())
    result = parse(json.dumps({"entries": [dpa, ninjs_item("1")]}).encode())
    assert [e.wire["format"] for e in result.entries if e.wire] == ["dpa-digitalwires", "ninjs-2.1"]
    assert result.format == "mixed-json"


def test_empty_list_is_no_entries() -> None:
    for body in (b"[]", b'{"items": []}'):
        result = parse(body)
        assert [r.reason for r in result.rejects] == ["no_entries"]


def test_version_detection() -> None:
    assert (
        parse(json.dumps({"uri": "u", "headline": "h", "body_text": "b"}).encode()).format
        == "ninjs-1.4"
    )
    three = {
        "uri": "u",
        "versionCreated": "2024-01-01T00:00:00Z",
        "headlines": [{"value": "h"}],
        "bodies": [{"contentType": "text/plain", "value": "b"}],
    }
    assert parse(json.dumps(three).encode()).format == "ninjs-3.0"
    declared = {
        "uri": "u",
        "$standard": {"name": "ninjs", "version": "1.3"},
        "headline": "h",
        "body_text": "b",
    }
    assert parse(json.dumps(declared).encode()).format == "ninjs-1.3"


# --------------------------------------------------------------------------- malformed input


@pytest.mark.parametrize(
    ("body", "reason", "detail_part"),
    [
        (b'{"uri": "u", "headline": "x", ', "parse_error", "bad JSON"),
        (b"\xff\xfe\x00garbage", "parse_error", ""),
        (b"hello", "parse_error", "neither JSON nor XML"),
        (
            json.dumps({"uri": "u", "headline": 42}).encode(),
            "schema_error",
            "headline must be a string",
        ),
        (
            json.dumps({"uri": "u", "headlines": [{"value": "h"}], "bodies": "x"}).encode(),
            "schema_error",
            "bodies must be a list",
        ),
        (
            json.dumps({"uri": "u", "bodies": [{"value": 3}]}).encode(),
            "schema_error",
            "bodies[0].value",
        ),
        (
            json.dumps({"headline": "no id", "body_text": "x"}).encode(),
            "schema_error",
            "missing uri",
        ),
        (json.dumps({"uri": 7, "headline": "x"}).encode(), "schema_error", "missing uri"),
        (json.dumps({"uri": "u", "version": {"n": 1}}).encode(), "schema_error", "version"),
        (json.dumps(["not an object"]).encode(), "schema_error", "not an object"),
        (
            json.dumps({"format": "digitalwires@0.9.1", "headline": "no urn"}).encode(),
            "schema_error",
            "missing urn",
        ),
        (
            json.dumps({"format": "digitalwires@0.9.1", "urn": "u", "article_html": 5}).encode(),
            "schema_error",
            "article_html",
        ),
        (json.dumps(42).encode(), "parse_error", "neither JSON nor XML"),
        (json.dumps({"items": "x"}).encode(), "schema_error", "missing uri"),
        (b"[" * 100_000 + b"]" * 100_000, "parse_error", "nesting"),
        (b"[" * 100 + b"]" * 100, "parse_error", "nesting"),
        (b"<notwire/>", "schema_error", "unknown XML root"),
        (b"<newsItem><itemMeta>", "parse_error", "bad XML"),
    ],
)
def test_malformed_input_becomes_a_reject(body: bytes, reason: str, detail_part: str) -> None:
    result = parse(body)
    assert not result.entries
    assert [r.reason for r in result.rejects] == [reason]
    assert detail_part in result.rejects[0].detail
    assert result.rejects[0].stage == "feed" and result.rejects[0].feed_url == "file:///drop/x"


def test_one_bad_item_does_not_sink_its_siblings() -> None:
    bad = {"uri": "urn:bad", "headline": ["not", "a", "string"]}
    result = parse(json.dumps([ninjs_item("1"), bad]).encode())
    assert len(result.entries) == 1
    assert [(r.reason, r.url) for r in result.rejects] == [("schema_error", "urn:bad")]


def test_size_cap() -> None:
    big = json.dumps(ninjs_item("1")).encode()
    result = parse(big, config=WireParseConfig(max_bytes=100))
    assert [r.reason for r in result.rejects] == ["too_large"]


def test_kind_mismatch() -> None:
    assert parse(b"<newsItem/>", kind="ninjs").rejects[0].reason == "schema_error"
    assert parse(b"{}", kind="newsml").rejects[0].reason == "schema_error"


BOMB = b"""<?xml version="1.0"?><!DOCTYPE newsItem [<!ENTITY a "aaaaaaaaaa">
<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">
<!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;"><!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;">
<!ENTITY f "&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;"><!ENTITY g "&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;">
<!ENTITY h "&g;&g;&g;&g;&g;&g;&g;&g;&g;&g;"><!ENTITY i "&h;&h;&h;&h;&h;&h;&h;&h;&h;&h;">]>
<newsItem xmlns="http://iptc.org/std/nar/2006-10-01/" guid="g" version="1">
<itemMeta><itemClass qcode="ninat:text"/></itemMeta><contentMeta><headline>&i;</headline></contentMeta>
</newsItem>"""

XXE = b"""<?xml version="1.0"?><!DOCTYPE newsItem [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<newsItem xmlns="http://iptc.org/std/nar/2006-10-01/" guid="g" version="1">
<itemMeta><itemClass qcode="ninat:text"/></itemMeta><contentMeta><headline>&x;</headline></contentMeta>
<contentSet><inlineData contenttype="text/plain">&x;</inlineData></contentSet></newsItem>"""


@pytest.mark.parametrize("body", [BOMB, XXE], ids=["billion_laughs", "xxe_file"])
def test_xml_attacks_are_rejected(body: bytes) -> None:
    result = parse(body)
    assert not result.entries
    assert [r.reason for r in result.rejects] == ["parse_error"]
    assert result.rejects[0].detail.startswith("unsafe XML")
    assert "root:" not in result.rejects[0].detail  # nothing of /etc/passwd leaks


class _Hits(http.server.BaseHTTPRequestHandler):
    hits = 0

    def do_GET(self) -> None:  # noqa: N802
        type(self).hits += 1
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b'<!ENTITY h "pwned">')

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        return


@pytest.fixture()
def listener() -> Iterator[tuple[int, type[_Hits]]]:
    handler = type("H", (_Hits,), {"hits": 0})
    server = http.server.HTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_port, handler
    finally:
        server.shutdown()
        server.server_close()


def test_external_dtd_is_never_fetched(listener: tuple[int, type[_Hits]]) -> None:
    port, handler = listener
    url = f"http://127.0.0.1:{port}/x.dtd"
    g2 = (
        f'<?xml version="1.0"?><!DOCTYPE newsItem SYSTEM "{url}">'
        '<newsItem xmlns="http://iptc.org/std/nar/2006-10-01/" guid="g" version="1">'
        '<itemMeta><itemClass qcode="ninat:text"/></itemMeta><contentMeta><headline>&h;</headline>'
        "</contentMeta></newsItem>"
    )
    for body in (
        g2.encode(),
        g2.replace('"1.0"?>', '"1.0" encoding="UTF-16"?>', 1).encode("utf-16"),
    ):
        result = parse(body)
        assert [r.reason for r in result.rejects] == ["parse_error"]
        assert "external DTD" in result.rejects[0].detail
    # A NITF body string inside ninjs goes through the same parser.
    nitf = f'<!DOCTYPE nitf SYSTEM "{url}"><nitf><body><body.content><p>&h;</p></body.content></body></nitf>'
    item = {
        "uri": "urn:n",
        "bodies": [{"role": "nitf", "contenttype": "application/nitf+xml", "value": nitf}],
    }
    result = parse(json.dumps(item).encode())
    assert [r.reason for r in result.rejects] == ["parse_error"]
    assert "forbidden_dtd" in result.rejects[0].detail
    assert handler.hits == 0


# --------------------------------------------------------------------------- helpers


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("nprov:REUTERS", "Reuters"),
        ("is:AP", "AP"),
        ("ASSOCIATED PRESS", "AP"),
        ("http://www.thomsonreuters.com", "Reuters"),
        ("http://cv.ap.org/id/123", "AP"),
        ("urn:newsml:dpa.com:20090101:1", "dpa"),
        ("Steve Helber/AP/dpa", "AP"),
        ("Business Wire", "Business Wire"),
        ("Europa Press", "Europa Press"),
        ("Acme News and Media LLC", None),
        ("web:www.xmlteam.com", None),
    ],
)
def test_canonical_agency(value: str, expected: str | None) -> None:
    assert canonical_agency(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Berlin (dpa) - ", "Berlin"),
        ("Peine (dpa/lni) - ", "Peine"),
        ("Tel Aviv/Beirut (dpa) - ", "Tel Aviv/Beirut"),
        ("MADRID, 21 Nov. 2024 (Europa Press) -", "MADRID"),
        ("MOSCOW, Monday (Reuters)", "MOSCOW"),
        ("KANSAS CITY, Mo.", "KANSAS CITY, Mo."),
        ("  ", None),
    ],
)
def test_dateline_place(value: str, expected: str | None) -> None:
    assert dateline_place(value) == expected


@pytest.mark.parametrize(
    ("stamp", "published"),
    [
        ("0001-01-01T00:00:00Z", None),  # before any online news
        ("9999-12-31T00:00:00Z", None),  # a placeholder, not a time
        ("2031-01-01T00:00:00Z", None),  # years after the run
        ("2024-13-45T99:99:99Z", None),  # no such day
        ("Wed, 03 Jan 2024 09:15:00 GMT", "2024-01-03T09:15:00+00:00"),  # RFC 822
        ("20240103T091500+0100", "2024-01-03T08:15:00+00:00"),  # ISO 8601 basic form
        (1704273300, "2024-01-03T09:15:00+00:00"),  # epoch seconds
    ],
)
def test_a_wire_time_is_read_as_feed_dates_are_and_an_implausible_one_is_none(
    stamp: Any, published: str | None
) -> None:
    # Before, only ISO 8601 was read, and any year was taken: an item stamped year 1 was
    # filed under date=0001-01-01 and, as the earliest copy, became its story's canonical.
    item = ninjs_item("1", firstcreated=stamp, versioncreated=stamp)
    (entry,) = parse(json.dumps(item).encode()).entries
    assert entry.published_at == (utc(published) if published else None)
    assert entry.wire is not None and entry.wire["first_created"] == published


def test_an_embargo_may_lie_ahead_but_not_for_years() -> None:
    now = dt.datetime.now(dt.UTC)
    soon = (now + dt.timedelta(days=30)).replace(microsecond=0)
    for embargo, kept in ((soon, True), (now + dt.timedelta(days=3650), False)):
        body = NEWSML_WITH_EMBARGO.replace("EMBARGO", embargo.strftime("%Y-%m-%dT%H:%M:%SZ"))
        (entry,) = parse(body.encode()).entries
        assert entry.wire is not None
        assert entry.wire["embargoed"] == (soon.isoformat() if kept else None)


NEWSML_WITH_EMBARGO = """<?xml version="1.0" encoding="UTF-8"?>
<newsItem xmlns="http://iptc.org/std/nar/2006-10-01/" guid="urn:newsml:example.com:20240103:e1"
  version="1" standard="NewsML-G2" standardversion="2.29">
  <itemMeta>
    <itemClass qcode="ninat:text"/>
    <versionCreated>2024-01-03T09:15:00Z</versionCreated>
    <embargoed>EMBARGO</embargoed>
    <pubStatus qcode="stat:usable"/>
  </itemMeta>
  <contentMeta><headline>Embargoed results</headline></contentMeta>
  <contentSet>
    <inlineXML contenttype="application/xhtml+xml">
      <html xmlns="http://www.w3.org/1999/xhtml"><body>
        <p>The company will publish its quarterly results at the stated time.</p>
      </body></html>
    </inlineXML>
  </contentSet>
</newsItem>
"""
