"""Loopback fake web servers ("outlets") for end-to-end tests.

A :class:`FakeOutlet` is a ``ThreadingHTTPServer`` on a loopback address
(``127.0.0.2``, ``127.0.0.3``, ... each work on Linux without setup, so every
fake outlet can have its own host) and a free port. It serves a dict of
``path -> route`` and records every request, so a test can prove that a
blocked request never arrived (``outlet.hits[path] == 0``).

A route is one of:

* ``(status, headers, body)``: a fixed answer; ``headers`` a dict or a list of
  pairs, ``body`` bytes or str (UTF-8). ``Content-Length`` is added unless the
  headers already have it.
* ``Response(...)``: the same, as a dataclass.
* a callable ``route(request: Request, writer: Writer) -> Response | None``: it
  may return a :class:`Response`, or write the answer itself with ``writer``
  (raw bytes, drip feeding, endless chunked bodies, never answering) and return
  ``None``. Long-running callables should wait on ``request.stopping`` so that
  stopping the outlet ends them promptly.

Paths match without the query string; an unknown path is a 404. Helpers build
common routes: :func:`redirect`, :func:`drip`, :func:`endless_chunked`,
:func:`hang`, :func:`slow`.

Example::

    from tests.support.httpfakes import FakeOutlet, redirect

    with FakeOutlet({"/": (200, {"Content-Type": "text/html"}, "<p>hi</p>"),
                     "/old": redirect("/")}, host="127.0.0.2") as outlet:
        url = outlet.url("/old")          # http://127.0.0.2:<port>/old
        ...                               # fetch it
        assert outlet.hits["/"] == 1 and outlet.max_in_flight == 1
"""

from __future__ import annotations

import collections
import dataclasses
import http.server
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from types import TracebackType

from wiredesk.loopback import KeptConnectionHandler, KeptConnectionServer

__all__ = [
    "FakeOutlet",
    "Request",
    "Response",
    "Route",
    "Writer",
    "drip",
    "endless_chunked",
    "hang",
    "ipv6_loopback_available",
    "redirect",
    "self_signed_cert",
    "slow",
    "tls_server_context",
]

Headers = Mapping[str, str] | Iterable[tuple[str, str]]


@dataclasses.dataclass(frozen=True)
class Response:
    status: int = 200
    headers: Headers = dataclasses.field(default_factory=dict)
    body: bytes | str = b""


@dataclasses.dataclass(frozen=True)
class Request:
    """One request as the outlet saw it."""

    method: str
    path: str  # without the query
    target: str  # as sent, with the query
    headers: dict[str, str]  # lower-case names
    client: tuple[str, int]
    server: tuple[str, int]  # the local address that accepted the connection
    at: float  # time.monotonic() on arrival
    stopping: threading.Event


class Writer:
    """Raw access to the connection for callables that answer by hand."""

    def __init__(self, handler: http.server.BaseHTTPRequestHandler) -> None:
        self._handler = handler

    def status(self, code: int, headers: Headers = ()) -> None:
        """Send the status line and headers (no Content-Length is added)."""
        self._handler.send_response(code)
        for name, value in _pairs(headers):
            self._handler.send_header(name, value)
        self._handler.end_headers()
        self.flush()

    def write(self, data: bytes) -> None:
        self._handler.wfile.write(data)
        self.flush()

    def raw(self, data: bytes) -> None:
        """Bytes straight to the socket, e.g. a malformed status line."""
        self.write(data)

    def flush(self) -> None:
        self._handler.wfile.flush()

    def chunk(self, data: bytes) -> None:
        """One chunk of a ``Transfer-Encoding: chunked`` body (empty data ends it)."""
        self.write(b"%x\r\n%s\r\n" % (len(data), data))


Route = tuple[int, Headers, bytes | str] | Response | Callable[[Request, Writer], Response | None]


def _pairs(headers: Headers) -> list[tuple[str, str]]:
    if isinstance(headers, Mapping):
        return list(headers.items())
    return list(headers)


def redirect(location: str, status: int = 302) -> Response:
    return Response(status, {"Location": location}, b"")


def drip(
    body: bytes, *, interval: float = 0.5, headers: Headers = (("Content-Type", "text/html"),)
) -> Callable[[Request, Writer], None]:
    """Send headers, then ``body`` one byte every ``interval`` seconds."""

    def route(request: Request, writer: Writer) -> None:
        writer.status(200, [*_pairs(headers), ("Content-Length", str(len(body)))])
        for i in range(len(body)):
            if request.stopping.wait(interval):
                return
            writer.write(body[i : i + 1])

    return route


def endless_chunked(
    chunk: bytes = b"<p>" + b"x" * 65536 + b"</p>",
    *,
    headers: Headers = (("Content-Type", "text/html"),),
) -> Callable[[Request, Writer], None]:
    """A chunked body that never ends (until the client goes away or the outlet stops)."""

    def route(request: Request, writer: Writer) -> None:
        writer.status(200, [*_pairs(headers), ("Transfer-Encoding", "chunked")])
        while not request.stopping.is_set():
            writer.chunk(chunk)

    return route


def hang(seconds: float = 60.0) -> Callable[[Request, Writer], None]:
    """Accept the request and never answer (for ``seconds`` or until stopped)."""

    def route(request: Request, writer: Writer) -> None:
        request.stopping.wait(seconds)

    return route


def slow(route: Route, seconds: float) -> Callable[[Request, Writer], Response | None]:
    """Answer like ``route`` after ``seconds`` (keeps requests in flight)."""

    def wrapped(request: Request, writer: Writer) -> Response | None:
        request.stopping.wait(seconds)
        return _answer(route, request, writer)

    return wrapped


def _answer(route: Route, request: Request, writer: Writer) -> Response | None:
    if callable(route):
        return route(request, writer)
    if isinstance(route, Response):
        return route
    status, headers, body = route
    return Response(status, headers, body)


class _Server(KeptConnectionServer):
    block_on_close = False
    allow_reuse_address = True
    outlet: FakeOutlet


class _Handler(KeptConnectionHandler):
    server: _Server

    def do_GET(self) -> None:
        self.server.outlet._handle(self)

    do_HEAD = do_GET
    do_POST = do_GET


class FakeOutlet:
    """A loopback HTTP server with routes and hit counters. Use as a context manager.

    ``hits`` counts requests per path (routed or not); ``requests`` keeps every
    :class:`Request`; ``max_in_flight`` is the most requests handled at once.
    Every answer closes its connection, unless ``keep_alive``: then a connection
    serves request after request, and is closed after ``idle_timeout`` seconds
    without one (None: never). ``Request.client`` tells the connections apart.
    """

    def __init__(
        self,
        routes: Mapping[str, Route] | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        tls: ssl.SSLContext | None = None,
        keep_alive: bool = False,
        idle_timeout: float | None = None,
    ) -> None:
        self.routes: dict[str, Route] = dict(routes or {})
        self.keep_alive = keep_alive
        self.idle_timeout = idle_timeout
        self.host = host
        self.tls = tls
        self._requested_port = port
        self.hits: collections.Counter[str] = collections.Counter()
        self.requests: list[Request] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ----------------------------------------------------------------

    def start(self) -> FakeOutlet:
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET

        class Server(_Server):
            address_family = family

        class Handler(_Handler):
            timeout = self.idle_timeout  # socket timeout: an idle connection is closed

        self._server = Server((self.host, self._requested_port), Handler)
        self._server.outlet = self
        if self.tls is not None:
            self._server.socket = self.tls.wrap_socket(self._server.socket, server_side=True)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeOutlet:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- addresses ------------------------------------------------------------------

    @property
    def port(self) -> int:
        assert self._server is not None, "outlet not started"
        return int(self._server.server_address[1])

    @property
    def netloc(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.netloc}"

    def url(self, path: str = "/") -> str:
        return self.base_url + path

    @property
    def total_hits(self) -> int:
        with self._lock:
            return sum(self.hits.values())

    # -- serving ----------------------------------------------------------------------

    def _handle(self, handler: _Handler) -> None:
        path = handler.path.split("?", 1)[0]
        request = Request(
            method=handler.command,
            path=path,
            target=handler.path,
            headers={k.lower(): v for k, v in handler.headers.items()},
            client=handler.client_address[:2],
            server=handler.connection.getsockname()[:2],
            at=time.monotonic(),
            stopping=self.stopping,
        )
        with self._lock:
            self.hits[path] += 1
            self.requests.append(request)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        writer = Writer(handler)
        released = False
        try:
            route = self.routes.get(path)
            response = (
                Response(404, {"Content-Type": "text/plain"}, b"not found")
                if route is None
                else _answer(route, request, writer)
            )
            if response is None:
                handler.close_connection = True
                return
            body = (
                response.body.encode("utf-8") if isinstance(response.body, str) else response.body
            )
            headers = _pairs(response.headers)
            # The request stops counting as in flight once its answer is ready: the
            # client may finish reading (and send its next request) before this thread
            # gets back from the write, which would count one request twice.
            with self._lock:
                self.in_flight -= 1
                released = True
            handler.send_response(response.status)
            for name, value in headers:
                handler.send_header(name, value)
            names = {name.lower() for name, _ in headers}
            if "content-length" not in names and "transfer-encoding" not in names:
                handler.send_header("Content-Length", str(len(body)))
            if not self.keep_alive:
                handler.send_header("Connection", "close")
            handler.end_headers()
            if handler.command != "HEAD":
                handler.wfile.write(body)
            if not self.keep_alive:
                handler.close_connection = True
        except (BrokenPipeError, ConnectionResetError, OSError):
            handler.close_connection = True  # the client gave up: that is the test's point
        finally:
            if not released:
                with self._lock:
                    self.in_flight -= 1


def ipv6_loopback_available() -> bool:
    """True when ``[::1]`` can be bound here (skip IPv6 tests otherwise)."""
    if not socket.has_ipv6:
        return False
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as sock:
            sock.bind(("::1", 0))
        return True
    except OSError:
        return False


def self_signed_cert(directory: str, *names: str) -> tuple[str, str] | None:
    """Write ``cert.pem``/``key.pem`` for ``names`` (DNS or IP SANs) with the openssl CLI.

    Returns ``(cert, key)`` paths, or ``None`` when openssl is not installed.
    The certificate is its own CA: trust it with ``FetchConfig(ca_file=cert)``.
    """
    cert, key = f"{directory}/cert.pem", f"{directory}/key.pem"
    sans = ",".join(
        (f"IP:{n}" if n.replace(".", "").isdigit() or ":" in n else f"DNS:{n}") for n in names
    )
    command = [
        "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
        "-nodes", "-keyout", key, "-out", cert, "-days", "2", "-subj", f"/CN={names[0]}",
        "-addext", f"subjectAltName={sans}",
    ]  # fmt: skip
    try:
        subprocess.run(command, check=True, capture_output=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    return cert, key


def tls_server_context(directory: str, *names: str) -> tuple[ssl.SSLContext, str] | None:
    """A server context with a new self-signed certificate for ``names``, and the
    certificate's path (a client's CA file); None without the openssl CLI."""
    paths = self_signed_cert(directory, *names)
    if paths is None:
        return None
    cert, key = paths
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context, cert
