"""robots.txt per RFC 9309, parsed by protego, cached per origin.

:class:`RobotsCache` fetches ``<origin>/robots.txt`` through the fetcher it is
given (so the robots request passes the same address checks, redirect limits
and politeness as any other) and keeps the verdict per origin
(scheme + host + port):

===============================  =============================  ===============
robots.txt fetch                 verdict                        kept for
===============================  =============================  ===============
2xx                              its rules (first 500 KiB)      ``ttl`` (24 h)
4xx (404, 401, 403, 410, ...)    allow all ("unavailable")      ``ttl``
more than 5 redirects            allow all ("unavailable")      ``ttl``
429, 5xx, timeout, DNS/TCP/TLS   disallow all ("unreachable")   ``error_ttl``
our own rate limit for the host  not cached; the page waits     -
===============================  =============================  ===============

Rules are matched against the user agent's product token (``wiredesk`` for
``wiredesk/0.1 (+https://...)``), as RFC 9309 section 2.2.1 asks. Concurrent
checks of one origin share a single robots.txt request.

Example::

    >>> from wiredesk.transforms.fetch.robots import RobotsCache
    >>> from types import SimpleNamespace as NS
    >>> body = b"User-agent: *\\nDisallow: /private\\nCrawl-delay: 2\\n"
    >>> cache = RobotsCache(fetch=lambda url: NS(ok=True, status=200, body=body, reason=None, detail=""))
    >>> cache.can_fetch("https://example.com/private/x", "wiredesk/0.1")
    False
    >>> cache.check("https://example.com/news", user_agent="wiredesk/0.1").crawl_delay
    2.0
"""

from __future__ import annotations

import collections
import dataclasses
import re
import threading
import time
from collections.abc import Callable
from typing import Protocol

from protego import Protego

from wiredesk.transforms.fetch.netguard import UrlError, parse_host

__all__ = ["RobotsCache", "RobotsDecision", "robots_token"]

_TOKEN_RE = re.compile(r"[A-Za-z_-]+")
_MAX_BYTES = 500 * 1024


class _Fetched(Protocol):
    """What :class:`RobotsCache` reads of a fetch result (``FetchResult`` has it)."""

    @property
    def ok(self) -> bool: ...
    @property
    def status(self) -> int | None: ...
    @property
    def body(self) -> bytes: ...
    @property
    def reason(self) -> str | None: ...
    @property
    def detail(self) -> str: ...


@dataclasses.dataclass(frozen=True)
class RobotsDecision:
    """May this URL be fetched? ``reason`` is the reject code when not."""

    allowed: bool
    crawl_delay: float | None = None
    reason: str | None = None
    detail: str = ""


@dataclasses.dataclass(frozen=True)
class _Entry:
    expires: float
    mode: str  # "rules", "allow_all", "disallow_all"
    parser: Protego | None
    detail: str


def robots_token(user_agent: str) -> str:
    """The product token robots.txt groups are matched against: ``wiredesk/0.1 (...)`` -> ``wiredesk``."""
    match = _TOKEN_RE.match(user_agent.strip())
    return match.group(0).lower() if match else user_agent.strip().lower()


class RobotsCache:
    """Thread-safe robots.txt verdicts per origin, with TTLs and an LRU size cap."""

    def __init__(
        self,
        *,
        fetch: Callable[[str], _Fetched],
        ttl: float = 24 * 3600.0,
        error_ttl: float = 15 * 60.0,
        max_bytes: int = _MAX_BYTES,
        max_entries: int = 10000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch = fetch
        self.ttl = ttl
        self.error_ttl = error_ttl
        self.max_bytes = max_bytes
        self.max_entries = max_entries
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: collections.OrderedDict[str, _Entry] = collections.OrderedDict()
        self._origin_locks: dict[str, threading.Lock] = {}
        self.fetches = 0  # robots.txt requests made (for tests and metrics)

    def can_fetch(self, url: str, user_agent: str) -> bool:
        return self.check(url, user_agent=user_agent).allowed

    def check(self, url: str, *, user_agent: str) -> RobotsDecision:
        """The verdict for ``url``; fetches robots.txt when the origin is not cached."""
        target = parse_host(url)
        if isinstance(target, UrlError):
            return RobotsDecision(False, reason=target.reason, detail=target.detail)
        entry = self._entry(target.origin)
        if isinstance(entry, RobotsDecision):
            return entry
        token = robots_token(user_agent)
        if entry.mode == "allow_all":
            return RobotsDecision(True, detail=entry.detail)
        if entry.mode == "disallow_all":
            return RobotsDecision(False, reason="robots_disallowed", detail=entry.detail)
        assert entry.parser is not None
        try:
            allowed = entry.parser.can_fetch(target.url, token)
            delay = entry.parser.crawl_delay(token)
        except Exception as exc:  # a protego bug on odd input: fall back to allow
            return RobotsDecision(True, detail=f"robots.txt matcher failed: {exc}")
        crawl_delay = float(delay) if delay is not None and delay > 0 else None
        if not allowed:
            return RobotsDecision(
                False,
                crawl_delay,
                reason="robots_disallowed",
                detail=f"{target.origin}/robots.txt disallows {target.path[:200]}",
            )
        return RobotsDecision(True, crawl_delay)

    def _cached(self, origin: str) -> _Entry | None:
        entry = self._entries.get(origin)
        if entry is None:
            return None
        if entry.expires <= self._clock():
            del self._entries[origin]
            return None
        self._entries.move_to_end(origin)
        return entry

    def _entry(self, origin: str) -> _Entry | RobotsDecision:
        with self._lock:
            entry = self._cached(origin)
            if entry is not None:
                return entry
            origin_lock = self._origin_locks.setdefault(origin, threading.Lock())
        with origin_lock:  # one robots.txt request per origin, however many ask
            with self._lock:
                entry = self._cached(origin)
                if entry is not None:
                    return entry
            fetched = self._fetch(origin + "/robots.txt")
            with self._lock:
                self.fetches += 1
            entry_or_decision = self._verdict(fetched)
            if isinstance(entry_or_decision, RobotsDecision):
                return entry_or_decision
            with self._lock:
                self._entries[origin] = entry_or_decision
                while len(self._entries) > self.max_entries:
                    evicted, _ = self._entries.popitem(last=False)
                    self._origin_locks.pop(evicted, None)
            return entry_or_decision

    def _verdict(self, fetched: _Fetched) -> _Entry | RobotsDecision:
        now = self._clock()
        status = fetched.status
        reason = fetched.reason or ""
        if fetched.ok and status is not None and 200 <= status < 300:
            return self._parse(fetched.body, now)
        if reason == "rate_limited":
            # Our own politeness refused the request: nothing was learnt; the
            # page would be refused for the same reason.
            return RobotsDecision(False, reason="rate_limited", detail=fetched.detail)
        if status is not None and 400 <= status < 500 and status != 429:
            return _Entry(now + self.ttl, "allow_all", None, f"robots.txt {status}: allow all")
        if reason == "too_many_redirects":
            return _Entry(now + self.ttl, "allow_all", None, "robots.txt redirects: allow all")
        detail = f"robots.txt unreachable ({reason or status}: {fetched.detail})"[:300]
        return _Entry(now + self.error_ttl, "disallow_all", None, detail)

    def _parse(self, body: bytes, now: float) -> _Entry:
        text = body[: self.max_bytes].decode("utf-8", errors="replace").lstrip("\ufeff")
        try:
            parser = Protego.parse(text)
        except Exception as exc:  # unparseable lines are ignored (RFC 9309 2.2): allow all
            return _Entry(now + self.ttl, "allow_all", None, f"robots.txt unparseable: {exc}")
        return _Entry(now + self.ttl, "rules", parser, "")
