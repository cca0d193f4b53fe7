"""Safe, polite HTTP GET for pages, feeds and robots.txt (no Beam here).

Every request goes through the same steps, for the first URL and for every
redirect hop:

1. :func:`~wiredesk.transforms.fetch.netguard.parse_host` normalizes the URL (hostile
   host spellings become the address they mean; non-http(s) is ``bad_url``).
2. The host is resolved once, by the injectable ``resolver``; every answer is
   checked by the :class:`~wiredesk.transforms.fetch.netguard.AddressPolicy`
   (``blocked_address`` if any is blocked).
3. For pages, robots.txt of the hop's origin is consulted (``robots_disallowed``).
4. :class:`~wiredesk.transforms.fetch.politeness.Politeness` grants a per-host slot
   (``rate_limited`` when the host asked us to wait longer than ``max_wait``).
5. The socket is opened to the *checked IP itself* (no second lookup, so DNS
   rebinding between check and connect cannot redirect it); the name goes only
   into the ``Host`` header and TLS SNI/certificate check. A connection kept from an
   earlier request to the same scheme, name, port and checked IP is used instead
   when there is one (:mod:`~wiredesk.transforms.fetch.keepalive`); only a response
   read to its end leaves its connection open for that.
6. The body is streamed through urllib3's amount-limited decoders, so at most
   ``max_bytes + 1`` decoded bytes ever exist (gzip/deflate/brotli bombs,
   stacked encodings, endless chunked bodies: ``too_large``). A watchdog shuts
   the socket at the total deadline, so a drip-feeding or silent server ends in
   ``timeout`` however it behaves.

Redirects are followed by hand (301/302/303/307/308, at most ``max_redirects``)
so that each hop passes steps 1-4 again. Environment proxies are never used.

Time spent waiting politely (robots.txt, per-host slot) does not count against
``total_timeout``; everything on the network does, across all hops.

Example (needs a reachable server, so not run as a doctest)::

    from wiredesk.transforms.fetch.http_client import FetchConfig, SafeFetcher
    fetcher = SafeFetcher(FetchConfig(allowed_hosts=frozenset({"127.0.0.2"})))
    result = fetcher.fetch_page("http://127.0.0.2:8080/story.html")
    if result.ok:
        print(result.final_url, len(result.text or ""))
    else:
        print(result.reason, result.detail)   # e.g. blocked_address, too_large
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import datetime as dt
import email.utils
import http.client
import ipaddress
import socket
import ssl
import threading
import time
import urllib.parse
from collections.abc import Callable
from typing import Any

import urllib3
import urllib3.connection
import urllib3.exceptions

from wiredesk.schemas.records import Reject, RejectReason, Stage
from wiredesk.transforms.fetch.decode import Decoded, decode_html, mime_type, sniff_binary
from wiredesk.transforms.fetch.keepalive import IdleConnections
from wiredesk.transforms.fetch.netguard import AddressPolicy, Target, UrlError, parse_host
from wiredesk.transforms.fetch.politeness import Politeness, Refused
from wiredesk.transforms.fetch.robots import RobotsCache
from wiredesk.transforms.fetch.watchdog import Watchdog

__all__ = [
    "DEFAULT_USER_AGENT",
    "ConnectionCounts",
    "FetchConfig",
    "FetchResult",
    "Resolver",
    "SafeFetcher",
    "parse_retry_after",
    "system_resolver",
]

DEFAULT_USER_AGENT = "wiredesk/0.1 (+https://github.com/wiredesk/wiredesk; news ingest bot)"

#: ``resolver(host, port) -> [ip, ...]``; the default is :func:`system_resolver`.
Resolver = Callable[[str, int], list[str]]

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
_CHUNK = 64 * 1024
_MAX_ADDRESSES_TRIED = 3
_MAX_IDLE_CONNECTIONS = 64  # across hosts; a run polls and fetches from many at once
_CONNECT_FAILURES = {
    "_connect_failed": RejectReason.CONNECTION_ERROR.value,
    "_connect_timeout": RejectReason.TIMEOUT.value,
}
_PAGE_ACCEPT = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.1"
_FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, "
    "application/xml;q=0.9, text/xml;q=0.9, application/json;q=0.9, */*;q=0.1"
)


def _refused(result: FetchResult, reason: str, detail: str) -> FetchResult:
    """``result`` turned into a refusal: not ok, with a reject reason, and no body kept."""
    return dataclasses.replace(result, ok=False, reason=reason, detail=detail, body=b"")


# Paywalls answer 401/402 with a teaser page worth keeping (marked paywalled).
PAYWALL_STATUSES = frozenset({401, 402})


@dataclasses.dataclass(frozen=True)
class FetchConfig:
    """Everything the fetcher can be told, with the defaults in one place."""

    user_agent: str = DEFAULT_USER_AGENT
    connect_timeout: float = 5.0
    total_timeout: float = 20.0  # all network time of one fetch, every hop included
    max_bytes: int = 5 * 1024 * 1024  # decoded body bytes
    max_redirects: int = 5
    allow_private: bool = False
    allowed_hosts: frozenset[str] = frozenset()
    per_host_concurrency: int = 2
    per_host_delay: float = 0.0
    respect_robots: bool = True
    max_wait: float = 60.0  # longest polite wait for a host before ``rate_limited``
    max_crawl_delay: float = 30.0  # robots.txt Crawl-delay is honoured up to this
    default_retry_after: float = 60.0  # a 429 without Retry-After closes the host this long
    robots_ttl: float = 24 * 3600.0  # RFC 9309 section 2.4: at most 24 hours
    robots_error_ttl: float = 15 * 60.0  # 5xx / unreachable: disallow all this long
    robots_max_bytes: int = 500 * 1024  # RFC 9309 section 2.5: parse at least 500 KiB
    ca_file: str | None = None  # extra trusted CAs (PEM) on top of the system store
    # An idle connection waits this long for the next request to the same checked
    # address (transforms/fetch/keepalive.py); 0: one connection per request.
    keep_alive_s: float = 10.0


@dataclasses.dataclass(frozen=True)
class FetchResult:
    """The outcome of one fetch. ``ok`` results have a body; failures a ``reason``.

    ``reason`` is a stable reject code (``blocked_address``, ``too_large``,
    ``http_404``, ...); ``detail`` is for people. ``ip`` is the address the last
    hop actually connected to.
    """

    ok: bool
    url: str
    final_url: str
    status: int | None = None
    headers: dict[str, str] = dataclasses.field(default_factory=dict)
    body: bytes = b""
    text: str | None = None
    reason: str | None = None
    detail: str = ""
    not_modified: bool = False
    retry_after: float | None = None
    elapsed: float = 0.0
    ip: str | None = None
    encoding: str | None = None
    redirects: tuple[str, ...] = ()

    @property
    def content_type(self) -> str | None:
        return self.headers.get("content-type")

    def to_reject(self, *, feed_url: str | None, stage: str = Stage.FETCH.value) -> Reject:
        """The ``rejects`` row for a failed fetch."""
        return Reject(
            url=self.url,
            feed_url=feed_url,
            stage=stage,
            reason=self.reason or "unknown",
            detail=self.detail,
        )


@dataclasses.dataclass(frozen=True)
class ConnectionCounts:
    """What a fetcher did with connections: ``opened`` new ones, and ``reused`` a kept one
    for that many requests."""

    opened: int = 0
    reused: int = 0


def system_resolver(host: str, port: int) -> list[str]:
    """All addresses ``getaddrinfo`` gives for ``host`` (TCP), in its order, deduplicated."""
    seen: list[str] = []
    for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM):
        address = str(info[4][0])
        if address not in seen:
            seen.append(address)
    return seen


def parse_retry_after(value: str | None, *, now: dt.datetime | None = None) -> float | None:
    """``Retry-After`` in seconds from now: delta-seconds or an HTTP-date; None if invalid."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(int(value))
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    now = now or dt.datetime.now(dt.UTC)
    return max(0.0, (when - now).total_seconds())


def _closed_while_idle(outcome: _Response | _Failure, watchdog: Watchdog) -> bool:
    """Whether a request on a reused connection failed before any response: the server
    closed the connection while it was idle, so a new one may well succeed."""
    return (
        isinstance(outcome, _Failure)
        and outcome.reason == RejectReason.CONNECTION_ERROR.value
        and outcome.status is None
        and not watchdog.fired
    )


def _open_socket(ip: str, port: int, timeout: float, watchdog: Watchdog) -> socket.socket:
    """Connect to exactly ``ip`` (a checked literal; no name lookup happens here)."""
    family = socket.AF_INET6 if ":" in ip else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.settimeout(timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.connect((ip, port))
    except BaseException:
        sock.close()
        raise
    watchdog.attach(sock)
    return sock


class _PinnedConnect:
    """Connect to the address that was checked, never to a fresh lookup of the name.

    Mixed into urllib3's HTTP(S) connections, which keep the host name for the
    Host header, SNI and certificate checks while the socket goes to ``ip``.
    """

    timeout: Any

    def _pin(self, ip: str, port: int, watchdog: Watchdog) -> None:
        self._pinned = (ip, port)
        self._watchdog = watchdog

    def _new_conn(self) -> socket.socket:
        try:
            return _open_socket(*self._pinned, float(self.timeout or 5.0), self._watchdog)
        except TimeoutError as exc:
            raise urllib3.exceptions.ConnectTimeoutError(self, f"connect timed out: {exc}") from exc
        except OSError as exc:
            raise urllib3.exceptions.NewConnectionError(self, f"connect failed: {exc}") from exc  # type: ignore[arg-type]


class _PinnedHTTPConnection(_PinnedConnect, urllib3.connection.HTTPConnection):
    def __init__(self, ip: str, port: int, *, watchdog: Watchdog, **kw: Any) -> None:
        super().__init__(ip, port, **kw)
        self._pin(ip, port, watchdog)


class _PinnedHTTPSConnection(_PinnedConnect, urllib3.connection.HTTPSConnection):
    def __init__(self, ip: str, port: int, *, watchdog: Watchdog, **kw: Any) -> None:
        super().__init__(ip, port, **kw)
        self._pin(ip, port, watchdog)


@dataclasses.dataclass
class _Failure:
    reason: str
    detail: str
    status: int | None = None
    headers: dict[str, str] = dataclasses.field(default_factory=dict)
    ip: str | None = None


@dataclasses.dataclass
class _Response:
    status: int
    headers: dict[str, str]
    body: bytes
    ip: str
    truncated: bool = False
    whole: bool = False  # the body was read to its end: the connection may serve again


class SafeFetcher:
    """Thread-safe fetcher; share one per worker process (e.g. in ``DoFn.setup``).

    ``resolver``, ``politeness`` and ``clock`` are injectable for tests.
    """

    def __init__(
        self,
        config: FetchConfig | None = None,
        *,
        resolver: Resolver | None = None,
        politeness: Politeness | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config or FetchConfig()
        self.policy = AddressPolicy(
            allow_private=self.config.allow_private, allowed_hosts=self.config.allowed_hosts
        )
        self.politeness = politeness or Politeness(
            concurrency=self.config.per_host_concurrency,
            delay=self.config.per_host_delay,
            max_wait=self.config.max_wait,
        )
        self.robots = RobotsCache(
            fetch=self.fetch_robots,
            ttl=self.config.robots_ttl,
            error_ttl=self.config.robots_error_ttl,
            clock=clock,
        )
        self._resolver: Resolver = resolver or system_resolver
        self._clock = clock
        # getaddrinfo cannot be interrupted: run it where we can stop waiting for it.
        self._dns_pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=8, thread_name_prefix="wiredesk-dns"
        )
        # Certificates and host names are verified against the URL's host name
        # even though the socket is opened to an IP address.
        self._ssl_context = ssl.create_default_context()
        if self.config.ca_file:
            self._ssl_context.load_verify_locations(cafile=self.config.ca_file)
        self._counts_lock = threading.Lock()
        self._counts = ConnectionCounts()
        self._idle: IdleConnections[urllib3.connection.HTTPConnection] = IdleConnections(
            max_idle_s=self.config.keep_alive_s,
            per_key=self.config.per_host_concurrency,
            total=_MAX_IDLE_CONNECTIONS,
            clock=clock,
        )

    # -- public API -----------------------------------------------------------------

    def fetch_page(self, url: str, *, decode: bool = True) -> FetchResult:
        """GET an HTML page: robots.txt honoured, HTML only, text decoded.

        ``decode=False`` checks the body as well (an HTML type, not binary) but leaves it
        as bytes (``text`` None) for the extraction pass to decode where the per-page
        work runs, as the pipeline does.
        """
        result = self._fetch(
            url,
            accept=_PAGE_ACCEPT,
            extra_headers={},
            max_bytes=self.config.max_bytes,
            truncate=False,
            check_robots=self.config.respect_robots,
        )
        if not result.ok:
            if result.status in PAYWALL_STATUSES and result.body:
                # A paywall answers 401/402 with a teaser: decoded, still not ok; the
                # pipeline keeps it as a paywalled article.
                teaser = self._as_html(dataclasses.replace(result, ok=True), decode=decode)
                if teaser.ok:
                    return dataclasses.replace(teaser, ok=False)
                return dataclasses.replace(result, body=b"")  # no teaser to keep
            return result
        return self._as_html(result, decode=decode)

    def fetch_feed(
        self, url: str, *, etag: str | None = None, last_modified: str | None = None
    ) -> FetchResult:
        """GET a feed or wire document as bytes, conditionally.

        A ``304 Not Modified`` is ``ok`` with ``not_modified=True`` and no body.
        Feeds are listed by the operator, so (like feed readers) robots.txt is
        not consulted for them; every other guard applies.
        """
        headers: dict[str, str] = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        result = self._fetch(
            url,
            accept=_FEED_ACCEPT,
            extra_headers=headers,
            max_bytes=self.config.max_bytes,
            truncate=False,
            check_robots=False,
        )
        if result.ok and not result.not_modified:
            kind = sniff_binary(result.body, result.content_type)
            if kind is not None:
                return _refused(
                    result,
                    RejectReason.PARSE_ERROR.value,
                    f"binary content ({kind}) where a feed was expected",
                )
        return result

    def fetch_robots(self, url: str) -> FetchResult:
        """GET a robots.txt URL for :class:`~wiredesk.transforms.fetch.robots.RobotsCache`.

        Same address checks and redirects as any fetch; a body over
        ``robots_max_bytes`` is cut there, not rejected (RFC 9309 section 2.5).
        """
        return self._fetch(
            url,
            accept="text/plain, */*;q=0.1",
            extra_headers={},
            max_bytes=self.config.robots_max_bytes,
            truncate=True,
            check_robots=False,
        )

    def close(self) -> None:
        self._dns_pool.shutdown(wait=False, cancel_futures=True)
        self._idle.close()

    def connection_counts(self) -> ConnectionCounts:
        """Connections opened and requests sent on kept ones, since this fetcher was made."""
        with self._counts_lock:
            return self._counts

    def _count(self, *, opened: int = 0, reused: int = 0) -> None:
        with self._counts_lock:
            self._counts = ConnectionCounts(
                opened=self._counts.opened + opened, reused=self._counts.reused + reused
            )

    # -- the pipeline of one fetch --------------------------------------------------

    def _fail(
        self,
        url: str,
        final_url: str,
        start: float,
        reason: str,
        detail: str,
        *,
        status: int | None = None,
        headers: dict[str, str] | None = None,
        retry_after: float | None = None,
        ip: str | None = None,
        redirects: tuple[str, ...] = (),
    ) -> FetchResult:
        return FetchResult(
            ok=False,
            url=url,
            final_url=final_url,
            status=status,
            headers=headers or {},
            reason=reason,
            detail=detail[:1000],
            retry_after=retry_after,
            elapsed=self._clock() - start,
            ip=ip,
            redirects=redirects,
        )

    def _fetch(
        self,
        url: str,
        *,
        accept: str,
        extra_headers: dict[str, str],
        max_bytes: int,
        truncate: bool,
        check_robots: bool,
    ) -> FetchResult:
        start = self._clock()
        try:
            return self._fetch_hops(
                url,
                start,
                accept=accept,
                extra_headers=extra_headers,
                max_bytes=max_bytes,
                truncate=truncate,
                check_robots=check_robots,
            )
        except Exception as exc:  # the pipeline gets a reject row, never a crash
            detail = f"unexpected {type(exc).__name__}: {exc}"
            return self._fail(
                str(url), str(url), start, RejectReason.CONNECTION_ERROR.value, detail
            )

    def _fetch_hops(
        self,
        url: str,
        start: float,
        *,
        accept: str,
        extra_headers: dict[str, str],
        max_bytes: int,
        truncate: bool,
        check_robots: bool,
    ) -> FetchResult:
        deadline = start + self.config.total_timeout
        current = url
        hops: list[str] = []
        for _ in range(self.config.max_redirects + 1):
            target = parse_host(current)
            if isinstance(target, UrlError):
                return self._fail(
                    url, current, start, target.reason, target.detail, redirects=tuple(hops)
                )
            category = self.policy.check_host(target.host)
            if category is not None:
                return self._fail(
                    url,
                    target.url,
                    start,
                    RejectReason.BLOCKED_ADDRESS.value,
                    f"{target.host} is {category}",
                    redirects=tuple(hops),
                )
            # Addresses before robots.txt: a host that resolves to a blocked address is
            # ``blocked_address`` (not ``robots_disallowed`` from a refused robots.txt).
            addresses = self._resolve(target, deadline)
            if isinstance(addresses, _Failure):
                return self._fail(
                    url,
                    target.url,
                    start,
                    addresses.reason,
                    addresses.detail,
                    redirects=tuple(hops),
                )
            for ip in addresses:
                category = self.policy.check(host=target.host, ip=ip)
                if category is not None:
                    return self._fail(
                        url,
                        target.url,
                        start,
                        RejectReason.BLOCKED_ADDRESS.value,
                        f"{target.host} resolves to {ip} ({category})",
                        redirects=tuple(hops),
                    )
            if check_robots:
                waited_from = self._clock()
                decision = self.robots.check(target.url, user_agent=self.config.user_agent)
                deadline += self._clock() - waited_from
                if decision.crawl_delay:
                    self.politeness.set_delay(
                        target.host, min(decision.crawl_delay, self.config.max_crawl_delay)
                    )
                if not decision.allowed:
                    reason = decision.reason or RejectReason.ROBOTS_DISALLOWED.value
                    return self._fail(
                        url, target.url, start, reason, decision.detail, redirects=tuple(hops)
                    )
            waited_from = self._clock()
            slot = self.politeness.acquire(target.host)
            deadline += self._clock() - waited_from
            if isinstance(slot, Refused):
                return self._fail(
                    url,
                    target.url,
                    start,
                    RejectReason.RATE_LIMITED.value,
                    f"{target.host}: {slot.why}, {slot.wait:.0f}s to wait",
                    retry_after=slot.wait,
                    redirects=tuple(hops),
                )
            retry_after: float | None = None
            with slot:
                headers = {
                    "Host": target.netloc,
                    "User-Agent": self.config.user_agent,
                    "Accept": accept,
                    "Accept-Encoding": "gzip, deflate, br",
                    **({} if self.config.keep_alive_s > 0 else {"Connection": "close"}),
                    **extra_headers,
                }
                outcome = self._exchange(target, addresses, headers, deadline, max_bytes, truncate)
                if isinstance(outcome, _Failure):
                    # Before the slot is released: a request waiting for it must find the
                    # host closed, not slip out between the release and the note.
                    retry_after = self._note_rate_limit(target, outcome)
            if isinstance(outcome, _Failure):
                return self._fail(
                    url,
                    target.url,
                    start,
                    outcome.reason,
                    outcome.detail,
                    status=outcome.status,
                    headers=outcome.headers,
                    retry_after=retry_after,
                    ip=outcome.ip,
                    redirects=tuple(hops),
                )
            location = outcome.headers.get("location")
            if outcome.status in _REDIRECTS and location:
                hops.append(target.url)
                current = urllib.parse.urljoin(target.url, location.strip())
                continue
            conditional = "If-None-Match" in extra_headers or "If-Modified-Since" in extra_headers
            if outcome.status == 304 and conditional:
                return FetchResult(
                    ok=True,
                    url=url,
                    final_url=target.url,
                    status=304,
                    headers=outcome.headers,
                    not_modified=True,
                    elapsed=self._clock() - start,
                    ip=outcome.ip,
                    redirects=tuple(hops),
                )
            if not 200 <= outcome.status < 300:
                failed = self._fail(
                    url,
                    target.url,
                    start,
                    RejectReason.http(outcome.status),
                    f"HTTP {outcome.status} from {target.host}",
                    status=outcome.status,
                    headers=outcome.headers,
                    ip=outcome.ip,
                    redirects=tuple(hops),
                )
                if outcome.status in PAYWALL_STATUSES and isinstance(outcome, _Response):
                    # Still a failure, but the teaser page travels with it (fetch_page).
                    failed = dataclasses.replace(failed, body=outcome.body)
                return failed
            return FetchResult(
                ok=True,
                url=url,
                final_url=target.url,
                status=outcome.status,
                headers=outcome.headers,
                body=outcome.body,
                detail="truncated" if outcome.truncated else "",
                elapsed=self._clock() - start,
                ip=outcome.ip,
                redirects=tuple(hops),
            )
        return self._fail(
            url,
            current,
            start,
            RejectReason.TOO_MANY_REDIRECTS.value,
            f"more than {self.config.max_redirects} redirects",
            redirects=tuple(hops),
        )

    def _note_rate_limit(self, target: Target, outcome: _Failure) -> float | None:
        if outcome.status not in (429, 503):
            return None
        retry_after = parse_retry_after(outcome.headers.get("retry-after"))
        if retry_after is None and outcome.status == 429:
            retry_after = self.config.default_retry_after
        if retry_after is not None:
            self.politeness.note_retry_after(target.host, retry_after)
        return retry_after

    def _resolve(self, target: Target, deadline: float) -> list[str] | _Failure:
        if target.ip is not None:
            return [target.ip]
        left = deadline - self._clock()
        if left <= 0:
            return _Failure(RejectReason.TIMEOUT.value, "deadline passed before DNS")
        future = self._dns_pool.submit(self._resolver, target.host, target.port)
        try:
            answers = future.result(timeout=left)
        except concurrent.futures.TimeoutError:
            future.cancel()
            return _Failure(RejectReason.TIMEOUT.value, f"DNS for {target.host} timed out")
        except Exception as exc:
            return _Failure(RejectReason.DNS_ERROR.value, f"{target.host}: {exc}")
        addresses: list[str] = []
        for answer in answers or []:
            text = str(answer).strip()
            try:
                # Only literal addresses: a name here would be looked up again at connect.
                address = ipaddress.ip_address(text.split("%", 1)[0])
            except ValueError:
                return _Failure(RejectReason.DNS_ERROR.value, f"resolver gave {text!r}")
            canonical = text if "%" in text else str(address)
            if canonical not in addresses:
                addresses.append(canonical)
        if not addresses:
            return _Failure(RejectReason.DNS_ERROR.value, f"{target.host} has no address")
        return addresses

    def _exchange(
        self,
        target: Target,
        addresses: list[str],
        headers: dict[str, str],
        deadline: float,
        max_bytes: int,
        truncate: bool,
    ) -> _Response | _Failure:
        failure = _Failure(RejectReason.CONNECTION_ERROR.value, "no address tried")
        for ip in addresses[:_MAX_ADDRESSES_TRIED]:
            left = deadline - self._clock()
            if left <= 0:
                return _Failure(RejectReason.TIMEOUT.value, "total deadline passed", ip=ip)
            watchdog = Watchdog(left)
            try:
                outcome = self._exchange_one(
                    target, ip, headers, deadline, max_bytes, truncate, watchdog
                )
            finally:
                watchdog.cancel()
            if isinstance(outcome, _Response) or outcome.reason not in _CONNECT_FAILURES:
                return outcome
            # This address did not take the connection: try the next checked one.
            failure = dataclasses.replace(outcome, reason=_CONNECT_FAILURES[outcome.reason])
        return failure

    def _exchange_one(
        self,
        target: Target,
        ip: str,
        headers: dict[str, str],
        deadline: float,
        max_bytes: int,
        truncate: bool,
        watchdog: Watchdog,
    ) -> _Response | _Failure:
        key = (target.scheme, target.host.lower(), ip, target.port)

        def ask(conn: urllib3.connection.HTTPConnection) -> _Response | _Failure:
            if isinstance(conn, _PinnedConnect):
                conn._pin(ip, target.port, watchdog)  # a reconnect must attach to this one
            conn.timeout = max(0.001, deadline - self._clock())
            return self._request(conn, target, ip, headers, max_bytes, truncate, watchdog)

        idle = self._idle.take(key)  # only a connected one (its socket polled idle)
        if idle is not None and idle.sock is not None:
            # As a new connection would be: sending bounded as connecting is, and the
            # deadline's watchdog on this socket.
            idle.sock.settimeout(
                max(0.001, min(self.config.connect_timeout, deadline - self._clock()))
            )
            watchdog.attach(idle.sock)
            outcome = self._kept_or_closed(idle, key, watchdog, ask)
            if not _closed_while_idle(outcome, watchdog):
                self._count(reused=1)
                return outcome
            # The server closed it as we reused it: ask once more, on a new connection.
        connect_timeout = max(0.001, min(self.config.connect_timeout, deadline - self._clock()))
        conn: urllib3.connection.HTTPConnection
        if target.scheme == "https":
            conn = _PinnedHTTPSConnection(
                ip,
                target.port,
                watchdog=watchdog,
                timeout=connect_timeout,
                server_hostname=target.host,
                ssl_context=self._ssl_context,
            )
        else:
            conn = _PinnedHTTPConnection(
                ip, target.port, watchdog=watchdog, timeout=connect_timeout
            )
        try:
            conn.connect()
        except (urllib3.exceptions.SSLError, ssl.SSLError) as exc:
            conn.close()
            if watchdog.fired:
                return _Failure(RejectReason.TIMEOUT.value, "TLS handshake too slow", ip=ip)
            return _Failure(RejectReason.TLS_ERROR.value, f"{target.host}: {exc}", ip=ip)
        except urllib3.exceptions.NewConnectionError as exc:  # before its parent class
            conn.close()
            return _Failure("_connect_failed", f"{ip}:{target.port}: {exc}", ip=ip)
        except urllib3.exceptions.ConnectTimeoutError as exc:
            conn.close()
            return _Failure("_connect_timeout", f"{ip}:{target.port}: {exc}", ip=ip)
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            conn.close()
            return _Failure("_connect_failed", f"{ip}:{target.port}: {exc}", ip=ip)
        except BaseException:
            conn.close()
            raise
        self._count(opened=1)
        return self._kept_or_closed(conn, key, watchdog, ask)

    def _kept_or_closed(
        self,
        conn: urllib3.connection.HTTPConnection,
        key: tuple[str, str, str, int],
        watchdog: Watchdog,
        ask: Callable[[urllib3.connection.HTTPConnection], _Response | _Failure],
    ) -> _Response | _Failure:
        """``ask`` on a connected ``conn``; afterwards the connection is kept for the next
        request to ``key`` if its response was read to the end, else closed."""
        keep = False
        try:
            outcome = ask(conn)
            keep = (
                isinstance(outcome, _Response)
                and outcome.whole
                and self.config.keep_alive_s > 0
                and conn.sock is not None  # http.client closes it when the server said so
                and not watchdog.fired
            )
            return outcome
        finally:
            if keep:
                watchdog.detach()
                self._idle.give(key, conn)
            else:
                conn.close()

    def _request(
        self,
        conn: urllib3.connection.HTTPConnection,
        target: Target,
        ip: str,
        headers: dict[str, str],
        max_bytes: int,
        truncate: bool,
        watchdog: Watchdog,
    ) -> _Response | _Failure:
        status: int | None = None
        response_headers: dict[str, str] = {}
        try:
            conn.request(
                "GET",
                target.path,
                headers=headers,
                preload_content=False,
                decode_content=True,
                enforce_content_length=True,
            )
            response = conn.getresponse()
            status = response.status
            response_headers = {k.lower(): v for k, v in response.headers.items()}
            if (
                status in _REDIRECTS
                or status == 304
                or (status >= 400 and status not in PAYWALL_STATUSES)
            ):
                # The body of a redirect or an error is never needed (a paywall's teaser is).
                return self._status_only(status, response_headers, ip)
            declared = response_headers.get("content-length", "")
            if (
                not truncate
                and declared.isdigit()
                and int(declared) > max_bytes
                and response_headers.get("content-encoding", "identity").lower() == "identity"
            ):
                return _Failure(
                    RejectReason.TOO_LARGE.value,
                    f"Content-Length {declared} > {max_bytes}",
                    status=status,
                    headers=response_headers,
                    ip=ip,
                )
            chunks: list[bytes] = []
            total = 0
            while True:
                chunk = response.read(amt=min(_CHUNK, max_bytes + 1 - total), decode_content=True)
                if watchdog.fired:
                    raise TimeoutError("total deadline")
                if not chunk:
                    break
                chunks.append(chunk)
                total += len(chunk)
                if total > max_bytes:
                    if truncate:
                        body = b"".join(chunks)[:max_bytes]
                        return _Response(status, response_headers, body, ip, truncated=True)
                    return _Failure(
                        RejectReason.TOO_LARGE.value,
                        f"body over {max_bytes} decoded bytes",
                        status=status,
                        headers=response_headers,
                        ip=ip,
                    )
            return _Response(status, response_headers, b"".join(chunks), ip, whole=True)
        except urllib3.exceptions.DecodeError as exc:
            if watchdog.fired:
                return _Failure(RejectReason.TIMEOUT.value, "total deadline passed", ip=ip)
            return _Failure(
                RejectReason.BAD_ENCODING.value,
                f"Content-Encoding {response_headers.get('content-encoding')!r}: {exc}",
                status=status,
                headers=response_headers,
                ip=ip,
            )
        except (urllib3.exceptions.HTTPError, http.client.HTTPException, OSError) as exc:
            if watchdog.fired or isinstance(exc, TimeoutError | urllib3.exceptions.TimeoutError):
                return _Failure(
                    RejectReason.TIMEOUT.value,
                    f"no complete response from {target.host} within the deadline",
                    status=status,
                    headers=response_headers,
                    ip=ip,
                )
            return _Failure(
                RejectReason.CONNECTION_ERROR.value,
                f"{target.host}: {type(exc).__name__}: {exc}",
                status=status,
                headers=response_headers,
                ip=ip,
            )

    @staticmethod
    def _status_only(status: int, headers: dict[str, str], ip: str) -> _Response | _Failure:
        if status in _REDIRECTS or status == 304 or 200 <= status < 300:
            return _Response(status, headers, b"", ip)
        return _Failure(
            RejectReason.http(status), f"HTTP {status}", status=status, headers=headers, ip=ip
        )

    # -- page checks -----------------------------------------------------------------

    def _as_html(self, result: FetchResult, *, decode: bool = True) -> FetchResult:
        mime = mime_type(result.content_type)
        if mime and mime not in _HTML_TYPES:
            return _refused(result, RejectReason.NOT_HTML.value, f"content type {mime}")
        kind = sniff_binary(result.body, result.content_type)
        if kind is not None:
            return _refused(
                result, RejectReason.NOT_HTML.value, f"{kind} served as {mime or 'no content type'}"
            )
        if not decode:
            return result
        decoded = decode_html(body=result.body, content_type=result.content_type)
        if not isinstance(decoded, Decoded):
            return _refused(result, decoded.reason, decoded.detail)
        return dataclasses.replace(result, text=decoded.text, encoding=decoded.encoding)
