"""Parse one fetched feed (RSS 0.9x/1.0/2.0, Atom 0.3/1.0, JSON Feed 1.0/1.1) into entries.

A pure function: bytes in, :class:`FeedParseResult` out; no network, no files, and
no exception for any input. XML goes through feedparser 6.0.14 (always as a byte
stream, never a ``str``: feedparser opens a ``str`` as a URL or a path); JSON Feed,
which feedparser 6.0.14 does not read, is parsed here with :mod:`json`.

>>> import datetime as dt
>>> from wiredesk.schemas.records import FeedSource
>>> body = b'''<rss version="2.0"><channel><title>Example News</title><ttl>30</ttl>
...   <item><title>Hello &lt;b&gt;world&lt;/b&gt;</title><link>/2024/hello?utm_source=rss</link>
...   <pubDate>Mon, 15 Jan 2024 10:00:00 +0100</pubDate></item></channel></rss>'''
>>> result = parse_feed(body=body, feed=FeedSource(url="https://example.com/rss"),
...                     fetched_at=dt.datetime(2024, 1, 16, tzinfo=dt.UTC))
>>> entry = result.entries[0]
>>> entry.url, entry.url_key, entry.title, entry.published_at.isoformat()
('https://example.com/2024/hello?utm_source=rss', 'example.com/2024/hello', 'Hello world', '2024-01-15T09:00:00+00:00')
>>> result.feed_title, result.ttl_seconds, result.reject
('Example News', 1800, None)

Hostile XML. feedparser hands the document to expat through SAX with external
general entities off, and strips ENTITY declarations with line-anchored regexes; but
a declaration on the DOCTYPE's own line survives those regexes, expat then expands
internal entities (its amplification guard only starts after 8 MiB of output), and
the "safe" entities feedparser keeps may be arbitrarily long (quadratic blowup).
So before feedparser sees the document, after it has been transcoded to UTF-8 (so
a UTF-16 DOCTYPE is caught too), every DOCTYPE in the prolog is **removed**, with
its internal subset and any external DTD reference. Only short, non-recursive
general entities (a single character reference, or at most
:attr:`FeedParseConfig.max_entity_value` characters without ``&``, ``%``, ``<``, quotes)
are declared again, so entity expansion is bounded by a small constant factor of
the input. A DOCTYPE that declares any other entity (recursive or long values: billion
laughs, quadratic blow-up; ``SYSTEM``/``PUBLIC`` entities: XXE; parameter entities other
than W3C's XHTML entity sets), or that names an external DTD other than the RSS 0.91
and W3C ones old feeds still carry, makes the whole feed a ``parse_error`` reject: its
text depends on what we refuse to expand, and no legitimate feed needs it. Nothing is
expanded, read or fetched on the way. A DOCTYPE that is unterminated or larger than
:attr:`FeedParseConfig.max_doctype_bytes` is rejected (``parse_error``) too: we cannot
know how expat would read it.

Ill-formed XML. Whether expat (feedparser's strict parser) accepts the document is
checked first, counting elements on the way (more than
:attr:`FeedParseConfig.max_elements` is ``too_large``: feedparser spends about 15 us
on each). If it does not, the document is not left to feedparser's regex-based loose
parser, which needs tens of seconds for a megabyte of unclosed tags: libxml2's
recovery mode (no entities, no DTD, no network) rebuilds it in linear time, after
HTML named entities (``&eacute;``) outside CDATA became character references and
with undeclared namespace prefixes (``dc:``) declared; feedparser then reads that.
``bozo`` says what was wrong in either case (``ill-formed XML recovered (...)``,
``CharacterEncodingOverride: ...``, ``DOCTYPE removed; ...``).

Rejects (stage ``feed``): ``parse_error`` (not XML/JSON we can read, not a known
feed format, refused DOCTYPE), ``no_entries`` (a feed, but no usable entry: the
detail counts why), ``too_large`` (body or element count over the limits).

Skipped entries are counted in :attr:`FeedParseResult.skipped_reasons` under
``no_link`` (nothing to fetch), ``bad_link`` (a link, but not a usable ``http(s)``
URL), ``duplicate`` (same :func:`url_key` as an earlier entry of this feed) and
``over_limit`` (beyond :attr:`FeedParseConfig.max_entries`). All but ``duplicate``
also become rows of :attr:`FeedParseResult.entry_rejects`, so an entry the pipeline
cannot fetch is never lost silently: ``bad_url`` for each entry whose link is unusable
(its ``url`` is the link as written, a password in it replaced by ``***``), ``no_link`` for each entry without one (its guid,
else the feed's URL), and one ``too_many_entries`` row for a feed longer than the limit.
A duplicate is the same page as an entry that is kept, so it loses nothing.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import html
import html.entities
import io
import json
import re
import urllib.parse
import xml.parsers.expat
from collections.abc import Mapping
from typing import Any

import feedparser
import feedparser.mixin
import lxml.etree
import lxml.html
from feedparser.encodings import convert_to_utf8

from wiredesk.schemas.records import FeedEntry, FeedSource, Reject, RejectReason, Stage
from wiredesk.transforms.common.dates import parse_datetime
from wiredesk.transforms.common.langcodes import normalize_language
from wiredesk.transforms.common.urlnorm import normalize_url, resolve_link, url_key

__all__ = [
    "FeedParseConfig",
    "FeedParseResult",
    "normalize_language",  # re-exported from langcodes, where it lives
    "parse_feed",
]


@dataclasses.dataclass(frozen=True)
class FeedParseConfig:
    """Limits for one feed. Lengths are in characters."""

    max_body_bytes: int = 32 * 1024 * 1024
    max_entries: int = 2000
    max_title: int = 1000
    max_summary: int = 2000
    max_guid: int = 2048
    max_authors: int = 20
    max_author: int = 200
    max_source: int = 300
    max_detail: int = 500
    max_reject_url: int = 2048  # the url of a bad link's reject row (it is also its key)
    max_doctype_bytes: int = 1024 * 1024
    max_entities: int = 64
    max_entity_value: int = 16
    # feedparser's loose parser is quadratic on some inputs: it only ever sees
    # documents that libxml2 recovered and that are at most this large.
    max_loose_bytes: int = 256 * 1024
    max_elements: int = 100_000  # a 2000-entry feed has about 40 000


@dataclasses.dataclass(frozen=True)
class FeedParseResult:
    """What one feed yielded. ``reject`` is set (and ``entries`` empty) when nothing could."""

    entries: tuple[FeedEntry, ...] = ()
    feed_title: str | None = None
    ttl_seconds: int | None = None
    bozo: str | None = None
    reject: Reject | None = None
    # Entries that cannot be fetched, one row each (and one for entries over the limit).
    entry_rejects: tuple[Reject, ...] = ()
    skipped: int = 0
    skipped_reasons: dict[str, int] = dataclasses.field(default_factory=dict)
    format: str | None = None  # feedparser's version ("rss20", "atom10", ...) or "json1"/"json11"


_DEFAULT_CONFIG = FeedParseConfig()

# ---------------------------------------------------------------------------- text

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# Formatting tags that RSS writers put into plain-text titles.
_INLINE_TAGS = re.compile(
    r"</?(?:a|b|i|u|em|strong|span|font|br|sup|sub|small|big|abbr|cite|q|mark|wbr)\b[^<>]{0,500}>",
    re.IGNORECASE,
)
_ANY_TAG = re.compile(r"<[^<>]{0,2000}>")
_DROP_ELEMENTS = ("script", "style", "noscript", "template", "iframe", "object", "svg")
_BY_PREFIX = re.compile(r"^\s*by\s+", re.IGNORECASE)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")
_RSS_AUTHOR = re.compile(
    r"^\s*[^@\s()<>]+@[^@\s()<>]+\s*\((.+)\)\s*$|^\s*(.+?)\s*<[^@\s<>]+@[^@\s<>]+>\s*$"
)
_HTTP_PREFIX = re.compile(r"\s*https?://", re.IGNORECASE)


def _collapse(text: str) -> str:
    return " ".join(_CONTROL.sub(" ", text).split())


def _html_to_text(markup: str) -> str:
    try:
        root = lxml.html.fragment_fromstring(markup, create_parent="div")
        for bad in root.iter(*_DROP_ELEMENTS):
            bad.drop_tree()
        for br in root.iter("br", "p", "div", "li"):
            br.tail = " " + (br.tail or "")
        return str(root.text_content())
    except (lxml.etree.LxmlError, ValueError, TypeError):
        # Unparseable fragment (NUL bytes, odd encodings): strip tags by pattern.
        return html.unescape(_ANY_TAG.sub(" ", markup))


def _text(value: object, limit: int, *, is_html: bool) -> str | None:
    """Plain, whitespace-collapsed text of a feed field, at most ``limit`` characters."""
    if not isinstance(value, str) or not value:
        return None
    # Bound the work: what is past this point cannot reach the output anyway.
    value = value[: limit * 20 + 1000]
    if is_html and ("<" in value or "&" in value):
        value = _html_to_text(value)
    elif "<" in value:
        value = _INLINE_TAGS.sub(" ", value)
    text = _collapse(value)
    if len(text) > limit:
        cut = text[:limit]
        space = cut.rfind(" ")
        text = (cut[:space] if space > limit * 0.8 else cut).rstrip()
    return text or None


def _is_html(detail: object) -> bool:
    kind = detail.get("type", "") if isinstance(detail, Mapping) else ""
    return isinstance(kind, str) and "html" in kind


# ---------------------------------------------------------------------- hostile XML

_WS = frozenset(b" \t\r\n")
_DOCTYPE_STOPS = re.compile(rb"[\"'\[>]")
_SUBSET_STOPS = re.compile(rb"[\"'\]]|<!--|<\?")
_ENTITY_DECL = re.compile(
    rb"<!ENTITY\s+(\w+)\s+(?:\"([^\"]*)\"|'([^']*)')\s*>", re.ASCII | re.IGNORECASE
)
_ANY_ENTITY_DECL = re.compile(rb"<!ENTITY", re.IGNORECASE)
_W3C_ENTITY_SET = re.compile(
    rb"<!ENTITY\s+%\s+[\w.-]+\s+PUBLIC\s+[\"']-//W3C//ENTITIES ", re.ASCII | re.IGNORECASE
)
# SYSTEM "uri" or PUBLIC "public-id" ... right after the DOCTYPE's name.
_EXTERNAL_ID = re.compile(
    rb"""\s*[^\s\[>"']+\s+(SYSTEM|PUBLIC)\s*(?:"([^"]*)"|'([^']*)')""", re.ASCII | re.IGNORECASE
)
_KNOWN_PUBLIC_IDS = (b"-//w3c//", b"-//netscape communications//")
_KNOWN_SYSTEM_DTD = re.compile(rb"/rss-?0[._]?91(?:\.dtd)?$", re.ASCII | re.IGNORECASE)


class _HostileXML(Exception):
    pass


def _scan_subset(data: bytes, pos: int) -> int:
    """Index of the ``]`` that closes a DOCTYPE internal subset starting at ``pos``."""
    while True:
        match = _SUBSET_STOPS.search(data, pos)
        if match is None:
            raise _HostileXML("unterminated DOCTYPE internal subset")
        token = match.group()
        if token == b"]":
            return match.start()
        closer = {b'"': b'"', b"'": b"'", b"<!--": b"-->", b"<?": b"?>"}[token]
        end = data.find(closer, match.end())
        if end == -1:
            raise _HostileXML("unterminated literal or comment in DOCTYPE")
        pos = end + len(closer)


def _scan_doctype(data: bytes, pos: int) -> tuple[int, bytes]:
    """End (after ``>``) and internal subset of a DOCTYPE whose name starts at ``pos``."""
    subset = b""
    while True:
        match = _DOCTYPE_STOPS.search(data, pos)
        if match is None:
            raise _HostileXML("unterminated DOCTYPE")
        token = match.group()
        if token == b">":
            return match.end(), subset
        if token == b"[":
            close = _scan_subset(data, match.end())
            subset += data[match.end() : close]
            pos = close + 1
        else:
            end = data.find(token, match.end())
            if end == -1:
                raise _HostileXML("unterminated literal in DOCTYPE")
            pos = end + 1


def _safe_entities(subset: bytes, config: FeedParseConfig) -> tuple[dict[bytes, bytes], int, int]:
    """Declarations worth keeping (short, non-recursive), how many were dropped, and how
    many of those were unsafe (long, recursive, external or parameter entities)."""
    limit = str(config.max_entity_value).encode()
    value_ok = re.compile(rb"&#[0-9]{1,7};|&#x[0-9a-fA-F]{1,6};|[^&%<\"']{0," + limit + rb"}")
    kept: dict[bytes, bytes] = {}
    unsafe = simple = 0
    for match in _ENTITY_DECL.finditer(subset):
        simple += 1
        value = match.group(2) if match.group(2) is not None else match.group(3)
        if value_ok.fullmatch(value) and len(kept) < config.max_entities:
            kept.setdefault(match.group(1), value)
        else:
            unsafe += 1
    total = len(_ANY_ENTITY_DECL.findall(subset))
    # W3C's XHTML entity sets (``%HTMLlat1;``) only name HTML entities, which are
    # mapped to characters anyway: declaring them is old habit, not an attack.
    unsafe += total - simple - len(_W3C_ENTITY_SET.findall(subset))
    return kept, total - len(kept), unsafe


def _refused_doctype(header: bytes, unsafe: int) -> str | None:
    """Why a DOCTYPE makes the whole feed a ``parse_error``, or None when stripping it is enough.

    Entity declarations that cannot be honoured safely (billion laughs, quadratic
    blow-up, ``SYSTEM``/``PUBLIC`` entities, parameter entities) are refused: the
    text depends on them, and no legitimate feed needs them. An external DTD is
    never loaded; it is tolerated only for the well-known RSS 0.91 and W3C DTDs
    that old feeds still name (fixtures ``rss_version_091_netscape.xml``,
    ``always_strip_doctype.xml``), and refused otherwise (a DTD on an attacker's
    server would define the entities the document uses).
    """
    if unsafe:
        return f"DOCTYPE declares {unsafe} entit{'y' if unsafe == 1 else 'ies'} we do not expand"
    external = _EXTERNAL_ID.match(header)
    if external is None:
        return None
    literal = (external.group(2) if external.group(2) is not None else external.group(3)).strip()
    if external.group(1).upper() == b"PUBLIC":
        if literal.lower().startswith(_KNOWN_PUBLIC_IDS):
            return None
    elif _KNOWN_SYSTEM_DTD.search(literal):
        return None
    return "DOCTYPE references an external DTD"


@dataclasses.dataclass(frozen=True)
class _Prolog:
    """A document with its DOCTYPEs taken out, and what may be declared again."""

    data: bytes  # no DOCTYPE left
    root_at: int  # where the root element starts (where a DOCTYPE may go back)
    entities: dict[bytes, bytes]
    note: str | None

    def with_entities(self) -> bytes:
        if not self.entities:
            return self.data
        decls = b"\n".join(b'<!ENTITY %s "%s">' % item for item in self.entities.items())
        declaration = b"\n<!DOCTYPE feed [\n" + decls + b"\n]>\n"
        return self.data[: self.root_at] + declaration + self.data[self.root_at :]


def _defuse_prolog(data: bytes, config: FeedParseConfig) -> _Prolog:
    """``data`` with every prolog DOCTYPE removed (see the module docstring)."""
    pos, n = 0, len(data)
    kept: dict[bytes, bytes] = {}
    dropped = 0
    while pos < n:
        while pos < n and data[pos] in _WS:
            pos += 1
        if data.startswith(b"<?", pos):
            end = data.find(b"?>", pos + 2)
            if end == -1:
                break
            pos = end + 2
        elif data.startswith(b"<!--", pos):
            end = data.find(b"-->", pos + 4)
            if end == -1:
                break
            pos = end + 3
        elif data[pos : pos + 9].upper() == b"<!DOCTYPE":
            end, subset = _scan_doctype(data, pos + 9)
            if end - pos > config.max_doctype_bytes:
                raise _HostileXML(f"DOCTYPE larger than {config.max_doctype_bytes} bytes")
            entities, lost, unsafe = _safe_entities(subset, config)
            refusal = _refused_doctype(data[pos + 9 : end], unsafe)
            if refusal is not None:
                raise _HostileXML(refusal)
            for name, value in entities.items():
                if len(kept) < config.max_entities:
                    kept.setdefault(name, value)
            dropped += lost
            data = data[:pos] + data[end:]
            n = len(data)
        else:
            break
    note = f"DOCTYPE removed; {dropped} entity declaration(s) not honoured" if dropped else None
    return _Prolog(data=data, root_at=pos, entities=kept, note=note)


# --------------------------------------------------------------------- ill-formed XML

_ENTITY_REF = re.compile(rb"&([A-Za-z_][\w.-]{0,31});", re.ASCII)
_CDATA = re.compile(rb"(<!\[CDATA\[.*?\]\]>)", re.DOTALL)
_XML_PREDEFINED = frozenset({b"amp", b"lt", b"gt", b"quot", b"apos"})
_PREFIX = re.compile(r"^[A-Za-z_][\w.-]*$", re.ASCII)
_ROOT_NAME_END = re.compile(rb"[\s/>]")
# prefix -> namespace URI, for feeds that use dc:, media:, itunes: ... undeclared.
_KNOWN_NAMESPACES: dict[str, str] = {}
for _uri, _prefix in getattr(feedparser.mixin._FeedParserMixin, "namespaces", {}).items():
    if isinstance(_prefix, str) and _prefix and isinstance(_uri, str):
        _KNOWN_NAMESPACES.setdefault(_prefix, _uri)


class _TooManyElements(Exception):
    pass


def _expat_error(data: bytes, max_elements: int) -> str | None:
    """Why expat (feedparser's strict parser) rejects ``data``; None if it would not.

    Raises :class:`_TooManyElements` past ``max_elements`` elements: feedparser
    spends about 15 microseconds on each, so a body of empty elements is a cheap
    way to make it work for minutes.
    """
    parser = xml.parsers.expat.ParserCreate(namespace_separator=" ")
    parser.SetParamEntityParsing(xml.parsers.expat.XML_PARAM_ENTITY_PARSING_NEVER)
    count = 0

    def start(_name: str, _attrs: object) -> None:
        nonlocal count
        count += 1
        if count > max_elements:
            raise _TooManyElements(f"more than {max_elements} XML elements")

    parser.StartElementHandler = start
    try:
        parser.Parse(data, True)
    except xml.parsers.expat.ExpatError as exc:
        return str(exc)
    return None


def _replace_entity_refs(data: bytes, entities: Mapping[bytes, bytes]) -> bytes:
    """Declared and HTML named entity references as character references, outside CDATA.

    An unknown reference becomes literal text (``&amp;name;``), as feedparser's loose
    parser would show it.
    """

    def replace(match: re.Match[bytes]) -> bytes:
        name = match.group(1)
        if name in _XML_PREDEFINED:
            return match.group(0)
        if name in entities:
            return entities[name]
        codepoint = html.entities.name2codepoint.get(name.decode("ascii"))
        return b"&#%d;" % codepoint if codepoint else b"&amp;" + name + b";"

    parts = _CDATA.split(data)
    return b"".join(p if p.startswith(b"<![CDATA[") else _ENTITY_REF.sub(replace, p) for p in parts)


def _recover(prolog: _Prolog) -> bytes | None:
    """A well-formed rendering of an ill-formed document, by libxml2's recovery mode.

    Linear time, unlike feedparser's regex-based loose parser, which needs tens of
    seconds for a megabyte of unclosed tags. Undeclared namespace prefixes are
    declared (with their usual URI when feedparser knows the prefix).
    """
    parser = lxml.etree.XMLParser(
        recover=True,
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )
    try:
        root = lxml.etree.fromstring(_replace_entity_refs(prolog.data, prolog.entities), parser)
    except lxml.etree.LxmlError:
        return None
    if root is None:
        return None
    prefixes: set[str] = set()
    for element in root.iter():
        names = [element.tag] if isinstance(element.tag, str) else []
        names.extend(str(key) for key in element.attrib)
        for name in names:
            if not name.startswith("{") and ":" in name:
                prefixes.add(name.split(":", 1)[0])
    out = lxml.etree.tostring(root, encoding="utf-8")
    declared = b"".join(
        b' xmlns:%s="%s"' % (p.encode(), _KNOWN_NAMESPACES.get(p, f"urn:x-undeclared:{p}").encode())
        for p in sorted(prefixes)
        if _PREFIX.match(p) and p.lower() not in ("xml", "xmlns")
    )
    if declared:
        end = _ROOT_NAME_END.search(out, 1)
        if end is not None:
            out = out[: end.start()] + declared + out[end.start() :]
    return out


# --------------------------------------------------------------------------- fields


def _first_link(entry: Mapping[str, Any], base: str) -> tuple[str | None, str | None]:
    """The entry's article URL, and its first link candidate as written (None: it has none)."""
    candidates: list[str] = []
    guid = entry.get("id")
    guid_url = guid if isinstance(guid, str) and _HTTP_PREFIX.match(guid) else None
    # FeedBurner rewrote links to its redirector; the original is kept here.
    for key in ("feedburner_origlink", "link"):
        value = entry.get(key)
        # With guidislink, feedparser copies the guid into ``link`` even when it is an
        # Atom ``tag:`` id: that is no link at all.
        if isinstance(value, str) and not (value == guid and guid_url is None):
            candidates.append(value)
    for link in entry.get("links") or ():
        if isinstance(link, Mapping) and link.get("rel", "alternate") == "alternate":
            href = link.get("href")
            if isinstance(href, str):
                candidates.append(href)
    if entry.get("guidislink") and guid_url is not None:
        candidates.append(guid_url)
    for candidate in candidates:
        resolved = resolve_link(base, candidate)
        if resolved is not None:
            return resolved, candidate
    return None, candidates[0] if candidates else None


def _entry_datetime(entry: Mapping[str, Any], now: dt.datetime) -> dt.datetime | None:
    for key in ("published", "updated", "created"):
        raw = entry.get(key)
        if isinstance(raw, str) and raw.strip():
            parsed = parse_datetime(raw, now=now)
        else:
            # No text (or not a string): feedparser's struct_time is all there is.
            parsed = parse_datetime(entry.get(f"{key}_parsed"), now=now)
        if parsed is not None:
            return parsed
    return None


def _authors(entry: Mapping[str, Any], config: FeedParseConfig) -> tuple[str, ...]:
    names: list[str] = []
    raw: list[object] = []
    # RSS <author> is "email (Name)"; feedparser's email pattern stops at four-letter
    # top-level domains, so "desk@x.example (Jane Doe)" comes out as "ple (Jane Doe".
    single = entry.get("author")
    if isinstance(single, str) and _EMAIL.match(single.strip()):
        return ()  # an address alone names nobody
    match = _RSS_AUTHOR.match(single) if isinstance(single, str) else None
    if match:
        raw.append(match.group(1) or match.group(2))
    for author in () if match else entry.get("authors") or ():
        if isinstance(author, Mapping):
            raw.append(author.get("name"))
    detail = entry.get("author_detail")
    if not raw and isinstance(detail, Mapping):
        raw.append(detail.get("name"))
    if not raw:
        raw.append(entry.get("author"))
    for value in raw:
        name = _text(value, config.max_author, is_html=True)
        if not name:
            continue
        name = _BY_PREFIX.sub("", name).strip()
        if name and not _EMAIL.match(name) and name not in names:
            names.append(name)
        if len(names) >= config.max_authors:
            break
    return tuple(names)


def _summary(entry: Mapping[str, Any], config: FeedParseConfig) -> str | None:
    summary = _text(entry.get("summary"), config.max_summary, is_html=True)
    if summary:
        return summary
    for content in entry.get("content") or ():
        if isinstance(content, Mapping):
            text = _text(content.get("value"), config.max_summary, is_html=True)
            if text:
                return text
    return None


def _ttl_seconds(feed: Mapping[str, Any]) -> int | None:
    seconds: int | None = None
    ttl = feed.get("ttl")
    if isinstance(ttl, str) and ttl.strip().isdigit():
        seconds = int(ttl.strip()) * 60
    else:
        period = {"hourly": 3600, "daily": 86400, "weekly": 604800, "monthly": 2592000,
                  "yearly": 31536000}.get(str(feed.get("sy_updateperiod", "")).strip().lower())  # fmt: skip
        frequency = str(feed.get("sy_updatefrequency", "1")).strip() or "1"
        if period and frequency.isdigit() and int(frequency) > 0:
            seconds = period // int(frequency)
    # 0 or absurd values say nothing useful about when to poll again.
    if seconds is None or not 0 < seconds <= 31536000:
        return None
    return seconds


def _host_name(url: str) -> str | None:
    host = urllib.parse.urlsplit(url).hostname if url else None
    if not host:
        return None
    return host[4:] if host.startswith("www.") else host


class _EntryBuilder:
    """Turns raw entries (feedparser or JSON Feed dicts) into FeedEntry records."""

    def __init__(
        self,
        *,
        feed: FeedSource,
        base: str,
        source: str | None,
        language: str | None,
        fetched_at: dt.datetime,
        config: FeedParseConfig,
    ) -> None:
        self.feed, self.base, self.config, self.fetched_at = feed, base, config, fetched_at
        self.source, self.language = source, language
        self.entries: list[FeedEntry] = []
        self.skipped: dict[str, int] = {}
        self.rejects: list[Reject] = []
        self._keys: set[str] = set()

    def skip(self, reason: str, count: int = 1) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + count

    def over_limit(self, total: int) -> None:
        extra = total - self.config.max_entries
        self.skip("over_limit", extra)
        self._reject(
            url=self.feed.url,
            reason=RejectReason.TOO_MANY_ENTRIES.value,
            detail=f"the feed lists {total} entries; only the first {self.config.max_entries}"
            f" are read, {extra} are not (max_entries)",
        )

    def unfetchable(self, *, raw_link: str | None, guid: object, title: str | None) -> None:
        """An entry with no usable link: counted, and a reject row that names it."""
        name = f"entry {title!r}" if title else "an entry without a title"
        if raw_link is not None:
            self.skip("bad_link")
            link = _redact_password(_collapse(raw_link))
            self._reject(
                url=link[: self.config.max_reject_url] or self.feed.url,
                reason=RejectReason.BAD_URL.value,
                detail=f"{name}: its link {link[:200]!r} is not a usable http(s) URL",
            )
            return
        self.skip("no_link")
        guid_text = _collapse(str(guid))[: self.config.max_guid] if guid is not None else ""
        self._reject(
            url=guid_text or self.feed.url,
            reason=RejectReason.NO_LINK.value,
            detail=f"{name} has no link to fetch",
        )

    def _reject(self, *, url: str, reason: str, detail: str) -> None:
        self.rejects.append(
            _feed_reject(
                self.feed,
                url=url,
                reason=reason,
                detail=detail,
                at=self.fetched_at,
                max_detail=self.config.max_detail,
            )
        )

    def add(
        self,
        *,
        link: str | None,
        raw_link: str | None,
        guid: object,
        title: str | None,
        published_at: dt.datetime | None,
        authors: tuple[str, ...],
        language: str | None,
        summary: str | None,
    ) -> None:
        if link is None:
            self.unfetchable(raw_link=raw_link, guid=guid, title=title)
            return
        key = url_key(link)
        if key in self._keys:
            self.skip("duplicate")
            return
        self._keys.add(key)
        guid_text = _collapse(str(guid))[: self.config.max_guid] if guid is not None else ""
        self.entries.append(
            FeedEntry(
                url=link,
                feed_url=self.feed.url,
                url_key=key,
                guid=guid_text or None,
                title=title,
                published_at=published_at,
                source=self.source,
                feed_region=self.feed.region,
                feed_country=self.feed.country,
                authors=authors,
                language=language or self.language,
                summary=summary,
            )
        )


def _redact_password(link: str) -> str:
    """The link with a password in it replaced by ``***``: a reject row is kept, and read."""
    try:
        parts = urllib.parse.urlsplit(link)
        if not parts.password:
            return link
    except ValueError:
        return link
    userinfo, _, hostport = parts.netloc.rpartition("@")
    user = userinfo.split(":", 1)[0]
    return parts._replace(netloc=f"{user}:***@{hostport}").geturl()


def _source_name(title: str | None, feed: FeedSource, config: FeedParseConfig) -> str | None:
    for candidate in (title, feed.title):
        text = _text(candidate, config.max_source, is_html=False)
        if text:
            return text
    return _host_name(feed.url)


# ----------------------------------------------------------------------- XML feeds


def _headers(headers: Mapping[str, str] | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in (headers or {}).items():
        if isinstance(key, str) and isinstance(value, str):
            out[key.strip().lower()] = value
    return out


def _exception_text(exc: object) -> str:
    return _collapse(f"{type(exc).__name__}: {exc}")


def _parse_xml(
    body: bytes,
    feed: FeedSource,
    hdrs: dict[str, str],
    fetched_at: dt.datetime,
    config: FeedParseConfig,
) -> FeedParseResult:
    # Transcode first (feedparser's own RFC 3023 logic, honouring the Content-Type
    # charset), so that the DOCTYPE check below sees UTF-16/32 documents too.
    encoding_info: dict[str, Any] = {}
    utf8 = convert_to_utf8(hdrs, body, encoding_info)
    if not encoding_info.get("encoding"):
        utf8 = utf8.decode("utf-8", "replace").encode("utf-8")
    notes: list[str] = []
    if encoding_info.get("bozo"):
        notes.append(_exception_text(encoding_info.get("bozo_exception")))
    try:
        prolog = _defuse_prolog(utf8, config)
    except _HostileXML as exc:
        return _reject(feed, RejectReason.PARSE_ERROR.value, f"refused XML: {exc}", fetched_at)
    if prolog.note:
        notes.append(prolog.note)
    document = prolog.with_entities()
    try:
        error = _expat_error(document, config.max_elements)
        if error is not None:
            recovered = _recover(prolog)
            if recovered is None:
                return _reject(
                    feed, RejectReason.PARSE_ERROR.value, f"unrecoverable XML: {error}", fetched_at
                )
            still = _expat_error(recovered, config.max_elements)
            if still is not None and len(recovered) > config.max_loose_bytes:
                return _reject(
                    feed, RejectReason.PARSE_ERROR.value, f"unrecoverable XML: {still}", fetched_at
                )
            notes.append(f"ill-formed XML recovered ({error})")
            document = recovered
    except _TooManyElements as exc:
        return _reject(feed, RejectReason.TOO_LARGE.value, str(exc), fetched_at)
    base = feed.url
    if hdrs.get("content-location"):
        base = resolve_link(feed.url, hdrs["content-location"]) or feed.url
    # No Content-Location for feedparser: it would resolve guids ("1559104147038")
    # against it as if they were links. Links are resolved below, against ``base``.
    response_headers = {"content-type": "application/xml; charset=utf-8"}
    if hdrs.get("content-language"):
        response_headers["content-language"] = hdrs["content-language"]
    parsed = feedparser.parse(
        io.BytesIO(document),
        response_headers=response_headers,
        resolve_relative_uris=False,  # only plain text leaves this module
        sanitize_html=True,
    )
    if parsed.get("bozo"):
        notes.append(_exception_text(parsed.get("bozo_exception")))
    bozo = "; ".join(notes)[: config.max_detail] if notes else None
    meta = parsed.get("feed") or {}
    feed_title = _text(
        meta.get("title"), config.max_source, is_html=_is_html(meta.get("title_detail"))
    )
    language = normalize_language(meta.get("language")) or normalize_language(
        hdrs.get("content-language")
    )
    builder = _EntryBuilder(
        feed=feed,
        base=base,
        source=_source_name(feed_title, feed, config),
        language=language,
        fetched_at=fetched_at,
        config=config,
    )
    raw_entries = parsed.get("entries") or []
    if len(raw_entries) > config.max_entries:
        builder.over_limit(len(raw_entries))
    for entry in raw_entries[: config.max_entries]:
        link, raw_link = _first_link(entry, base)
        title_detail = entry.get("title_detail")
        entry_language = None
        if isinstance(title_detail, Mapping):
            entry_language = normalize_language(title_detail.get("language"))
        builder.add(
            link=link,
            raw_link=raw_link,
            guid=entry.get("id"),
            title=_text(entry.get("title"), config.max_title, is_html=_is_html(title_detail)),
            published_at=_entry_datetime(entry, fetched_at),
            authors=_authors(entry, config),
            language=entry_language,
            summary=_summary(entry, config),
        )
    # feedparser names every format it knows; an empty version is an HTML page or other XML.
    recognized = bool(parsed.get("version"))
    return _finish(
        builder,
        feed_title=feed_title,
        ttl=_ttl_seconds(meta),
        bozo=bozo,
        fmt=parsed.get("version") or None,
        recognized=recognized,
        raw_count=len(raw_entries),
    )


# ----------------------------------------------------------------------- JSON Feed

_JSON_TYPES = frozenset({"application/feed+json", "application/json", "text/json"})


def _looks_json(body: bytes, hdrs: Mapping[str, str]) -> bool:
    mime = hdrs.get("content-type", "").split(";", 1)[0].strip().lower()
    if mime in _JSON_TYPES:
        return True
    return body.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"{"


def _json_authors(item: Mapping[str, Any], config: FeedParseConfig) -> tuple[str, ...]:
    raw = item.get("authors")
    people = raw if isinstance(raw, list) else [item.get("author")]
    entry = {"authors": [p for p in people if isinstance(p, Mapping)]}
    return _authors(entry, config)


def _parse_json(
    body: bytes, feed: FeedSource, fetched_at: dt.datetime, config: FeedParseConfig
) -> FeedParseResult:
    try:
        document = json.loads(body.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        return _reject(
            feed, RejectReason.PARSE_ERROR.value, f"JSON is not UTF-8: {exc}", fetched_at
        )
    except (ValueError, RecursionError) as exc:
        return _reject(feed, RejectReason.PARSE_ERROR.value, f"invalid JSON: {exc}", fetched_at)
    if not isinstance(document, dict) or not isinstance(document.get("items"), list):
        return _reject(
            feed,
            RejectReason.PARSE_ERROR.value,
            "JSON but not a JSON Feed (no items list)",
            fetched_at,
        )
    version = document.get("version")
    notes: list[str] = []
    fmt = "json1"
    if isinstance(version, str) and version.startswith("https://jsonfeed.org/version/"):
        fmt = "json11" if version.rstrip("/").endswith("1.1") else "json1"
    else:
        notes.append("JSON Feed without a jsonfeed.org version")
    feed_title = _text(document.get("title"), config.max_source, is_html=False)
    language = normalize_language(document.get("language"))
    # Links resolve against where the feed was fetched, not its self-declared feed_url.
    base = feed.url
    builder = _EntryBuilder(
        feed=feed,
        base=base,
        source=_source_name(feed_title, feed, config),
        language=language,
        fetched_at=fetched_at,
        config=config,
    )
    items = document["items"]
    if len(items) > config.max_entries:
        builder.over_limit(len(items))
    for item in items[: config.max_entries]:
        if not isinstance(item, dict):
            builder.unfetchable(raw_link=None, guid=None, title=None)
            continue
        candidates = [v for v in (item.get("url"), item.get("external_url")) if isinstance(v, str)]
        item_id = item.get("id")
        if isinstance(item_id, str) and not candidates and normalize_url(item_id):
            candidates.append(item_id)
        link = next((r for r in (resolve_link(base, c) for c in candidates) if r), None)
        published = None
        for key in ("date_published", "date_modified"):
            published = parse_datetime(item.get(key), now=fetched_at)
            if published is not None:
                break
        summary = _text(item.get("summary"), config.max_summary, is_html=False)
        summary = summary or _text(item.get("content_text"), config.max_summary, is_html=False)
        summary = summary or _text(item.get("content_html"), config.max_summary, is_html=True)
        builder.add(
            link=link,
            raw_link=candidates[0] if candidates else None,
            guid=item_id
            if isinstance(item_id, str | int) and not isinstance(item_id, bool)
            else None,
            title=_text(item.get("title"), config.max_title, is_html=False),
            published_at=published,
            authors=_json_authors(item, config) or _json_authors(document, config),
            language=normalize_language(item.get("language")),
            summary=summary,
        )
    return _finish(
        builder,
        feed_title=feed_title,
        ttl=None,
        bozo="; ".join(notes) or None,
        fmt=fmt,
        recognized=True,
        raw_count=len(items),
    )


# ------------------------------------------------------------------------- results


def _feed_reject(
    feed: FeedSource, *, url: str, reason: str, detail: str, at: dt.datetime, max_detail: int
) -> Reject:
    """A ``feed``-stage reject of ``feed`` (of the feed itself when ``url`` is its URL)."""
    return Reject(
        url=url,
        feed_url=feed.url,
        stage=Stage.FEED.value,
        reason=reason,
        detail=_collapse(detail)[:max_detail],
        at=at,
    )


def _reject(feed: FeedSource, reason: str, detail: str, at: dt.datetime) -> FeedParseResult:
    reject = _feed_reject(
        feed,
        url=feed.url,
        reason=reason,
        detail=detail,
        at=at,
        max_detail=_DEFAULT_CONFIG.max_detail,
    )
    return FeedParseResult(reject=reject, bozo=reject.detail)


def _describe(skipped: Mapping[str, int]) -> str:
    return ", ".join(f"{reason}: {count}" for reason, count in sorted(skipped.items()))


def _finish(
    builder: _EntryBuilder,
    *,
    feed_title: str | None,
    ttl: int | None,
    bozo: str | None,
    fmt: str | None,
    recognized: bool,
    raw_count: int,
) -> FeedParseResult:
    skipped = dict(builder.skipped)
    reject = None
    if not builder.entries:
        if not recognized:
            reason = RejectReason.PARSE_ERROR.value
            detail = f"not a feed: {bozo or 'nothing recognized'}"
        elif raw_count:
            reason = RejectReason.NO_ENTRIES.value
            detail = f"{raw_count} entries, none usable ({_describe(skipped)})"
        else:
            reason = RejectReason.NO_ENTRIES.value
            detail = f"feed ({fmt or 'unknown format'}) lists no entries"
            if bozo:
                detail += f"; {bozo}"
        reject = _feed_reject(
            builder.feed,
            url=builder.feed.url,
            reason=reason,
            detail=detail,
            at=builder.fetched_at,
            max_detail=builder.config.max_detail,
        )
    return FeedParseResult(
        entries=tuple(builder.entries),
        feed_title=feed_title,
        ttl_seconds=ttl,
        bozo=bozo,
        reject=reject,
        entry_rejects=tuple(builder.rejects),
        skipped=sum(skipped.values()),
        skipped_reasons=skipped,
        format=fmt,
    )


def parse_feed(
    *,
    body: bytes,
    feed: FeedSource,
    headers: Mapping[str, str] | None = None,
    fetched_at: dt.datetime,
    config: FeedParseConfig | None = None,
) -> FeedParseResult:
    """Parse a fetched feed body into entries, or a reject saying why there are none.

    ``headers`` are the HTTP response headers (any letter case); ``Content-Type``'s
    charset drives decoding as RFC 3023 says. Never raises.
    """
    config = config or _DEFAULT_CONFIG
    if fetched_at.tzinfo is None:
        fetched_at = fetched_at.replace(tzinfo=dt.UTC)
    if not isinstance(body, bytes | bytearray | memoryview):
        return _reject(feed, RejectReason.PARSE_ERROR.value, "body is not bytes", fetched_at)
    body = bytes(body)
    if len(body) > config.max_body_bytes:
        return _reject(
            feed,
            RejectReason.TOO_LARGE.value,
            f"feed body of {len(body)} bytes exceeds {config.max_body_bytes}",
            fetched_at,
        )
    if not body.strip():
        return _reject(feed, RejectReason.NO_ENTRIES.value, "empty feed body", fetched_at)
    hdrs = _headers(headers)
    try:
        if _looks_json(body, hdrs):
            return _parse_json(body, feed, fetched_at, config)
        return _parse_xml(body, feed, hdrs, fetched_at, config)
    except (RecursionError, MemoryError) as exc:
        return _reject(feed, RejectReason.PARSE_ERROR.value, _exception_text(exc), fetched_at)
    except Exception as exc:
        # feedparser and its sgmllib fallback are large third-party parsers run on
        # untrusted bytes; one feed tripping a bug in them must not fail the bundle.
        return _reject(
            feed,
            RejectReason.PARSE_ERROR.value,
            f"parser failure: {_exception_text(exc)}",
            fetched_at,
        )
