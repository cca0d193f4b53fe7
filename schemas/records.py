"""The records that flow between pipeline stages.

Plain frozen dataclasses: picklable for Beam, typed for mypy, and small. Every
stage takes one of these and yields either the next one or a :class:`Reject`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
from typing import Any

__all__ = [
    "Article",
    "FeedEntry",
    "FeedSource",
    "FetchedPage",
    "Reject",
    "RejectReason",
    "Stage",
]


class Stage(enum.StrEnum):
    """Where in the flow an input was rejected (the ``stage`` column)."""

    FEED = "feed"
    FETCH = "fetch"
    EXTRACT = "extract"
    ENRICH = "enrich"
    WRITE = "write"


class RejectReason(enum.StrEnum):
    """Stable reject codes (the ``reason`` column). ``http_<status>`` is built on the fly."""

    BLOCKED_ADDRESS = "blocked_address"
    ROBOTS_DISALLOWED = "robots_disallowed"
    TOO_LARGE = "too_large"
    TIMEOUT = "timeout"
    TOO_MANY_REDIRECTS = "too_many_redirects"
    NOT_HTML = "not_html"
    PARSE_ERROR = "parse_error"
    EXTRACT_TIMEOUT = "extract_timeout"
    EMPTY_TEXT = "empty_text"
    CONSENT_WALL = "consent_wall"
    # Our additions, documented in the README's reject table.
    BAD_URL = "bad_url"
    CONNECTION_ERROR = "connection_error"
    DNS_ERROR = "dns_error"
    TLS_ERROR = "tls_error"
    BAD_ENCODING = "bad_encoding"
    NO_ENTRIES = "no_entries"
    NO_LINK = "no_link"
    TOO_MANY_ENTRIES = "too_many_entries"
    UNREADABLE_FILE = "unreadable_file"
    RATE_LIMITED = "rate_limited"
    EXTRACT_ERROR = "extract_error"
    ENRICH_ERROR = "enrich_error"
    WRITE_ERROR = "write_error"
    SCHEMA_ERROR = "schema_error"
    # A --warc record cut short, or bytes of a WARC file that are no record.
    TRUNCATED_RECORD = "truncated_record"
    CORRUPT_RECORD = "corrupt_record"

    @staticmethod
    def http(status: int) -> str:
        return f"http_{int(status)}"


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclasses.dataclass(frozen=True)
class FeedSource:
    """One line of the feeds file."""

    url: str
    title: str | None = None
    region: str | None = None  # a REGION_SLUGS value, validated when read
    country: str | None = None  # ISO 3166-1 alpha-2, upper case
    kind: str = "auto"  # "auto", "rss", "ninjs", "newsml"


@dataclasses.dataclass(frozen=True)
class FeedEntry:
    """One item a feed or a wire listed: what to fetch, and what the listing said.

    Wire items carry their body (``body_html``) and are never fetched.
    """

    url: str
    feed_url: str
    url_key: str  # normalized URL (tracking parameters stripped): the exact-dedup key
    guid: str | None = None
    title: str | None = None
    published_at: dt.datetime | None = None
    source: str | None = None  # the outlet: feed title or wire provider
    feed_region: str | None = None
    feed_country: str | None = None
    authors: tuple[str, ...] = ()
    language: str | None = None
    summary: str | None = None
    # Wire items only: the body is in the item itself.
    body_html: str | None = None
    is_wire: bool = False
    agency: str | None = None
    dateline: str | None = None
    wire: dict[str, Any] | None = None  # version, urgency, subjects, evolved_from, ...


@dataclasses.dataclass(frozen=True)
class FetchedPage:
    """A page fetched for an entry: its text, or its bytes still to be decoded.

    A fetched page, or one read from a WARC, carries ``body`` (the bytes as received,
    ``html`` empty): the extraction pass decodes it where the per-page work runs
    (transforms/extract/page_pass.py), which spares the runner process the decoding and
    moves bytes, not text, to the extraction workers. A wire item's body is text.
    """

    entry: FeedEntry
    final_url: str
    html: str
    fetched_at: dt.datetime
    status: int = 200
    content_type: str | None = None
    paywalled: bool | None = None
    body: bytes | None = None

    @property
    def size(self) -> int:
        """The page's length, in characters or bytes, whichever it carries."""
        return len(self.body) if self.body is not None else len(self.html or "")


@dataclasses.dataclass(frozen=True)
class Reject:
    """One input that could not become a row, and why (the ``rejects`` table)."""

    url: str
    feed_url: str | None
    stage: str
    reason: str
    detail: str
    at: dt.datetime = dataclasses.field(default_factory=utcnow)

    def key(self) -> str:
        """What makes this reject 'the same' across runs, so a re-run adds no row."""
        return f"reject|{self.stage}|{self.url}|{self.reason}"

    def to_row(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "feed_url": self.feed_url,
            "stage": self.stage,
            "reason": self.reason,
            "detail": self.detail[:2000],
            "at": self.at,
        }


@dataclasses.dataclass(frozen=True)
class Article:
    """An extracted and enriched article: everything the ``articles`` row needs, and more.

    Frozen like every record: a stage that adds fields yields ``dataclasses.replace(...)``.
    """

    url: str
    url_key: str
    canonical_url: str
    source: str | None
    feed_url: str | None
    title: str | None
    text: str
    published_at: dt.datetime | None
    fetched_at: dt.datetime
    language: str | None = None
    authors: list[str] = dataclasses.field(default_factory=list)
    agency: str | None = None
    dateline: str | None = None
    country: str | None = None
    region: str = "unknown"
    word_count: int = 0
    content_hash: str = ""
    site_name: str | None = None
    paywalled: bool | None = None
    guid: str | None = None
    feed_region: str | None = None
    feed_country: str | None = None
    is_wire: bool = False
    wire: dict[str, Any] | None = None
    # Set by DetectSyndication (docs/syndication.md, "What a match says").
    story_id: str | None = None
    similarity: float | None = None
    relation: str | None = None  # a duplicate: exact, republication, trimmed, ... wire_version
    copy_in_story: float | None = None  # a duplicate: share of it found in the story
    story_in_copy: float | None = None  # a duplicate: share of the story found in it
    lede_shared: bool | None = None  # a duplicate: the story's lede is in it
    related_story_ids: tuple[str, ...] = ()  # a new story: the stories whose text it reuses
    # Where published_at came from (page_jsonld, page_meta, page_time, url, text, feed,
    # wire; None: unknown), the page's last update and its source, and whether the text
    # is the whole article (False: a paywall's teaser).
    published_at_source: str | None = None
    modified_at: dt.datetime | None = None
    modified_at_source: str | None = None
    text_complete: bool = True
    # The syndication sketch (transforms/dedup/signatures.py, as bytes), made in the same
    # pass as extraction and enrichment, in the process that extracted the page; never
    # written to a table. None: DetectSyndication signs the article itself.
    sketch: bytes | None = dataclasses.field(default=None, compare=False, repr=False)
