"""An outlet that hangs on kept connections: those pages are fetch/timeout rejects, the
others are rows, and the run goes on (good + rejected == input)."""

from __future__ import annotations

import http.server
import threading

from tests.support.rss import rss_route
from wiredesk.cli import main
from wiredesk.loopback import LoopbackOutlet, Route
from wiredesk.query import connect

HOST = "127.0.0.133"
PATHS = [f"/story-{i}" for i in range(4)]


def _page(i: int) -> bytes:
    sentence = f"Officials in the northern port said ferry number {i} resumed service on Monday."
    return (
        f"<html><head><title>Ferry {i} resumes</title></head><body><article>"
        f"<h1>Ferry {i} resumes</h1>{f'<p>{sentence}</p>' * 8}</article></body></html>"
    ).encode()


def test_pages_asked_for_on_a_kept_connection_that_hangs_are_timeout_rejects(tmp_path, capsys):
    served: set[tuple[str, int]] = set()
    lock = threading.Lock()
    stop = threading.Event()

    def first_request_per_connection_only(body: bytes):
        def handle(h: http.server.BaseHTTPRequestHandler) -> None:
            with lock:
                again = h.client_address in served
                served.add(h.client_address)
            if again:
                stop.wait(5)  # answers nothing on a connection it already answered on
                h.close_connection = True
                return
            h.send_response(200)
            h.send_header("Content-Type", "text/html; charset=utf-8")
            h.send_header("Content-Length", str(len(body)))
            h.end_headers()
            h.wfile.write(body)

        return Route(handler=handle)

    with LoopbackOutlet(host=HOST) as outlet:
        for i, path in enumerate(PATHS):
            outlet.set_route(path, first_request_per_connection_only(_page(i)))
        outlet.set_route("/rss.xml", rss_route(outlet, PATHS, title="Port news"))
        feeds = tmp_path / "feeds.txt"
        feeds.write_text(outlet.url("/rss.xml") + "\n")
        out = str(tmp_path / "out")
        argv = ["run", "--feeds", str(feeds), "--output", out, "--once", "--allow-host", HOST]
        try:
            assert main([*argv, "--fetch-timeout", "1"]) == 0
        finally:
            stop.set()
    summary = capsys.readouterr().out
    assert "requests on kept connections" in summary
    con = connect(out)
    articles = {u.rsplit("/", 1)[1] for (u,) in con.execute("SELECT url FROM articles").fetchall()}
    rejects = con.execute("SELECT url, stage, reason FROM rejects").fetchall()
    rejected = {u.rsplit("/", 1)[1] for u, _, _ in rejects}
    # Two fetches at once per host: the first two pages open connections, the later ones
    # are asked for on those kept connections, where the outlet never answers.
    assert articles and rejected
    assert articles | rejected == {p.lstrip("/") for p in PATHS}
    assert not articles & rejected
    assert {(stage, reason) for _, stage, reason in rejects} == {("fetch", "timeout")}
