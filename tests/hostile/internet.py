"""A hostile internet on loopback, and one ``wiredesk run --once`` over all of it.

Every hostile case is an outlet (a :class:`~tests.support.httpfakes.FakeOutlet`)
on its own 127.0.0.x address (127.0.0.60 and up), or a route on one, listed by
feeds that an allowed outlet serves. What the attacker wants to reach is the
*inside*: a listener on 127.0.0.1 (and ``[::1]`` where the machine has IPv6
loopback) on one port, which counts every request it gets. It is never
allowed, so every case that points at it must end as a reject without a hit.

Two in-process fakes stand for the rest of the world while a run lasts:

* a DNS zone ``*.hostile.test`` (``socket.getaddrinfo`` answers for it; every
  other name goes to the system resolver): ``inside`` is 127.0.0.1,
  ``intranet`` is 10.20.30.40, and ``rebind`` answers the allowed 127.0.0.75 to
  the first two lookups (the page's hop and its robots.txt) and the inside
  address after that, as a DNS-rebinding attacker would;
* a tripwire on ``socket.connect``: a connection to anything but loopback
  (169.254.169.254, 10.20.30.40, ...) is recorded and refused, so no test sends
  a packet beyond loopback even when a defence is broken, and a broken defence
  shows up as a recorded attempt.

Example::

    with HostileInternet() as net:
        out = net.run(tmp_path)               # exit code 0, output in tmp_path/out
        net.inside.total_hits                 # 0
        net.expected_counts()                 # {("fetch", "blocked_address"): 21, ...}
"""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
import email.utils
import errno
import gzip
import ipaddress
import os
import random
import socket
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from typing import Any

import brotli

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
)

__all__ = [
    "Case",
    "HostileInternet",
    "MAX_PAGE_BYTES",
    "article_html",
]

MiB = 1024 * 1024
#: The run's ``--max-page-bytes``: room for the extraction-bomb page, far below any bomb.
MAX_PAGE_BYTES = 1_500_000
RETRY_SHORT_SECONDS = 2.0
HTML = (("Content-Type", "text/html; charset=utf-8"),)

_HOSTS = {
    "news": "127.0.0.60",
    "redir": "127.0.0.61",
    "bombs": "127.0.0.62",
    "drip": "127.0.0.63",
    "hang": "127.0.0.64",
    "robots_rules": "127.0.0.65",
    "robots_5xx": "127.0.0.66",
    "robots_4xx": "127.0.0.67",
    "robots_huge": "127.0.0.68",
    "robots_broken": "127.0.0.69",
    "retry_seconds": "127.0.0.70",
    "retry_date": "127.0.0.71",
    "retry_short": "127.0.0.72",
    "busy": "127.0.0.73",
    "not_html": "127.0.0.74",
    "rebind": "127.0.0.75",
}
INTRANET_IP = "10.20.30.40"
METADATA_IP = "169.254.169.254"

# ------------------------------------------------------------------------- good pages

_WORDS = [
    "harbour",
    "council",
    "budget",
    "ferry",
    "terminal",
    "railway",
    "bridge",
    "tunnel",
    "market",
    "farmers",
    "harvest",
    "wheat",
    "rice",
    "coffee",
    "exports",
    "imports",
    "tariff",
    "customs",
    "factory",
    "workers",
    "union",
    "strike",
    "wages",
    "pension",
    "hospital",
    "doctors",
    "nurses",
    "vaccine",
    "clinic",
    "school",
    "teachers",
    "pupils",
    "exam",
    "university",
    "library",
    "museum",
    "painting",
    "orchestra",
    "festival",
    "stadium",
    "league",
    "coach",
    "striker",
    "goal",
    "referee",
    "season",
    "election",
    "ballot",
    "voters",
    "minister",
    "parliament",
    "senate",
    "court",
    "judge",
    "verdict",
    "appeal",
    "lawyer",
    "police",
    "officers",
    "suspect",
    "arrest",
    "storm",
    "flood",
    "river",
    "drought",
    "wildfire",
    "forest",
    "glacier",
    "coast",
    "island",
    "volcano",
    "earthquake",
    "satellite",
    "rocket",
    "launch",
    "engineers",
    "battery",
    "solar",
    "wind",
    "turbine",
    "grid",
    "pipeline",
    "refinery",
    "tanker",
    "cargo",
    "port",
    "airline",
    "airport",
    "pilots",
    "passengers",
    "tourism",
    "hotel",
    "bank",
    "interest",
    "inflation",
    "currency",
    "bonds",
    "shares",
    "investors",
    "profit",
    "loss",
    "merger",
    "startup",
    "software",
    "network",
    "privacy",
    "hackers",
    "bakery",
    "restaurant",
    "chef",
    "recipe",
    "cheese",
    "wine",
    "vineyard",
    "orchard",
    "bees",
    "garden",
    "park",
    "zoo",
    "elephants",
    "wolves",
    "whales",
    "fishermen",
    "nets",
    "boats",
    "lighthouse",
    "mayor",
    "village",
    "town",
    "district",
    "province",
    "border",
    "refugees",
    "charity",
    "volunteers",
    "donors",
    "census",
    "survey",
    "report",
    "study",
    "scientists",
    "laboratory",
    "telescope",
    "planet",
    "comet",
    "archive",
    "manuscript",
    "poet",
    "novel",
    "author",
    "publisher",
    "bookshop",
    "cinema",
    "director",
    "actors",
    "theatre",
    "ballet",
    "dancers",
    "bicycle",
    "lanes",
    "traffic",
    "buses",
    "trams",
    "subway",
    "parking",
    "housing",
    "rents",
    "tenants",
    "landlords",
    "builders",
    "cement",
    "steel",
    "timber",
    "copper",
    "mine",
    "miners",
    "quarry",
    "canal",
    "dam",
    "reservoir",
    "water",
]
_RU_WORDS = [
    "город",
    "совет",
    "бюджет",
    "паром",
    "порт",
    "мост",
    "река",
    "рынок",
    "урожай",
    "пшеница",
    "завод",
    "рабочие",
    "зарплата",
    "больница",
    "врачи",
    "школа",
    "учителя",
    "университет",
    "музей",
    "театр",
    "выборы",
    "министр",
    "суд",
    "полиция",
    "шторм",
    "наводнение",
    "лес",
    "побережье",
    "остров",
    "спутник",
    "ракета",
    "инженеры",
    "энергия",
    "ветер",
    "солнце",
    "сеть",
    "банк",
    "валюта",
    "инвесторы",
    "прибыль",
    "хлеб",
    "сыр",
    "вино",
    "сад",
    "парк",
    "зоопарк",
    "рыбаки",
    "лодки",
    "маяк",
    "деревня",
    "район",
    "граница",
    "перепись",
    "учёные",
    "планета",
    "архив",
    "поэт",
    "роман",
    "автор",
    "кино",
    "актёры",
    "автобус",
]


def _sentences(rng: random.Random, words: tuple[str, ...] | list[str], count: int) -> list[str]:
    out = []
    for _ in range(count):
        picked = [rng.choice(words) for _ in range(rng.randint(12, 20))]
        out.append(" ".join(picked).capitalize() + ".")
    return out


def article_html(
    seed: int,
    *,
    title: str | None = None,
    lead: str = "",
    russian: bool = False,
    head: str = "",
) -> str:
    """A plain news page with text no other seed shares (so syndication keeps them apart)."""
    rng = random.Random(seed)
    words = _RU_WORDS if russian else _WORDS
    paragraphs = [" ".join(_sentences(rng, words, 4)) for _ in range(6)]
    if lead:
        paragraphs[0] = f"{lead} {paragraphs[0]}"
    heading = title or " ".join(rng.choice(words) for _ in range(6)).capitalize()
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (
        f"<html><head><title>{heading}</title>{head}</head><body>"
        f"<article><h1>{heading}</h1>{body}</article></body></html>"
    )


def _extraction_bomb() -> bytes:
    # About 1 MB of tiny paragraphs: trafilatura needs about 10 s on it here (measured),
    # so the run's --extract-timeout 3 kills it.
    return ("<html><body>" + "<p>a b</p>" * 100_000 + "</body></html>").encode()


# ------------------------------------------------------------------------- XML attacks

_LAUGHS = "".join(
    ['<!ENTITY lol0 "lol">'] + [f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)]
)
_QUADRATIC_VALUE = "x" * 50_000


def _doctypes(root: str, inside: str, secret: str) -> dict[str, tuple[str, str]]:
    """Attack name -> (DOCTYPE, the entity reference the document uses)."""
    return {
        "laughs": (f"<!DOCTYPE {root} [{_LAUGHS}]>", "&lol9;"),
        "quadratic": (f'<!DOCTYPE {root} [<!ENTITY a "{_QUADRATIC_VALUE}">]>', "&a;" * 20_000),
        "xxe-file": (f'<!DOCTYPE {root} [<!ENTITY x SYSTEM "file://{secret}">]>', "&x;"),
        "xxe-listener": (f'<!DOCTYPE {root} [<!ENTITY x SYSTEM "{inside}/xxe">]>', "&x;"),
        "external-dtd": (f'<!DOCTYPE {root} SYSTEM "{inside}/evil.dtd">', "&x;"),
    }


def _rss(doctype: str, ref: str, link: str) -> str:
    return (
        f'<?xml version="1.0" encoding="utf-8"?>\n{doctype}\n<rss version="2.0"><channel>'
        f"<title>Hostile {ref[:20]}</title><link>{link}</link>"
        f"<item><title>Story {ref}</title><link>{link}</link>"
        f"<description>{ref}</description></item></channel></rss>"
    )


def _atom(doctype: str, ref: str, link: str) -> str:
    return (
        f'<?xml version="1.0" encoding="utf-8"?>\n{doctype}\n'
        '<feed xmlns="http://www.w3.org/2005/Atom"><title>Hostile</title>'
        "<id>urn:hostile:feed</id><updated>2024-01-01T00:00:00Z</updated>"
        f'<entry><title>Story {ref}</title><id>{link}</id><link href="{link}"/>'
        f"<updated>2024-01-01T00:00:00Z</updated><summary>{ref}</summary></entry></feed>"
    )


def _newsml(doctype: str, ref: str, guid: str) -> str:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n{doctype}\n'
        '<newsItem xmlns="http://iptc.org/std/nar/2006-10-01/" '
        f'guid="{guid}" version="1" standard="NewsML-G2" standardversion="2.29">'
        '<itemMeta><itemClass qcode="ninat:text"/><provider literal="Hostile"/>'
        "<versionCreated>2024-01-01T10:00:00Z</versionCreated></itemMeta>"
        f"<contentMeta><headline>Story {ref}</headline></contentMeta>"
        '<contentSet><inlineXML contenttype="application/xhtml+xml">'
        '<html xmlns="http://www.w3.org/1999/xhtml"><body>'
        f"<p>{ref} Officials met on Monday to discuss the harbour plan and agreed a budget.</p>"
        "<p>The work will start next spring and last two years, the council said.</p>"
        "</body></html></inlineXML></contentSet></newsItem>"
    )


# ------------------------------------------------------------------------- bodies


def _bomb(encoding: str, size: int = 64 * MiB) -> bytes:
    zeros = b"<p>" + b"\0" * size
    if encoding == "gzip":
        return gzip.compress(zeros, compresslevel=9)
    if encoding == "deflate":
        return zlib.compress(zeros, 9)
    if encoding == "br":
        return bytes(brotli.compress(zeros, quality=5))
    if encoding == "gzip, gzip":
        return gzip.compress(gzip.compress(zeros, compresslevel=9), compresslevel=9)
    raise ValueError(encoding)


def _bomb_route(encoding: str) -> Response:
    return Response(200, [*HTML, ("Content-Encoding", encoding)], _bomb(encoding))


def _huge_page(request: Request, writer: Writer) -> None:
    """200 MB of HTML, announced honestly, made on the fly (the client must stop early)."""
    total = 200 * MiB
    writer.status(200, [*HTML, ("Content-Length", str(total))])
    block = b"<p>" + b"w" * 65533
    sent = 0
    while sent < total and not request.stopping.is_set():
        writer.write(block)
        sent += len(block)


def _unannounced_huge_page(request: Request, writer: Writer) -> None:
    """200 MB with no length at all: the body ends when the connection does."""
    writer.status(200, list(HTML))
    block = b"<p>" + b"u" * 65533
    for _ in range(200 * MiB // len(block)):
        if request.stopping.is_set():
            return
        writer.write(block)


def _lying_length(request: Request, writer: Writer) -> None:
    writer.status(200, [*HTML, ("Content-Length", str(200 * MiB))])
    writer.write(b"<p>short</p>")


_PDF = (
    b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n" + bytes(range(256)) * 8
)
_PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 8
_ELF = b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)) * 8


# ------------------------------------------------------------------------- cases


@dataclasses.dataclass(frozen=True)
class Case:
    """One input of the run: a page a feed lists, or a feed. ``reason`` None: a good article."""

    name: str  # also the unique token in the URL, so rows can be found by it
    url: str
    stage: str | None
    reason: str | None
    threat: str  # the row of the table this case stands for
    kind: str = "page"  # page | feed
    # Retry-After hosts: the requests that reach the host before it says "wait" (at most
    # --per-host-concurrency of them) end as ``first_reason``; every later one is
    # ``reason`` (rate_limited) without a request.
    first_reason: str | None = None

    @property
    def good(self) -> bool:
        return self.reason is None


class _FakeDNS:
    """``*.hostile.test`` answers for ``socket.getaddrinfo``; other names go to the system."""

    def __init__(self, zone: dict[str, Callable[[], str]]) -> None:
        self._zone = zone
        self._real = socket.getaddrinfo
        self.lookups: collections.Counter[str] = collections.Counter()
        self._lock = threading.Lock()

    def getaddrinfo(self, host: Any, port: Any, *args: Any, **kw: Any) -> list[Any]:
        name = host.decode() if isinstance(host, bytes) else str(host or "")
        answer = self._zone.get(name.lower().rstrip("."))
        if answer is None:
            if name.lower().rstrip(".").endswith(".hostile.test"):
                raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
            return self._real(host, port, *args, **kw)
        with self._lock:
            self.lookups[name] += 1
            ip = answer()
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, int(port or 0)))]


class _Tripwire:
    """Refuses (and records) every TCP connection that would leave loopback."""

    def __init__(self) -> None:
        self.attempts: list[str] = []
        self._real_connect = socket.socket.connect
        self._real_connect_ex = socket.socket.connect_ex

    @staticmethod
    def _outside(sock: socket.socket, address: Any) -> str | None:
        if sock.family not in (socket.AF_INET, socket.AF_INET6):
            return None
        host = str(address[0]) if isinstance(address, tuple) else str(address)
        try:
            ip = ipaddress.ip_address(host.split("%", 1)[0])
        except ValueError:
            return None if host == "localhost" else host
        mapped = getattr(ip, "ipv4_mapped", None)
        return None if (mapped or ip).is_loopback else host

    def install(self) -> Callable[[], None]:
        tripwire = self

        def connect(sock: socket.socket, address: Any) -> None:
            outside = tripwire._outside(sock, address)
            if outside is not None:
                tripwire.attempts.append(outside)
                raise OSError(errno.ENETUNREACH, f"tripwire: {outside} is beyond loopback")
            tripwire._real_connect(sock, address)

        def connect_ex(sock: socket.socket, address: Any) -> int:
            outside = tripwire._outside(sock, address)
            if outside is not None:
                tripwire.attempts.append(outside)
                return errno.ENETUNREACH
            return int(tripwire._real_connect_ex(sock, address))

        socket.socket.connect = connect  # type: ignore[method-assign, assignment]
        socket.socket.connect_ex = connect_ex  # type: ignore[method-assign, assignment]

        def uninstall() -> None:
            socket.socket.connect = tripwire._real_connect  # type: ignore[method-assign]
            socket.socket.connect_ex = tripwire._real_connect_ex  # type: ignore[method-assign]

        return uninstall


class HostileInternet:
    """The outlets, the inside listener and the cases; a context manager."""

    def __init__(self, *, secret_dir: str) -> None:
        self.ipv6 = ipv6_loopback_available()
        self.secret_path = os.path.join(secret_dir, "secret.txt")
        self.secret_token = "TOPSECRET-" + os.urandom(6).hex()
        self.outlets: dict[str, FakeOutlet] = {
            name: FakeOutlet(host=host) for name, host in _HOSTS.items()
        }
        self.inside = FakeOutlet(host="127.0.0.1")
        self.inside6: FakeOutlet | None = None
        self.cases: list[Case] = []
        self.retry_short_sent: list[float] = []  # when the short Retry-After was answered
        self.busy_max_in_flight = 0  # most requests the "busy" host handled at once
        self.feed_urls: list[tuple[str, str]] = []  # (url, extras)
        self.tripwire = _Tripwire()
        self._rebind_lookups = 0
        self.dns = _FakeDNS(
            {
                "inside.hostile.test": lambda: "127.0.0.1",
                "intranet.hostile.test": lambda: INTRANET_IP,
                "metadata.hostile.test": lambda: METADATA_IP,
                "rebind.hostile.test": self._rebind_answer,
            }
        )
        self._undo: list[Callable[[], None]] = []

    # -- lifecycle ------------------------------------------------------------------

    def _rebind_answer(self) -> str:
        self._rebind_lookups += 1
        return _HOSTS["rebind"] if self._rebind_lookups <= 2 else "127.0.0.1"

    def __enter__(self) -> HostileInternet:
        with open(self.secret_path, "w", encoding="utf-8") as handle:
            handle.write(f"root:x:0:0:{self.secret_token}\n")
        self.inside.start()
        if self.ipv6:
            try:
                self.inside6 = FakeOutlet(host="::1", port=self.inside.port).start()
            except OSError:
                self.inside6 = None
        for outlet in self.outlets.values():
            outlet.start()
        self._build()
        real = socket.getaddrinfo
        socket.getaddrinfo = self.dns.getaddrinfo

        def restore_dns() -> None:
            socket.getaddrinfo = real

        self._undo.append(restore_dns)
        self._undo.append(self.tripwire.install())
        return self

    def __exit__(self, *exc: object) -> None:
        for undo in reversed(self._undo):
            undo()
        self._undo.clear()
        for outlet in [*self.outlets.values(), self.inside, self.inside6]:
            if outlet is not None:
                outlet.stop()

    # -- what the run is given --------------------------------------------------------

    @property
    def allowed_hosts(self) -> list[str]:
        return list(_HOSTS.values())

    @property
    def inside_hits(self) -> int:
        return self.inside.total_hits + (self.inside6.total_hits if self.inside6 else 0)

    def argv(self, feeds: str, out: str, *extra: str) -> list[str]:
        args = [
            "run", "--feeds", feeds, "--output", out, "--once",
            "--fetch-timeout", "2", "--connect-timeout", "1", "--extract-timeout", "3",
            "--extract-workers", "2", "--max-page-bytes", str(MAX_PAGE_BYTES),
            "--per-host-concurrency", "2",
        ]  # fmt: skip
        for host in self.allowed_hosts:
            args += ["--allow-host", host]
        return args + list(extra)

    def write_feeds_file(self, path: str) -> str:
        lines = ["# the hostile internet: every feed of every case"]
        for url, extras in self.feed_urls:
            lines.append(f"{url} {extras}".rstrip())
        with open(path, "w", encoding="utf-8") as handle:
            handle.write("\n".join(lines) + "\n")
        return path

    def page_requests(self, outlet: str) -> int:
        """Requests an outlet got for pages (robots.txt not counted)."""
        hits = self.outlets[outlet].hits
        return sum(n for path, n in hits.items() if path != "/robots.txt")

    def expected_counts(self) -> dict[tuple[str, str], int]:
        """(stage, reason) -> reject rows the run must write.

        On a Retry-After host the requests that reached it (``first_reason``) are
        counted from what the outlet saw; every other case is fixed in advance.
        """
        counts: collections.Counter[tuple[str, str]] = collections.Counter()
        reached: dict[str, int] = {}
        for case in self.cases:
            if case.stage is None or case.reason is None:
                continue
            if case.first_reason is not None:
                outlet = self.outlet_of(case)
                if outlet not in reached:
                    # The short Retry-After host answers 429 to its first request only.
                    served = self.page_requests(outlet)
                    reached[outlet] = min(served, 1) if outlet == "retry_short" else served
                if reached[outlet] > 0:
                    reached[outlet] -= 1
                    counts[(case.stage, case.first_reason)] += 1
                    continue
            counts[(case.stage, case.reason)] += 1
        return dict(counts)

    def outlet_of(self, case: Case) -> str:
        for name, outlet in self.outlets.items():
            if case.url.startswith(outlet.base_url + "/"):
                return name
        raise KeyError(case.name)

    def good_cases(self) -> list[Case]:
        return [c for c in self.cases if c.good]

    def case(self, name: str) -> Case:
        (found,) = [c for c in self.cases if c.name == name]
        return found

    # -- building -------------------------------------------------------------------------

    def _url(self, outlet: str, path: str) -> str:
        return self.outlets[outlet].url(path)

    def _inside_url(self, host: str) -> str:
        return f"http://{host}:{self.inside.port}"

    def _add(self, name: str, url: str, stage: str | None, reason: str | None, threat: str,
             kind: str = "page") -> None:  # fmt: skip
        assert all(c.name != name for c in self.cases), name
        self.cases.append(Case(name, url, stage, reason, threat, kind))

    def _page(self, outlet: str, name: str, route: Any, reason: str | None, threat: str,
              *, stage: str = "fetch", first_reason: str | None = None) -> None:  # fmt: skip
        path = f"/{name}"
        self.outlets[outlet].routes[path] = route
        self._add(name, self._url(outlet, path), stage if reason else None, reason, threat)
        if first_reason is not None:
            self.cases[-1] = dataclasses.replace(self.cases[-1], first_reason=first_reason)

    def _build(self) -> None:
        self._build_blocked()
        self._build_xml_feeds()
        self._build_transfer()
        self._build_robots()
        self._build_politeness()
        self._build_content()
        self._write_main_feeds()

    def _build_blocked(self) -> None:
        port = self.inside.port
        for route in ("/secret", "/xxe", "/evil.dtd"):
            self.inside.routes[route] = (200, HTML, "<p>the crown jewels</p>")
        spellings = {
            "loopback": f"127.0.0.1:{port}",
            "ipv6-loopback": f"[::1]:{port}",
            "ipv4-mapped": f"[::ffff:127.0.0.1]:{port}",
            "ipv4-mapped-hex": f"[::ffff:7f00:1]:{port}",
            "decimal": f"2130706433:{port}",
            "hex": f"0x7f000001:{port}",
            "hex-dotted": f"0x7f.0x0.0x0.0x1:{port}",
            "octal": f"0177.0.0.1:{port}",
            "short": f"127.1:{port}",
            "localhost-dot": f"localhost.:{port}",
            "localhost-upper": f"LOCALHOST:{port}",
            "sub-localhost": f"app.localhost:{port}",
            "link-local": METADATA_IP,
            "name-to-loopback": f"inside.hostile.test:{port}",
            "name-to-private": "intranet.hostile.test",
            "name-to-metadata": "metadata.hostile.test",
        }
        for label, netloc in spellings.items():
            name = f"case-blocked-{label}"
            self._add(name, f"http://{netloc}/{name}", "fetch", "blocked_address",
                      "item links to a blocked address")  # fmt: skip
            # The same target behind a redirect from an allowed host: raw spelling in Location.
            hop = f"case-redirect-{label}"
            self._page("redir", hop, redirect(f"http://{netloc}/{hop}"), "blocked_address",
                       "redirect from an allowed host to a blocked address")  # fmt: skip
        rebind = "case-dns-rebinding"
        self.outlets["rebind"].routes[f"/{rebind}"] = (200, HTML, article_html(901))
        self._add(rebind, f"http://rebind.hostile.test:{self.outlets['rebind'].port}/{rebind}",
                  None, None, "DNS answers that change between check and connect")  # fmt: skip

    def _build_xml_feeds(self) -> None:
        inside = self._inside_url("127.0.0.1")
        news = self.outlets["news"]
        for fmt in ("rss", "atom", "newsml"):
            root = {"rss": "rss", "atom": "feed", "newsml": "newsItem"}[fmt]
            for attack, (doctype, ref) in _doctypes(root, inside, self.secret_path).items():
                name = f"case-xml-{fmt}-{attack}"
                # If the feed were read, this page would be fetched: it must stay unrequested.
                link = news.url(f"/listed-by-{name}")
                news.routes[f"/listed-by-{name}"] = (200, HTML, article_html(len(self.cases)))
                if fmt == "rss":
                    body, ctype, extras = _rss(doctype, ref, link), "application/rss+xml", ""
                elif fmt == "atom":
                    body, ctype, extras = _atom(doctype, ref, link), "application/atom+xml", ""
                else:
                    guid = f"urn:newsml:hostile.test:{name}"
                    body, ctype, extras = (
                        _newsml(doctype, ref, guid),
                        "application/xml",
                        "type=newsml",
                    )
                news.routes[f"/{name}.xml"] = (200, {"Content-Type": ctype}, body)
                url = news.url(f"/{name}.xml")
                self._add(name, url, "feed", "parse_error",
                          f"{attack} in {fmt}", kind="feed")  # fmt: skip
                self.feed_urls.append((url, extras))

    def _build_transfer(self) -> None:
        threat = "bombs, endless or lying bodies, huge pages"
        for label, encoding in (("gzip", "gzip"), ("deflate", "deflate"), ("brotli", "br"),
                                ("stacked", "gzip, gzip")):  # fmt: skip
            self._page("bombs", f"case-bomb-{label}", _bomb_route(encoding), "too_large", threat)
        self._page("bombs", "case-endless-chunked", endless_chunked(), "too_large", threat)
        self._page("bombs", "case-lying-length", _lying_length, "too_large", threat)
        self._page("bombs", "case-200mb", _huge_page, "too_large", threat)
        self._page("bombs", "case-200mb-unannounced", _unannounced_huge_page, "too_large", threat)
        self._page("drip", "case-drip", drip(b"<p>" * 100, interval=0.5), "timeout",
                   "one byte every few seconds")  # fmt: skip
        self._page("hang", "case-silent", hang(30.0), "timeout",
                   "a server that accepts and never answers")  # fmt: skip
        self._page("redir", "case-redirect-loop", redirect("/case-redirect-loop"),
                   "too_many_redirects", "redirect loop")  # fmt: skip
        chain = self.outlets["redir"].routes
        chain["/case-redirect-chain"] = redirect("/case-redirect-chain-1")
        for i in range(1, 30):
            chain[f"/case-redirect-chain-{i}"] = redirect(f"/case-redirect-chain-{i + 1}")
        chain["/case-redirect-chain-30"] = (200, HTML, article_html(902))
        self._add("case-redirect-chain", self._url("redir", "/case-redirect-chain"), "fetch",
                  "too_many_redirects", "30-hop redirect chain")  # fmt: skip

    def _build_robots(self) -> None:
        rules = self.outlets["robots_rules"]
        rules.routes["/robots.txt"] = (
            200, {"Content-Type": "text/plain"},
            "User-agent: *\nDisallow: /case-robots-disallowed\n\nUser-agent: wiredesk\n"
            "Disallow: /case-robots-disallowed\nAllow: /\n",
        )  # fmt: skip
        self._page("robots_rules", "case-robots-disallowed", (200, HTML, article_html(903)),
                   "robots_disallowed", "robots.txt disallow")  # fmt: skip
        self._page("robots_rules", "case-robots-allowed", (200, HTML, article_html(904)), None,
                   "robots.txt allows the rest")  # fmt: skip
        self.outlets["robots_5xx"].routes["/robots.txt"] = (500, {}, "oops")
        for i in (1, 2):
            self._page("robots_5xx", f"case-robots-5xx-{i}", (200, HTML, article_html(905 + i)),
                       "robots_disallowed", "robots.txt 5xx: disallow all")  # fmt: skip
        self.outlets["robots_4xx"].routes["/robots.txt"] = (403, {}, "forbidden")
        self._page("robots_4xx", "case-robots-4xx", (200, HTML, article_html(908)), None,
                   "robots.txt 4xx: allow all")  # fmt: skip
        huge = (
            "User-agent: *\nDisallow: /case-robots-huge-disallowed\n"
            + "# padding padding padding padding padding padding padding\n" * 40_000
            + "Disallow: /\n"  # past the 500 KiB RFC 9309 asks us to read: not seen
        )
        self.outlets["robots_huge"].routes["/robots.txt"] = (200, {}, huge)
        self._page("robots_huge", "case-robots-huge-disallowed", (200, HTML, article_html(909)),
                   "robots_disallowed", "huge robots.txt")  # fmt: skip
        self._page("robots_huge", "case-robots-huge-allowed", (410, HTML, "gone"), "http_410",
                   "huge robots.txt: rules past 500 KiB ignored")  # fmt: skip
        self.outlets["robots_broken"].routes["/robots.txt"] = (
            200, {"Content-Type": "text/plain"}, os.urandom(4096) + b"\nDisallow /\n\x00\xff",
        )  # fmt: skip
        self._page("robots_broken", "case-robots-broken", (410, HTML, "gone"), "http_410",
                   "broken robots.txt")  # fmt: skip

    def _build_politeness(self) -> None:
        for i in range(3):
            self._page("retry_seconds", f"case-retry-seconds-{i}",
                       (429, {"Retry-After": "3600"}, "slow down"), "rate_limited",
                       "429 Retry-After seconds", first_reason="http_429")  # fmt: skip
            when = email.utils.format_datetime(
                dt.datetime.now(dt.UTC) + dt.timedelta(hours=1), usegmt=True
            )
            self._page("retry_date", f"case-retry-date-{i}",
                       (503, {"Retry-After": when}, "maintenance"), "rate_limited",
                       "503 Retry-After HTTP-date", first_reason="http_503")  # fmt: skip
        short = self.outlets["retry_short"]
        lock = threading.Lock()

        def retry_short(request: Request, writer: Writer) -> Response:
            with lock:
                first = not self.retry_short_sent
                if first:
                    self.retry_short_sent.append(time.monotonic())
            if first:
                return Response(429, {"Retry-After": str(int(RETRY_SHORT_SECONDS))}, b"wait")
            # A request already in flight beside the first is answered late, so the client
            # has read the 429 before that slot frees; otherwise, on a busy machine, the third
            # request could take the slot and leave before the client had read "wait" at all,
            # which no client can honour (the suite failed this way once, offsets < 5 ms).
            request.stopping.wait(1.0)
            return Response(410, HTML, b"gone")

        for i in range(3):
            short.routes[f"/case-retry-short-{i}"] = retry_short
            self._add(f"case-retry-short-{i}", short.url(f"/case-retry-short-{i}"), "fetch",
                      "http_410", "429 with a short Retry-After")  # fmt: skip
            self.cases[-1] = dataclasses.replace(self.cases[-1], first_reason="http_429")
        busy_lock = threading.Lock()
        busy_now = [0]

        def busy(request: Request, writer: Writer) -> Response:
            # Counted here, not by the outlet: a request ends (for this count) before its
            # answer leaves, so the client cannot have started its next one yet, and a
            # server thread still busy with a closed socket is never counted.
            with busy_lock:
                busy_now[0] += 1
                self.busy_max_in_flight = max(self.busy_max_in_flight, busy_now[0])
            request.stopping.wait(0.4)
            with busy_lock:
                busy_now[0] -= 1
            return Response(410, HTML, b"gone")

        for i in range(6):
            self._page("busy", f"case-busy-{i}", busy, "http_410",
                       "many requests at once to one host")  # fmt: skip

    def _build_content(self) -> None:
        threat = "binary served as text/html"
        self._page("not_html", "case-pdf-as-html", (200, HTML, _PDF), "not_html", threat)
        self._page("not_html", "case-png-as-html", (200, HTML, _PNG), "not_html", threat)
        self._page("not_html", "case-elf-as-html", (200, HTML, _ELF), "not_html", threat)
        self._page("not_html", "case-pdf-no-type", (200, {}, _PDF), "not_html", threat)
        self._page("not_html", "case-pdf-declared", (200, {"Content-Type": "application/pdf"}, _PDF),
                   "not_html", threat)  # fmt: skip
        # Good pages: plain, wrong or missing charsets, UTF-16 without a BOM.
        for i in range(3):
            self._page("news", f"case-good-{i}", (200, HTML, article_html(100 + i)), None,
                       "good page")  # fmt: skip
        utf16 = article_html(110, title="Café au lait à Genève").encode("utf-16-le")
        self._page("news", "case-utf16-no-bom", (200, {"Content-Type": "text/html"}, utf16), None,
                   "UTF-16 without BOM")  # fmt: skip
        cyrillic = article_html(111, russian=True, title="Новости города").encode("cp1251")
        self._page("news", "case-cp1251-no-charset", (200, {"Content-Type": "text/html"}, cyrillic),
                   None, "missing charset")  # fmt: skip
        wrong = article_html(112, title="Crème brûlée für Zürich").encode("utf-8")
        self._page("news", "case-wrong-charset",
                   (200, {"Content-Type": "text/html; charset=iso-8859-1"}, wrong), None,
                   "wrong charset")  # fmt: skip
        # Hostile dates: in the feed (see _write_main_feeds) and in the page's own metadata.
        for i, (_, value) in enumerate(DATE_VALUES):
            meta = (
                f'<meta property="article:published_time" content="{value}">'
                f'<script type="application/ld+json">{{"@type": "NewsArticle", '
                f'"datePublished": "{value}"}}</script>'
            )
            self._page("news", f"case-date-{i}", (200, HTML, article_html(120 + i, head=meta)),
                       None, "hostile dates")  # fmt: skip
        # Hostile text meant for partition values (dateline, title, region guesses).
        for i, (lead, reason) in enumerate(PARTITION_ATTACKS):
            page = article_html(130 + i, title=lead[:60], lead=lead)
            self._page("news", f"case-partition-{i}", (200, HTML, page), reason,
                       "partition values from hostile text")  # fmt: skip
        self._page("news", "case-extract-bomb", (200, HTML, _extraction_bomb()),
                   "extract_timeout", "a page that makes extraction hang",
                   stage="extract")  # fmt: skip

    def _write_main_feeds(self) -> None:
        news = self.outlets["news"]
        pages = [c for c in self.cases if c.kind == "page"]
        dates = {f"case-date-{i}": feed for i, (feed, _) in enumerate(DATE_VALUES)}
        half = len(pages) // 2
        items = []
        for case in pages[:half]:
            pub = dates.get(case.name, "Mon, 01 Jan 2024 10:00:00 GMT")
            items.append(
                f"<item><title>{case.name}</title><link>{_xml_escape(case.url)}</link>"
                f"<guid isPermaLink='false'>{case.name}</guid><pubDate>{pub}</pubDate></item>"
            )
        rss = (
            '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            "<title>Hostile Times</title><link>http://hostile.test/</link>"
            + "".join(items) + "</channel></rss>"
        )  # fmt: skip
        entries = []
        for case in pages[half:]:
            pub = dates.get(case.name, "2024-01-01T10:00:00Z")
            entries.append(
                f"<entry><title>{case.name}</title><id>urn:case:{case.name}</id>"
                f'<link href="{_xml_escape(case.url)}"/><updated>{pub}</updated>'
                f"<published>{pub}</published></entry>"
            )
        atom = (
            '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
            "<title>Hostile Post</title><id>urn:hostile:post</id>"
            "<updated>2024-01-01T00:00:00Z</updated>" + "".join(entries) + "</feed>"
        )
        news.routes["/main.rss"] = (200, {"Content-Type": "application/rss+xml"}, rss)
        news.routes["/main.atom"] = (200, {"Content-Type": "application/atom+xml"}, atom)
        # Hostile extras on the feeds file line: must never become a partition value.
        hostile = "region=../../../../tmp/evil country=../x title='/\\x00'"
        self.feed_urls[:0] = [(news.url("/main.rss"), hostile), (news.url("/main.atom"), "")]


#: (in the feed, in the page's own metadata). An RFC 822 year 0 stays in the feed: in a
#: page it sends htmldate to dateparser, whose first call in a fresh process takes 5-8 s
#: here (it loads every locale), which a 3 s --extract-timeout would count as a hang.
DATE_VALUES = (
    ("Sat, 01 Jan 0000 00:00:00 GMT", "0000-01-01T00:00:00Z"),
    ("1000000000-01-01T00:00:00Z", "1000000000-01-01T00:00:00Z"),
    ("2024-01-01T00:00:00+99:99", "2024-01-01T00:00:00+99:99"),
    ("Fri, 31 Dec 9999 23:59:59 +9999", "9999-12-31T23:59:59+23:59"),
    ("not a date at all, banana o'clock", "not a date at all, banana o'clock"),
)
#: Hostile text meant to reach a partition value; None: becomes an article.
PARTITION_ATTACKS = (
    ("../../../../tmp/evil (Reuters) -", None),
    ("/etc/passwd, Jan 1 (AP) -", None),
    ("X" * 300 + " (Reuters) -", None),
    # A NUL in a text/html body marks it binary: rejected before any text is used.
    ("NUL\x00BYTE (AFP) -", "not_html"),
)


def _xml_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace('"', "&quot;")


def iter_files(root: str) -> Iterator[str]:
    for folder, _dirs, files in os.walk(root):
        for name in files:
            yield os.path.relpath(os.path.join(folder, name), root)
