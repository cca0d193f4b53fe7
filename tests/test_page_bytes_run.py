"""A feed run hands pages to the extraction pass as bytes: the pass decodes them as the
fetcher did, so a legacy charset reads right and undecodable bytes are a fetch reject."""

from __future__ import annotations

from tests.support.rss import rss_route
from wiredesk.cli import main
from wiredesk.loopback import LoopbackOutlet, Route
from wiredesk.query import connect

HOST = "127.0.0.131"


def _page(title: str, sentence: str) -> str:
    return (
        f'<html><head><meta charset="windows-1252"><title>{title}</title></head><body>'
        f"<article><h1>{title}</h1>{f'<p>{sentence}</p>' * 8}</article></body></html>"
    )


def test_pages_are_decoded_by_the_pass(tmp_path, capsys):
    cafe = _page("Café reopens", "The café in Zürich reopened on Monday after a year of repairs.")
    plain = _page("Port closes", "Storms closed the northern port on Tuesday, officials said.")
    garbled = b"\xef\xbb\xbf" + bytes(range(0x80, 0x100)) * 16  # a BOM, then no UTF-8
    with LoopbackOutlet(host=HOST) as outlet:
        outlet.set_route("/cafe", Route(body=cafe.encode("cp1252"), content_type="text/html"))
        outlet.set_route("/plain", Route(body=plain.encode("ascii"), content_type="text/html"))
        outlet.set_route("/garbled", Route(body=garbled, content_type="text/html"))
        outlet.set_route("/rss.xml", rss_route(outlet, ["/cafe", "/plain", "/garbled"], title="L"))
        feeds = tmp_path / "feeds.txt"
        feeds.write_text(outlet.url("/rss.xml") + "\n")
        out = str(tmp_path / "out")
        argv = ["run", "--feeds", str(feeds), "--output", out, "--once", "--allow-host", HOST]
        assert main(argv) == 0
    assert "rejects by stage/reason: fetch_bad_encoding 1" in capsys.readouterr().out
    con = connect(out)
    titles = sorted(t for (t,) in con.execute("SELECT title FROM articles").fetchall())
    assert titles == ["Café reopens", "Port closes"]
    (text,) = con.execute("SELECT text FROM articles WHERE title = 'Café reopens'").fetchone()
    assert "Zürich" in text
    rejects = con.execute("SELECT url, stage, reason FROM rejects").fetchall()
    assert [(u.rsplit("/", 1)[1], s, r) for u, s, r in rejects] == [
        ("garbled", "fetch", "bad_encoding")
    ]
