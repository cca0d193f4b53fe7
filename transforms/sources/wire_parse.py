"""News-wire items (ninjs, NewsML-G2, NewsML 1.2, dpa digitalwires) to FeedEntry records.

Pure functions, no Beam and no network: the wire source hands over the bytes
of one document (a file from a drop folder or one API response) and gets back
the entries it holds, the items it skipped (pictures, video, events, ...) and
the inputs it had to reject, each with a short stable reason.

Example::

    >>> import datetime as dt
    >>> from wiredesk.schemas.records import FeedSource
    >>> from wiredesk.transforms.sources.wire_parse import parse_wire
    >>> body = b'{"uri": "urn:x:1", "version": "2", "type": "text",'
    >>> body += b' "headlines": [{"role": "main", "value": "Hi"}],'
    >>> body += b' "bodies": [{"role": "main", "contenttype": "text/html", "value": "<p>Yo</p>"}]}'
    >>> res = parse_wire(body=body, source_url="file:///drop/a.json",
    ...                  feed=FeedSource(url="file:///drop/"),
    ...                  fetched_at=dt.datetime(2024, 1, 1, tzinfo=dt.UTC))
    >>> e = res.entries[0]
    >>> (e.url, e.url_key, e.title, e.body_html, e.wire["item_id"], e.wire["format"])
    ('urn:x:1', 'urn:x:1#v2', 'Hi', '<p>Yo</p>', 'urn:x:1', 'ninjs-2.1')

Identity. ``url`` is the item's own id (ninjs ``uri``, NewsML-G2 ``guid``, the
version-less NewsML 1.2 URN, dpa ``urn``); ``url_key`` and ``guid`` add the
version (``<url>#v<version>``) so the exact dedup keeps a newer version;
``wire["item_id"]`` is the version-less identity, shared by every version and
every format of the same item (see :data:`ID_ALIASES`).

Accepted JSON shapes: one item object; a list of items; or an endpoint
response object that wraps the list under ``items``, ``data``, ``results``,
``entries``, ``hits`` or ``docs`` (one level of nesting more is allowed, e.g.
``{"data": {"items": [...]}}``), where each element may itself be wrapped as
``{"item": {...}}``. A dpa digitalwires entry is recognized per element by
``format: "digitalwires@..."``; anything else is read as ninjs.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import html as htmllib
import json
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

import lxml.html
from lxml import etree

from wiredesk.schemas.records import FeedEntry, FeedSource, Reject, RejectReason, Stage

# Wire times are read as feed dates are (ISO 8601 in every form, RFC 822, epoch seconds),
# within the same bounds: an item stamped year 1 or 9999 has no such time, rather than one
# that files it under that year and makes it the earliest copy of its story.
from wiredesk.transforms.common.dates import DateBounds, parse_datetime
from wiredesk.transforms.common.langcodes import normalize_language as language_code
from wiredesk.transforms.common.safexml import SafeXMLError, local_name, parse_xml_bytes
from wiredesk.transforms.enrich.agency import AGENCIES

__all__ = [
    "DEFAULT_CONFIG",
    "ID_ALIASES",
    "ItemError",
    "Skip",
    "SkipReason",
    "WireItem",
    "WireParseConfig",
    "WireParseResult",
    "WireSchemaError",
    "authors_from_byline",
    "canonical_agency",
    "canonical_item_id",
    "sniff_wire_kind",
    "clean_html_fragment",
    "dateline_place",
    "language_code",  # langcodes.normalize_language, for wire_newsml/wire_ninjs/wire_dpa
    "nitf_to_html",
    "EMBARGO_BOUNDS",
    "parse_datetime",
    "parse_wire",
    "parse_xml_text",
    "text_to_html",
    "xml_to_html",
]


@dataclasses.dataclass(frozen=True)
class WireParseConfig:
    """Limits for untrusted wire input."""

    max_bytes: int = 20 * 1024 * 1024  # one document (an API page can hold many items)
    max_json_depth: int = 64  # ninjs items nest ~6 deep; 64 is generous
    max_items: int = 10_000  # per document
    max_body_bytes: int = 4 * 1024 * 1024  # one embedded body (NITF string, inlineXML)


DEFAULT_CONFIG = WireParseConfig()


class SkipReason:
    """Stable codes for items that are valid but are not articles."""

    NOT_TEXT = "not_text"  # picture, video, audio, graphic, event, planning, concept, package, ...
    NO_BODY = "no_body"  # a text item that carries no usable text (empty or remote content)
    WITHDRAWN = "withdrawn"  # pubstatus canceled / withdrawn: a kill, not a story


@dataclasses.dataclass(frozen=True)
class Skip:
    """One valid item that is not an article, and why."""

    item_id: str | None
    reason: str
    detail: str
    refs: tuple[str, ...] = ()  # for packages: the item ids they reference


@dataclasses.dataclass(frozen=True)
class ItemError:
    """One item (or the whole document) that could not be read."""

    reason: str  # a RejectReason value
    detail: str
    ref: str | None = None  # the item's uri when known


class WireSchemaError(ValueError):
    """An item violates its format's schema (wrong type, missing id)."""


@dataclasses.dataclass
class WireItem:
    """What a dialect parser read from one text item, before it becomes a FeedEntry."""

    fmt: str
    uri: str
    item_id: str
    version: str | None = None
    version_created: dt.datetime | None = None
    first_created: dt.datetime | None = None
    content_created: dt.datetime | None = None
    headline: str | None = None
    body_html: str | None = None
    body_source: str | None = None
    summary: str | None = None
    language: str | None = None
    byline: str | None = None
    authors: tuple[str, ...] = ()
    agency: str | None = None
    provider: str | None = None
    dateline: str | None = None
    urgency: int | None = None
    subjects: list[str] = dataclasses.field(default_factory=list)
    evolved_from: str | None = None
    pubstatus: str | None = None
    item_type: str | None = None
    signals: list[str] = dataclasses.field(default_factory=list)
    embargoed: dt.datetime | None = None
    packages: list[str] = dataclasses.field(default_factory=list)


Outcome = WireItem | Skip | ItemError


@dataclasses.dataclass(frozen=True)
class WireParseResult:
    """Everything one wire document yielded."""

    entries: tuple[FeedEntry, ...]
    rejects: tuple[Reject, ...]
    skipped: tuple[Skip, ...]
    format: str | None = None  # detected dialect of the document, if it got that far

    @property
    def skipped_counts(self) -> dict[str, int]:
        return dict(Counter(s.reason for s in self.skipped))


# --------------------------------------------------------------------------- identity

# Known provider URI shapes that name the same item in different formats. Each
# maps an id (after the version is removed) to one canonical ``item_id``.
ID_ALIASES: tuple[tuple[re.Pattern[str], str], ...] = (
    # Business Wire: the ninjs uri is the web URL, NewsML 1.2 its NewsML URN.
    (
        re.compile(
            r"^https?://(?:www\.)?businesswire\.com/news/home/(?P<id>\d+)(?:/[A-Za-z-]*)?/?$"
        ),
        "businesswire.com:{id}",
    ),
    (re.compile(r"^urn:newsml:businesswire\.com:[^:]*:(?P<id>\d+)$"), "businesswire.com:{id}"),
)


def canonical_item_id(item_id: str) -> str:
    """The cross-format identity of a version-less item id (see :data:`ID_ALIASES`)."""
    value = item_id.strip()
    for pattern, template in ID_ALIASES:
        m = pattern.match(value)
        if m:
            return template.format(**m.groupdict())
    return value


# --------------------------------------------------------------------------- agencies


def _agency_names() -> dict[str, str]:
    """Every lower-case name, tag and domain of the agency registry -> canonical name."""
    names: dict[str, str] = {}
    for agency in AGENCIES:
        spellings = (agency.name, *agency.tags, *agency.aliases, *agency.domains)
        for spelling in spellings:
            names.setdefault(spelling.lower(), agency.name)
    return names


# The one registry (transforms/enrich/agency.py), read as wire metadata names agencies:
# whole field values, QCodes and credit-line parts, in any letter case.
_AGENCY_BY_ALIAS: dict[str, str] = _agency_names()
_HOST_RE = re.compile(r"^(?:[a-z][a-z0-9+.-]*://)?([^/:?#\s]+\.[a-z]{2,})(?::\d+)?(?:[/?#].*)?$")


def _agency_lookup(token: str) -> str | None:
    t = token.strip().strip(".").lower()
    if not t:
        return None
    if t in _AGENCY_BY_ALIAS:
        return _AGENCY_BY_ALIAS[t]
    m = _HOST_RE.match(t)
    if m:
        labels = m.group(1).split(".")
        if labels and labels[0] == "www":
            labels = labels[1:]
        # cv.ap.org -> ap.org: try each parent domain down to two labels.
        for i in range(len(labels) - 1):
            host = ".".join(labels[i:])
            if host in _AGENCY_BY_ALIAS:
                return _AGENCY_BY_ALIAS[host]
    return None


def canonical_agency(*candidates: str | None) -> str | None:
    """The canonical agency name (``AP``, ``Reuters``, ``dpa``, ...) of the first
    candidate that names one: a name, a QCode (``nprov:REUTERS``), a URI or
    domain, a NewsML URN, or a credit line (``Steve Helber/AP/dpa`` -> ``AP``)."""
    for raw in candidates:
        if not raw or not isinstance(raw, str):
            continue
        value = raw.strip()
        found = _agency_lookup(value)
        if found:
            return found
        low = value.lower()
        if low.startswith("urn:newsml:"):
            found = _agency_lookup(low.split(":")[2] if low.count(":") >= 2 else "")
            if found:
                return found
            continue
        if ":" in low and "//" not in low:  # QCode
            found = _agency_lookup(low.split(":", 1)[1])
            if found:
                return found
        for token in re.split(r"[/,;|]", value):
            found = _agency_lookup(re.sub(r"^\(|\)$", "", token.strip()))
            if found:
                return found
    return None


_BYLINE_PREFIX = re.compile(r"^(?:by|von|av|af|par|por|di|door)\s+", re.IGNORECASE)


def authors_from_byline(byline: str | None) -> tuple[str, ...]:
    """The byline as one raw author string, unless it only credits an agency."""
    if not byline or not isinstance(byline, str):
        return ()
    raw = " ".join(byline.split())
    if not raw:
        return ()
    bare = _BYLINE_PREFIX.sub("", raw)
    if _agency_lookup(bare) or not bare:
        return ()
    return (raw,)


# --------------------------------------------------------------------------- small values


# An embargo lifts in the future, by design: up to a year ahead is a plausible one.
EMBARGO_BOUNDS = DateBounds(max_ahead=dt.timedelta(days=366))


def iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value else None


def as_urgency(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 <= value <= 9 else None
    if isinstance(value, str) and value.strip().isdigit():
        n = int(value.strip())
        return n if 0 <= n <= 9 else None
    return None


_DATE_WORDS = frozenset(
    [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
        "montag",
        "dienstag",
        "mittwoch",
        "donnerstag",
        "freitag",
        "samstag",
        "sonntag",
        "lunes",
        "martes",
        "miércoles",
        "jueves",
        "viernes",
        "sábado",
        "domingo",
        "lundi",
        "mardi",
        "mercredi",
        "jeudi",
        "vendredi",
        "samedi",
        "dimanche",
        "jan",
        "feb",
        "mar",
        "apr",
        "may",
        "jun",
        "jul",
        "aug",
        "sep",
        "sept",
        "oct",
        "nov",
        "dec",
        "january",
        "february",
        "march",
        "april",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
        "januar",
        "februar",
        "märz",
        "mai",
        "juni",
        "juli",
        "oktober",
        "dezember",
        "ene",
        "abr",
        "ago",
        "dic",
        "enero",
        "febrero",
        "marzo",
        "abril",
        "mayo",
        "junio",
        "julio",
        "agosto",
        "septiembre",
        "octubre",
        "noviembre",
        "diciembre",
    ]
)


def dateline_place(text: Any) -> str | None:
    """The place of a printed dateline: ``Berlin (dpa) - `` -> ``Berlin``,
    ``MOSCOW, Monday (Reuters)`` -> ``MOSCOW``, ``KANSAS CITY, Mo.`` unchanged."""
    if not isinstance(text, str):
        return None
    t = re.sub(r"\([^)]*\)", " ", text)
    t = re.sub(r"[\s\-\u2013\u2014:]+$", "", " ".join(t.split()))
    if not t:
        return None
    parts = [p.strip() for p in t.split(",")]
    keep = [parts[0]]
    for part in parts[1:]:
        first = part.split(" ", 1)[0].strip(".").lower() if part else ""
        if not part or any(c.isdigit() for c in part) or first in _DATE_WORDS:
            break
        keep.append(part)
    place = ", ".join(keep).strip(" -\u2013\u2014")
    return place or None


def clean_text(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    text = " ".join(value.split())
    return text or None


# --------------------------------------------------------------------------- bodies

# Elements and classes that are not body text: page furniture, media, captions,
# and editorial extras (dpa notepad/infobox/linkbox, TT vignette line, teasers).
_DROP_TAGS = frozenset(
    [
        "head",
        "title",
        "script",
        "style",
        "template",
        "noscript",
        "iframe",
        "object",
        "embed",
        "img",
        "picture",
        "video",
        "audio",
        "source",
        "track",
        "figure",
        "figcaption",
        "aside",
        "header",
        "footer",
        "nav",
        "form",
        "button",
        "input",
        "select",
        "textarea",
        "svg",
        "canvas",
        "map",
        "h1",
    ]
)
_DROP_CLASSES = frozenset(
    [
        "caption",
        "figcaption",
        "infobox",
        "linkbox",
        "notepad",
        "teaser",
        "byline",
        "slugline",
        "dat",
        "publicationdate",
        "np-public",
        "np-nonpublic",
        "closingline",
    ]
)


_BLOCK_TAGS = frozenset(
    [
        "p",
        "div",
        "section",
        "article",
        "main",
        "ul",
        "ol",
        "dl",
        "table",
        "blockquote",
        "pre",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "hr",
    ]
)


def clean_html_fragment(markup: str) -> str:
    """An (X)HTML body string reduced to its article markup, as an HTML fragment."""
    if not markup or not markup.strip():
        return ""
    try:
        parser = lxml.html.HTMLParser(encoding="utf-8", no_network=True, remove_comments=True)
        doc = lxml.html.document_fromstring(markup.encode("utf-8"), parser=parser)
    except (etree.ParserError, ValueError):
        return ""
    body = doc.find("body")
    container = body if body is not None else doc
    doomed = []
    for el in container.iter():
        if not isinstance(el.tag, str):
            continue
        classes = {c.lower() for c in (el.get("class") or "").split()}
        if el.tag.lower() in _DROP_TAGS or classes & _DROP_CLASSES:
            doomed.append(el)
    for el in doomed:
        if el.getparent() is not None:
            el.drop_tree()
    parts = (
        [htmllib.escape(container.text, quote=False)]
        if container.text and container.text.strip()
        else []
    )
    for child in container:
        parts.append(lxml.html.tostring(child, encoding="unicode", with_tail=True))
    fragment = "".join(parts).strip()
    if fragment and not any(
        isinstance(c.tag, str) and c.tag.lower() in _BLOCK_TAGS for c in container
    ):
        # Bare text with inline markup only (Business Wire ninjs): one paragraph.
        fragment = f"<p>{fragment}</p>"
    return fragment


def text_to_html(text: str) -> str:
    """Plain text to ``<p>`` paragraphs: blank lines split paragraphs; a text
    without blank lines is split at line breaks."""
    norm = text.replace("\r\n", "\n").replace("\r", "\n").strip()
    if not norm:
        return ""
    chunks = re.split(r"\n\s*\n", norm) if re.search(r"\n\s*\n", norm) else norm.split("\n")
    paras = [" ".join(c.split()) for c in chunks]
    return "".join(f"<p>{htmllib.escape(p, quote=False)}</p>" for p in paras if p)


def parse_xml_text(text: str, *, config: WireParseConfig) -> Any:
    """An XML string embedded in JSON (a NITF body) through the hardened parser."""
    return parse_xml_bytes(text.strip().encode("utf-8"), max_bytes=config.max_body_bytes)


def _strip_namespaces(root: Any) -> Any:
    copy = etree.fromstring(etree.tostring(root))  # detached copy; input was already safe
    for el in copy.iter():
        if isinstance(el.tag, str):
            el.tag = local_name(el)
            for key in list(el.attrib):
                if key.startswith("{"):
                    del el.attrib[key]
    etree.cleanup_namespaces(copy)
    return copy


def xml_to_html(elements: Iterable[Any]) -> str:
    """XHTML (or HTML-like XML in any namespace) elements to a clean HTML fragment."""
    pieces = []
    for el in elements:
        if not isinstance(el.tag, str):
            continue
        pieces.append(etree.tostring(_strip_namespaces(el), encoding="unicode", with_tail=False))
    return clean_html_fragment("".join(pieces))


_NITF_BLOCKS = {"p": "p", "hl2": "h2", "hl3": "h3", "pre": "pre", "bq": "blockquote"}
_NITF_SKIP = frozenset({"media", "note", "fn", "body.end", "byline", "dateline", "hedline"})


def _nitf_text(el: Any) -> str:
    out: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node.tag, str) and local_name(node) in _NITF_SKIP:
            return
        if node.text and isinstance(node.tag, str):
            out.append(node.text)
        for child in node:
            walk(child)
            if child.tail:
                out.append(child.tail)

    walk(el)
    return " ".join("".join(out).split())


def _nitf_block(el: Any, out: list[str]) -> None:
    name = local_name(el)
    if not name or name in _NITF_SKIP:
        return
    if name in _NITF_BLOCKS:
        text = _nitf_text(el)
        if text:
            tag = _NITF_BLOCKS[name]
            out.append(f"<{tag}>{htmllib.escape(text, quote=False)}</{tag}>")
    elif name in ("ul", "ol", "dl"):
        items = [
            _nitf_text(li) for li in el if local_name(li) in ("li", "dt", "dd") and _nitf_text(li)
        ]
        if items:
            lis = "".join(f"<li>{htmllib.escape(t, quote=False)}</li>" for t in items)
            out.append(f"<ul>{lis}</ul>")
    elif name in ("table", "nitf-table"):
        for row in el.iter():
            if local_name(row) == "tr":
                cells = [_nitf_text(c) for c in row if local_name(c) in ("td", "th")]
                line = " ".join(c for c in cells if c)
                if line:
                    out.append(f"<p>{htmllib.escape(line, quote=False)}</p>")
    else:  # block, body.content, and unknown wrappers: descend
        for child in el:
            _nitf_block(child, out)


def nitf_to_html(root: Any) -> str:
    """A NITF document's ``body.content`` as simple HTML paragraphs."""
    content = [el for el in root.iter() if local_name(el) == "body.content"]
    if not content:
        return ""
    out: list[str] = []
    for block in content:
        for child in block:
            _nitf_block(child, out)
    return "".join(out)


def nitf_head(root: Any) -> dict[str, str | None]:
    """Byline, dateline and headline from a NITF ``body.head``."""
    found: dict[str, str | None] = {"byline": None, "dateline": None, "headline": None}
    for el in root.iter():
        name = local_name(el)
        if name == "byline" and found["byline"] is None:
            found["byline"] = clean_text("".join(el.itertext()))
        elif name == "dateline" and found["dateline"] is None:
            found["dateline"] = clean_text("".join(el.itertext()))
        elif name == "hl1" and found["headline"] is None:
            found["headline"] = clean_text("".join(el.itertext()))
    return found


# --------------------------------------------------------------------------- JSON


class _TooDeep(ValueError):
    pass


def _check_depth(doc: Any, limit: int) -> None:
    stack: list[tuple[Any, int]] = [(doc, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            raise _TooDeep(f"JSON nesting deeper than {limit}")
        if isinstance(node, dict):
            stack.extend((v, depth + 1) for v in node.values())
        elif isinstance(node, list):
            stack.extend((v, depth + 1) for v in node)


def load_json_bytes(data: bytes, *, config: WireParseConfig) -> Any:
    """json.loads with a depth cap; raises ValueError with a short message."""
    try:
        doc = json.loads(data)
    except RecursionError:
        raise ValueError(f"JSON nesting deeper than {config.max_json_depth}") from None
    _check_depth(doc, config.max_json_depth)
    return doc


# --------------------------------------------------------------------------- dispatch

_WRAPPER_KEYS = ("items", "data", "results", "entries", "hits", "docs")
_G2_ROOTS = frozenset(
    {
        "newsItem",
        "packageItem",
        "newsMessage",
        "conceptItem",
        "knowledgeItem",
        "planningItem",
        "catalogItem",
    }
)


def _unwrap_json(doc: Any) -> list[Any] | None:
    """The list of item objects in a JSON document, or None if the shape is unknown."""
    if isinstance(doc, list):
        items: list[Any] = doc
    elif isinstance(doc, dict):
        if "uri" in doc or "urn" in doc or "headline" in doc or "headlines" in doc:
            return [doc]
        inner: Any = None
        for key in _WRAPPER_KEYS:
            if key in doc and isinstance(doc[key], list | dict):
                inner = doc[key]
                break
        if inner is None:
            return [doc]  # an item object without an id: let the item parser explain
        if isinstance(inner, dict):
            for key in _WRAPPER_KEYS:
                if isinstance(inner.get(key), list):
                    inner = inner[key]
                    break
            else:
                inner = [inner]
        items = inner
    else:
        return None
    return [
        el["item"]
        if isinstance(el, dict) and isinstance(el.get("item"), dict) and len(el) <= 3
        else el
        for el in items
    ]


def _is_dpa(obj: Any) -> bool:
    return isinstance(obj, dict) and str(obj.get("format", "")).startswith("digitalwires")


def _sniff(body: bytes) -> str:
    head = body.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if head in (b"{", b"["):
        return "json"
    if head == b"<":
        return "xml"
    if body[:2] in (b"\xff\xfe", b"\xfe\xff"):  # UTF-16 BOM: only XML declares its encoding
        return "xml"
    return "unknown"


_WIRE_XML_ROOT = re.compile(
    rb"<(?:[A-Za-z][\w.-]*:)?(newsItem|packageItem|newsMessage|NewsML)[\s>/]"
)
_FEED_XML_ROOT = re.compile(rb"<(?:[A-Za-z][\w.-]*:)?(rss|feed|RDF|channel)[\s>/]")


def sniff_wire_kind(body: bytes) -> str | None:
    """``"ninjs"``/``"dpa"``/``"newsml"`` when ``body`` looks like a wire document, else None.

    Lets a feeds file list wire endpoints without a ``type`` attribute: a JSON
    Feed or an RSS/Atom document answers None and goes to the feed parser.
    Only the head of the document is looked at, and nothing is parsed.
    """
    head = bytes(body[:8192])
    if body[:2] in (b"\xff\xfe", b"\xfe\xff"):
        try:
            head = head.decode("utf-16").encode("utf-8", "replace")
        except UnicodeDecodeError:
            return None
    kind = _sniff(head)
    if kind == "json":
        if b"jsonfeed.org" in head:
            return None
        return "dpa" if b"digitalwires" in head else "ninjs"
    if kind == "xml":
        wire = _WIRE_XML_ROOT.search(head)
        feed = _FEED_XML_ROOT.search(head)
        if wire and (not feed or wire.start() < feed.start()):
            return "newsml"
        if not feed and (b"iptc.org/std/nar" in head or b"<contentSet" in head):
            return "newsml"  # other G2 items (concepts, planning, fragments): parse_wire says why
    return None


def _entry_from(item: WireItem, *, source_url: str, feed: FeedSource) -> FeedEntry:
    if item.version:
        suffix = f"#v{item.version}"
    elif item.version_created:
        suffix = f"#t{item.version_created.isoformat()}"
    else:
        suffix = ""
    url_key = item.uri + suffix
    wire = {
        "format": item.fmt,
        "item_id": item.item_id,
        "version": item.version,
        "version_created": iso(item.version_created),
        "first_created": iso(item.first_created),
        "content_created": iso(item.content_created),
        "urgency": item.urgency,
        "subjects": list(dict.fromkeys(s for s in item.subjects if s)),
        "evolved_from": item.evolved_from,
        "pubstatus": item.pubstatus,
        "type": item.item_type,
        "signals": item.signals,
        "embargoed": iso(item.embargoed),
        "provider": item.provider,
        "byline": item.byline,
        "body_source": item.body_source,
        "packages": item.packages,
    }
    return FeedEntry(
        url=item.uri,
        feed_url=source_url,
        url_key=url_key,
        guid=url_key,
        title=item.headline,
        published_at=item.first_created or item.content_created or item.version_created,
        source=feed.title or item.agency or item.provider,
        feed_region=feed.region,
        feed_country=feed.country,
        authors=item.authors or authors_from_byline(item.byline),
        language=item.language,
        summary=item.summary,
        body_html=item.body_html,
        is_wire=True,
        agency=item.agency,
        dateline=item.dateline,
        wire=wire,
    )


def _reject(source_url: str, reason: str, detail: str, ref: str | None, at: dt.datetime) -> Reject:
    return Reject(
        url=ref or source_url,
        feed_url=source_url,
        stage=Stage.FEED.value,
        reason=reason,
        detail=detail[:500],
        at=at,
    )


def _parse_outcomes(
    body: bytes, kind: str, config: WireParseConfig
) -> tuple[str | None, list[Outcome]]:
    # Dialect modules import helpers from this one; importing them here keeps
    # that dependency one-way at import time.
    from wiredesk.transforms.sources import wire_dpa, wire_newsml, wire_ninjs

    kind = (kind or "auto").lower()
    if len(body) > config.max_bytes:
        return None, [
            ItemError(RejectReason.TOO_LARGE.value, f"{len(body)} bytes > limit {config.max_bytes}")
        ]
    syntax = _sniff(body)
    if syntax == "unknown":
        return None, [ItemError(RejectReason.PARSE_ERROR.value, "neither JSON nor XML")]
    if kind in ("ninjs", "dpa") and syntax != "json":
        return None, [
            ItemError(RejectReason.SCHEMA_ERROR.value, f"kind={kind} expects JSON, got XML")
        ]
    if kind == "newsml" and syntax != "xml":
        return None, [
            ItemError(RejectReason.SCHEMA_ERROR.value, "kind=newsml expects XML, got JSON")
        ]
    if syntax == "json":
        try:
            doc = load_json_bytes(body, config=config)
        except ValueError as err:
            return None, [ItemError(RejectReason.PARSE_ERROR.value, f"bad JSON: {str(err)[:200]}")]
        items = _unwrap_json(doc)
        if items is None:
            return None, [
                ItemError(
                    RejectReason.SCHEMA_ERROR.value, f"JSON top level is a {type(doc).__name__}"
                )
            ]
        if len(items) > config.max_items:
            return None, [
                ItemError(
                    RejectReason.TOO_LARGE.value, f"{len(items)} items > limit {config.max_items}"
                )
            ]
        outcomes: list[Outcome] = []
        formats: list[str] = []
        for index, obj in enumerate(items):
            got: Outcome
            try:
                if _is_dpa(obj) or kind == "dpa":
                    formats.append("dpa-digitalwires")
                    got = wire_dpa.parse_dpa_entry(obj, index=index, config=config)
                else:
                    formats.append(wire_ninjs.detect_version(obj))
                    got = wire_ninjs.parse_ninjs_item(obj, index=index, config=config)
            except Exception as err:  # noqa: BLE001 - one odd item must not sink its siblings
                got = ItemError(
                    RejectReason.PARSE_ERROR.value,
                    f"item {index}: internal: {type(err).__name__}: {err}"[:300],
                )
            outcomes.append(got)
        fmt = (
            formats[0]
            if formats and len(set(formats)) == 1
            else ("mixed-json" if formats else None)
        )
        return fmt, outcomes
    try:
        root = parse_xml_bytes(body, max_bytes=config.max_bytes)
    except SafeXMLError as err:
        reason = (
            RejectReason.TOO_LARGE.value
            if err.reason == "too_large"
            else RejectReason.PARSE_ERROR.value
        )
        prefix = "unsafe XML: " if err.reason == "forbidden_dtd" else "bad XML: "
        return None, [ItemError(reason, prefix + err.detail)]
    name = local_name(root)
    if name in _G2_ROOTS:
        return "newsml-g2", wire_newsml.parse_g2_root(root, config=config)
    if name == "NewsML":
        return "newsml-1.2", wire_newsml.parse_newsml12_root(root, config=config)
    return None, [
        ItemError(
            RejectReason.SCHEMA_ERROR.value,
            f"unknown XML root <{name}>: not a NewsML-G2 or NewsML 1.2 item",
        )
    ]


def parse_wire(
    *,
    body: bytes,
    source_url: str,
    feed: FeedSource,
    fetched_at: dt.datetime,
    kind: str = "auto",
    config: WireParseConfig = DEFAULT_CONFIG,
) -> WireParseResult:
    """Parse one wire document into entries, skipped items and rejects; never raises.

    ``kind``: ``auto`` (sniff), ``ninjs``, ``dpa`` or ``newsml`` (G2 or 1.2).
    A document that holds no item at all is rejected as ``no_entries``.
    """
    try:
        fmt, outcomes = _parse_outcomes(bytes(body), kind, config)
    except Exception as err:  # noqa: BLE001 - a parser bug must not kill the pipeline
        fmt, outcomes = (
            None,
            [
                ItemError(
                    RejectReason.PARSE_ERROR.value, f"internal: {type(err).__name__}: {err}"[:300]
                )
            ],
        )
    entries: list[FeedEntry] = []
    rejects: list[Reject] = []
    skipped: list[Skip] = []
    for got in outcomes:
        if isinstance(got, WireItem):
            entries.append(_entry_from(got, source_url=source_url, feed=feed))
        elif isinstance(got, Skip):
            skipped.append(got)
        else:
            rejects.append(_reject(source_url, got.reason, got.detail, got.ref, fetched_at))
    if not outcomes:
        rejects.append(
            _reject(
                source_url,
                RejectReason.NO_ENTRIES.value,
                "document holds no items",
                None,
                fetched_at,
            )
        )
    return WireParseResult(tuple(entries), tuple(rejects), tuple(skipped), fmt)


def first(values: Sequence[Any] | None) -> Any:
    return values[0] if values else None
