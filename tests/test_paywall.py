"""Paywalled pages: HTTP 402/401 teasers and schema.org isAccessibleForFree become paywalled rows."""

from __future__ import annotations

import json

from wiredesk.cli import main
from wiredesk.loopback import LoopbackOutlet, Route
from wiredesk.query import connect

TOPICS = {
    "402": ("harbour", "budget", "dredging"),
    "401": ("railway", "timetable", "signalling"),
    "ld": ("library", "opening", "archives"),
    "free": ("hospital", "ward", "nurses"),
    "plain": ("school", "canteen", "menus"),
    "403": ("museum", "loan", "paintings"),
}


def _body(page: str) -> str:
    a, b, c = TOPICS[page]
    return " ".join(
        f"Report {n}: the {a} {b} changes how the {c} of district {n * 7 % 13} are run."
        for n in range(30)
    )


def _page(page: str, title: str, *, free: bool | None = None) -> bytes:
    ld = ""
    if free is not None:
        ld = (
            "<script type='application/ld+json'>"
            + json.dumps({"@type": "NewsArticle", "headline": title, "isAccessibleForFree": free})
            + "</script>"
        )
    return (
        f"<html><head><title>{title}</title>{ld}</head><body><article><h1>{title}</h1>"
        f"<p>{_body(page)}</p><p>Subscribe to read the rest of this story.</p></article></body></html>"
    ).encode()


def test_paywalls_are_kept_and_marked(tmp_path):
    with LoopbackOutlet(host="127.0.0.71") as outlet:
        outlet.set_route("/402", Route(body=_page("402", "Harbour budget 402"), status=402))
        outlet.set_route("/401", Route(body=_page("401", "Harbour budget 401"), status=401))
        outlet.set_route("/ld", Route(body=_page("ld", "Harbour budget metered", free=False)))
        outlet.set_route("/free", Route(body=_page("free", "Harbour budget free", free=True)))
        outlet.set_route("/plain", Route(body=_page("plain", "Harbour budget plain")))
        outlet.set_route("/403", Route(body=_page("403", "Forbidden"), status=403))
        items = "".join(
            f"<item><title>{p}</title><link>{outlet.url('/' + p)}</link></item>"
            for p in ("402", "401", "ld", "free", "plain", "403")
        )
        outlet.set_route(
            "/rss.xml",
            Route(
                body=f"<rss version='2.0'><channel><title>Ledger</title>{items}</channel></rss>".encode(),
                content_type="application/rss+xml",
            ),
        )
        feeds = tmp_path / "feeds.txt"
        feeds.write_text(outlet.url("/rss.xml") + "\n")
        out = str(tmp_path / "out")
        argv = [
            "run",
            "--feeds",
            str(feeds),
            "--output",
            out,
            "--once",
            "--allow-host",
            "127.0.0.71",
        ]
        assert main(argv) == 0
    con = connect(out)
    rows = con.execute(
        "SELECT url, paywalled FROM articles UNION ALL "
        "SELECT d.url, a.paywalled FROM duplicates d JOIN articles a USING (story_id)"
    ).fetchall()
    written = {url.rsplit("/", 1)[1] for url, _ in rows}
    assert {"402", "401", "ld", "free", "plain"} == written
    marked = dict(con.execute("SELECT url, paywalled FROM articles").fetchall())
    by_page = {url.rsplit("/", 1)[1]: value for url, value in marked.items()}
    for page, expected in (
        ("402", True),
        ("401", True),
        ("ld", True),
        ("free", False),
        ("plain", None),
    ):
        if page in by_page:
            assert by_page[page] is expected, (page, by_page[page])
    assert con.execute("SELECT reason FROM rejects").fetchall() == [("http_403",)]
    # Teasers say so: a 401/402 answer, or a paywalled text that ends inviting to subscribe.
    complete = dict(con.execute("SELECT url, text_complete FROM articles").fetchall())
    by_page = {url.rsplit("/", 1)[1]: value for url, value in complete.items()}
    for page, expected in (
        ("402", False),
        ("401", False),
        ("ld", False),
        ("free", True),
        ("plain", True),
    ):
        if page in by_page:
            assert by_page[page] is expected, (page, by_page[page])


def _metered(*, selector: str, served: bool) -> str:
    ld = {
        "@type": "NewsArticle",
        "isAccessibleForFree": False,
        "hasPart": {
            "@type": "WebPageElement",
            "isAccessibleForFree": False,
            "cssSelector": selector,
        },
    }
    words = " ".join(
        f"Paragraph {n} of the council's budget story goes on here." for n in range(40)
    )
    locked = f"<div class='paywalled-part'><p>{words}</p></div>" if served else ""
    return (
        f"<html><head><script type='application/ld+json'>{json.dumps(ld)}</script></head>"
        f"<body><article><h1>Budget</h1><p>{words}</p>{locked}</article></body></html>"
    )


def test_a_metered_page_served_whole_is_complete_and_a_missing_section_is_not():
    from wiredesk.transforms.extract.page import ExtractedPage, extract_page

    whole = extract_page(
        html=_metered(selector=".paywalled-part", served=True), url="https://x.com/a"
    )
    cut = extract_page(
        html=_metered(selector=".paywalled-part", served=False), url="https://x.com/a"
    )
    assert isinstance(whole, ExtractedPage) and isinstance(cut, ExtractedPage)
    assert (whole.paywalled, whole.text_complete) == (True, True)
    assert (cut.paywalled, cut.text_complete) == (True, False)
