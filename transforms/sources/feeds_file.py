"""Read the ``--feeds`` file: OPML or a plain list of URLs, into :class:`FeedSource` records.

>>> opml = b'''<opml version="2.0"><body>
...   <outline text="Asia" region="eastern-asia">
...     <outline text="NHK" xmlUrl="https://www3.nhk.or.jp/rss/news/cat0.xml" country="jp"/>
...   </outline></body></opml>'''
>>> read_feeds_file(data=opml, name="feeds.opml")
[FeedSource(url='https://www3.nhk.or.jp/rss/news/cat0.xml', title='NHK', region='eastern-asia', country='JP', kind='auto')]
>>> read_feeds_file(data=b"# mine\\nhttps://example.com/rss  country=FR title='Le Site'\\n")
[FeedSource(url='https://example.com/rss', title='Le Site', region=None, country='FR', kind='auto')]

**OPML.** Every ``<outline>`` with a feed URL is a source, at any depth. The URL is
``xmlUrl`` (any letter case, so ``xmlurl`` too), else ``url``; the title ``title``,
else ``text``. Optional attributes: ``region`` (one of ``REGION_SLUGS``; ``Eastern
Asia`` and ``eastern_asia`` are accepted spellings), ``country`` (ISO 3166-1
alpha-2, upper-cased), ``type`` (see :data:`KIND_BY_TYPE`). ``region`` and
``country`` on a folder outline apply to the feeds inside it unless they set their
own. Outlines of ``type="link"``/``"include"`` are web links or other OPML files:
they are skipped with a warning (nothing is fetched while reading this file).

**Text list.** One feed a line; blank lines and lines starting with ``#`` are ignored,
as is anything after a ``#`` preceded by whitespace. After the URL, optional
``key=value`` extras separated by whitespace: ``region=``, ``country=``, ``title=``,
``type=`` (``kind=`` is a synonym). Values with spaces are quoted as in a shell::

    https://www3.nhk.or.jp/rss/news/cat0.xml  region=eastern-asia country=JP title="NHK News"

Invalid extras (unknown region, malformed country, unknown key) are ignored with a
warning; a line whose URL is not ``http(s)`` (``feed://`` is read as ``http://``) is
skipped with a warning. The same feed URL listed twice is kept once (the first).

A file that cannot be used at all (not UTF-8, malformed or entity-declaring XML, XML
that is not OPML, too large, or with no feed in it) raises :class:`FeedsFileError`
with a one-line message. The XML is read by ``defusedxml`` (expat): a DOCTYPE that
declares entities or references an external DTD is refused before anything expands,
and nothing is ever fetched.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import shlex
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Mapping

import defusedxml
import defusedxml.ElementTree as SafeET

from wiredesk.schemas.records import FeedSource
from wiredesk.schemas.tables import REGION_SLUGS
from wiredesk.transforms.common.urlnorm import normalize_url

__all__ = [
    "KIND_BY_TYPE",
    "FeedsFileConfig",
    "FeedsFileError",
    "FeedsFileResult",
    "parse_feeds_file",
    "read_feeds_file",
]

log = logging.getLogger(__name__)

# OPML ``type`` / list ``type=`` -> FeedSource.kind. OPML writers put type="rss" on
# Atom feeds too, and one parser reads RSS, Atom and JSON Feed, so they share "rss".
KIND_BY_TYPE: Mapping[str, str] = {
    "rss": "rss",
    "atom": "rss",
    "rdf": "rss",
    "json": "rss",
    "jsonfeed": "rss",
    "ninjs": "ninjs",
    "newsml": "newsml",
    "newsml-g2": "newsml",
    "newsmlg2": "newsml",
    "dpa": "dpa",  # dpa's wire API (see PollFeeds)
    "auto": "auto",
}
_NOT_FEED_TYPES = frozenset({"link", "include", "html", "url"})
_COUNTRY = re.compile(r"^[A-Za-z]{2}$")
_INLINE_COMMENT = re.compile(r"\s#.*$")
_LIST_KEYS = frozenset({"region", "country", "title", "type", "kind"})


@dataclasses.dataclass(frozen=True)
class FeedsFileConfig:
    """Limits for reading a feeds file."""

    max_bytes: int = 16 * 1024 * 1024
    max_feeds: int = 100_000
    max_title: int = 300


class FeedsFileError(ValueError):
    """The feeds file cannot be used; ``str(err)`` is a one-line reason."""

    def __init__(self, message: str) -> None:
        super().__init__(_one_line(message))


def _one_line(text: str) -> str:
    return " ".join(text.split())[:500]


@dataclasses.dataclass(frozen=True)
class FeedsFileResult:
    """The sources read, and one line per thing that was ignored."""

    sources: tuple[FeedSource, ...]
    warnings: tuple[str, ...] = ()


@dataclasses.dataclass
class _Collector:
    label: str
    config: FeedsFileConfig
    sources: list[FeedSource] = dataclasses.field(default_factory=list)
    warnings: list[str] = dataclasses.field(default_factory=list)
    seen: set[str] = dataclasses.field(default_factory=set)

    def warn(self, where: str, message: str) -> None:
        self.warnings.append(_one_line(f"{self.label}{where.strip()}: {message}"))

    def region(self, value: str | None, where: str) -> str | None:
        if value is None or not value.strip():
            return None
        slug = re.sub(r"[\s_]+", "-", value.strip().lower())
        if slug in REGION_SLUGS:
            return slug
        self.warn(where, f"region {value[:60]!r} is not a known region slug; ignored")
        return None

    def country(self, value: str | None, where: str) -> str | None:
        if value is None or not value.strip():
            return None
        if _COUNTRY.match(value.strip()):
            return value.strip().upper()
        self.warn(where, f"country {value[:60]!r} is not an ISO 3166-1 alpha-2 code; ignored")
        return None

    def kind(self, value: str | None, where: str) -> str:
        if value is None or not value.strip():
            return "auto"
        kind = KIND_BY_TYPE.get(value.strip().lower())
        if kind is None:
            self.warn(where, f"type {value[:40]!r} is unknown; the format will be sniffed")
            return "auto"
        return kind

    def add(
        self,
        *,
        url: str,
        where: str,
        title: str | None,
        region: str | None,
        country: str | None,
        kind: str,
    ) -> None:
        normalized = _feed_url(url)
        if normalized is None:
            self.warn(where, f"{url[:120]!r} is not an http(s) URL; skipped")
            return
        if normalized in self.seen:
            self.warn(where, f"{normalized[:120]} is listed again; kept the first")
            return
        if len(self.sources) >= self.config.max_feeds:
            raise FeedsFileError(f"{self.label}has more than {self.config.max_feeds} feeds")
        self.seen.add(normalized)
        clean_title = " ".join(title.split())[: self.config.max_title] if title else None
        self.sources.append(
            FeedSource(
                url=normalized,
                title=clean_title or None,
                region=region,
                country=country,
                kind=kind,
            )
        )


def _feed_url(url: str) -> str | None:
    url = url.strip()
    lowered = url.lower()
    # The old feed: pseudo-scheme: feed://host/x and feed:https://host/x.
    if lowered.startswith("feed:"):
        rest = url[5:]
        url = rest if rest.lower().startswith(("http://", "https://")) else "http:" + rest
    # Feed URLs keep their parameters: some feeds are selected by them.
    return normalize_url(url, strip_tracking=False)


def _attrs(element: ET.Element) -> dict[str, str]:
    return {key.rsplit("}", 1)[-1].lower(): value for key, value in element.attrib.items()}


def _local(tag: object) -> str:
    return tag.rsplit("}", 1)[-1].lower() if isinstance(tag, str) else ""


def _walk_outlines(
    element: ET.Element, region: str | None, country: str | None, out: _Collector, depth: int
) -> Iterator[tuple[ET.Element, dict[str, str], str | None, str | None]]:
    for child in element:
        if _local(child.tag) != "outline":
            continue
        attrs = _attrs(child)
        where = f" outline {attrs.get('text') or attrs.get('title') or ''!r}"[:80]
        child_region = out.region(attrs.get("region"), where) or region
        child_country = out.country(attrs.get("country"), where) or country
        yield child, attrs, child_region, child_country
        if depth < 64:  # expat already bounds nesting; this bounds our recursion
            yield from _walk_outlines(child, child_region, child_country, out, depth + 1)


def _read_opml(data: bytes, out: _Collector) -> None:
    try:
        root = SafeET.fromstring(data, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    except defusedxml.DefusedXmlException as err:
        raise FeedsFileError(
            f"{out.label}refused: the XML declares entities or an external DTD ({type(err).__name__})"
        ) from None
    except ET.ParseError as err:
        raise FeedsFileError(f"{out.label}is not well-formed XML ({err})") from None
    except (ValueError, LookupError) as err:  # unknown encoding, bad bytes in declaration
        raise FeedsFileError(f"{out.label}cannot be decoded as XML ({err})") from None
    if _local(root.tag) != "opml":
        raise FeedsFileError(f"{out.label}is XML but not OPML (root element <{_local(root.tag)}>)")
    body = next((c for c in root if _local(c.tag) == "body"), None)
    if body is None:
        raise FeedsFileError(f"{out.label}is OPML without a <body>")
    for _element, attrs, region, country in _walk_outlines(body, None, None, out, 0):
        url = attrs.get("xmlurl") or attrs.get("url")
        if not url:
            continue  # a folder
        where = f" outline {attrs.get('text') or attrs.get('title') or url!r}"[:80]
        type_ = (attrs.get("type") or "").strip().lower()
        if type_ in _NOT_FEED_TYPES and not attrs.get("xmlurl"):
            out.warn(where, f'type="{type_}" is not a feed; skipped')
            continue
        out.add(
            url=url,
            where=where,
            title=attrs.get("title") or attrs.get("text"),
            region=region,
            country=country,
            kind=out.kind(attrs.get("type"), where),
        )


def _read_list(text: str, out: _Collector) -> None:
    for number, raw in enumerate(text.splitlines(), start=1):
        line = _INLINE_COMMENT.sub("", raw).strip()
        if not line or line.startswith("#"):
            continue
        where = f" line {number}"
        try:
            tokens = shlex.split(line, posix=True)
        except ValueError as err:
            out.warn(where, f"cannot split ({err}); skipped")
            continue
        url, extras = tokens[0], tokens[1:]
        values: dict[str, str] = {}
        for token in extras:
            key, sep, value = token.partition("=")
            key = key.strip().lower()
            if not sep or key not in _LIST_KEYS:
                out.warn(where, f"{token[:60]!r} is not a known key=value extra; ignored")
                continue
            values["type" if key == "kind" else key] = value
        out.add(
            url=url,
            where=where,
            title=values.get("title"),
            region=out.region(values.get("region"), where),
            country=out.country(values.get("country"), where),
            kind=out.kind(values.get("type"), where),
        )


def parse_feeds_file(
    *, data: bytes, name: str = "", config: FeedsFileConfig | None = None
) -> FeedsFileResult:
    """The sources in a feeds file and the warnings; raises :class:`FeedsFileError`."""
    config = config or FeedsFileConfig()
    out = _Collector(label=f"feeds file {name}: " if name else "feeds file: ", config=config)
    if len(data) > config.max_bytes:
        raise FeedsFileError(f"{out.label}is larger than {config.max_bytes} bytes")
    stripped = data.lstrip(b"\xef\xbb\xbf \t\r\n")
    looks_xml = stripped.startswith(b"<") or data.startswith((b"\xff\xfe", b"\xfe\xff"))
    if looks_xml:
        _read_opml(data, out)
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as err:
            raise FeedsFileError(
                f"{out.label}is not UTF-8 text (bad byte at offset {err.start})"
            ) from None
        _read_list(text, out)
    if not out.sources:
        raise FeedsFileError(f"{out.label}lists no usable feed URL")
    return FeedsFileResult(sources=tuple(out.sources), warnings=tuple(out.warnings))


def read_feeds_file(
    *, data: bytes, name: str = "", config: FeedsFileConfig | None = None
) -> list[FeedSource]:
    """The sources in a feeds file; warnings are logged. Raises :class:`FeedsFileError`."""
    result = parse_feeds_file(data=data, name=name, config=config)
    for warning in result.warnings:
        log.warning("%s", warning)
    return list(result.sources)
