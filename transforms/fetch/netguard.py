"""Which network addresses the fetcher may contact: pure classification, no I/O.

Two jobs, both pure functions so they can be tested exhaustively:

* :func:`classify_address` says whether an IP address is public unicast (``None``)
  or names the reason it is not (``"loopback"``, ``"private"``, ``"link_local"``, ...).
  It uses explicit tables instead of ``ipaddress.is_global``, which gives wrong
  answers on Python 3.11 (CVE-2024-4032, fixed in 3.12.4) and ignores addresses
  that embed an IPv4 address (mapped, 6to4, Teredo, NAT64).
* :func:`parse_host` reads the host of a URL the way browsers, curl and
  ``getaddrinfo`` read it, so that hostile spellings (``2130706433``,
  ``0x7f.1``, ``0177.0.0.1``, ``localhost.``, ``[::ffff:7f00:1]``,
  ``http://evil@127.0.0.1/``, percent-encoded or IDNA hosts) become the address
  they really mean before they are classified.

:class:`AddressPolicy` combines both with the operator's overrides
(``--allow-private-addresses``, ``--allow-host``).

Example::

    >>> from wiredesk.transforms.fetch.netguard import AddressPolicy, classify_address, parse_host
    >>> classify_address("169.254.169.254"), classify_address("93.184.215.14")
    ('link_local', None)
    >>> t = parse_host("http://user@0x7f.1:8080/a?b")
    >>> (t.host, t.ip, t.port, t.path)
    ('127.0.0.1', '127.0.0.1', 8080, '/a?b')
    >>> AddressPolicy().check(host=t.host, ip=t.ip)
    'loopback'
"""

from __future__ import annotations

import dataclasses
import functools
import ipaddress
import re
import urllib.parse
from collections.abc import Callable
from typing import Generic, TypeVar

__all__ = [
    "HOST_CACHE_MAX_CHARS",
    "PRIVATE_CATEGORIES",
    "AddressPolicy",
    "PerHostSpelling",
    "Target",
    "UrlError",
    "classify_address",
    "classify_host",
    "normalize_host",
    "parse_host",
    "parse_ipv4_host",
]

_V4 = ipaddress.IPv4Network
_V6 = ipaddress.IPv6Network

# Order matters only for the name reported: the first matching network wins.
_IPV4_BLOCKS: tuple[tuple[ipaddress.IPv4Network, str], ...] = (
    (_V4("0.0.0.0/32"), "unspecified"),
    (_V4("0.0.0.0/8"), "reserved"),  # "this network": Linux connects 0.x to itself
    (_V4("10.0.0.0/8"), "private"),
    (_V4("100.64.0.0/10"), "shared"),  # carrier-grade NAT, RFC 6598
    (_V4("127.0.0.0/8"), "loopback"),
    (_V4("169.254.0.0/16"), "link_local"),  # includes cloud metadata 169.254.169.254
    (_V4("172.16.0.0/12"), "private"),
    (_V4("192.0.0.0/24"), "reserved"),  # IETF protocol assignments
    (_V4("192.0.2.0/24"), "documentation"),
    (_V4("192.31.196.0/24"), "reserved"),  # AS112
    (_V4("192.52.193.0/24"), "reserved"),  # AMT
    (_V4("192.88.99.0/24"), "reserved"),  # 6to4 relay anycast (deprecated)
    (_V4("192.168.0.0/16"), "private"),
    (_V4("192.175.48.0/24"), "reserved"),  # AS112 direct delegation
    (_V4("198.18.0.0/15"), "benchmarking"),
    (_V4("198.51.100.0/24"), "documentation"),
    (_V4("203.0.113.0/24"), "documentation"),
    (_V4("224.0.0.0/4"), "multicast"),
    (_V4("255.255.255.255/32"), "broadcast"),
    (_V4("240.0.0.0/4"), "reserved"),
)

_IPV6_BLOCKS: tuple[tuple[ipaddress.IPv6Network, str], ...] = (
    (_V6("::/128"), "unspecified"),
    (_V6("::1/128"), "loopback"),
    (_V6("::/96"), "reserved"),  # deprecated IPv4-compatible addresses
    (_V6("64:ff9b:1::/48"), "nat64"),  # local-use NAT64, RFC 8215
    (_V6("100::/64"), "reserved"),  # discard-only
    (_V6("2001:db8::/32"), "documentation"),
    (_V6("2001::/23"), "reserved"),  # IETF protocol assignments (Teredo handled first)
    (_V6("3fff::/20"), "documentation"),  # RFC 9637
    (_V6("5f00::/16"), "reserved"),  # SRv6 SIDs
    (_V6("fc00::/7"), "private"),  # unique local addresses
    (_V6("fe80::/10"), "link_local"),
    (_V6("fec0::/10"), "site_local"),
    (_V6("ff00::/8"), "multicast"),
)
_IPV6_GLOBAL_UNICAST = _V6("2000::/3")
_NAT64_WKP = _V6("64:ff9b::/96")
_TEREDO = _V6("2001::/32")

#: Categories that ``allow_private`` unlocks: a local replay or a test server.
#: Link-local (cloud metadata), multicast, unspecified and reserved ranges stay
#: blocked unless a host is allowed by name with ``allowed_hosts``.
PRIVATE_CATEGORIES: frozenset[str] = frozenset(
    {"loopback", "private", "shared", "site_local"}
    | {f"ipv4_mapped_{c}" for c in ("loopback", "private", "shared")}
)

_LOCALHOST_RE = re.compile(r"(?:^|\.)localhost$")
_LABEL_RE = re.compile(r"^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$")
_HEX_RE = re.compile(r"0[xX][0-9a-fA-F]*")  # used with fullmatch: "$" would allow a "\n"
_PATH_SAFE = "/?=&;:@!$'()*+,~-._%"
_FORBIDDEN_HOST_CHARS = set(" \t\r\n\x00#/?@[]\\<>^|%")


def _classify_v4(addr: ipaddress.IPv4Address) -> str | None:
    for net, name in _IPV4_BLOCKS:
        if addr in net:
            return name
    return None


def _classify_v6(addr: ipaddress.IPv6Address) -> str | None:
    mapped = addr.ipv4_mapped
    if mapped is not None:
        # No real host publishes a mapped address in DNS; the socket would reach
        # the embedded IPv4 address, so a blocked one keeps its category.
        inner = _classify_v4(mapped)
        return "ipv4_mapped" if inner is None else f"ipv4_mapped_{inner}"
    if addr in _NAT64_WKP:
        # The well-known NAT64 prefix reaches the embedded IPv4 address.
        embedded = ipaddress.IPv4Address(int(addr) & 0xFFFFFFFF)
        return None if _classify_v4(embedded) is None else "nat64"
    if addr in _TEREDO:
        # Teredo is obsolete and both ends are IPv4: nothing to gain, much to lose.
        return "teredo"
    sixtofour = addr.sixtofour
    if sixtofour is not None and _classify_v4(sixtofour) is not None:
        return "6to4"
    for net, name in _IPV6_BLOCKS:
        if addr in net:
            return name
    if addr not in _IPV6_GLOBAL_UNICAST:
        return "reserved"  # unassigned space is not routable on the Internet
    return None


def classify_address(ip: str) -> str | None:
    """``None`` when ``ip`` is a public unicast address we may contact, else why not.

    Accepts IPv4 and IPv6 text, with or without brackets or an IPv6 zone
    (``fe80::1%eth0``); anything else is ``"invalid"``. Never raises.
    """
    text = str(ip).strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    try:
        addr = ipaddress.ip_address(text)
    except ValueError:
        return "invalid"
    if isinstance(addr, ipaddress.IPv4Address):
        return _classify_v4(addr)
    if addr.scope_id:
        return "link_local" if addr.is_link_local else "scoped"
    return _classify_v6(addr)


@dataclasses.dataclass(frozen=True)
class Target:
    """A URL split into what the fetcher needs, with the host normalized.

    ``host`` is lower-case ASCII (IDNA) without a trailing dot, or the canonical
    text of an IP address (IPv6 without brackets); ``ip`` is set when the host
    is an IP literal in any spelling; ``path`` includes the query, never the
    fragment or credentials.
    """

    scheme: str
    host: str
    port: int
    path: str
    ip: str | None = None

    @property
    def default_port(self) -> bool:
        return self.port == (443 if self.scheme == "https" else 80)

    @property
    def netloc(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.default_port else f"{host}:{self.port}"

    @property
    def origin(self) -> str:
        return f"{self.scheme}://{self.netloc}"

    @property
    def url(self) -> str:
        return self.origin + self.path


@dataclasses.dataclass(frozen=True)
class UrlError:
    """Why a URL cannot be fetched: ``reason`` is always ``"bad_url"``."""

    detail: str
    reason: str = "bad_url"


def _parse_ipv4_number(part: str) -> int | None:
    """One dotted part as inet_aton/WHATWG read it: 0x.. hex, 0.. octal, else decimal."""
    if _HEX_RE.fullmatch(part):
        return int(part[2:] or "0", 16)
    if not part.isdigit() or not part.isascii():
        return None
    if len(part) > 1 and part.startswith("0"):
        return int(part, 8) if all(c in "01234567" for c in part) else None
    return int(part)


def _ends_in_number(parts: list[str]) -> bool:
    last = parts[-1]
    return bool(last) and ((last.isascii() and last.isdigit()) or bool(_HEX_RE.fullmatch(last)))


def parse_ipv4_host(host: str) -> str | None | UrlError:
    """The IPv4 address a host spelling means, ``None`` if it is a name.

    Follows the WHATWG URL host parser: 1 to 4 parts, each decimal, octal or
    hex; the last part fills the remaining bytes (``127.1`` is 127.0.0.1).
    """
    parts = host.split(".")
    if len(parts) > 1 and parts[-1] == "":
        parts.pop()
    if not _ends_in_number(parts):
        return None
    if len(parts) > 4 or any(p == "" for p in parts):
        return UrlError(f"malformed IPv4 host {host!r}")
    numbers = [_parse_ipv4_number(p) for p in parts]
    if any(n is None for n in numbers):
        return UrlError(f"malformed IPv4 host {host!r}")
    nums = [n for n in numbers if n is not None]
    if any(n > 255 for n in nums[:-1]) or nums[-1] >= 256 ** (5 - len(nums)):
        return UrlError(f"IPv4 host out of range {host!r}")
    value = nums[-1]
    for i, n in enumerate(nums[:-1]):
        value += n << (8 * (3 - i))
    return str(ipaddress.IPv4Address(value))


def _idna(host: str) -> str | UrlError:
    if host.isascii():
        return host.lower()
    try:
        import idna  # UTS 46 mapping, as browsers do; a transitive dependency (requests)

        return str(idna.encode(host, uts46=True, transitional=False).decode("ascii"))
    except ImportError:  # pragma: no cover - idna ships with requests
        try:
            return host.encode("idna").decode("ascii").lower()
        except UnicodeError as exc:
            return UrlError(f"invalid internationalized host: {exc}")
    except Exception as exc:  # idna raises several IDNAError/UnicodeError kinds
        return UrlError(f"invalid internationalized host: {exc}")


# A host spelling longer than any host name is never kept: hostile input must not fill a
# cache with long strings.
HOST_CACHE_MAX_CHARS = 300
_R = TypeVar("_R")


class PerHostSpelling(Generic[_R]):
    """``fn`` with its answers kept per host spelling (a bounded LRU), for spellings of up
    to :data:`HOST_CACHE_MAX_CHARS` characters; longer ones are computed every time.
    Hosts repeat (a feed links to its own site, each fetch checks its host two or three
    times), and ``fn`` must depend on the spelling alone."""

    def __init__(self, fn: Callable[[str], _R], maxsize: int = 4096) -> None:
        self.uncached = fn
        self.cached = functools.lru_cache(maxsize=maxsize)(fn)
        functools.update_wrapper(self, fn, updated=())

    def __call__(self, host: str) -> _R:
        if len(host) > HOST_CACHE_MAX_CHARS:
            return self.uncached(host)
        return self.cached(host)


@PerHostSpelling
def normalize_host(host: str) -> tuple[str, str | None] | UrlError:
    """A host as written in a URL -> (normalized host, IP text if it is an address).

    Percent-decodes, maps IDNA to ASCII, lower-cases, drops one trailing dot and
    turns every IPv4/IPv6 spelling into canonical address text. Kept per spelling
    (:class:`PerHostSpelling`).
    """
    raw = urllib.parse.unquote(host, errors="strict") if "%" in host else host
    if raw.startswith("[") or raw.endswith("]"):
        if not (raw.startswith("[") and raw.endswith("]")):
            return UrlError(f"unbalanced brackets in host {host!r}")
        inner = raw[1:-1]
        if "%" in inner:
            return UrlError("IPv6 zone identifiers are not fetchable")
        try:
            v6 = ipaddress.IPv6Address(inner)
        except ValueError:
            return UrlError(f"malformed IPv6 host {host!r}")
        return str(v6), str(v6)
    if not raw:
        return UrlError("empty host")
    if any(c in _FORBIDDEN_HOST_CHARS or ord(c) < 0x20 or ord(c) == 0x7F for c in raw):
        return UrlError(f"forbidden character in host {host!r}")
    if ":" in raw:
        return UrlError(f"IPv6 host must be in brackets: {host!r}")
    ascii_host = _idna(raw)
    if isinstance(ascii_host, UrlError):
        return ascii_host
    # IDNA may map full-width digits and dots to ASCII ones: parse numbers after it.
    v4 = parse_ipv4_host(ascii_host)
    if isinstance(v4, UrlError):
        return v4
    if v4 is not None:
        return v4, v4
    name = ascii_host[:-1] if ascii_host.endswith(".") else ascii_host
    labels = name.split(".")
    if len(name) > 253 or not all(_LABEL_RE.match(label) for label in labels):
        return UrlError(f"invalid host name {host!r}")
    return name, None


def parse_host(url: str) -> Target | UrlError:
    """Split an http(s) URL into a :class:`Target`; any other input is a :class:`UrlError`.

    Credentials are dropped (never sent); the fragment is dropped; the path
    always starts with ``/``. Never raises.
    """
    try:
        return _parse(url)
    except Exception as exc:  # hostile input must become a value, not a crash
        return UrlError(f"unparseable URL: {type(exc).__name__}")


def _parse(url: str) -> Target | UrlError:
    if not isinstance(url, str):
        return UrlError("URL is not a string")
    text = url.strip()
    if any(ord(c) < 0x20 or c == "\\" or ord(c) == 0x7F for c in text):
        # urlsplit and browsers disagree on these; refusing them avoids parser differentials.
        return UrlError("control character or backslash in URL")
    parts = urllib.parse.urlsplit(text)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        return UrlError(f"scheme {scheme or '(none)'!r} is not fetched")
    if not text[len(parts.scheme) + 1 :].startswith("//"):
        return UrlError("URL has no authority")
    hostport = parts.netloc.rpartition("@")[2]
    if hostport.startswith("["):
        close = hostport.find("]")
        if close < 0:
            return UrlError("unbalanced brackets in host")
        host, rest = hostport[: close + 1], hostport[close + 1 :]
        if rest and not rest.startswith(":"):
            return UrlError("garbage after IPv6 host")
        port_text = rest[1:]
    else:
        host, _, port_text = hostport.partition(":")
        if ":" in port_text:
            return UrlError("more than one ':' in host")
    default = 443 if scheme == "https" else 80
    if port_text:
        if not (port_text.isascii() and port_text.isdigit()) or not 0 < int(port_text) < 65536:
            return UrlError(f"invalid port {port_text!r}")
        port = int(port_text)
    else:
        port = default
    normalized = normalize_host(host)
    if isinstance(normalized, UrlError):
        return normalized
    name, ip = normalized
    path = parts.path or "/"
    if not path.startswith("/"):
        path = "/" + path
    if parts.query:
        path += "?" + parts.query
    # http.client sends the request line as ASCII: encode what a browser would.
    path = urllib.parse.quote(path, safe=_PATH_SAFE)
    return Target(scheme=scheme, host=name, port=port, path=path, ip=ip)


def classify_host(host: str) -> str | None:
    """What the host alone says before any DNS: an IP literal's category,
    ``"loopback"`` for ``localhost`` and ``*.localhost`` (RFC 6761), else ``None``."""
    if ":" in host:  # a normalized IPv6 host comes without brackets
        return classify_address(host)
    normalized = normalize_host(host)
    if isinstance(normalized, UrlError):
        return "invalid"
    name, ip = normalized
    if ip is not None:
        return classify_address(ip)
    if _LOCALHOST_RE.search(name):
        return "loopback"
    return None


def _normalize_allowed(entry: str) -> str:
    normalized = normalize_host(entry.strip())
    return entry.strip().lower() if isinstance(normalized, UrlError) else normalized[0]


@dataclasses.dataclass(frozen=True)
class AddressPolicy:
    """Decides per (host, resolved IP) whether a connection may be made.

    Public unicast addresses are always allowed. ``allow_private`` adds the
    :data:`PRIVATE_CATEGORIES` (loopback, RFC 1918, ULA, CGNAT); ``allowed_hosts``
    allows any address for a listed host name or IP (``--allow-host``). A name
    is matched after normalization, so ``LOCALHOST.`` matches ``localhost``.
    """

    allow_private: bool = False
    allowed_hosts: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "allowed_hosts", frozenset(_normalize_allowed(h) for h in self.allowed_hosts)
        )

    def _exempt(self, host: str, ip: str | None, category: str) -> bool:
        if host in self.allowed_hosts or (ip is not None and ip in self.allowed_hosts):
            return True
        return self.allow_private and category in PRIVATE_CATEGORIES

    def check_host(self, host: str) -> str | None:
        """Before DNS: ``None`` or the category that blocks this (normalized) host."""
        category = classify_host(host)
        if category is None or self._exempt(host, None, category):
            return None
        return category

    def check(self, *, host: str, ip: str) -> str | None:
        """``None`` when connecting to ``ip`` for ``host`` is allowed, else the category."""
        category = classify_address(ip)
        if category is None:
            category = classify_host(host)
            if category is None:
                return None
        try:
            canonical = str(ipaddress.ip_address(ip.strip().strip("[]")))
        except ValueError:
            canonical = ip
        if self._exempt(host, canonical, category):
            return None
        return category
