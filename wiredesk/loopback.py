"""Fake outlets on loopback addresses: the demo's (and the tests') offline internet.

Each :class:`LoopbackOutlet` is one HTTP server on its own 127.0.0.x address
(Linux routes all of 127.0.0.0/8 to loopback), serving a fixed set of routes.
It answers conditional GETs (ETag / If-None-Match) like a real feed server,
counts hits per path, and serves 404 for anything else. Routes can change
while it runs (a feed that gains items between polls).

Example::

    with LoopbackOutlet(host="127.0.0.21") as outlet:
        outlet.set_route("/feed.xml", Route(body=b"<rss/>", content_type="application/rss+xml"))
        print(outlet.url("/feed.xml"))
"""

from __future__ import annotations

import collections
import dataclasses
import hashlib
import http.server
import sys
import threading
from collections.abc import Callable
from typing import Any

__all__ = ["KeptConnectionHandler", "KeptConnectionServer", "LoopbackOutlet", "Route"]


@dataclasses.dataclass(frozen=True)
class Route:
    body: bytes = b""
    content_type: str = "text/html; charset=utf-8"
    status: int = 200
    headers: tuple[tuple[str, str], ...] = ()
    # Called instead of serving ``body`` when set: full control for odd cases.
    handler: Callable[[http.server.BaseHTTPRequestHandler], None] | None = None

    @property
    def etag(self) -> str:
        return '"' + hashlib.sha256(self.body).hexdigest()[:16] + '"'


class KeptConnectionServer(http.server.ThreadingHTTPServer):
    """A thread per connection, each serving request after request until the client
    leaves, as a real server does. Also the tests' and benches' fake servers' base."""

    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that leaves a kept connection, or an answer it did not read, resets
        # it while the handler waits for the next request: normal, and not worth a trace.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class KeptConnectionHandler(http.server.BaseHTTPRequestHandler):
    """HTTP/1.1 (connections kept unless an answer says otherwise), quiet."""

    protocol_version = "HTTP/1.1"
    # As real servers do on kept connections: without it, an answer written as headers
    # then body waits for the client's delayed ACK of the headers (40 ms on Linux).
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib name
        return  # keep test and demo output clean


class _Handler(KeptConnectionHandler):
    server: _Server

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        path = self.path.split("?", 1)[0]
        outlet = self.server.outlet
        route = outlet.route_for(path)
        outlet.record_hit(path)
        if route is None:
            self._send(404, b"not found", "text/plain")
            return
        if route.handler is not None:
            route.handler(self)
            return
        if route.status == 200 and self.headers.get("If-None-Match") == route.etag:
            outlet.record_not_modified(path)
            self.send_response(304)
            self.send_header("ETag", route.etag)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self._send(route.status, route.body, route.content_type, route.headers, etag=route.etag)

    def _send(
        self,
        status: int,
        body: bytes,
        content_type: str,
        headers: tuple[tuple[str, str], ...] = (),
        etag: str | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        if etag and status == 200:
            self.send_header("ETag", etag)
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)


class _Server(KeptConnectionServer):
    outlet: LoopbackOutlet


class LoopbackOutlet:
    """One fake outlet: an HTTP server on ``host`` (a 127.0.0.0/8 address), any free port."""

    def __init__(self, *, host: str, routes: dict[str, Route] | None = None) -> None:
        if not host.startswith("127."):
            raise ValueError("fake outlets live on loopback addresses only")
        self.host = host
        self._routes: dict[str, Route] = dict(routes or {})
        self._lock = threading.Lock()
        self.hits: collections.Counter[str] = collections.Counter()
        self.not_modified: collections.Counter[str] = collections.Counter()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("outlet not started")
        return f"http://{self.host}:{self._server.server_address[1]}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def set_route(self, path: str, route: Route) -> None:
        with self._lock:
            self._routes[path] = route

    def route_for(self, path: str) -> Route | None:
        with self._lock:
            return self._routes.get(path)

    def record_hit(self, path: str) -> None:
        with self._lock:
            self.hits[path] += 1

    def record_not_modified(self, path: str) -> None:
        with self._lock:
            self.not_modified[path] += 1

    def start(self) -> LoopbackOutlet:
        server = _Server((self.host, 0), _Handler)
        server.outlet = self
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, name=f"outlet-{self.host}", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> LoopbackOutlet:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
