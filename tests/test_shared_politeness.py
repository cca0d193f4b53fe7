"""The per-host gate is shared by every fetcher of a process (per configuration).

PollFeeds and FetchArticle each build a fetcher from ``FetchSettings`` in their
``setup()``; if each kept its own gate, one host would see the configured
concurrency once per fetcher. These tests drive two such fetchers at one
loopback host and count what the host sees.
"""

from __future__ import annotations

import functools
import http.server
import threading
import time
from collections.abc import Callable

import pytest

from wiredesk.loopback import LoopbackOutlet, Route
from wiredesk.transforms.fetch import politeness as politeness_module
from wiredesk.transforms.fetch.http_client import FetchConfig, FetchResult, SafeFetcher
from wiredesk.transforms.fetch.politeness import (
    Politeness,
    reset_shared_politeness,
    shared_politeness,
)
from wiredesk.transforms.fetch.stage_fetcher import FetchSettings

HOLD = 0.2  # seconds each response takes, so concurrent requests overlap at the host
PAGE = b"<html><head><title>t</title></head><body><p>story</p></body></html>"


# conftest.py's autouse _fresh_politeness resets the process-wide registry around each
# test, so no gate (or Retry-After) leaks between them.


# -- the registry ----------------------------------------------------------------------


def test_equal_limits_share_one_gate_and_different_limits_do_not() -> None:
    gate = shared_politeness(concurrency=2, delay=0.5, max_wait=60.0)
    assert shared_politeness(concurrency=2, delay=0.5, max_wait=60.0) is gate
    # Keyed by the limits the gate enforces, so equal values of another type match.
    assert shared_politeness(concurrency=2, delay=0.5, max_wait=60) is gate
    others = [
        shared_politeness(concurrency=1, delay=0.5, max_wait=60.0),
        shared_politeness(concurrency=2, delay=0.0, max_wait=60.0),
        shared_politeness(concurrency=2, delay=0.5, max_wait=5.0),
    ]
    assert len({id(g) for g in [gate, *others]}) == 4
    assert (gate.concurrency, gate.delay, gate.max_wait) == (2, 0.5, 60.0)


def test_reset_forgets_gates_but_not_the_ones_handed_out() -> None:
    gate = shared_politeness(concurrency=1, delay=0.0, max_wait=1.0)
    gate.note_retry_after("a.test", 100.0)
    reset_shared_politeness()
    fresh = shared_politeness(concurrency=1, delay=0.0, max_wait=1.0)
    assert fresh is not gate
    assert fresh.blocked_for("a.test") == 0.0
    assert gate.blocked_for("a.test") > 50.0


def test_concurrent_first_calls_create_exactly_one_gate(monkeypatch: pytest.MonkeyPatch) -> None:
    created: list[Politeness] = []

    class SlowPoliteness(Politeness):
        # A slow constructor widens the window in which an unlocked registry
        # would let several threads each create (and hand out) their own gate.
        def __init__(self, **kw: float) -> None:
            time.sleep(0.02)
            super().__init__(**kw)
            created.append(self)

    monkeypatch.setattr(politeness_module, "Politeness", SlowPoliteness)
    threads_n = 16
    barrier = threading.Barrier(threads_n)
    got: list[Politeness] = []
    got_lock = threading.Lock()

    def ask() -> None:
        barrier.wait(timeout=10)
        gate = shared_politeness(concurrency=3, delay=0.25, max_wait=7.0)
        with got_lock:
            got.append(gate)

    threads = [threading.Thread(target=ask) for _ in range(threads_n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(got) == threads_n
    assert len(created) == 1
    assert all(gate is created[0] for gate in got)


# -- fetchers built from FetchSettings --------------------------------------------------


def test_make_fetcher_uses_the_shared_gate_with_the_fetchers_own_limits() -> None:
    settings = FetchSettings(allow_private=True, per_host_concurrency=3, per_host_delay=0.5)
    first, second = settings.make_fetcher(), settings.make_fetcher()
    other = FetchSettings(allow_private=True, per_host_concurrency=3).make_fetcher()
    try:
        assert first is not second  # fetchers are never shared: each is closed on its own
        assert first.politeness is second.politeness
        assert other.politeness is not first.politeness
        gate = first.politeness
        # The same limits SafeFetcher would give a gate of its own (max_wait from FetchConfig).
        assert (gate.concurrency, gate.delay, gate.max_wait) == (3, 0.5, FetchConfig().max_wait)
    finally:
        for fetcher in (first, second, other):
            fetcher.close()


def test_an_injected_gate_is_still_used() -> None:
    gate = Politeness(concurrency=1)
    fetcher = SafeFetcher(FetchConfig(), politeness=gate)
    try:
        assert fetcher.politeness is gate
        assert SafeFetcher(FetchConfig()).politeness is not gate
    finally:
        fetcher.close()


class _InFlight:
    """A route handler that takes ``HOLD`` seconds and records the most requests at once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.now = 0
        self.max = 0
        self.served = 0

    def __call__(self, handler: http.server.BaseHTTPRequestHandler) -> None:
        with self._lock:
            self.now += 1
            self.max = max(self.max, self.now)
        try:
            time.sleep(HOLD)
        finally:
            # Counted out before the response is written: once the client has the response
            # it may send its next request, which on a busy machine could otherwise be
            # counted while this thread still waits to run its decrement.
            with self._lock:
                self.now -= 1
                self.served += 1
        handler.send_response(200)
        handler.send_header("Content-Type", "text/html; charset=utf-8")
        handler.send_header("Content-Length", str(len(PAGE)))
        handler.end_headers()
        handler.wfile.write(PAGE)


def _hammer(outlet: LoopbackOutlet, feeds: SafeFetcher, pages: SafeFetcher) -> list[FetchResult]:
    """Two threads per fetcher, two fetches each, all released at once.

    One fetcher polls like PollFeeds (``fetch_feed``), the other fetches pages like
    FetchArticle (``fetch_page``, robots.txt included).
    """
    calls: list[Callable[[], FetchResult]] = []
    for i in range(2):
        calls.append(functools.partial(feeds.fetch_feed, outlet.url(f"/slow?feed={i}")))
        calls.append(functools.partial(pages.fetch_page, outlet.url(f"/slow?page={i}")))
    barrier = threading.Barrier(len(calls))
    results: list[FetchResult] = []
    lock = threading.Lock()

    def run(call: Callable[[], FetchResult]) -> None:
        barrier.wait(timeout=10)
        for _ in range(2):
            result = call()
            with lock:
                results.append(result)

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


@pytest.mark.parametrize("shared", [True, False], ids=["make_fetcher", "separate_gates"])
def test_two_stages_fetching_one_host_respect_one_limit(shared: bool) -> None:
    settings = FetchSettings(allow_private=True, per_host_concurrency=1)
    if shared:
        feeds, pages = settings.make_fetcher(), settings.make_fetcher()
    else:
        # What make_fetcher used to build: each fetcher with a gate of its own.
        feeds, pages = SafeFetcher(settings.fetch_config()), SafeFetcher(settings.fetch_config())
    seen = _InFlight()
    try:
        with LoopbackOutlet(host="127.0.0.54") as outlet:
            outlet.set_route("/slow", Route(handler=seen))
            results = _hammer(outlet, feeds, pages)
    finally:
        feeds.close()
        pages.close()
    assert len(results) == 8
    assert all(r.ok for r in results), [(r.reason, r.detail) for r in results if not r.ok]
    assert seen.served == 8
    # Shared: the host never sees more than per_host_concurrency. Separate gates:
    # each fetcher keeps its own limit of one, so the host sees two at once (this
    # is the control showing the handler does observe overlap when it happens).
    assert seen.max == (1 if shared else 2)


def test_a_retry_after_seen_by_one_stage_holds_for_the_other() -> None:
    settings = FetchSettings(allow_private=True, respect_robots=False)
    feeds, pages = settings.make_fetcher(), settings.make_fetcher()
    try:
        with LoopbackOutlet(host="127.0.0.55") as outlet:
            outlet.set_route(
                "/rss.xml", Route(body=b"wait", status=429, headers=(("Retry-After", "3600"),))
            )
            outlet.set_route("/story.html", Route(body=PAGE))
            polled = feeds.fetch_feed(outlet.url("/rss.xml"))
            fetched = pages.fetch_page(outlet.url("/story.html"))
            hits = outlet.hits["/story.html"]
    finally:
        feeds.close()
        pages.close()
    assert (polled.reason, polled.retry_after) == ("http_429", 3600.0)
    # The page stage never contacted the host the feed stage was told to leave alone.
    assert fetched.reason == "rate_limited"
    assert fetched.retry_after is not None and fetched.retry_after > 3000
    assert hits == 0


def test_a_retry_after_closes_the_host_before_its_slot_is_free(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """One slot per host; the first request gets a 429 with Retry-After, a second waits
    for the slot meanwhile. It must be refused without reaching the host. Noting the
    Retry-After is slowed down here, so that a fetcher which frees the slot first
    lets the waiting request out in the gap, every time."""
    real_note = SafeFetcher._note_rate_limit

    def slow_note(self: SafeFetcher, *args: object, **kwargs: object) -> float | None:
        time.sleep(0.3)
        return real_note(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(SafeFetcher, "_note_rate_limit", slow_note)
    settings = FetchSettings(allow_private=True, per_host_concurrency=1, respect_robots=False)
    fetcher = settings.make_fetcher()
    hits: list[str] = []

    def busy(handler: http.server.BaseHTTPRequestHandler) -> None:
        hits.append(handler.path)
        time.sleep(HOLD)  # the second request is waiting for the slot by now
        handler.send_response(429)
        handler.send_header("Retry-After", "3600")  # beyond max_wait: refused, not waited
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    results: dict[str, FetchResult] = {}
    try:
        with LoopbackOutlet(host="127.0.0.55") as outlet:
            outlet.set_route("/busy", Route(handler=busy))
            outlet.set_route("/next", Route(body=PAGE))

            def fetch(path: str) -> None:
                results[path] = fetcher.fetch_page(outlet.url(path))

            first = threading.Thread(target=fetch, args=("/busy",))
            first.start()
            deadline = time.monotonic() + 10
            while not hits and time.monotonic() < deadline:  # the first one is at the host
                time.sleep(0.01)
            second = threading.Thread(target=fetch, args=("/next",))
            second.start()
            first.join(timeout=30)
            second.join(timeout=30)
            next_hits = outlet.hits["/next"]
    finally:
        fetcher.close()
    assert hits == ["/busy"]
    assert next_hits == 0  # the host said wait, and nothing of ours reached it after
    assert results["/busy"].reason == "http_429"
    assert results["/next"].reason == "rate_limited"
