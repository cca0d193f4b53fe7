"""Wire items end to end: a ninjs endpoint and a drop folder beside RSS outlets that republish them.

One story per wire item, the wire copy canonical (even when a republisher's
page says it was published earlier), republications and newer versions in
``duplicates`` with the wire story's id, malformed items and files as reject
rows while the run goes on, and each drop-folder file read once.
"""

from __future__ import annotations

import copy
import datetime as dt
import html
import json
import shutil
from pathlib import Path

import pytest

from wiredesk.cli import main
from wiredesk.loopback import LoopbackOutlet, Route
from wiredesk.query import connect
from wiredesk.schemas.records import FeedSource
from wiredesk.transforms.extract.page import extract_fragment
from wiredesk.transforms.sources.wire_parse import parse_wire

WIRE = Path(__file__).parent / "fixtures" / "wire"
NINJS_FILES = {
    "dpa-derby": WIRE / "ninjs/3.0/dpa_text.json",
    "anti-doping": WIRE
    / "ninjs/3.0/20231008-anti-doping-measures-at-the-tour-down-under-will-be-the-toughest-ever-addb-ninjs-nitf.json",
    "cruise": WIRE / "ninjs/3.0/ninjsExSimpleText_3.json",
}
DROP_FILES = {
    "deepseek": WIRE / "dpa-digitalwires/output/with_dateline.xml",
    "beirut": WIRE / "dpa-digitalwires/output/rubix_multimedia_real.xml",
    "steinmeier": WIRE / "dpa-digitalwires/output/embargoed.xml",
}
BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<newsItem xmlns="http://iptc.org/std/nar/2006-10-01/" guid="urn:x:bomb" version="1">&lol3;</newsItem>
"""


def _wire_text(path: Path) -> tuple[str, str]:
    """The headline and clean body text of a wire file, as the pipeline reads it."""
    parsed = parse_wire(
        body=path.read_bytes(),
        source_url=str(path),
        feed=FeedSource(url="x"),
        fetched_at=dt.datetime.now(dt.UTC),
    )
    entry = parsed.entries[0]
    body = extract_fragment(html=entry.body_html or "")
    return entry.title or "", body.text  # type: ignore[union-attr]


def _republished_page(*, outlet: str, headline: str, text: str, credit: str) -> bytes:
    """The wire text in a republisher's own chrome, with its own headline and credit."""
    paragraphs = "".join(f"<p>{html.escape(p)}</p>" for p in text.split("\n\n"))
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(headline)} | {outlet}"
        f"</title><meta property='og:site_name' content='{outlet}'></head><body>"
        f"<header><nav><a href='/'>{outlet}</a> <a href='/politik'>Politik</a> "
        "<a href='/wirtschaft'>Wirtschaft</a></nav></header><main><article>"
        f"<h1>{html.escape(headline)}</h1><p class='meta'>Aktualisiert vor 2 Stunden</p>{paragraphs}"
        f"<p class='credit'>{credit}</p></article><aside><h2>Meistgelesen</h2><ul>"
        "<li><a href='/a'>Wetter: Sturm zieht über das Land</a></li>"
        "<li><a href='/b'>Bundesliga: Die Tabelle nach dem Spieltag</a></li></ul></aside></main>"
        "<footer>Impressum · Datenschutz · Kontakt</footer></body></html>"
    ).encode()


def _rss(title: str, items: list[tuple[str, str, str]]) -> bytes:
    body = "".join(
        f"<item><title>{html.escape(t)}</title><link>{html.escape(link)}</link>"
        f"<pubDate>{date}</pubDate></item>"
        for link, t, date in items
    )
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{title}</title>'
        f"<link>http://example.invalid/</link>{body}</channel></rss>"
    ).encode()


@pytest.fixture(scope="module")
def wire_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("wire-e2e")
    # The endpoint: a list of ninjs items, a newer version of one, and a broken item.
    items = [json.loads(path.read_text()) for path in NINJS_FILES.values()]
    cruise_v2 = copy.deepcopy(items[2])
    cruise_v2["version"] = "2"
    cruise_v2["versionCreated"] = "2013-07-09T14:05:00Z"
    cruise_v2["headlines"][0]["value"] = "UPDATE 1-Captain of wrecked cruise ship on trial in Italy"
    for body in cruise_v2["bodies"]:
        if body.get("contentType") == "text/html":
            body["value"] = body["value"].replace(
                "</body>",
                "<p>The trial resumes next week after the lawyers' strike ends.</p></body>",
            )
    items[2]["version"] = "1"
    items.append(cruise_v2)
    items.append({"uri": 42, "headlines": "not a list", "bodies": {}})
    # The drop folder: three dpa NewsML-G2 items, a broken JSON file and an XML bomb.
    drop = tmp / "drop"
    drop.mkdir()
    for name, path in DROP_FILES.items():
        shutil.copy(path, drop / f"{name}.xml")
    (drop / "broken.json").write_text('{"uri": "urn:x:broken", "headlines": [')
    (drop / "bomb.xml").write_bytes(BILLION_LAUGHS)

    wire = LoopbackOutlet(host="127.0.0.41").start()
    paper = LoopbackOutlet(host="127.0.0.42").start()
    daily = LoopbackOutlet(host="127.0.0.43").start()
    try:
        wire.set_route(
            "/ninjs/items.json",
            Route(body=json.dumps(items).encode(), content_type="application/json"),
        )
        # Republications, dated *before* the wire items: the wire copy must still win.
        deepseek_title, deepseek_text = _wire_text(DROP_FILES["deepseek"])
        cruise_title, cruise_text = _wire_text(NINJS_FILES["cruise"])
        doping_title, doping_text = _wire_text(NINJS_FILES["anti-doping"])
        paper.set_route(
            "/wirtschaft/deepseek",
            Route(
                body=_republished_page(
                    outlet="Rhein-Zeitung",
                    headline="Chatbot aus China schickt Nvidia auf Talfahrt",
                    text=deepseek_text,
                    credit="© dpa-infocom, dpa:250128-930-357319/1",
                )
            ),
        )
        daily.set_route(
            "/world/cruise-trial",
            Route(
                body=_republished_page(
                    outlet="Daily Ledger", headline=cruise_title, text=cruise_text, credit="— AP"
                )
            ),
        )
        daily.set_route(
            "/sport/anti-doping",
            Route(
                body=_republished_page(
                    outlet="Daily Ledger", headline=doping_title, text=doping_text, credit=""
                )
            ),
        )
        paper.set_route(
            "/rss.xml",
            Route(
                body=_rss(
                    "Rhein-Zeitung",
                    [
                        (
                            paper.url("/wirtschaft/deepseek"),
                            deepseek_title,
                            "Tue, 28 Jan 2025 07:00:00 GMT",
                        )
                    ],
                ),
                content_type="application/rss+xml",
            ),
        )
        daily.set_route(
            "/rss.xml",
            Route(
                body=_rss(
                    "Daily Ledger",
                    [
                        (
                            daily.url("/world/cruise-trial"),
                            cruise_title,
                            "Tue, 09 Jul 2013 09:00:00 GMT",
                        ),
                        (
                            daily.url("/sport/anti-doping"),
                            doping_title,
                            "Sat, 07 Oct 2023 20:00:00 GMT",
                        ),
                    ],
                ),
                content_type="application/rss+xml",
            ),
        )
        feeds = tmp / "feeds.opml"
        feeds.write_text(
            '<?xml version="1.0"?><opml version="2.0"><body>'
            f'<outline text="Wire Desk" type="ninjs" xmlUrl="{wire.url("/ninjs/items.json")}"/>'
            f'<outline text="Rhein-Zeitung" xmlUrl="{paper.url("/rss.xml")}" country="DE"/>'
            f'<outline text="Daily Ledger" xmlUrl="{daily.url("/rss.xml")}" country="US"/>'
            "</body></opml>"
        )
        out = str(tmp / "out")
        argv = [
            "run",
            "--feeds",
            str(feeds),
            "--wire-dir",
            str(drop),
            "--output",
            out,
            "--once",
            "--allow-private-addresses",
        ]
        assert main(argv) == 0
        yield out, argv, deepseek_title
    finally:
        for outlet in (wire, paper, daily):
            outlet.stop()


def test_one_story_per_wire_item_and_the_wire_copy_is_canonical(wire_run):
    out, _argv, _ = wire_run
    con = connect(out)
    articles = con.execute("SELECT url, is_wire FROM articles ORDER BY url").fetchall()
    assert all(is_wire for _url, is_wire in articles), articles
    assert len(articles) == 6  # three ninjs stories, three drop-folder stories


def test_republications_carry_the_wire_story_id(wire_run):
    out, _argv, _ = wire_run
    rows = (
        connect(out)
        .execute(
            "SELECT d.url, a.url, a.is_wire FROM duplicates d JOIN articles a USING (story_id) "
            "WHERE NOT d.is_wire ORDER BY d.url"
        )
        .fetchall()
    )
    by_page = {dup.rsplit("/", 1)[1]: (canonical, is_wire) for dup, canonical, is_wire in rows}
    assert set(by_page) == {"deepseek", "cruise-trial", "anti-doping"}
    assert by_page["deepseek"][0] == "urn:newsml:dpa.com:20090101:250128-930-357319"
    assert by_page["cruise-trial"][0] == "http://ninjs.example.com/newsitems/20130709simp123"
    assert all(is_wire for _canonical, is_wire in by_page.values())


def test_a_newer_version_is_the_same_story_in_duplicates(wire_run):
    out, _argv, _ = wire_run
    con = connect(out)
    rows = con.execute(
        "SELECT d.version, d.story_id = a.story_id FROM duplicates d, articles a "
        "WHERE d.is_wire AND a.url = d.url AND d.url LIKE '%20130709simp123%'"
    ).fetchall()
    assert rows == [("2", True)]


def test_wire_rows_keep_their_agency_dateline_and_language(wire_run):
    out, _argv, _ = wire_run
    row = (
        connect(out)
        .execute(
            "SELECT agency, dateline, language, country, region FROM articles "
            "WHERE url = 'urn:newsml:dpa.com:20090101:250128-930-357319'"
        )
        .fetchall()
    )
    assert row == [("dpa", "New York", "de", "US", "northern-america")]


def test_bad_items_and_files_are_rejects_and_the_run_goes_on(wire_run):
    out, _argv, _ = wire_run
    rejects = connect(out).execute("SELECT url, stage, reason FROM rejects ORDER BY url").fetchall()
    by_name = {url.rsplit("/", 1)[-1]: (stage, reason) for url, stage, reason in rejects}
    assert by_name.get("bomb.xml") == ("feed", "parse_error")
    assert by_name.get("broken.json") == ("feed", "parse_error")
    assert ("feed", "schema_error") in {(s, r) for _u, s, r in rejects}
    assert len(rejects) == 3


def test_a_second_run_reads_no_drop_file_again_and_adds_no_rows(wire_run):
    out, argv, _ = wire_run
    con = connect(out)

    def counts() -> list[int]:
        return [
            con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0]
            for t in ("articles", "duplicates", "rejects")
        ]

    before = counts()
    assert main(argv) == 0
    con = connect(out)
    assert counts() == before
