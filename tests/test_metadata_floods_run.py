"""Pages whose metadata would have cost trafilatura minutes are rows, through the CLI.

trafilatura's author list costs the cube of its length, and its reading of a JSON-LD
block that does not parse restarts after each name: 1,500 author tags or a 1.5 MB broken
block ran past the extraction deadline, so the page became an ``extract_timeout`` reject
and its worker was restarted. ``transforms/extract/page_meta.py`` bounds both readings;
here a run with a deadline far above what the bounded readings need (tens of
milliseconds) writes every such page as an article with at most 100 authors.
"""

from __future__ import annotations

from tests.support.names import distinct_names
from tests.support.rss import rss_route
from wiredesk.cli import main
from wiredesk.loopback import LoopbackOutlet, Route
from wiredesk.query import connect
from wiredesk.transforms.extract.page_meta import MAX_AUTHORS

HOST = "127.0.0.132"


_names = distinct_names

# Four unrelated stories, so that syndication keeps each page as its own article.
STORIES = {
    "Tags flood": "heavy storms closed {n} ports on the northern coast, officials said",
    "List flood": "the central bank held its key rate at {n} percent for another quarter",
    "Broken flood": "a {n}-day chess tournament opened in the old town hall on Saturday",
    "Plain page": "engineers reopened the mountain railway after {n} weeks of repairs",
}


def _page(title: str, head: str) -> bytes:
    body = "".join(
        f"<p>{STORIES[title].format(n=i + 3).capitalize()}; paragraph {i} of the report "
        f"on what {title.split()[0].lower()} means for readers.</p>"
        for i in range(8)
    )
    return (
        f"<html><head><title>{title}</title>{head}</head><body><article><h1>{title}</h1>"
        f"{body}</article></body></html>"
    ).encode()


def _ld(block: str) -> str:
    return f'<script type="application/ld+json">{block}</script>'


def test_author_floods_and_huge_broken_json_ld_become_rows(tmp_path, capsys):
    people = ",".join(f'{{"@type":"Person","name":"{n}"}}' for n in _names(600))
    pages = {
        # 1,500 citation_author tags: 20 s and more for trafilatura's author list alone.
        "/tags": _page(
            "Tags flood",
            "".join(f'<meta name="citation_author" content="{n}">' for n in _names(1500)),
        ),
        # A JSON-LD author list of 600 people.
        "/ld-list": _page("List flood", _ld(f'{{"@type":"NewsArticle","author":[{people}]}}')),
        # 1.5 MB of JSON-LD that does not parse (23.6 s unbounded).
        "/ld-broken": _page(
            "Broken flood",
            _ld(
                '{"@type":"NewsArticle","author":['
                + ",".join(f'{{"@type":"Person","name":"{n}"}}' for n in _names(37_000))
                + "], oops"
            ),
        ),
        "/plain": _page("Plain page", '<meta name="author" content="Maria Lopez">'),
    }
    assert len(pages["/ld-broken"]) > 1_500_000
    with LoopbackOutlet(host=HOST) as outlet:
        for path, body in pages.items():
            outlet.set_route(path, Route(body=body, content_type="text/html"))
        outlet.set_route("/rss.xml", rss_route(outlet, list(pages), title="Floods"))
        feeds = tmp_path / "feeds.txt"
        feeds.write_text(outlet.url("/rss.xml") + "\n")
        out = str(tmp_path / "out")
        argv = ["run", "--feeds", str(feeds), "--output", out, "--once", "--allow-host", HOST]
        assert main([*argv, "--extract-timeout", "10"]) == 0
    printed = capsys.readouterr().out
    assert "rejects by stage/reason" not in printed
    con = connect(out)
    assert con.execute("SELECT count(*) FROM duplicates").fetchone() == (0,)
    rows = con.execute("SELECT title, len(authors), authors[1] FROM articles").fetchall()
    by_title = {title: (count, first) for title, count, first in rows}
    assert set(by_title) == {"Tags flood", "List flood", "Broken flood", "Plain page"}
    assert by_title["Plain page"] == (1, "Maria Lopez")
    for title in ("Tags flood", "List flood", "Broken flood"):
        count, first = by_title[title]
        assert 0 < count <= MAX_AUTHORS, (title, count)
        assert first == _names(1)[0], (title, first)
    assert con.execute("SELECT count(*) FROM rejects").fetchone() == (0,)
