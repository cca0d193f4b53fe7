"""What kept connections save the fetching process: pages over HTTPS and HTTP, side by side.

    python bench/keep_alive.py                 # 400 pages a round, 5 rounds
    python bench/keep_alive.py --quick         # 20 pages, 1 round (smoke)

A loopback outlet in a child process (its own CPU is not counted) serves one small page
over TLS (a fresh self-signed certificate; without the openssl CLI, plain HTTP only) and
over plain HTTP,
keeping connections open as most servers do. In this process, ``SafeFetcher.fetch_page``
fetches ``--pages`` pages from it in 4 threads, once with kept connections
(``keep_alive_s=10``, the default) and once with a connection per page
(``keep_alive_s=0``, what wiredesk did before), in alternating order. Reported: the
median wall time and CPU of this process per page, and the connections the outlet
accepted. Loopback has no round trips, so the wall time shows the CPU, not the latency a
handshake costs over a real network (one round trip for TCP, one or two more for TLS).
"""

from __future__ import annotations

import argparse
import os
import resource
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from wiredesk.loopback import KeptConnectionHandler, KeptConnectionServer  # noqa: E402
from wiredesk.transforms.fetch.http_client import FetchConfig, SafeFetcher  # noqa: E402

HOST = "127.0.0.61"
NAME = "bench.test"
PAGE = (
    "<html><head><title>Kept</title></head><body>"
    + "<p>A paragraph of a story, long enough to be a page. </p>" * 40
    + "</body></html>"
).encode()


def _serve(cert: str, key: str, ready: str) -> None:
    """The outlet: TLS and plain HTTP/1.1 servers that keep connections; counts them."""
    accepted = {"tls": 0, "plain": 0}
    lock = threading.Lock()

    class Handler(KeptConnectionHandler):
        def setup(self) -> None:
            super().setup()
            with lock:
                accepted[self.server.kind] += 1  # type: ignore[attr-defined]

        def do_GET(self) -> None:  # noqa: N802
            if self.path == "/count":
                body = f"{accepted['tls']} {accepted['plain']}".encode()
            else:
                body = PAGE
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    class Server(KeptConnectionServer):
        kind: str

    tls = Server((HOST, 0), Handler)
    tls.kind = "tls"
    if cert:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        tls.socket = context.wrap_socket(tls.socket, server_side=True)
    plain = Server((HOST, 0), Handler)
    plain.kind = "plain"
    for server in (tls, plain):
        threading.Thread(target=server.serve_forever, daemon=True).start()
    Path(ready).write_text(f"{tls.server_address[1]} {plain.server_address[1]}")
    threading.Event().wait()


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _fetch_all(fetcher: SafeFetcher, urls: list[str]) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), _cpu()
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(fetcher.fetch_page, urls))
    wall, cpu = time.perf_counter() - wall, _cpu() - cpu
    bad = [r for r in results if not r.ok]
    if bad:
        raise RuntimeError(f"{len(bad)} fetches failed, e.g. {bad[0].reason}: {bad[0].detail}")
    return wall, cpu


def _counts(fetcher: SafeFetcher, base: str) -> tuple[int, int]:
    result = fetcher.fetch_page(base + "/count")
    tls, plain = (int(x) for x in (result.text or "0 0").split())
    return tls, plain


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="20 pages, 1 round")
    parser.add_argument("--serve", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        _serve(*args.serve)
        return 0
    if args.quick:
        args.pages, args.rounds = 20, 1

    work = Path(tempfile.mkdtemp(prefix="wiredesk-keepalive-"))
    cert, key, ready = str(work / "cert.pem"), str(work / "key.pem"), work / "ready"
    try:
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
             "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", cert, "-days",
             "2", "-subj", f"/CN={NAME}", "-addext", f"subjectAltName=DNS:{NAME}"],
            check=True, capture_output=True,
        )  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        print("- no openssl CLI: plain HTTP only")
        cert = key = ""
    server = subprocess.Popen([sys.executable, __file__, "--serve", cert, key, str(ready)])
    try:
        while not ready.exists() or not ready.read_text():
            time.sleep(0.05)
        tls_port, plain_port = ready.read_text().split()
        bases = {"https": f"https://{NAME}:{tls_port}", "http": f"http://{NAME}:{plain_port}"}
        if not cert:
            del bases["https"]
        print(f"# kept connections: {args.pages} pages a round, {args.rounds} rounds, 4 threads")
        print(f"- python: {sys.version.split()[0]}, nproc: {os.cpu_count()}")
        rows = []
        for scheme, base in bases.items():
            urls = [f"{base}/p{i}" for i in range(args.pages)]
            timings: dict[float, list[tuple[float, float]]] = {10.0: [], 0.0: []}
            connections: dict[float, int] = {}
            for r in range(args.rounds):
                order = (10.0, 0.0) if r % 2 == 0 else (0.0, 10.0)
                for keep in order:
                    fetcher = SafeFetcher(
                        FetchConfig(
                            respect_robots=False,
                            allowed_hosts=frozenset({HOST}),
                            ca_file=cert or None,
                            keep_alive_s=keep,
                        ),
                        resolver=lambda host, port: [HOST],
                    )
                    counter = SafeFetcher(
                        FetchConfig(
                            respect_robots=False,
                            allowed_hosts=frozenset({HOST}),
                            ca_file=cert or None,
                        ),
                        resolver=lambda host, port: [HOST],
                    )
                    before = _counts(counter, bases["http"])
                    timings[keep].append(_fetch_all(fetcher, urls))
                    after = _counts(counter, bases["http"])
                    fetcher.close()
                    counter.close()
                    # The counter's one kept connection was accepted before ``before``.
                    i = 0 if scheme == "https" else 1
                    connections[keep] = after[i] - before[i]
            for keep, label in ((0.0, "a connection per page"), (10.0, "kept connections")):
                wall = statistics.median(w for w, _ in timings[keep]) / args.pages * 1e3
                cpu = statistics.median(c for _, c in timings[keep]) / args.pages * 1e3
                rows.append((scheme, label, f"{wall:.2f}", f"{cpu:.2f}", str(connections[keep])))
        print()
        print("| scheme | fetching | wall ms a page | CPU ms a page | connections (last round) |")
        print("|---|---|---|---|---|")
        for row in rows:
            print("| " + " | ".join(row) + " |")
    finally:
        server.kill()
        server.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
