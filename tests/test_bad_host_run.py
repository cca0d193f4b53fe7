"""A feed item whose link has a host such as "-1" ends as a reject row; the run goes on.

Python's int() reads "-1" as a number, and the URL normalizer once took that host
for an IPv4 address and raised on it. The whole path is checked here, through the
CLI: the item's key is made, the fetch refuses the host without a lookup, and the
good item of the same feed is written.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import html
from pathlib import Path

from wiredesk.cli import main
from wiredesk.loopback import LoopbackOutlet, Route
from wiredesk.query import connect

PARAGRAPH = (
    "The regional water authority said on Monday that reservoir levels had recovered "
    "after weeks of heavy rain, and lifted the hosepipe ban it imposed in early summer. "
)


def _rss(items: list[tuple[str, str]]) -> bytes:
    when = email.utils.format_datetime(dt.datetime.now(dt.UTC) - dt.timedelta(hours=1))
    body = "".join(
        f"<item><title>{html.escape(t)}</title><link>{html.escape(u)}</link>"
        f"<pubDate>{when}</pubDate></item>"
        for u, t in items
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Gazette'
        f"</title><link>http://example.invalid/</link>{body}</channel></rss>"
    ).encode()


def test_a_numeric_looking_bad_host_is_a_reject_row(tmp_path: Path) -> None:
    page = (
        "<html><head><title>Hosepipe ban lifted</title></head><body><article>"
        f"<h1>Hosepipe ban lifted</h1>{''.join(f'<p>{PARAGRAPH}</p>' for _ in range(6))}"
        "</article></body></html>"
    ).encode()
    with LoopbackOutlet(host="127.0.0.84") as outlet:
        outlet.set_route("/news/ban", Route(body=page))
        good = outlet.url("/news/ban")
        bad = "http://-1/story"
        outlet.set_route(
            "/rss.xml",
            Route(
                body=_rss([(good, "Hosepipe ban lifted"), (bad, "Broken link")]),
                content_type="application/rss+xml",
            ),
        )
        feeds = tmp_path / "feeds.txt"
        feeds.write_text(outlet.url("/rss.xml") + "\n")
        out = tmp_path / "out"
        argv = ["run", "--feeds", str(feeds), "--output", str(out), "--once"]
        assert main([*argv, "--allow-private-addresses"]) == 0
    db = connect(str(out))
    assert db.execute("SELECT url FROM articles").fetchall() == [(good,)]
    assert db.execute("SELECT url, stage, reason FROM rejects").fetchall() == [
        (bad, "fetch", "bad_url")
    ]
