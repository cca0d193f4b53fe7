"""End-to-end tests of SafeFetcher against loopback fake outlets (never beyond 127/8, ::1).

Blocked requests are proven not to arrive: a counting outlet listens where the
request would have gone and must see zero hits.
"""

from __future__ import annotations

import email.utils
import gzip
import pathlib
import socket
import threading
import time
import tracemalloc
import zlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import brotli
import pytest

from tests.support.httpfakes import (
    FakeOutlet,
    Request,
    Response,
    Writer,
    drip,
    endless_chunked,
    hang,
    ipv6_loopback_available,
    redirect,
    slow,
    tls_server_context,
)
from wiredesk.schemas.records import Reject
from wiredesk.transforms.fetch.http_client import (
    DEFAULT_USER_AGENT,
    FetchConfig,
    FetchResult,
    SafeFetcher,
    parse_retry_after,
)
from wiredesk.transforms.fetch.politeness import Politeness, Refused, Slot

HTML = {"Content-Type": "text/html; charset=utf-8"}
PAGE = "<html><head><title>Story</title></head><body><p>Text é</p></body></html>"
MiB = 1024 * 1024


def config(**overrides: object) -> FetchConfig:
    """Fast defaults for tests: small deadlines, robots off unless a test wants it."""
    base: dict[str, Any] = {
        "connect_timeout": 1.0,
        "total_timeout": 1.0,
        "respect_robots": False,
        "max_bytes": 1 * MiB,
    }
    base.update(overrides)
    return FetchConfig(**base)


@pytest.fixture
def outlet() -> Iterator[FakeOutlet]:
    with FakeOutlet({"/": (200, HTML, PAGE)}, host="127.0.0.2") as o:
        yield o


@pytest.fixture
def counting() -> Iterator[FakeOutlet]:
    """Listens on 127.0.0.1: where every loopback spelling would land."""
    with FakeOutlet({"/": (200, HTML, PAGE)}, host="127.0.0.1") as o:
        yield o


def allow(o: FakeOutlet, **overrides: object) -> SafeFetcher:
    return SafeFetcher(config(allowed_hosts=frozenset({o.host}), **overrides))


def assert_reject(result: FetchResult, reason: str) -> None:
    assert not result.ok, result
    assert result.reason == reason, (result.reason, result.detail)


# -- the address guard ---------------------------------------------------------------


@pytest.mark.parametrize(
    "spelling",
    [
        "127.0.0.1",
        "localhost",
        "localhost.",
        "LocalHost",
        "2130706433",
        "0x7f000001",
        "0x7f.0.0.1",
        "0177.0.0.1",
        "127.1",
        "[::ffff:127.0.0.1]",
        "[::ffff:7f00:1]",
        "evil.example@127.0.0.1",
        "%31%32%37.0.0.1",
    ],
)
def test_default_config_blocks_loopback_spellings(counting: FakeOutlet, spelling: str) -> None:
    fetcher = SafeFetcher(config())
    result = fetcher.fetch_page(f"http://{spelling}:{counting.port}/")
    assert_reject(result, "blocked_address")
    assert counting.total_hits == 0


@pytest.mark.skipif(not ipv6_loopback_available(), reason="no IPv6 loopback here")
def test_default_config_blocks_ipv6_loopback() -> None:
    with FakeOutlet({"/": (200, HTML, PAGE)}, host="::1") as v6:
        result = SafeFetcher(config()).fetch_page(v6.url("/"))
        assert_reject(result, "blocked_address")
        assert v6.total_hits == 0
        allowed = SafeFetcher(config(allow_private=True)).fetch_page(v6.url("/"))
        assert allowed.ok and allowed.ip == "::1"
        assert v6.total_hits == 1


def test_name_resolving_to_private_is_blocked_before_connecting(counting: FakeOutlet) -> None:
    answers = {
        "intranet.test": ["10.0.0.7"],
        "meta.test": ["169.254.169.254"],
        "lo.test": ["127.0.0.1"],
    }
    fetcher = SafeFetcher(config(), resolver=lambda host, port: answers[host])
    for host in answers:
        result = fetcher.fetch_page(f"http://{host}:{counting.port}/")
        assert_reject(result, "blocked_address")
        assert host in result.detail
    assert counting.total_hits == 0


def test_one_private_answer_among_public_ones_blocks(counting: FakeOutlet) -> None:
    fetcher = SafeFetcher(config(), resolver=lambda host, port: ["93.184.215.14", "127.0.0.1"])
    assert_reject(fetcher.fetch_page(f"http://mixed.test:{counting.port}/"), "blocked_address")
    assert counting.total_hits == 0


def test_allow_private_and_allowed_hosts(outlet: FakeOutlet) -> None:
    assert SafeFetcher(config(allow_private=True)).fetch_page(outlet.url()).ok
    assert allow(outlet).fetch_page(outlet.url()).ok
    other = SafeFetcher(config(allowed_hosts=frozenset({"127.0.0.9"}))).fetch_page(outlet.url())
    assert_reject(other, "blocked_address")
    assert outlet.hits["/"] == 2


def test_redirect_to_blocked_host_is_refused_at_the_hop(outlet: FakeOutlet) -> None:
    with FakeOutlet({"/": (200, HTML, PAGE)}, host="127.0.0.3") as target:
        outlet.routes["/go"] = redirect(target.url("/"))
        outlet.routes["/go-local"] = redirect(f"http://localhost:{target.port}/")
        outlet.routes["/go-decimal"] = redirect(f"http://2130706435:{target.port}/")
        outlet.routes["/go-file"] = redirect("file:///etc/passwd")
        fetcher = allow(outlet)
        for path in ("/go", "/go-local", "/go-decimal"):
            result = fetcher.fetch_page(outlet.url(path))
            assert_reject(result, "blocked_address")
            assert result.redirects == (outlet.url(path),)
        assert_reject(fetcher.fetch_page(outlet.url("/go-file")), "bad_url")
        assert target.total_hits == 0


def test_dns_rebinding_cannot_move_the_connection() -> None:
    """The resolver flips answers on every call; the socket goes to the checked one."""
    with (
        FakeOutlet({"/": (200, HTML, PAGE)}, host="127.0.0.2") as good,
        FakeOutlet({"/": (200, HTML, "<p>attacker</p>")}, host="127.0.0.3", port=good.port) as evil,
    ):
        calls: list[str] = []

        def flipping(host: str, port: int) -> list[str]:
            calls.append(host)
            return ["127.0.0.2"] if len(calls) % 2 == 1 else ["127.0.0.3"]

        fetcher = SafeFetcher(config(allowed_hosts=frozenset({"127.0.0.2"})), resolver=flipping)
        result = fetcher.fetch_page(f"http://news.test:{good.port}/")
        assert result.ok, result
        assert result.ip == "127.0.0.2"
        assert calls == ["news.test"]  # resolved once: no second lookup at connect
        assert good.hits["/"] == 1 and evil.total_hits == 0
        assert good.requests[0].headers["host"] == f"news.test:{good.port}"
        assert good.requests[0].server[0] == "127.0.0.2"
        # The next lookup answers the blocked address: refused, still never contacted.
        assert_reject(fetcher.fetch_page(f"http://news.test:{good.port}/"), "blocked_address")
        assert evil.total_hits == 0


def test_connect_never_looks_names_up_again(
    outlet: FakeOutlet, monkeypatch: pytest.MonkeyPatch
) -> None:
    fetcher = SafeFetcher(
        config(allowed_hosts=frozenset({"127.0.0.2"})), resolver=lambda h, p: ["127.0.0.2"]
    )

    def no_dns(*args: object, **kwargs: object) -> list[object]:
        raise AssertionError("getaddrinfo called after the check")

    monkeypatch.setattr(socket, "getaddrinfo", no_dns)
    assert fetcher.fetch_page(f"http://site.test:{outlet.port}/").ok


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("file:///etc/passwd", "bad_url"),
        ("ftp://127.0.0.2/x", "bad_url"),
        ("javascript:alert(1)", "bad_url"),
        ("data:text/html,<p>x</p>", "bad_url"),
        ("http://[::1/", "bad_url"),
        ("not a url", "bad_url"),
    ],
)
def test_bad_urls(url: str, reason: str) -> None:
    assert_reject(SafeFetcher(config()).fetch_page(url), reason)


def test_resolver_failures() -> None:
    def broken(host: str, port: int) -> list[str]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    assert_reject(SafeFetcher(config(), resolver=broken).fetch_page("http://x.test/"), "dns_error")
    assert_reject(
        SafeFetcher(config(), resolver=lambda h, p: []).fetch_page("http://x.test/"), "dns_error"
    )
    # A resolver must answer addresses: a name would be looked up again at connect.
    names = SafeFetcher(config(allow_private=True), resolver=lambda h, p: ["localhost"])
    assert_reject(names.fetch_page("http://x.test/"), "dns_error")

    release = threading.Event()

    def stuck(host: str, port: int) -> list[str]:
        release.wait(5)
        return ["127.0.0.2"]

    try:
        assert_reject(SafeFetcher(config(), resolver=stuck).fetch_page("http://x.test/"), "timeout")
    finally:
        release.set()


def test_unexpected_errors_become_rejects(outlet: FakeOutlet) -> None:
    def buggy(host: str, port: int) -> list[str]:
        return None  # type: ignore[return-value]  # a resolver breaking its contract

    assert_reject(SafeFetcher(config(), resolver=buggy).fetch_page("http://x.test/"), "dns_error")
    fetcher = allow(outlet, respect_robots=True)
    fetcher.__dict__["robots"] = None  # stands in for a bug inside the fetcher
    result = fetcher.fetch_page(outlet.url("/"))
    assert_reject(result, "connection_error")
    assert "unexpected AttributeError" in result.detail
    not_a_url: Any = 12345
    assert_reject(fetcher.fetch_page(not_a_url), "bad_url")


def test_connection_refused() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.2", 0))
        port = sock.getsockname()[1]  # bound, not listening: connect is refused
        result = SafeFetcher(config(allow_private=True)).fetch_page(f"http://127.0.0.2:{port}/")
    assert_reject(result, "connection_error")


# -- responses -------------------------------------------------------------------------


def test_ok_page_and_request_headers(outlet: FakeOutlet) -> None:
    result = allow(outlet).fetch_page(outlet.url("/?q=1"))
    assert result.ok and result.status == 200
    assert result.text == PAGE and result.encoding == "utf-8"
    assert result.headers["content-type"] == "text/html; charset=utf-8"
    sent = outlet.requests[0]
    assert sent.target == "/?q=1"
    assert sent.headers["user-agent"] == DEFAULT_USER_AGENT
    assert "gzip" in sent.headers["accept-encoding"]


def test_http_error_status(outlet: FakeOutlet) -> None:
    result = allow(outlet).fetch_page(outlet.url("/missing"))
    assert_reject(result, "http_404")
    assert result.status == 404
    reject = result.to_reject(feed_url="http://feed")
    assert isinstance(reject, Reject)
    assert (reject.stage, reject.reason) == ("fetch", "http_404")
    outlet.routes["/boom"] = (500, {}, "oops")
    assert_reject(allow(outlet).fetch_page(outlet.url("/boom")), "http_500")


def test_redirects_relative_and_all_codes(outlet: FakeOutlet) -> None:
    outlet.routes.update(
        {
            "/a/301": redirect("302", 301),
            "/a/302": redirect("../b/303", 302),
            "/b/303": redirect("/b/307", 303),
            "/b/307": redirect(f"//{outlet.netloc}/b/308", 307),
            "/b/308": redirect(outlet.url("/"), 308),
        }
    )
    result = allow(outlet).fetch_page(outlet.url("/a/301"))
    assert result.ok, result
    assert result.final_url == outlet.url("/")
    assert len(result.redirects) == 5


def test_redirect_loop_and_long_chain(outlet: FakeOutlet) -> None:
    outlet.routes["/loop-a"] = redirect("/loop-b")
    outlet.routes["/loop-b"] = redirect("/loop-a")
    for i in range(30):
        outlet.routes[f"/hop/{i}"] = redirect(f"/hop/{i + 1}")
    outlet.routes["/hop/30"] = (200, HTML, PAGE)
    fetcher = allow(outlet)
    assert_reject(fetcher.fetch_page(outlet.url("/loop-a")), "too_many_redirects")
    assert outlet.hits["/loop-a"] + outlet.hits["/loop-b"] == 6  # 1 + max_redirects
    assert_reject(fetcher.fetch_page(outlet.url("/hop/0")), "too_many_redirects")
    assert outlet.hits["/hop/6"] == 0 and outlet.hits["/hop/30"] == 0


def test_not_html(outlet: FakeOutlet) -> None:
    pdf = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj <<>> endobj\n" + b"\x00" * 100
    outlet.routes["/pdf"] = (200, {"Content-Type": "text/html"}, pdf)
    outlet.routes["/png"] = (
        200,
        {"Content-Type": "text/html"},
        b"\x89PNG\r\n\x1a\n" + b"\x00" * 64,
    )
    outlet.routes["/image"] = (200, {"Content-Type": "image/jpeg"}, b"\xff\xd8\xff\xe0")
    outlet.routes["/json"] = (200, {"Content-Type": "application/json"}, b"{}")
    outlet.routes["/untyped"] = (200, {}, PAGE.encode())
    fetcher = allow(outlet)
    for path in ("/pdf", "/png", "/image", "/json"):
        result = fetcher.fetch_page(outlet.url(path))
        assert_reject(result, "not_html")
        assert result.body == b""
    assert "pdf" in fetcher.fetch_page(outlet.url("/pdf")).detail
    assert fetcher.fetch_page(outlet.url("/untyped")).text == PAGE


def test_undecoded_pages_are_checked_but_left_as_bytes(outlet: FakeOutlet) -> None:
    # What the pipeline asks for: the extraction pass decodes (schemas/records.py).
    fetcher = allow(outlet)
    result = fetcher.fetch_page(outlet.url("/"), decode=False)
    assert result.ok and result.text is None and result.body == PAGE.encode()
    outlet.routes["/pdf"] = (200, {"Content-Type": "text/html"}, b"%PDF-1.4\n" + b"\x00" * 64)
    assert_reject(fetcher.fetch_page(outlet.url("/pdf"), decode=False), "not_html")
    # A paywall's 401 keeps its teaser's bytes, still not ok; a 401 with a PDF keeps none.
    outlet.routes["/401"] = (401, {"Content-Type": "text/html"}, PAGE)
    teaser = fetcher.fetch_page(outlet.url("/401"), decode=False)
    assert (teaser.ok, teaser.status, teaser.body, teaser.text) == (False, 401, PAGE.encode(), None)
    outlet.routes["/401pdf"] = (401, {"Content-Type": "application/pdf"}, b"%PDF-1.4")
    for decode in (True, False):
        refused = fetcher.fetch_page(outlet.url("/401pdf"), decode=decode)
        assert (refused.ok, refused.reason, refused.body) == (False, "http_401", b"")


@pytest.mark.parametrize(
    ("content_type", "body", "expected"),
    [
        (
            "text/html; charset=iso-8859-1",
            "<p>Café Müller</p>".encode("latin-1"),
            "<p>Café Müller</p>",
        ),
        (
            "text/html",
            '<meta charset="windows-1251"><p>Москва сообщает</p>'.encode("cp1251"),
            '<meta charset="windows-1251"><p>Москва сообщает</p>',
        ),
        ("text/html", PAGE.encode("utf-16-le"), PAGE),
        ("text/html; charset=utf-8", PAGE.encode("utf-16-be"), PAGE),
        (
            "text/html; charset=utf-8",
            "<p>Grüße aus Köln, Señor Müller, naïve café</p>".encode("cp1252"),
            "<p>Grüße aus Köln, Señor Müller, naïve café</p>",
        ),
        ("text/html; charset=iso-8859-1", PAGE.encode("utf-8"), PAGE),
    ],
)
def test_charsets_end_to_end(
    outlet: FakeOutlet, content_type: str, body: bytes, expected: str
) -> None:
    outlet.routes["/c"] = (200, {"Content-Type": content_type}, body)
    result = allow(outlet).fetch_page(outlet.url("/c"))
    assert result.ok, result
    assert result.text == expected


# -- size caps ---------------------------------------------------------------------------


def _bomb_routes(size: int) -> dict[str, tuple[int, dict[str, str], bytes]]:
    zeros = b"\0" * size
    gz = gzip.compress(zeros, 9)
    return {
        "/big": (200, HTML, b"<p>" + b"x" * size),
        "/gzip": (200, {**HTML, "Content-Encoding": "gzip"}, gz),
        "/deflate": (200, {**HTML, "Content-Encoding": "deflate"}, zlib.compress(zeros, 9)),
        "/br": (200, {**HTML, "Content-Encoding": "br"}, brotli.compress(zeros)),
        "/gzip-gzip": (200, {**HTML, "Content-Encoding": "gzip, gzip"}, gzip.compress(gz, 9)),
        "/gzip-br": (200, {**HTML, "Content-Encoding": "gzip, br"}, brotli.compress(gz)),
    }


def test_bombs_and_big_pages_are_too_large(outlet: FakeOutlet) -> None:
    routes = _bomb_routes(16 * MiB)  # 16x the 1 MiB cap of these tests
    outlet.routes.update(routes)
    fetcher = allow(outlet, total_timeout=10.0)
    for path in routes:
        result = fetcher.fetch_page(outlet.url(path))
        assert_reject(result, "too_large")
        assert result.body == b""


def test_bomb_is_never_inflated_in_memory(outlet: FakeOutlet) -> None:
    """The cap holds while reading: a 64 MiB gzip bomb never becomes 64 MiB in memory."""
    outlet.routes["/bomb"] = (
        200,
        {**HTML, "Content-Encoding": "gzip"},
        gzip.compress(b"\0" * (64 * MiB), 9),
    )
    fetcher = allow(outlet, total_timeout=10.0)
    tracemalloc.start()
    try:
        result = fetcher.fetch_page(outlet.url("/bomb"))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert_reject(result, "too_large")
    assert peak < 8 * MiB, peak  # the cap is 1 MiB; the inflated body would be 64


def test_small_compressed_pages_decode(outlet: FakeOutlet) -> None:
    for encoding, data in (
        ("gzip", gzip.compress(PAGE.encode())),
        ("deflate", zlib.compress(PAGE.encode())),
        ("br", brotli.compress(PAGE.encode())),
        ("gzip, br", brotli.compress(gzip.compress(PAGE.encode()))),
    ):
        outlet.routes["/z"] = (200, {**HTML, "Content-Encoding": encoding}, data)
        assert allow(outlet).fetch_page(outlet.url("/z")).text == PAGE, encoding


def test_too_many_stacked_encodings_and_broken_gzip(outlet: FakeOutlet) -> None:
    data = PAGE.encode()
    for _ in range(7):
        data = gzip.compress(data)
    outlet.routes["/deep"] = (200, {**HTML, "Content-Encoding": ", ".join(["gzip"] * 7)}, data)
    outlet.routes["/broken"] = (200, {**HTML, "Content-Encoding": "gzip"}, b"\x1f\x8b\x08garbage")
    fetcher = allow(outlet)
    assert_reject(fetcher.fetch_page(outlet.url("/deep")), "bad_encoding")
    assert_reject(fetcher.fetch_page(outlet.url("/broken")), "bad_encoding")


def test_lying_content_length(outlet: FakeOutlet) -> None:
    def understated(request: Request, writer: Writer) -> None:
        writer.status(200, [*HTML.items(), ("Content-Length", "100")])
        writer.write(b"<p>" + b"y" * (3 * MiB))

    def overstated(request: Request, writer: Writer) -> None:
        writer.status(200, [*HTML.items(), ("Content-Length", str(10 * 1024 * MiB))])
        writer.write(b"<p>short</p>")

    def overstated_small(request: Request, writer: Writer) -> None:
        writer.status(200, [*HTML.items(), ("Content-Length", "5000")])
        writer.write(b"<p>short</p>")

    outlet.routes.update({"/under": understated, "/over": overstated, "/short": overstated_small})
    fetcher = allow(outlet, total_timeout=5.0)
    under = fetcher.fetch_page(outlet.url("/under"))
    assert under.ok and len(under.text or "") == 100  # never reads past what was declared
    assert_reject(fetcher.fetch_page(outlet.url("/over")), "too_large")  # before reading
    assert_reject(fetcher.fetch_page(outlet.url("/short")), "connection_error")


def test_endless_chunked_and_unframed_bodies(outlet: FakeOutlet) -> None:
    def unframed(request: Request, writer: Writer) -> None:
        writer.status(200, list(HTML.items()))  # no length: body ends at close, never
        while not request.stopping.is_set():
            try:
                writer.write(b"z" * 65536)
            except OSError:
                return

    outlet.routes["/chunked"] = endless_chunked()
    outlet.routes["/unframed"] = unframed
    fetcher = allow(outlet, total_timeout=10.0)
    assert_reject(fetcher.fetch_page(outlet.url("/chunked")), "too_large")
    assert_reject(fetcher.fetch_page(outlet.url("/unframed")), "too_large")


# -- deadlines ---------------------------------------------------------------------------


def test_slow_drip_and_silent_servers_time_out(outlet: FakeOutlet) -> None:
    def header_drip(request: Request, writer: Writer) -> None:
        for byte in b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n":
            if request.stopping.wait(0.3):
                return
            writer.raw(bytes([byte]))

    outlet.routes.update(
        {"/drip": drip(b"<p>" * 50, interval=0.3), "/hang": hang(), "/hdrip": header_drip}
    )
    fetcher = allow(outlet, total_timeout=1.0)
    for path in ("/drip", "/hang", "/hdrip"):
        result = fetcher.fetch_page(outlet.url(path))
        assert_reject(result, "timeout")


def test_deadline_covers_all_redirect_hops(outlet: FakeOutlet) -> None:
    outlet.routes["/slow-redirect"] = slow(redirect("/slow-redirect-2"), 0.6)
    outlet.routes["/slow-redirect-2"] = slow((200, HTML, PAGE), 0.6)
    assert_reject(
        allow(outlet, total_timeout=1.0).fetch_page(outlet.url("/slow-redirect")), "timeout"
    )


# -- politeness ----------------------------------------------------------------------------


def test_retry_after_seconds_closes_the_host(outlet: FakeOutlet) -> None:
    outlet.routes["/limited"] = (429, {"Retry-After": "120"}, "slow down")
    fetcher = allow(outlet)
    first = fetcher.fetch_page(outlet.url("/limited"))
    assert_reject(first, "http_429")
    assert first.retry_after == 120.0
    second = fetcher.fetch_page(outlet.url("/"))
    assert_reject(second, "rate_limited")
    assert second.retry_after is not None and 100 < second.retry_after <= 120
    assert outlet.hits["/"] == 0 and outlet.total_hits == 1


def test_retry_after_http_date_on_503(outlet: FakeOutlet) -> None:
    when = email.utils.formatdate(time.time() + 300, usegmt=True)
    outlet.routes["/down"] = (503, {"Retry-After": when}, "maintenance")
    fetcher = allow(outlet)
    first = fetcher.fetch_page(outlet.url("/down"))
    assert_reject(first, "http_503")
    assert first.retry_after is not None and 250 < first.retry_after <= 300
    assert_reject(fetcher.fetch_feed(outlet.url("/")), "rate_limited")
    assert outlet.total_hits == 1


def test_short_retry_after_waits_instead_of_failing(outlet: FakeOutlet) -> None:
    outlet.routes["/limited"] = (429, {"Retry-After": "1"}, "")
    fetcher = allow(outlet, max_wait=5.0)
    assert_reject(fetcher.fetch_page(outlet.url("/limited")), "http_429")
    assert fetcher.fetch_page(outlet.url("/")).ok
    first, second = outlet.requests
    assert second.at - first.at >= 0.9  # nothing was sent inside the window


def test_parse_retry_after() -> None:
    import datetime as dt

    now = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    assert parse_retry_after("42") == 42.0
    assert parse_retry_after("Mon, 01 Jan 2024 00:02:00 GMT", now=now) == 120.0
    assert parse_retry_after("Sun, 31 Dec 2023 00:00:00 GMT", now=now) == 0.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after("-5") is None
    assert parse_retry_after(None) is None


def test_per_host_concurrency_never_exceeded(outlet: FakeOutlet) -> None:
    outlet.routes["/slow"] = slow((200, HTML, PAGE), 0.15)
    fetcher = allow(outlet, per_host_concurrency=2, total_timeout=10.0, max_wait=30.0)
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(fetcher.fetch_page, [outlet.url("/slow")] * 12))
    assert all(r.ok for r in results), [r.reason for r in results if not r.ok]
    assert outlet.max_in_flight == 2
    assert fetcher.politeness.in_flight(outlet.host) == 0


def test_a_stuck_host_does_not_block_another() -> None:
    gate = threading.Event()

    def gated(request: Request, writer: Writer) -> Response:
        gate.wait(5)
        return Response(200, HTML, PAGE)

    with (
        FakeOutlet({"/": gated}, host="127.0.0.2") as stuck,
        FakeOutlet({"/": (200, HTML, PAGE)}, host="127.0.0.3") as fine,
    ):
        fetcher = SafeFetcher(
            config(allow_private=True, per_host_concurrency=1, total_timeout=10.0)
        )
        with ThreadPoolExecutor(max_workers=2) as pool:
            pending = pool.submit(fetcher.fetch_page, stuck.url("/"))
            while stuck.in_flight == 0:
                time.sleep(0.01)
            assert fetcher.fetch_page(fine.url("/")).ok
            assert stuck.in_flight == 1 and not pending.done()
            gate.set()
            assert pending.result().ok


def test_per_host_delay_spaces_requests(outlet: FakeOutlet) -> None:
    fetcher = allow(outlet, per_host_delay=0.2)
    granted: list[float] = []
    acquire = fetcher.politeness.acquire

    def timed_acquire(host: str) -> Any:
        slot = acquire(host)
        granted.append(time.monotonic())  # when the request may go out
        return slot

    fetcher.politeness.acquire = timed_acquire  # type: ignore[method-assign]
    for _ in range(3):
        assert fetcher.fetch_page(outlet.url("/")).ok
    page_starts = granted[-3:]  # robots.txt's own request comes first
    # Measured where the rule is enforced: server-side arrival times also carry
    # the machine's scheduling jitter, which flaked under load.
    assert all(b - a >= 0.199 for a, b in zip(page_starts, page_starts[1:], strict=False))
    assert len(outlet.requests) >= 3


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_politeness_delay_and_retry_after_with_fake_clock() -> None:
    clock = FakeClock()
    gate = Politeness(concurrency=4, delay=2.0, max_wait=10.0, clock=clock, sleep=clock.sleep)
    slots = [gate.acquire("a.test") for _ in range(3)]
    assert all(isinstance(s, Slot) for s in slots)
    assert clock.slept == [2.0, 2.0]  # starts reserved 2 s apart
    assert isinstance(gate.acquire("b.test"), Slot)  # another host: no wait
    assert clock.slept == [2.0, 2.0]
    gate.note_retry_after("a.test", 30.0)
    refused = gate.acquire("a.test")
    assert isinstance(refused, Refused) and refused.why == "retry_after"
    assert refused.wait == pytest.approx(30.0)
    gate.note_retry_after("b.test", 5.0)
    assert isinstance(gate.acquire("b.test"), Slot)  # short window: waits it out
    assert clock.slept[-1] == pytest.approx(5.0)
    gate.set_delay("c.test", 20.0)  # crawl-delay above max_wait
    assert isinstance(gate.acquire("c.test"), Slot)
    assert isinstance(gate.acquire("c.test"), Refused)


def test_politeness_concurrency_refuses_after_max_wait() -> None:
    gate = Politeness(concurrency=1, max_wait=0.05)
    slot = gate.acquire("a.test")
    assert isinstance(slot, Slot)
    with slot:
        busy = gate.acquire("a.test")
        assert isinstance(busy, Refused) and busy.why == "busy"
    assert isinstance(gate.acquire("a.test"), Slot)


# -- feeds -----------------------------------------------------------------------------------


def test_feed_conditional_get(outlet: FakeOutlet) -> None:
    rss = b"<?xml version='1.0'?><rss version='2.0'><channel><title>t</title></channel></rss>"

    def conditional(request: Request, writer: Writer) -> Response:
        if request.headers.get("if-none-match") == '"v1"':
            return Response(304, {"ETag": '"v1"'}, b"")
        if request.headers.get("if-modified-since") == "Mon, 01 Jan 2024 00:00:00 GMT":
            return Response(304, {}, b"")
        return Response(200, {"Content-Type": "application/rss+xml", "ETag": '"v1"'}, rss)

    outlet.routes["/feed"] = conditional
    outlet.routes["/json"] = (200, {"Content-Type": "application/feed+json"}, b'{"items": []}')
    outlet.routes["/img"] = (200, {"Content-Type": "image/png"}, b"\x89PNG\r\n\x1a\n")
    fetcher = allow(outlet)
    fresh = fetcher.fetch_feed(outlet.url("/feed"))
    assert fresh.ok and fresh.body == rss and fresh.headers["etag"] == '"v1"'
    again = fetcher.fetch_feed(outlet.url("/feed"), etag='"v1"')
    assert again.ok and again.not_modified and again.status == 304 and again.body == b""
    dated = fetcher.fetch_feed(outlet.url("/feed"), last_modified="Mon, 01 Jan 2024 00:00:00 GMT")
    assert dated.not_modified
    assert fetcher.fetch_feed(outlet.url("/json")).body == b'{"items": []}'
    assert_reject(fetcher.fetch_feed(outlet.url("/img")), "parse_error")
    assert outlet.requests[1].headers["if-none-match"] == '"v1"'


# -- TLS -------------------------------------------------------------------------------------


@pytest.fixture
def tls_outlet(tmp_path: pathlib.Path) -> Iterator[tuple[FakeOutlet, str]]:
    made = tls_server_context(str(tmp_path), "news.test")
    if made is None:
        pytest.skip("openssl CLI not available")
    context, cert = made
    with FakeOutlet({"/": (200, HTML, PAGE)}, host="127.0.0.2", tls=context) as o:
        yield o, cert


def test_https_verifies_the_name_while_connecting_to_the_checked_ip(
    tls_outlet: tuple[FakeOutlet, str],
) -> None:
    outlet, cert = tls_outlet
    resolver = {"news.test": ["127.0.0.2"], "other.test": ["127.0.0.2"]}
    trusted = SafeFetcher(
        config(allowed_hosts=frozenset({"127.0.0.2"}), ca_file=cert),
        resolver=lambda host, port: resolver[host],
    )
    result = trusted.fetch_page(f"https://news.test:{outlet.port}/")
    assert result.ok, result
    assert result.ip == "127.0.0.2" and result.final_url == f"https://news.test:{outlet.port}/"
    assert outlet.requests[0].headers["host"] == f"news.test:{outlet.port}"
    # The certificate names news.test, not other.test: refused before any request.
    assert_reject(trusted.fetch_page(f"https://other.test:{outlet.port}/"), "tls_error")
    # Without the CA the self-signed certificate is refused.
    untrusted = SafeFetcher(
        config(allowed_hosts=frozenset({"127.0.0.2"})), resolver=lambda host, port: resolver[host]
    )
    assert_reject(untrusted.fetch_page(f"https://news.test:{outlet.port}/"), "tls_error")
    assert outlet.total_hits == 1
