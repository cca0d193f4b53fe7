"""URL normalization: one fetchable form of a link, and the exact-dedup key.

Three pure functions, none of which raises on bad input:

- :func:`normalize_url` turns any string into a clean absolute ``http(s)`` URL, or
  ``None`` when it is not one we should fetch.
- :func:`url_key` is the exact-dedup key: the normalized URL without the
  ``http``/``https`` distinction and without a leading ``www.``.
- :func:`resolve_link` resolves a feed's (possibly relative) link against a base.

>>> normalize_url(" HTTPS://WWW.Example.COM:443/a/./b/../c?utm_source=rss&id=7#top ")
'https://www.example.com/a/c?id=7'
>>> url_key("http://www.example.com/a/c?id=7&fbclid=x")
'example.com/a/c?id=7'
>>> resolve_link("https://example.com/news/feed.xml", "../story?id=1")
'https://example.com/story?id=1'

Rules (each chosen so that two spellings of one resource meet, and two resources never
merge):

- Leading/trailing whitespace and C0 control characters are stripped; tabs and line
  breaks inside are removed (as browsers do, per the WHATWG URL standard), other inner
  whitespace is percent-encoded.
- Scheme and host are lower-cased; the host is IDNA-encoded (UTS #46, then IDNA 2003
  as a fallback), a trailing dot is dropped, and WHATWG IPv4 spellings
  (``2130706433``, ``0x7f.1``) become dotted quads so that address checks downstream
  see the real address. Default ports (80, 443) are dropped; a bad port is ``None``.
- A URL with credentials (``user:pass@``) is ``None``: following it would send them,
  and ``https://bank.example@evil.example/`` is a classic spoof.
- The fragment is dropped (a page is the same without it).
- ``.`` and ``..`` path segments are resolved (RFC 3986, 5.2.4); an empty path becomes
  ``/``. Duplicate slashes are **kept**: ``/a//b`` and ``/a/b`` are different paths to
  RFC 3986 and to many servers (archives embed whole URLs in paths), so merging them
  could dedup two different pages or produce a URL that 404s.
- Percent-encoding is normalized (RFC 3986, 6.2.2): hex digits upper-cased, escapes of
  unreserved characters decoded, stray ``%`` and non-ASCII characters encoded as UTF-8.
- Tracking parameters (:data:`TRACKING_PARAMS`, :data:`TRACKING_PREFIXES`, and ``ref``
  except on the code hosts in :data:`REF_CONTENT_HOSTS`) are removed when
  ``strip_tracking`` is true. The other parameters keep their order and spelling:
  some sites route on parameter order, so they are never sorted.

Why not ``courlan.normalize_url``/``clean_url`` (installed with trafilatura)? They sort
the query parameters, keep the fragment, decode punycode to Unicode (we want the ASCII
form a resolver sees), collapse duplicate slashes, and their tracker pattern drops any
parameter whose name merely contains ``source``, ``session``, ``uid`` or ``ref``,
which merges distinct URLs; they also accept any scheme. So this module is our own.
"""

from __future__ import annotations

import ipaddress
import re
import urllib.parse

import idna

from wiredesk.transforms.fetch.netguard import PerHostSpelling, UrlError, parse_ipv4_host

__all__ = [
    "REF_CONTENT_HOSTS",
    "TRACKING_PARAMS",
    "TRACKING_PREFIXES",
    "normalize_url",
    "resolve_link",
    "url_key",
]

# Exact parameter names (compared lower-cased) that only ever carry click/campaign
# tracking. Sources: ClearURLs and AdGuard TrackParam lists, Firefox query stripping.
TRACKING_PARAMS: frozenset[str] = frozenset(
    {
        # ad-click ids
        "fbclid", "gclid", "gclsrc", "dclid", "gbraid", "wbraid", "msclkid", "yclid",
        "ysclid", "twclid", "ttclid", "li_fat_id", "epik", "rb_clickid", "s_kwcid",
        # mail / CRM
        "mc_cid", "mc_eid", "_hsenc", "_hsmi", "__hstc", "__hssc", "__hsfp",
        "hsctatracking", "mkt_tok", "vero_id", "vero_conv", "oly_anon_id", "oly_enc_id",
        "_ke", "trkcampaign", "sc_campaign", "sc_channel", "sc_content",
        "sc_medium", "sc_outcome", "sc_geo", "sc_country",
        # analytics cookies carried in links
        "_ga", "_gl", "_openstat", "igshid", "igsh",
        # news-site and platform campaign tags
        "cmp", "cmpid", "ocid", "icid", "ncid", "s_cid", "spm", "scm", "xtor",
        "smid", "smtyp", "emc", "wt.mc_id", "wt_mc", "ref_src", "ref_url",
        "__twitter_impression", "pk_campaign", "pk_kwd", "pk_keyword", "pk_source",
        "pk_medium", "pk_content", "pk_cid",
    }
)  # fmt: skip

# Name prefixes (lower-cased) of tracking families: Google/Urchin, AT Internet
# (the BBC's ``at_medium``/``at_campaign``), Matomo, HubSpot ads.
TRACKING_PREFIXES: tuple[str, ...] = ("utm_", "at_", "mtm_", "hsa_")

# ``ref`` is a campaign tag on news sites (``?ref=hp``) but selects a branch or tag on
# code hosts, where removing it changes the page.
REF_CONTENT_HOSTS: frozenset[str] = frozenset(
    {"github.com", "gitlab.com", "bitbucket.org", "codeberg.org", "sourceforge.net"}
)

_SCHEMES = frozenset({"http", "https"})
_DEFAULT_PORTS = {"http": 80, "https": 443}
_MAX_URL = 8192
# Unreserved characters (RFC 3986, 2.3): their escapes are decoded.
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_PATH_SAFE = _UNRESERVED | frozenset("!$&'()*+,;=:@/")
_QUERY_SAFE = _PATH_SAFE | frozenset("?")
_HEX = frozenset("0123456789abcdefABCDEF")
_STRIP = "".join(map(chr, range(0x21))) + "\x7f\u00a0\u200b\ufeff"
_TAB_NEWLINE = re.compile(r"[\t\n\r]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_LABEL_RE = re.compile(r"^[a-z0-9_-]{1,63}$")
_DOTS = re.compile("[.\u3002\uff0e\uff61]")
_SCHEME_RE = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):")


def _clean_input(url: object) -> str | None:
    if not isinstance(url, str) or len(url) > _MAX_URL:
        return None
    url = _TAB_NEWLINE.sub("", url.strip(_STRIP))
    url = _CONTROL.sub("", url)
    return url or None


def _norm_pct(text: str, safe: frozenset[str]) -> str:
    """Normalize percent-encoding; encode anything outside ``safe`` as UTF-8 escapes."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "%":
            if i + 2 < n and text[i + 1] in _HEX and text[i + 2] in _HEX:
                byte = int(text[i + 1 : i + 3], 16)
                decoded = chr(byte)
                out.append(decoded if decoded in _UNRESERVED else f"%{byte:02X}")
                i += 3
                continue
            out.append("%25")
        elif ch in safe:
            out.append(ch)
        else:
            out.append("".join(f"%{b:02X}" for b in ch.encode("utf-8", "surrogatepass")))
        i += 1
    return "".join(out)


def _remove_dot_segments(path: str) -> str:
    """RFC 3986, 5.2.4, on an absolute path."""
    output: list[str] = []
    segments = path.split("/")
    for i, seg in enumerate(segments):
        last = i == len(segments) - 1
        if seg == ".":
            if last:
                output.append("")
        elif seg == "..":
            if len(output) > 1:
                output.pop()
            if last:
                output.append("")
        else:
            output.append(seg)
    result = "/".join(output)
    return result if result.startswith("/") else "/" + result


def _whatwg_ipv4(host: str) -> str | None:
    """Dotted quad for a WHATWG IPv4 spelling; ``""`` when ``host`` is a name, None when
    it ends in a number but is no address. The guard's own parser (one reading of
    "0x7f.1", "2130706433" or "0177.0.0.1" for both the key and the SSRF check)."""
    parsed = parse_ipv4_host(host)
    if isinstance(parsed, UrlError):
        return None
    return parsed or ""


# Encoding a host (IDNA, the WHATWG address forms) is most of a URL's normalization.
@PerHostSpelling
def _encode_host(raw: str) -> str | None:
    host = urllib.parse.unquote(raw)
    if host.startswith("["):
        if not host.endswith("]") or "%" in host:
            return None  # zone ids are local-only; malformed literal
        try:
            return f"[{ipaddress.IPv6Address(host[1:-1]).compressed}]"
        except ValueError:
            return None
    host = _DOTS.sub(".", host).rstrip(".").lower()
    if not host or len(host) > 253:
        return None
    labels: list[str] = []
    for label in host.split("."):
        if label.isascii():
            ascii_label = label
        else:
            try:
                ascii_label = idna.encode(label, uts46=True).decode("ascii")
            except (idna.IDNAError, UnicodeError, ValueError):
                try:
                    ascii_label = label.encode("idna").decode("ascii")
                except UnicodeError:
                    return None
        ascii_label = ascii_label.lower()
        if not _LABEL_RE.match(ascii_label):
            return None
        labels.append(ascii_label)
    encoded = ".".join(labels)
    # After IDNA mapping: "²" and fullwidth digits become digits, so an address too.
    ipv4 = _whatwg_ipv4(encoded)
    if ipv4 is None:
        return None
    if ipv4:
        return ipv4
    return encoded if len(encoded) <= 253 else None


def _is_tracking(name: str, host: str) -> bool:
    key = urllib.parse.unquote_plus(name).strip().lower()
    if key in TRACKING_PARAMS or key.startswith(TRACKING_PREFIXES):
        return True
    if key == "ref":
        bare = host[4:] if host.startswith("www.") else host
        return bare not in REF_CONTENT_HOSTS
    return False


def _clean_query(query: str, host: str, strip_tracking: bool) -> str:
    kept: list[str] = []
    for piece in query.split("&"):
        if not piece:
            continue
        name = piece.split("=", 1)[0]
        if strip_tracking and _is_tracking(name, host):
            continue
        kept.append(_norm_pct(piece, _QUERY_SAFE))
    return "&".join(kept)


def normalize_url(url: str, *, strip_tracking: bool = True) -> str | None:
    """The normalized absolute ``http(s)`` form of ``url``, or ``None`` if it has none.

    ``strip_tracking=False`` keeps every query parameter (used for the URL we fetch,
    see :func:`resolve_link`); all other rules in the module docstring still apply.
    """
    cleaned = _clean_input(url)
    if cleaned is None:
        return None
    match = _SCHEME_RE.match(cleaned)
    if not match or match.group(1).lower() not in _SCHEMES:
        return None
    scheme = match.group(1).lower()
    rest = cleaned[match.end() :].replace("\\", "/")
    if not rest.startswith("//"):
        return None
    rest = rest.lstrip("/")
    # Authority ends at the first of / ? # (WHATWG); what follows is path/query/fragment.
    end = len(rest)
    for sep in "/?#":
        pos = rest.find(sep)
        if pos != -1:
            end = min(end, pos)
    authority, tail = rest[:end], rest[end:]
    if "@" in authority:
        return None
    host_part, port_part = authority, ""
    if authority.startswith("["):
        close = authority.find("]")
        if close == -1:
            return None
        host_part, after = authority[: close + 1], authority[close + 1 :]
        if after and not after.startswith(":"):
            return None
        port_part = after[1:]
    elif ":" in authority:
        host_part, port_part = authority.rsplit(":", 1)
    host = _encode_host(host_part)
    if host is None:
        return None
    netloc = host
    if port_part:
        if not port_part.isdigit() or not port_part.isascii():
            return None
        port = int(port_part)
        if not 0 < port < 65536:
            return None
        if port != _DEFAULT_PORTS[scheme]:
            netloc = f"{host}:{port}"
    tail = tail.split("#", 1)[0]
    path, _, query = tail.partition("?")
    path = _remove_dot_segments(_norm_pct(path or "/", _PATH_SAFE))
    query = _clean_query(query, host, strip_tracking)
    return f"{scheme}://{netloc}{path}" + (f"?{query}" if query else "")


def url_key(url: str) -> str:
    """The exact-dedup key: ``host/path?query`` of the tracking-free normalized URL.

    ``http``/``https`` and a leading ``www.`` are not part of the key: sites serve (or
    redirect) the same page under both, while no two different articles differ only by
    them. A string that is not a usable URL gets the key ``raw:<stripped input>``, so
    the function is total and still deterministic.
    """
    normalized = normalize_url(url)
    if normalized is None:
        cleaned = url.strip() if isinstance(url, str) else repr(url)
        return "raw:" + cleaned[:_MAX_URL]
    rest = normalized.split("://", 1)[1]
    host = re.split(r"[/:?]", rest, maxsplit=1)[0]
    # Only a www label in front of a registrable name: www.com stays www.com.
    if host.startswith("www.") and "." in host[4:]:
        rest = rest[4:]
    return rest


def resolve_link(base: str, href: str) -> str | None:
    """``href`` resolved against ``base`` and normalized, tracking parameters kept.

    The result is what to fetch; use :func:`url_key` for deduplication. ``None`` when
    the result is not an ``http(s)`` URL (``javascript:``, ``mailto:``, garbage, or a
    relative link with no usable base).
    """
    cleaned = _clean_input(href)
    if cleaned is None:
        return None
    base_clean = _clean_input(base) or ""
    try:
        joined = urllib.parse.urljoin(base_clean, cleaned.replace("\\", "/"))
    except ValueError:
        return None
    return normalize_url(joined, strip_tracking=False)
