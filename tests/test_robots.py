"""robots.txt handling (RFC 9309) end to end on loopback, and the cache alone."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.httpfakes import FakeOutlet, hang, redirect
from wiredesk.transforms.fetch.http_client import FetchConfig, FetchResult, SafeFetcher
from wiredesk.transforms.fetch.robots import RobotsCache, robots_token

HTML = {"Content-Type": "text/html"}
PAGE = "<html><body><p>story</p></body></html>"


@pytest.fixture
def outlet() -> Iterator[FakeOutlet]:
    routes = {"/": (200, HTML, PAGE), "/news/1": (200, HTML, PAGE), "/private/1": (200, HTML, PAGE)}
    with FakeOutlet(routes, host="127.0.0.2") as o:
        yield o


def fetcher_for(o: FakeOutlet, **overrides: object) -> SafeFetcher:
    settings: dict[str, Any] = {
        "allowed_hosts": frozenset({o.host}),
        "connect_timeout": 1.0,
        "total_timeout": 1.0,
    }
    settings.update(overrides)
    return SafeFetcher(FetchConfig(**settings))


def robots(o: FakeOutlet, text: str | bytes, status: int = 200) -> None:
    o.routes["/robots.txt"] = (status, {"Content-Type": "text/plain"}, text)


def test_disallow_is_honoured_and_page_never_requested(outlet: FakeOutlet) -> None:
    robots(outlet, "User-agent: *\nDisallow: /private\n")
    fetcher = fetcher_for(outlet)
    blocked = fetcher.fetch_page(outlet.url("/private/1"))
    assert not blocked.ok and blocked.reason == "robots_disallowed"
    assert outlet.hits["/private/1"] == 0
    assert fetcher.fetch_page(outlet.url("/news/1")).ok
    assert outlet.requests[0].path == "/robots.txt"
    assert outlet.requests[0].headers["user-agent"].startswith("wiredesk/")


def test_group_for_our_token_wins(outlet: FakeOutlet) -> None:
    robots(
        outlet,
        "User-agent: *\nAllow: /\n\nUser-agent: wiredesk\nDisallow: /news\n\n"
        "User-agent: github\nDisallow: /\n",  # 'github' appears in our UA's URL, not its token
    )
    fetcher = fetcher_for(outlet)
    assert fetcher.fetch_page(outlet.url("/news/1")).reason == "robots_disallowed"
    assert fetcher.fetch_page(outlet.url("/")).ok


def test_server_error_disallows_everything(outlet: FakeOutlet) -> None:
    robots(outlet, "oops", status=503)
    fetcher = fetcher_for(outlet)
    for path in ("/", "/news/1"):
        result = fetcher.fetch_page(outlet.url(path))
        assert result.reason == "robots_disallowed"
        assert "unreachable" in result.detail
    assert outlet.hits["/"] == outlet.hits["/news/1"] == 0
    assert outlet.hits["/robots.txt"] == 1  # the verdict is cached


def test_unreachable_robots_disallows(outlet: FakeOutlet) -> None:
    outlet.routes["/robots.txt"] = hang()
    result = fetcher_for(outlet, total_timeout=0.5).fetch_page(outlet.url("/"))
    assert result.reason == "robots_disallowed"
    assert outlet.hits["/"] == 0


@pytest.mark.parametrize("status", [404, 401, 403, 410])
def test_client_error_allows_everything(outlet: FakeOutlet, status: int) -> None:
    robots(outlet, "gone", status=status)
    assert fetcher_for(outlet).fetch_page(outlet.url("/private/1")).ok


def test_missing_robots_route_is_a_404(outlet: FakeOutlet) -> None:
    assert fetcher_for(outlet).fetch_page(outlet.url("/news/1")).ok
    assert outlet.hits["/robots.txt"] == 1


def test_huge_robots_file_parsed_up_to_500_kib(outlet: FakeOutlet) -> None:
    head = "User-agent: *\nDisallow: /private\n"
    filler = "# padding line of a very long robots file\n" * (600 * 1024 // 42)
    robots(outlet, head + filler + "Disallow: /news\n")
    fetcher = fetcher_for(outlet, total_timeout=5.0)
    assert fetcher.fetch_page(outlet.url("/private/1")).reason == "robots_disallowed"
    assert fetcher.fetch_page(outlet.url("/news/1")).ok  # that rule lies past 500 KiB
    raw = fetcher.fetch_robots(outlet.url("/robots.txt"))
    assert raw.ok and len(raw.body) == 500 * 1024 and raw.detail == "truncated"


@pytest.mark.parametrize(
    "text",
    [
        os.urandom(4096),
        b"\x00\x01\x02Disallow /nothing\n<<<>>>",
        b"<html><body>Not a robots file</body></html>",
        b"\xef\xbb\xbfUser-agent: *\nAllow: /\n",
        b"User-agent: *\nDisallow: /news\xff\xfe\n",
    ],
)
def test_broken_robots_files_do_not_break_fetching(outlet: FakeOutlet, text: bytes) -> None:
    robots(outlet, text)
    assert fetcher_for(outlet).fetch_page(outlet.url("/")).ok


def test_robots_cached_per_origin(outlet: FakeOutlet) -> None:
    robots(outlet, "User-agent: *\nDisallow: /private\n")
    fetcher = fetcher_for(outlet)
    for _ in range(3):
        assert fetcher.fetch_page(outlet.url("/news/1")).ok
    assert outlet.hits["/robots.txt"] == 1
    assert fetcher.robots.fetches == 1


def test_robots_redirects_followed_with_the_same_guard(outlet: FakeOutlet) -> None:
    with FakeOutlet(
        {"/robots.txt": (200, {}, "User-agent: *\nDisallow: /news\n")}, host="127.0.0.3"
    ) as other:
        outlet.routes["/robots.txt"] = redirect(other.url("/robots.txt"))
        # 127.0.0.3 is not allowed: the redirected robots fetch is refused (disallow all).
        fetcher = fetcher_for(outlet)
        result = fetcher.fetch_page(outlet.url("/"))
        assert result.reason == "robots_disallowed"
        assert other.total_hits == 0 and outlet.hits["/"] == 0
        # Allowed: the redirect is followed and the rules apply.
        both = fetcher_for(outlet, allowed_hosts=frozenset({"127.0.0.2", "127.0.0.3"}))
        assert both.fetch_page(outlet.url("/news/1")).reason == "robots_disallowed"
        assert both.fetch_page(outlet.url("/")).ok
        assert other.hits["/robots.txt"] == 1


def test_robots_redirect_chain_over_five_allows(outlet: FakeOutlet) -> None:
    outlet.routes["/robots.txt"] = redirect("/r1")
    for i in range(1, 8):
        outlet.routes[f"/r{i}"] = redirect(f"/r{i + 1}")
    assert fetcher_for(outlet).fetch_page(outlet.url("/")).ok


def test_crawl_delay_feeds_politeness(outlet: FakeOutlet) -> None:
    robots(outlet, "User-agent: *\nCrawl-delay: 7\n")
    fetcher = fetcher_for(outlet)
    assert fetcher.fetch_page(outlet.url("/")).ok
    assert fetcher.politeness.delay_for("127.0.0.2") == 7.0
    robots(outlet, "User-agent: *\nCrawl-delay: 9999\n")
    capped = fetcher_for(outlet, max_crawl_delay=30.0)
    assert capped.fetch_page(outlet.url("/")).ok
    assert capped.politeness.delay_for("127.0.0.2") == 30.0


def test_feeds_skip_robots(outlet: FakeOutlet) -> None:
    robots(outlet, "User-agent: *\nDisallow: /\n")
    outlet.routes["/feed.xml"] = (200, {"Content-Type": "application/rss+xml"}, b"<rss/>")
    assert fetcher_for(outlet).fetch_feed(outlet.url("/feed.xml")).ok
    assert outlet.hits["/robots.txt"] == 0


def test_respect_robots_off(outlet: FakeOutlet) -> None:
    robots(outlet, "User-agent: *\nDisallow: /\n")
    assert fetcher_for(outlet, respect_robots=False).fetch_page(outlet.url("/")).ok
    assert outlet.hits["/robots.txt"] == 0


# -- the cache alone, with a fake clock and fake fetches ------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def result(status: int | None, body: bytes = b"", reason: str | None = None) -> FetchResult:
    ok = status is not None and 200 <= status < 300
    return FetchResult(ok=ok, url="u", final_url="u", status=status, body=body, reason=reason)


def test_cache_ttls() -> None:
    clock = Clock()
    answers = [result(503, reason="http_503"), result(200, b"User-agent: *\nDisallow: /x\n")]
    calls: list[str] = []

    def fetch(url: str) -> FetchResult:
        calls.append(url)
        return answers[min(len(calls), len(answers)) - 1]

    cache = RobotsCache(fetch=fetch, ttl=86400, error_ttl=900, clock=clock)
    assert not cache.can_fetch("https://a.test/ok", "wiredesk/0.1")
    assert calls == ["https://a.test/robots.txt"]
    clock.now = 899
    assert not cache.can_fetch("https://a.test/ok", "wiredesk/0.1")
    assert len(calls) == 1  # error verdict still cached
    clock.now = 901
    assert cache.can_fetch("https://a.test/ok", "wiredesk/0.1")
    assert not cache.can_fetch("https://a.test/x", "wiredesk/0.1")
    assert len(calls) == 2
    clock.now = 901 + 86399
    cache.can_fetch("https://a.test/ok", "wiredesk/0.1")
    assert len(calls) == 2
    clock.now = 901 + 86401
    cache.can_fetch("https://a.test/ok", "wiredesk/0.1")
    assert len(calls) == 3
    # Origins differ by scheme and port.
    cache.can_fetch("http://a.test/ok", "wiredesk/0.1")
    cache.can_fetch("https://a.test:8443/ok", "wiredesk/0.1")
    assert calls[-2:] == ["http://a.test/robots.txt", "https://a.test:8443/robots.txt"]


@pytest.mark.parametrize(
    ("fetched", "allowed"),
    [
        (result(404, reason="http_404"), True),
        (result(410, reason="http_410"), True),
        (result(429, reason="http_429"), False),
        (result(500, reason="http_500"), False),
        (result(None, reason="timeout"), False),
        (result(None, reason="dns_error"), False),
        (result(None, reason="connection_error"), False),
        (result(None, reason="blocked_address"), False),
        (result(None, reason="too_many_redirects"), True),
        (result(200, b""), True),
    ],
)
def test_cache_verdicts(fetched: FetchResult, allowed: bool) -> None:
    cache = RobotsCache(fetch=lambda url: fetched)
    assert cache.can_fetch("https://a.test/page", "wiredesk/0.1") is allowed


def test_rate_limited_robots_fetch_is_not_cached() -> None:
    answers = [
        dataclasses.replace(result(None, reason="rate_limited"), detail="busy"),
        result(404, reason="http_404"),
    ]
    cache = RobotsCache(fetch=lambda url: answers.pop(0))
    first = cache.check("https://a.test/p", user_agent="wiredesk")
    assert not first.allowed and first.reason == "rate_limited"
    assert cache.check("https://a.test/p", user_agent="wiredesk").allowed


def test_cache_size_cap() -> None:
    cache = RobotsCache(fetch=lambda url: result(404, reason="http_404"), max_entries=3)
    for i in range(5):
        cache.can_fetch(f"https://h{i}.test/", "wiredesk")
    assert cache.fetches == 5
    cache.can_fetch("https://h0.test/", "wiredesk")  # evicted: fetched again
    assert cache.fetches == 6
    cache.can_fetch("https://h4.test/", "wiredesk")  # still cached
    assert cache.fetches == 6


def test_bad_url_is_not_fetched() -> None:
    cache = RobotsCache(fetch=lambda url: pytest.fail("fetched"))
    decision = cache.check("file:///etc/passwd", user_agent="wiredesk")
    assert not decision.allowed and decision.reason == "bad_url"


def test_robots_token() -> None:
    assert (
        robots_token("wiredesk/0.1 (+https://github.com/wiredesk/wiredesk; news ingest bot)")
        == "wiredesk"
    )
    assert robots_token("My-Bot_2/1.0") == "my-bot_"
    assert robots_token("") == ""
