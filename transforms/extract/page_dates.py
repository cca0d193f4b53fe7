"""When a page says it was published, and when updated, and where it says so.

htmldate returns one date per page, which is either the original or the latest one
depending on a flag, and loses where it found it. News pages usually state both dates
in machine-readable form, so they are read here first, in this order of trust:

1. ``page_jsonld``: schema.org ``datePublished`` / ``dateModified`` of the page's own
   article object (not of the related stories some pages list in JSON-LD);
2. ``page_meta``: ``article:published_time`` / ``article:modified_time`` and the other
   meta names CMSs write (og:, Dublin Core, parsely, sailthru, ``itemprop`` microdata);
3. ``page_time``: a ``<time datetime>`` element marked as the publication (or update)
   time, else the first one in the article's own ``<article>`` / ``<header>``.

JSON-LD comes first because meta tags are more often rewritten on update (a live blog's
``article:published_time`` is often its last update). A date without a time of day is
refined by a precise time on the same day from a later source; a time without an offset
takes the offset that the page's other dates use, else UTC. The callers add the
fallbacks: htmldate's search (``url`` or ``text``), then the feed, the wire and the
fetch time.

>>> from lxml import html
>>> tree = html.fromstring('<html><head><meta property="article:published_time" '
...     'content="2024-03-01T09:30:00+01:00"><meta property="article:modified_time" '
...     'content="2024-03-02T10:00:00+01:00"></head><body><p>x</p></body></html>')
>>> found = page_dates(tree)
>>> found.published.at.isoformat(), found.published.source, found.modified.at.isoformat()
('2024-03-01T08:30:00+00:00', 'page_meta', '2024-03-02T09:00:00+00:00')
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Iterable, Iterator
from typing import Any

from lxml.html import HtmlElement

__all__ = [
    "DATE_SOURCES",
    "DatedBy",
    "article_objects",
    "PageDates",
    "page_dates",
    "parse_page_datetime",
    "url_has_date",
]

# The values of the published_at_source / modified_at_source columns, most trusted first.
DATE_SOURCES = ("page_jsonld", "page_meta", "page_time", "url", "text", "feed", "wire", "fetch")


@dataclasses.dataclass(frozen=True)
class DatedBy:
    """One date (aware, UTC) and the DATE_SOURCES value naming where it came from."""

    at: dt.datetime
    source: str


@dataclasses.dataclass(frozen=True)
class PageDates:
    """What the page's markup says about its publication and its last update."""

    published: DatedBy | None = None
    modified: DatedBy | None = None


@dataclasses.dataclass(frozen=True)
class _Stamp:
    """A parsed date as the page wrote it: a naive value keeps its wall-clock time."""

    value: dt.datetime
    has_time: bool
    source: str

    @property
    def aware(self) -> bool:
        return self.value.tzinfo is not None


# Article-like schema.org types: their datePublished is the page's.
_ARTICLE_TYPES = frozenset(
    t.casefold()
    for t in [
        "Article",
        "NewsArticle",
        "ReportageNewsArticle",
        "AnalysisNewsArticle",
        "OpinionNewsArticle",
        "BackgroundNewsArticle",
        "ReviewNewsArticle",
        "AskPublicNewsArticle",
        "SatiricalArticle",
        "BlogPosting",
        "LiveBlogPosting",
        "Report",
        "ScholarlyArticle",
        "TechArticle",
        "SocialMediaPosting",
        "VideoObject",
        "WebPage",
        "ItemPage",
    ]
)
_NESTED_KEYS = ("@graph", "mainEntity", "mainEntityOfPage")
_MAX_DEPTH = 12

_META_PUBLISHED = frozenset(
    [
        "article:published_time",
        "og:article:published_time",
        "og:published_time",
        "published_time",
        "datepublished",
        "date",
        "dc.date",
        "dc.date.issued",
        "dcterms.issued",
        "dcterms.created",
        "dc.date.created",
        "pubdate",
        "publishdate",
        "publish-date",
        "publish_date",
        "publication_date",
        "parsely-pub-date",
        "sailthru.date",
        "article.published",
        "article:published",
        "cxenseparse:recs:publishtime",
        "originalpublicationdate",
        "date.created",
    ]
)
_META_MODIFIED = frozenset(
    [
        "article:modified_time",
        "og:article:modified_time",
        "og:updated_time",
        "modified_time",
        "datemodified",
        "dcterms.modified",
        "dc.date.modified",
        "last-modified",
        "lastmod",
        "article.updated",
        "article:modified",
        "revised",
        "updated_time",
    ]
)
_PUBLISHED_HINT = re.compile(r"publi|pubdate|posted|created|erschienen|veröffentlicht", re.I)
_MODIFIED_HINT = re.compile(r"modif|updat|aktualisiert|revis|edited|mis-a-jour|maj\b", re.I)

# "Fri Apr 28 19:20:36 CEST 2023" (Java's Date.toString, seen in JSON-LD).
_JAVA_DATE = re.compile(
    r"^[A-Za-z]{3}\s+([A-Za-z]{3})\s+(\d{1,2})\s+(\d{1,2}:\d{2}:\d{2})\s+([A-Za-z]{2,5})\s+(\d{4})$"
)
# Unambiguous zone abbreviations only (IST, CST and BST name several zones).
_ZONE_HOURS = {
    "UTC": 0.0, "GMT": 0.0, "Z": 0.0, "WET": 0.0, "WEST": 1.0, "CET": 1.0, "MEZ": 1.0,
    "CEST": 2.0, "MESZ": 2.0, "EET": 2.0, "EEST": 3.0, "MSK": 3.0, "JST": 9.0, "KST": 9.0,
    "EST": -5.0, "EDT": -4.0, "CDT": -5.0, "MST": -7.0, "MDT": -6.0, "PST": -8.0,
    "PDT": -7.0, "AEST": 10.0, "AEDT": 11.0, "NZST": 12.0, "NZDT": 13.0,
}  # fmt: skip
_MONTHS = {
    m: i
    for i, m in enumerate(
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], 1
    )
}
_ZONE_SUFFIX = re.compile(r"\s*\(?([A-Z]{3,5})\)?$")
_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_MAX_OFFSET = dt.timedelta(hours=14)


def parse_page_datetime(value: object) -> tuple[dt.datetime, bool] | None:
    """A page's date text as (datetime, has a time of day); naive when the page gave no offset.

    Reads ISO 8601 (``Z``, ``+0200`` and ``+02:00`` offsets, fractions), a date alone,
    Java-style ``Fri Apr 28 19:20:36 CEST 2023`` and ISO text followed by a zone
    abbreviation. Anything else is ``None``: the callers then ask htmldate.
    """
    if not isinstance(value, str):
        return None
    text = " ".join(value.split())
    if not text or len(text) > 64:
        return None
    if _DATE_ONLY.match(text):
        try:
            return dt.datetime.fromisoformat(text), False
        except ValueError:
            return None
    java = _JAVA_DATE.match(text)
    if java:
        month = _MONTHS.get(java.group(1).lower())
        hours = _ZONE_HOURS.get(java.group(4).upper())
        if month is None or hours is None:
            return None
        text = (
            f"{java.group(5)}-{month:02d}-{int(java.group(2)):02d}T{java.group(3)}"
            f"{_offset_text(hours)}"
        )
    else:
        zone = _ZONE_SUFFIX.search(text)
        if zone and zone.group(1) in _ZONE_HOURS and text[: zone.start()][-1:].isdigit():
            text = text[: zone.start()] + _offset_text(_ZONE_HOURS[zone.group(1)])
    try:
        parsed = dt.datetime.fromisoformat(text.replace(" ", "T", 1) if " " in text else text)
    except ValueError:
        return None
    offset = parsed.utcoffset()
    if offset is not None and abs(offset) > _MAX_OFFSET:
        return None
    return parsed, True


def _offset_text(hours: float) -> str:
    sign = "-" if hours < 0 else "+"
    minutes = int(round(abs(hours) * 60))
    return f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def page_dates(tree: HtmlElement, articles: list[dict[str, Any]] | None = None) -> PageDates:
    """The publication and update dates the page's markup states (module docstring).

    ``articles`` is ``article_objects(tree)`` when the caller has it already.
    """
    published: list[_Stamp] = []
    modified: list[_Stamp] = []
    for obj in article_objects(tree) if articles is None else articles:
        published += _stamps([obj.get("datePublished"), obj.get("dateCreated")], "page_jsonld")
        modified += _stamps([obj.get("dateModified")], "page_jsonld")
    meta_pub, meta_mod = _meta_values(tree)
    published += _stamps(meta_pub, "page_meta")
    modified += _stamps(meta_mod, "page_meta")
    time_pub, time_mod = _time_values(tree)
    published += _stamps(time_pub, "page_time")
    modified += _stamps(time_mod, "page_time")

    offsets = [s.value.utcoffset() for s in published + modified if s.aware]
    zone = dt.timezone(offsets[0]) if offsets and offsets[0] is not None else dt.UTC
    first = _best(published, zone)
    last = _best(modified, zone)
    if first is not None and last is not None and last.at < first.at:
        last = None  # an "update" before the publication is a template's leftover
    return PageDates(published=first, modified=last)


def _stamps(values: Iterable[object], source: str) -> list[_Stamp]:
    out = []
    for value in values:
        if isinstance(value, list) and value:  # some CMSs write ["2024-01-01T..."]
            value = value[0]
        parsed = parse_page_datetime(value)
        if parsed is not None:
            out.append(_Stamp(parsed[0], parsed[1], source))
    return out


def _best(stamps: list[_Stamp], zone: dt.tzinfo) -> DatedBy | None:
    """The most trusted stamp; a bare day is refined by a precise time on that day."""
    if not stamps:
        return None
    chosen = stamps[0]
    if not chosen.has_time:
        for other in stamps[1:]:
            if other.has_time and other.value.date() == chosen.value.date():
                chosen = other
                break
    elif not chosen.aware:
        # The same wall-clock time written with an offset elsewhere tells the zone.
        for other in stamps[1:]:
            if other.aware and other.value.replace(tzinfo=None) == chosen.value:
                chosen = other
                break
    value = chosen.value
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone if chosen.has_time else dt.UTC)
    try:
        return DatedBy(value.astimezone(dt.UTC), chosen.source)
    except (OverflowError, ValueError):
        return None


# ---- JSON-LD --------------------------------------------------------------------------------


def _ld_blocks(tree: HtmlElement) -> Iterator[object]:
    import json

    for script in tree.iterfind(".//script"):
        if not (script.get("type") or "").lower().startswith("application/ld+json"):
            continue
        raw = (script.text or "").strip()
        for prefix, suffix in (("<!--", "-->"), ("<![CDATA[", "]]>")):
            if raw.startswith(prefix) and raw.endswith(suffix):
                raw = raw[len(prefix) : -len(suffix)].strip()
        try:
            yield json.loads(raw, strict=False)
        except (ValueError, RecursionError):
            continue


def _types(obj: dict[str, Any]) -> set[str]:
    kind = obj.get("@type")
    kinds = kind if isinstance(kind, list) else [kind]
    return {k.rsplit("/", 1)[-1].casefold() for k in kinds if isinstance(k, str)}


def article_objects(tree: HtmlElement) -> list[dict[str, Any]]:
    """The page's own JSON-LD article objects, most specific type first.

    Related stories (``itemListElement``, ``hasPart``, ...) are left out: their dates and
    authors are not the page's.
    """
    found: list[dict[str, Any]] = []

    def walk(node: object, depth: int) -> None:
        if depth > _MAX_DEPTH:
            return
        if isinstance(node, list):
            for item in node:
                walk(item, depth + 1)
        elif isinstance(node, dict):
            if _types(node) & _ARTICLE_TYPES:
                found.append(node)
            for key in _NESTED_KEYS:
                if key in node:
                    walk(node[key], depth + 1)

    for block in _ld_blocks(tree):
        walk(block, 0)
    # WebPage objects state the page's dates less reliably than the article they hold.
    return sorted(found, key=lambda o: bool(_types(o) <= {"webpage", "itempage"}))


# ---- meta and <time> ------------------------------------------------------------------------


def _meta_values(tree: HtmlElement) -> tuple[list[str], list[str]]:
    published: list[str] = []
    modified: list[str] = []
    for meta in tree.iter("meta"):
        key = (meta.get("property") or meta.get("name") or meta.get("itemprop") or "").casefold()
        content = meta.get("content")
        if not content:
            continue
        if key in _META_PUBLISHED:
            published.append(content)
        elif key in _META_MODIFIED:
            modified.append(content)
    # Microdata on any element: <span itemprop="datePublished" content="...">.
    for element in tree.xpath("//*[@itemprop][not(self::meta)][@content or @datetime]"):
        prop = (element.get("itemprop") or "").casefold()
        value = element.get("content") or element.get("datetime")
        if prop == "datepublished":
            published.append(value)
        elif prop == "datemodified":
            modified.append(value)
    return published, modified


def _time_values(tree: HtmlElement) -> tuple[list[str], list[str]]:
    published: list[str] = []
    modified: list[str] = []
    plain: list[str] = []
    for element in tree.iter("time"):
        value = element.get("datetime")
        if not value:
            continue
        hints = " ".join(
            filter(None, (element.get("class"), element.get("id"), element.get("itemprop")))
        )
        if element.get("pubdate") is not None or _PUBLISHED_HINT.search(hints):
            published.append(value)
        elif _MODIFIED_HINT.search(hints):
            modified.append(value)
        elif _in_article_head(element):
            plain.append(value)
    return published + plain[:1], modified


def _in_article_head(element: HtmlElement) -> bool:
    """Inside the page's first <article>, or a <header> within <article>/<main>: the story's
    own byline time (a site header's "today" clock is neither)."""
    in_header = False
    for ancestor in element.iterancestors():
        tag = ancestor.tag if isinstance(ancestor.tag, str) else ""
        if tag == "header":
            in_header = True
        elif tag == "main":
            return in_header
        elif tag == "article":
            first = next(iter(ancestor.getroottree().iter("article")), None)
            return in_header or first is ancestor
    return False


_URL_DATE = re.compile(r"(?<!\d)(\d{4})[/_.-]?(\d{2})[/_.-]?(\d{2})(?!\d)")


def url_has_date(url: str | None, day: dt.date) -> bool:
    """Whether ``url`` spells ``day`` (``/2024/03/01/``, ``2024-03-01``, ``20240301``)."""
    if not url:
        return False
    for match in _URL_DATE.finditer(url):
        try:
            if dt.date(*(int(g) for g in match.groups())) == day:
                return True
        except ValueError:
            continue
    return False
