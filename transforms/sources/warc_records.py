"""WARC records -> pages, skips and rejects (pure: no Beam).

A WARC file (``.warc`` or ``.warc.gz``, as Common Crawl's CC-NEWS publishes them, or
as ``--capture-warc`` writes them) is read record by record with warcio
(docs/decisions.md, "WARC library"), never as a whole: :func:`read_warc` is a
generator over a binary stream, so memory holds one record at a time.

Each ``response`` record becomes one :class:`WarcOutcome`:

* a :class:`~wiredesk.schemas.records.FetchedPage` when it is an HTTP 200 with an
  HTML payload (``WARC-Target-URI`` is the URL, ``WARC-Date`` is ``fetched_at``). Its
  payload stays bytes (``body``): the extraction pass decodes it, and rejects it as
  ``bad_encoding`` (stage ``fetch``) when no charset turns it into text;
* a :class:`~wiredesk.schemas.records.Reject` (stage ``fetch``) otherwise: ``http_<status>``,
  ``bad_url`` (not an http(s) target, e.g. Heritrix's ``dns:`` records), ``not_html``,
  ``too_large``, ``truncated_record`` (the record ends
  before its Content-Length, or the crawler marked it ``WARC-Truncated``) or
  ``corrupt_record`` (the bytes are not a WARC record; reading stops there, since no
  later record boundary can be trusted);
* nothing, but a reason, when a filter (host suffix, date range) leaves it out.

Every other record type (warcinfo, request, metadata, revisit, resource, ...) is
only counted (``skipped``). A response written by ``--capture-warc`` carries the
feed entry it was fetched for in a ``WARC-Wiredesk-Entry`` header, so that a replay
restores the feed's title, dates and outlet and reproduces the same rows.

Example::

    with open("news.warc.gz", "rb") as stream:
        for item in read_warc(stream, source="news.warc.gz"):
            print(item.kind, item.reason)
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import gzip
import json
import re
import zlib
from collections.abc import Callable, Iterator, Sequence
from typing import IO, Any
from urllib.parse import urlsplit

from isal import isal_zlib
from warcio.archiveiterator import ArchiveIterator
from warcio.bufferedreaders import DecompressingBufferedReader
from warcio.utils import BUFF_SIZE

from wiredesk.schemas.records import FeedEntry, FetchedPage, Reject, RejectReason, Stage, utcnow
from wiredesk.transforms.common.dates import parse_datetime as plausible_datetime
from wiredesk.transforms.common.urlnorm import url_key
from wiredesk.transforms.fetch.decode import mime_type, sniff_binary

__all__ = [
    "ENTRY_HEADER",
    "HTML_TYPES",
    "TRUNCATED_RECORD",
    "CORRUPT_RECORD",
    "WarcFilters",
    "WarcOutcome",
    "entry_from_header",
    "entry_to_header",
    "host_matches",
    "parse_warc_date",
    "next_record_start",
    "read_warc",
    "split_ranges",
    "warc_file_key",
]

ENTRY_HEADER = "WARC-Wiredesk-Entry"
HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
# Reject reasons of this source (README, "Rejects").
TRUNCATED_RECORD = RejectReason.TRUNCATED_RECORD.value
CORRUPT_RECORD = RejectReason.CORRUPT_RECORD.value
_READ_CHUNK = 1 << 16
_GZIP_MAGIC = b"\x1f\x8b\x08"
_TARGET_RE = re.compile(rb"^WARC-Target-URI:[ \t]*(\S+)", re.IGNORECASE | re.MULTILINE)


def warc_file_key(path: str, size: int, mtime: float | None, start: int | None = None) -> str:
    """The ``seen`` key of a WARC file (or of the byte range from ``start`` of a split
    ``.warc.gz``) read completely: an overwritten file is read again."""
    key = f"warc:{path}|{size}|{int(mtime or 0)}"
    return key if start is None else f"{key}|from={start}"


def split_ranges(path: str, size: int, chunk: int) -> list[tuple[int, int]]:
    """Byte ranges ``[start, end)`` to read a file in: ``chunk``-sized for a ``.warc.gz``
    larger than ``chunk`` (each record is a gzip member, so a reader can find the next
    record from any offset), else the whole file."""
    if not path.lower().endswith(".warc.gz") or size <= chunk or chunk <= 0:
        return [(0, size)]
    return [(start, min(start + chunk, size)) for start in range(0, size, chunk)]


def _is_warc_member(stream: IO[bytes], at: int) -> bool:
    """Whether a gzip member starting at ``at`` inflates to a WARC record header."""
    stream.seek(at)
    head = stream.read(1024)
    try:
        text = zlib.decompressobj(zlib.MAX_WBITS | 16).decompress(head, 8)
    except zlib.error:
        return False
    return text.startswith(b"WARC/")


def _opening(stream: IO[bytes]) -> bytes:
    """The first bytes of the records in ``stream`` (inflated if it is gzip), blank lines
    left out; empty when the stream cannot be read twice or holds nothing yet."""
    try:
        if not stream.seekable():
            return b""
        stream.seek(0)
        head = stream.read(1024)
        stream.seek(0)
    except (OSError, AttributeError, ValueError):
        return b""
    if head[:3] == _GZIP_MAGIC:
        # Not a gzip stream after all: then its own bytes are what it starts with.
        with contextlib.suppress(zlib.error):
            head = zlib.decompressobj(zlib.MAX_WBITS | 16).decompress(head, 64)
    return head[:64].lstrip()[:16]


# How a file of records begins: a WARC record, or (warcio reads these too) an ARC file.
_RECORD_FILE_OPENINGS = (b"WARC/", b"filedesc://")


def next_record_start(stream: IO[bytes], start: int, end: int) -> int | None:
    """The offset of the first record of a ``.warc.gz`` that starts in ``[start, end)``.

    A candidate is a gzip header whose member inflates to ``WARC/``: payload bytes that
    merely look like a gzip header fail that test.
    """
    pos = start
    tail = b""
    while pos < end:
        stream.seek(pos)
        block = stream.read(_READ_CHUNK)
        if not block:
            return None
        data = tail + block
        base = pos - len(tail)
        found = data.find(_GZIP_MAGIC)
        while found != -1:
            candidate = base + found
            if candidate >= end:
                return None
            if candidate >= start and _is_warc_member(stream, candidate):
                return candidate
            found = data.find(_GZIP_MAGIC, found + 1)
        tail = data[-(len(_GZIP_MAGIC) - 1) :]
        pos += len(block)
    return None


@dataclasses.dataclass(frozen=True)
class WarcFilters:
    """What a backfill keeps: host suffixes (empty: all) and a WARC-Date range."""

    hosts: tuple[str, ...] = ()
    since: dt.datetime | None = None
    until: dt.datetime | None = None

    def reason_to_leave_out(self, url: str, at: dt.datetime) -> str | None:
        """``"host"`` or ``"date"`` when the record is filtered out, else None."""
        if self.hosts and not host_matches(url, self.hosts):
            return "host"
        if self.since is not None and at < self.since:
            return "date"
        if self.until is not None and at >= self.until:
            return "date"
        return None


def host_matches(url: str, suffixes: Sequence[str]) -> bool:
    """True when the URL's host is one of ``suffixes`` or a subdomain of one.

    ``bbc.co.uk`` matches ``www.bbc.co.uk`` and ``bbc.co.uk``, never ``notbbc.co.uk``.
    """
    try:
        host = (urlsplit(url).hostname or "").rstrip(".").lower()
    except ValueError:
        return False
    for suffix in suffixes:
        want = suffix.strip().lstrip(".").rstrip(".").lower()
        if want and (host == want or host.endswith("." + want)):
            return True
    return False


def parse_warc_date(value: str | None) -> dt.datetime | None:
    """``2024-10-23T03:30:00Z`` (WARC/1.0) or with fractions (WARC/1.1) -> aware UTC.

    None for a time no crawl can have: before 1990 or more than two days from now (the
    bounds of every publication time, :mod:`wiredesk.transforms.common.dates`). The
    capture time stands in for a page's publication time when the page states none, so
    year 9999 would otherwise be a partition.
    """
    if not value:
        return None
    text = value.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    return plausible_datetime(parsed)


def entry_to_header(entry: FeedEntry) -> str:
    """The feed entry a page was fetched for, as one line of JSON (capture)."""
    fields = {
        "url": entry.url,
        "feed_url": entry.feed_url,
        "guid": entry.guid,
        "title": entry.title,
        "published_at": entry.published_at.isoformat() if entry.published_at else None,
        "source": entry.source,
        "feed_region": entry.feed_region,
        "feed_country": entry.feed_country,
        "authors": list(entry.authors),
        "language": entry.language,
        "summary": entry.summary,
    }
    # ensure_ascii: a WARC header line is safest in ASCII whatever reads it later.
    return json.dumps({k: v for k, v in fields.items() if v not in (None, [])}, ensure_ascii=True)


def entry_from_header(value: str, *, target_uri: str) -> FeedEntry | None:
    """The entry :func:`entry_to_header` wrote, or None when the header is unusable."""
    try:
        data = json.loads(value)
        url = str(data.get("url") or target_uri)
        published = data.get("published_at")
        return FeedEntry(
            url=url,
            feed_url=str(data.get("feed_url") or ""),
            url_key=url_key(url),
            guid=data.get("guid"),
            title=data.get("title"),
            published_at=dt.datetime.fromisoformat(published) if published else None,
            source=data.get("source"),
            feed_region=data.get("feed_region"),
            feed_country=data.get("feed_country"),
            authors=tuple(str(a) for a in data.get("authors") or ()),
            language=data.get("language"),
            summary=data.get("summary"),
        )
    except (ValueError, TypeError, AttributeError):
        return None


@dataclasses.dataclass(frozen=True)
class WarcOutcome:
    """What one record became.

    ``kind`` is ``page`` (``page`` set), ``reject`` (``reject`` set), ``filtered``
    (``reason``: host or date) or ``skipped`` (``reason``: the WARC-Type).
    ``url_key`` is the exact-dedup key of a response's URL ("" for other records).
    """

    kind: str
    record_type: str
    reason: str = ""
    url_key: str = ""
    page: FetchedPage | None = None
    reject: Reject | None = None


def _reject(
    source: str, url: str, reason: str, detail: str, at: dt.datetime | None, rtype: str
) -> WarcOutcome:
    return WarcOutcome(
        kind="reject",
        record_type=rtype,
        reason=reason,
        url_key=url_key(url) if "://" in url else "",
        reject=Reject(
            url=url,
            feed_url=source,
            stage=Stage.FETCH.value,
            reason=reason,
            detail=detail[:2000],
            at=at or utcnow(),
        ),
    )


def _read_payload(record: Any, limit: int) -> tuple[bytes, bool]:
    """(at most ``limit`` + 1 payload bytes, whether the record ended before its length).

    The payload is read through warcio's content stream (chunked transfer and gzip or
    brotli content encodings undone). A record is truncated when its raw block, a
    reader limited to Content-Length, still has bytes left once the payload ran dry.
    """
    stream = record.content_stream()
    parts: list[bytes] = []
    size = 0
    while size <= limit:
        chunk = stream.read(min(_READ_CHUNK, limit + 1 - size))
        if not chunk:
            break
        parts.append(chunk)
        size += len(chunk)
    if size > limit:
        return b"".join(parts), False
    truncated = getattr(record.raw_stream, "limit", 0) > 0
    return b"".join(parts), truncated


def _response(
    record: Any, *, source: str, filters: WarcFilters, max_bytes: int, seen: Callable[[str], bool]
) -> WarcOutcome:
    headers = record.rec_headers
    url = (headers.get_header("WARC-Target-URI") or "").strip()
    at = parse_warc_date(headers.get_header("WARC-Date"))
    rtype = "response"
    if not url or at is None:
        what = "WARC-Target-URI" if not url else "WARC-Date"
        return _reject(
            source,
            url or source,
            CORRUPT_RECORD,
            f"response without a usable {what}",
            at,
            rtype,
        )
    if not url.lower().startswith(("http://", "https://")):
        # Heritrix writes DNS lookups (dns:host) and the like as response records too.
        detail = f"not an http(s) target: {url[:200]}"
        return _reject(source, url, RejectReason.BAD_URL.value, detail, at, rtype)
    left_out = filters.reason_to_leave_out(url, at)
    if left_out:
        return WarcOutcome(kind="filtered", record_type=rtype, reason=left_out)
    key = url_key(url)
    if seen(f"url:{key}"):
        return WarcOutcome(kind="filtered", record_type=rtype, reason="seen", url_key=key)
    http = record.http_headers
    status = http.get_statuscode() if http is not None else None
    try:
        code = int(status or 0)
    except ValueError:
        code = 0
    if code != 200:
        return _reject(
            source, url, RejectReason.http(code), f"HTTP {status or 'status missing'}", at, rtype
        )
    content_type = http.get_header("Content-Type")
    mime = mime_type(content_type)
    if mime and mime not in HTML_TYPES:
        return _reject(source, url, RejectReason.NOT_HTML.value, f"content type {mime}", at, rtype)
    truncated_by = (headers.get_header("WARC-Truncated") or "").strip()
    if truncated_by:
        detail = f"WARC-Truncated: {truncated_by} (the crawler kept part of the page)"
        return _reject(source, url, TRUNCATED_RECORD, detail, at, rtype)
    body, truncated = _read_payload(record, max_bytes)
    if len(body) > max_bytes:
        detail = f"payload > {max_bytes} bytes"
        return _reject(source, url, RejectReason.TOO_LARGE.value, detail, at, rtype)
    if truncated:
        left = record.raw_stream.limit
        detail = f"the record ends {left} bytes before its Content-Length"
        return _reject(source, url, TRUNCATED_RECORD, detail, at, rtype)
    kind = sniff_binary(body, content_type)
    if kind is not None:
        detail = f"{kind} served as {mime or 'no content type'}"
        return _reject(source, url, RejectReason.NOT_HTML.value, detail, at, rtype)
    carried = headers.get_header(ENTRY_HEADER)
    entry = entry_from_header(carried, target_uri=url) if carried else None
    if entry is None:
        # No feed: the outlet comes from the page (its site name), as for an untitled feed.
        entry = FeedEntry(url=url, feed_url=source, url_key=key)
    page = FetchedPage(
        entry=entry,
        final_url=url,
        html="",  # decoded by the extraction pass (FetchedPage)
        fetched_at=at,
        status=code,
        content_type=content_type,
        body=body,
    )
    return WarcOutcome(kind="page", record_type=rtype, url_key=entry.url_key, page=page)


# The longest header line read as one (WARC and HTTP headers are lines of at most a few
# KB; a URL or a cookie of hundreds of KB is already extreme). A longer one is read in
# pieces of this size, each its own line; a piece without a colon is no header and is
# dropped, so the record around it reads as it would without that line.
_MAX_LINE = 1 << 20


class _IsalGzipMember:
    """A decompressor for one gzip member: ISA-L's inflate (``isal``), which has zlib's
    stream API (``decompress``, ``unused_data``, ``flush``) and inflates a WARC's records
    2.4 times as fast: 0.51 -> 0.21 s of CPU for the 1,068 pages of the WARC bench,
    260 MB inflated, in the one process that reads the file.

    One difference is made up for: zlib refuses bytes that do not open with gzip's magic
    at once, which is how warcio tells a plain ``.warc`` from a ``.warc.gz`` (it reads on
    without a decompressor), while ISA-L waits for a whole 10-byte header first."""

    __slots__ = ("_head", "_inflate")

    def __init__(self) -> None:
        self._inflate = isal_zlib.decompressobj(isal_zlib.MAX_WBITS | 16)
        self._head = b""  # the member's first bytes, until its magic is read whole

    def decompress(self, data: bytes) -> bytes:
        if len(self._head) < 2 and data:
            self._head = (self._head + data[:2])[:2]
            if not _GZIP_MAGIC.startswith(self._head):
                raise zlib.error("incorrect header check: not a gzip member")
        return bytes(self._inflate.decompress(data))

    @property
    def unused_data(self) -> bytes:
        return bytes(self._inflate.unused_data)

    def flush(self) -> bytes:
        return bytes(self._inflate.flush())


class _LinearLineReader(DecompressingBufferedReader):
    """warcio's reader, with a ``readline`` linear in the line's length and at most
    :data:`_MAX_LINE` long, and ISA-L's inflate for the records' gzip members. warcio's
    own ``readline`` appends each buffer to a bytes object, which is quadratic: a 64 MB
    header line without a newline took 24.5 s (this one: 0.03 s)."""

    DECOMPRESSORS = {**DecompressingBufferedReader.DECOMPRESSORS, "gzip": _IsalGzipMember}

    def readline(self, length: int | None = None) -> bytes:
        if length == 0:
            return b""
        limit = _MAX_LINE if length is None or length < 0 else min(length, _MAX_LINE)
        self._fillbuff()
        if self.empty():
            return b""
        parts = [self.buff.readline(limit)]
        got = len(parts[0])
        while not parts[-1].endswith(b"\n") and got < limit:
            self._fillbuff()  # at a buffer's end: the line may go on in the next
            if self.empty():
                break
            part = self.buff.readline(limit - got)
            parts.append(part)
            got += len(part)
        return b"".join(parts)


class _QuietArchiveIterator(ArchiveIterator):
    """warcio's iterator, reading lines with :class:`_LinearLineReader`, and without its
    warning on stderr about a record not followed by a blank line, which prints the bytes
    that follow (binary, up to a buffer's worth) into the user's terminal; what follows
    such a record is read on, or rejected, as usual."""

    INC_RECORD = ""

    def __init__(self, fileobj: IO[bytes] | gzip.GzipFile) -> None:
        super().__init__(fileobj)
        self.reader = _LinearLineReader(self.fh, block_size=BUFF_SIZE)


def read_warc(
    stream: IO[bytes],
    *,
    source: str,
    filters: WarcFilters | None = None,
    max_bytes: int = 5 * 1024 * 1024,
    seen: Callable[[str], bool] | None = None,
    start: int = 0,
    end: int | None = None,
) -> Iterator[WarcOutcome]:
    """Every record of the WARC in ``stream``, in order, as a :class:`WarcOutcome`.

    With ``start``/``end`` (a ``.warc.gz`` read in byte ranges, :func:`split_ranges`), only
    the records that start in ``[start, end)``: every record belongs to exactly one range.

    Never raises on bad bytes: a record that cannot be parsed ends the file with one
    ``corrupt_record`` (or ``truncated_record``) reject at its offset. ``seen`` answers
    whether a ``url:`` key was written by an earlier run (such records are filtered
    with reason ``seen``, so they are neither re-extracted nor rewritten).
    """
    filters = filters or WarcFilters()
    seen = seen or (lambda _key: False)
    if start == 0:
        opening = _opening(stream)
        if opening and not opening.startswith(_RECORD_FILE_OPENINGS):
            # Else warcio reads on as best it can, and a file that is no WARC at all gives
            # records made of its bytes: say once what the file is instead.
            detail = f"not a WARC file: it starts with {opening!r}, not WARC/"
            yield _reject(source, source, CORRUPT_RECORD, detail, None, "unknown")
            return
    if start > 0:
        first = next_record_start(stream, start, end if end is not None else 1 << 62)
        if first is None:
            return  # no record starts in this range
        stream.seek(first)

    def outcome(record: Any) -> WarcOutcome:
        rtype = str(record.rec_type or "unknown")
        if rtype != "response":
            return WarcOutcome(kind="skipped", record_type=rtype, reason=rtype)
        return _response(record, source=source, filters=filters, max_bytes=max_bytes, seen=seen)

    iterator = _QuietArchiveIterator(stream)
    read = 0  # records yielded so far
    try:
        for record in iterator:
            # warcio's offset is where the record being yielded starts (absolute).
            if end is not None and iterator.offset >= end:
                return  # the next range's first record
            read += 1
            yield outcome(record)
    except Exception as exc:
        if start == 0 and _WHOLE_FILE_GZIP in str(exc):
            # One gzip member around the whole WARC (`gzip file.warc`): warcio reads the
            # first record, then stops. Read it again through gzip, on from that record;
            # no later byte range of this file finds a record, so this one reads all.
            yield from _read_inflated(stream, outcome, source=source, skip=read)
            return
        # Not only warcio's own errors: on crafted bytes its parser raises others too
        # (AttributeError for a response record without a WARC-Target-URI), and one
        # hostile file must end as a reject row, not end the run.
        yield _unreadable(source, iterator.offset, exc)
        return
    # warcio ends a .warc.gz quietly when its last gzip member is cut short: bytes that
    # were never parsed into a record mean a truncated record there.
    size = _stream_size(stream)
    if size is not None and iterator.offset < size:
        at = iterator.offset
        where = _partial_target(stream, at) or f"{source}#offset={at}"
        detail = f"the file ends inside a record: bytes {at}..{size} are not a complete record"
        yield _reject(source, where, TRUNCATED_RECORD, detail, None, "unknown")


# What warcio says of a .warc.gz that is one gzip member, not one per record.
_WHOLE_FILE_GZIP = "non-chunked gzip file detected"


def _unreadable(source: str, offset: int, exc: BaseException, *, unit: str = "byte") -> WarcOutcome:
    where = f"{source}#offset={offset}"
    reason = TRUNCATED_RECORD if isinstance(exc, EOFError) else CORRUPT_RECORD
    detail = f"unreadable WARC record at {unit} {offset}: {type(exc).__name__}: {exc}"
    return _reject(source, where, reason, detail.strip(), None, "unknown")


def _read_inflated(
    stream: IO[bytes], outcome: Callable[[Any], WarcOutcome], *, source: str, skip: int
) -> Iterator[WarcOutcome]:
    """The records of a WARC gzipped as one member, after the first ``skip``.

    Offsets in rejects are then of the uncompressed WARC. A file cut short ends with a
    ``truncated_record`` reject (gzip's EOFError)."""
    stream.seek(0)
    inflated = gzip.GzipFile(fileobj=stream, mode="rb")
    iterator = _QuietArchiveIterator(inflated)
    try:
        for n, record in enumerate(iterator):
            if n >= skip:
                yield outcome(record)
    except Exception as exc:
        yield _unreadable(source, iterator.offset, exc, unit="uncompressed byte")


def _partial_target(stream: IO[bytes], start: int) -> str | None:
    """The WARC-Target-URI of a record cut short, from what is left of its header."""
    try:
        stream.seek(start)
        raw = stream.read(_READ_CHUNK)
        if raw[:2] == b"\x1f\x8b":  # a gzip member: inflate what there is of it
            raw = zlib.decompressobj(zlib.MAX_WBITS | 16).decompress(raw)
    except (OSError, zlib.error, ValueError):
        return None
    found = _TARGET_RE.search(raw)
    return found.group(1).decode("utf-8", "replace").strip() if found else None


def _stream_size(stream: IO[bytes]) -> int | None:
    """The stream's total size when it can tell (files and Beam's readers can)."""
    try:
        here = stream.tell()
        stream.seek(0, 2)
        end = stream.tell()
        stream.seek(here)
        return int(end)
    except (OSError, AttributeError, ValueError):
        return None
