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
