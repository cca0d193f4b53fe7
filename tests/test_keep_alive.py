"""SafeFetcher reuses a connection for the next request to the same checked address.

Loopback outlets only. ``Request.client`` (the client's address and port) tells the
connections apart: one port, one connection.
"""

from __future__ import annotations

import pathlib
import time
from typing import Any

import pytest

from tests.support.httpfakes import (
    FakeOutlet,
    Request,
    Response,
    Writer,
    redirect,
    tls_server_context,
)
from wiredesk.transforms.fetch.http_client import FetchConfig, SafeFetcher
from wiredesk.transforms.fetch.keepalive import IdleConnections

HTML = {"Content-Type": "text/html; charset=utf-8"}
PAGE = "<html><head><title>Story</title></head><body><p>Text</p></body></html>"


def fetcher_for(*hosts: str, **overrides: Any) -> SafeFetcher:
    base: dict[str, Any] = {
        "connect_timeout": 1.0,
        "total_timeout": 2.0,
        "respect_robots": False,
        "allowed_hosts": frozenset(hosts),
    }
    return SafeFetcher(FetchConfig(**{**base, **overrides}))


def connections(outlet: FakeOutlet) -> list[tuple[str, int]]:
    """The outlet's connections, in the order of their first request."""
    return list(dict.fromkeys(r.client for r in outlet.requests))


def pages(n: int) -> dict[str, Any]:
    return {f"/{i}": (200, HTML, PAGE) for i in range(n)}


def test_the_pages_of_one_outlet_share_one_connection() -> None:
    with FakeOutlet(pages(5), host="127.0.0.2", keep_alive=True) as outlet:
        fetcher = fetcher_for(outlet.host)
        results = [fetcher.fetch_page(outlet.url(f"/{i}")) for i in range(5)]
        assert [r.ok for r in results] == [True] * 5
        assert len(connections(outlet)) == 1
        assert "connection" not in outlet.requests[0].headers  # HTTP/1.1: persistent
        fetcher.close()


def test_each_outlet_and_each_address_has_connections_of_its_own() -> None:
    with (
        FakeOutlet(pages(2), host="127.0.0.2", keep_alive=True) as a,
        FakeOutlet(pages(2), host="127.0.0.3", keep_alive=True) as b,
    ):
        fetcher = fetcher_for(a.host, b.host)
        for path in ("/0", "/1"):
            assert fetcher.fetch_page(a.url(path)).ok
            assert fetcher.fetch_page(b.url(path)).ok
        assert len(connections(a)) == 1 and len(connections(b)) == 1
        assert {r.server[0] for r in a.requests} == {"127.0.0.2"}
        assert {r.server[0] for r in b.requests} == {"127.0.0.3"}


def test_a_server_that_closes_each_connection_gets_a_new_one_each_time() -> None:
    with FakeOutlet(pages(3), host="127.0.0.2") as outlet:  # answers "Connection: close"
        fetcher = fetcher_for(outlet.host)
        assert all(fetcher.fetch_page(outlet.url(f"/{i}")).ok for i in range(3))
        assert len(connections(outlet)) == 3


def test_keep_alive_off_asks_the_server_to_close() -> None:
    with FakeOutlet(pages(3), host="127.0.0.2", keep_alive=True) as outlet:
        fetcher = fetcher_for(outlet.host, keep_alive_s=0)
        assert all(fetcher.fetch_page(outlet.url(f"/{i}")).ok for i in range(3))
        assert [r.headers.get("connection") for r in outlet.requests] == ["close"] * 3
        assert len(connections(outlet)) == 3


def test_a_connection_idle_longer_than_keep_alive_is_not_reused() -> None:
    with FakeOutlet(pages(2), host="127.0.0.2", keep_alive=True) as outlet:
        now = [1000.0]
        fetcher = SafeFetcher(
            FetchConfig(
                respect_robots=False, allowed_hosts=frozenset({outlet.host}), keep_alive_s=5.0
            ),
            clock=lambda: now[0],
        )
        assert fetcher.fetch_page(outlet.url("/0")).ok
        now[0] += 6.0
        assert fetcher.fetch_page(outlet.url("/1")).ok
        assert len(connections(outlet)) == 2


def test_a_connection_the_server_closed_while_idle_is_left_alone() -> None:
    with FakeOutlet(pages(2), host="127.0.0.2", keep_alive=True, idle_timeout=0.1) as outlet:
        fetcher = fetcher_for(outlet.host)
        assert fetcher.fetch_page(outlet.url("/0")).ok
        time.sleep(0.4)  # the outlet closes the idle connection after 0.1 s
        second = fetcher.fetch_page(outlet.url("/1"))
        assert second.ok, second
        assert len(connections(outlet)) == 2
        assert outlet.hits["/1"] == 1  # asked once: the closed one was never written to


def test_a_connection_closed_just_as_it_is_reused_is_asked_again_on_a_new_one() -> None:
    answered: set[tuple[str, int]] = set()

    def once_per_connection(request: Request, writer: Writer) -> Response | None:
        if request.client in answered:
            return None  # the outlet drops the connection without an answer
        answered.add(request.client)
        return Response(200, HTML, PAGE)

    with FakeOutlet({"/": once_per_connection}, host="127.0.0.2", keep_alive=True) as outlet:
        fetcher = fetcher_for(outlet.host)
        assert fetcher.fetch_page(outlet.url("/")).ok
        second = fetcher.fetch_page(outlet.url("/"))
        assert second.ok, second
        assert len(outlet.requests) == 3 and len(connections(outlet)) == 2


def test_a_reused_connection_that_hangs_still_ends_at_the_deadline() -> None:
    answered: set[tuple[str, int]] = set()

    def hang_the_second_time(request: Request, writer: Writer) -> Response | None:
        if request.client in answered:
            request.stopping.wait(10)
            return None
        answered.add(request.client)
        return Response(200, HTML, PAGE)

    with FakeOutlet({"/": hang_the_second_time}, host="127.0.0.2", keep_alive=True) as outlet:
        fetcher = fetcher_for(outlet.host, total_timeout=0.5)
        assert fetcher.fetch_page(outlet.url("/")).ok
        started = time.monotonic()
        second = fetcher.fetch_page(outlet.url("/"))
        assert not second.ok and second.reason == "timeout", second
        assert time.monotonic() - started < 2.0
        assert len(connections(outlet)) == 1


def test_only_a_response_read_to_its_end_leaves_its_connection_open() -> None:
    routes = {"/old": redirect("/0"), "/gone": (404, HTML, "gone"), **pages(2)}
    with FakeOutlet(routes, host="127.0.0.2", keep_alive=True) as outlet:
        fetcher = fetcher_for(outlet.host)
        assert fetcher.fetch_page(outlet.url("/old")).ok  # redirect, then /0
        assert fetcher.fetch_page(outlet.url("/1")).ok
        assert fetcher.fetch_page(outlet.url("/gone")).reason == "http_404"
        assert fetcher.fetch_page(outlet.url("/0")).ok
        by_path = {r.path: r.client for r in outlet.requests}
        # The redirect's body was never read: its connection closed. /0 opened the one
        # /1 and /gone reused; a 404's body is not read either, so /0 needed a new one.
        assert by_path["/old"] != by_path["/1"]
        assert by_path["/1"] == by_path["/gone"] != outlet.requests[-1].client
        assert len(connections(outlet)) == 3


def test_every_request_passes_the_address_guard_before_a_connection_is_reused() -> None:
    with (
        FakeOutlet({"/": (200, HTML, PAGE)}, host="127.0.0.2", keep_alive=True) as good,
        FakeOutlet({"/": (200, HTML, "<p>x</p>")}, host="127.0.0.3", port=good.port) as evil,
    ):
        answers = iter([["127.0.0.2"], ["127.0.0.3"], ["127.0.0.2"]])
        fetcher = SafeFetcher(
            FetchConfig(respect_robots=False, allowed_hosts=frozenset({"127.0.0.2"})),
            resolver=lambda host, port: next(answers),
        )
        url = f"http://news.test:{good.port}/"
        assert fetcher.fetch_page(url).ok
        refused = fetcher.fetch_page(url)  # now the name points at a blocked address
        assert refused.reason == "blocked_address"
        assert fetcher.fetch_page(url).ok  # the checked address again: the kept connection
        assert good.hits["/"] == 2 and evil.total_hits == 0
        assert len(connections(good)) == 1


def test_closing_the_fetcher_closes_its_idle_connections() -> None:
    with FakeOutlet(pages(1), host="127.0.0.2", keep_alive=True) as outlet:
        fetcher = fetcher_for(outlet.host)
        assert fetcher.fetch_page(outlet.url("/0")).ok
        idle: IdleConnections[Any] = fetcher._idle
        assert len(idle) == 1
        fetcher.close()
        assert len(idle) == 0


def test_a_tls_connection_serves_only_the_name_its_certificate_was_checked_for(
    tmp_path: pathlib.Path,
) -> None:
    made = tls_server_context(str(tmp_path), "news.test")
    if made is None:
        pytest.skip("openssl CLI not available")
    context, cert = made
    with FakeOutlet(pages(2), host="127.0.0.2", tls=context, keep_alive=True) as outlet:
        fetcher = SafeFetcher(
            FetchConfig(respect_robots=False, allowed_hosts=frozenset({"127.0.0.2"}), ca_file=cert),
            resolver=lambda host, port: ["127.0.0.2"],
        )
        assert fetcher.fetch_page(f"https://news.test:{outlet.port}/0").ok
        assert fetcher.fetch_page(f"https://news.test:{outlet.port}/1").ok
        assert len(connections(outlet)) == 1
        # Same address, another name: a handshake of its own, which the certificate fails.
        other = fetcher.fetch_page(f"https://other.test:{outlet.port}/0")
        assert other.reason == "tls_error", other
        assert len(outlet.requests) == 2


def test_bytes_past_the_end_of_an_answer_are_never_read_as_the_next_answer() -> None:
    """An outlet that sends a forged second answer after the one asked for: it never
    becomes the next page, whether the connection is then found readable while idle
    (closed) or reused and closed by the outlet (asked again on a new one)."""
    smuggled = (
        b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 15\r\n\r\n<p>forged</p>\r\n"
    )

    def overlong(request: Request, writer: Writer) -> Response | None:
        body = PAGE.encode()
        head = f"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {len(body)}\r\n\r\n"
        writer.raw(head.encode() + body + smuggled)
        request.stopping.wait(0.3)  # keep the connection open a while, then close it
        return None

    routes = {"/long": overlong, "/next": (200, HTML, PAGE)}
    with FakeOutlet(routes, host="127.0.0.2", keep_alive=True) as outlet:
        fetcher = fetcher_for(outlet.host)
        first = fetcher.fetch_page(outlet.url("/long"))
        assert first.ok and first.text == PAGE
        second = fetcher.fetch_page(outlet.url("/next"))
        assert second.ok and second.text == PAGE, second
        assert outlet.hits["/next"] == 1
        assert len(connections(outlet)) == 2


def test_the_fetcher_counts_connections_opened_and_requests_on_kept_ones() -> None:
    with FakeOutlet(pages(4), host="127.0.0.2", keep_alive=True) as outlet:
        fetcher = fetcher_for(outlet.host)
        assert all(fetcher.fetch_page(outlet.url(f"/{i}")).ok for i in range(4))
        counts = fetcher.connection_counts()
        assert (counts.opened, counts.reused) == (1, 3)


def test_fetch_article_reports_the_connection_counts_as_beam_counters() -> None:
    import apache_beam as beam
    from apache_beam.metrics.metric import MetricsFilter
    from apache_beam.runners.portability.fn_api_runner import FnApiRunner

    from wiredesk.schemas.records import FeedEntry
    from wiredesk.transforms.common.metrics import (
        HTTP_CONNECTIONS_OPENED,
        HTTP_REQUESTS_ON_KEPT_CONNECTIONS,
        NAMESPACE,
    )
    from wiredesk.transforms.fetch.stage import FetchArticle
    from wiredesk.transforms.fetch.stage_fetcher import FetchSettings

    with FakeOutlet(pages(30), host="127.0.0.2", keep_alive=True) as outlet:
        entries = [
            FeedEntry(url=outlet.url(f"/{i}"), feed_url=outlet.url("/feed"), url_key=str(i))
            for i in range(30)
        ]
        settings = FetchSettings(allowed_hosts=frozenset({outlet.host}), respect_robots=False)
        pipeline = beam.Pipeline(runner=FnApiRunner())
        _ = pipeline | beam.Create(entries) | FetchArticle(settings=settings)
        result = pipeline.run()
        result.wait_until_finish()
        counters = {
            c.key.metric.name: c.committed
            for c in result.metrics().query(MetricsFilter().with_namespace(NAMESPACE))["counters"]
        }
    opened = counters[HTTP_CONNECTIONS_OPENED]
    assert 1 <= opened <= 2  # the per-host limit: at most two at once
    assert opened + counters[HTTP_REQUESTS_ON_KEPT_CONNECTIONS] == 30
    assert len(connections(outlet)) == opened
