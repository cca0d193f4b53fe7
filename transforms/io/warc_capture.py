"""CaptureWarc: every page a run fetched, kept as WARC (``--capture-warc DIR``).

Each fetched page becomes a ``request`` record (the GET wiredesk sent) and a
``response`` record (status, content type and the page), linked by
``WARC-Concurrent-To``; a ``warcinfo`` record opens each file. The response carries
the feed entry the page was fetched for in a ``WARC-Wiredesk-Entry`` header, so
``wiredesk run --warc DIR`` gives back the same rows and the same stories without
fetching again. The payload is the page as wiredesk decoded it, stored as UTF-8
(the content type says so), not the bytes the server sent.

One ``.warc.gz`` per run and bundle (shard), named ``<run_id>-<shard>.warc.gz``; it is
written under a hidden ``.tmp-`` name in the same folder and renamed when complete, so
a reader never sees a half-written file. Wire items were never fetched and are not
captured.

Example::

    fetched[FetchArticle.PAGES] | CaptureWarc(folder="/archive/warc", run_id="r1")
"""

from __future__ import annotations

import datetime as dt
import io
import time
import uuid
from typing import Any
from urllib.parse import urlsplit

import apache_beam as beam
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems
from apache_beam.metrics import Metrics
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from wiredesk.schemas.records import FetchedPage
from wiredesk.transforms.common.metrics import NAMESPACE
from wiredesk.transforms.fetch.http_client import DEFAULT_USER_AGENT
from wiredesk.transforms.io.write_table import TEMP_PREFIX
from wiredesk.transforms.sources.warc_records import ENTRY_HEADER, entry_to_header

__all__ = ["CaptureWarc", "remove_stale_captures", "warc_date", "write_page_records"]

_REASONS = {200: "OK", 401: "Unauthorized", 402: "Payment Required", 403: "Forbidden"}


def warc_date(at: dt.datetime) -> str:
    """WARC/1.1 date with microseconds, so a replay keeps ``fetched_at`` exactly."""
    if at.tzinfo is None:
        at = at.replace(tzinfo=dt.UTC)
    return at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def write_page_records(writer: WARCWriter, page: FetchedPage) -> None:
    """Append the request and response records of one fetched page."""
    url = page.final_url or page.entry.url
    if page.body is not None:  # not decoded yet: kept as it came
        body, content_type = page.body, page.content_type or "text/html"
    else:
        body, content_type = page.html.encode("utf-8"), "text/html; charset=utf-8"
    date = warc_date(page.fetched_at)
    status = f"{page.status} {_REASONS.get(page.status, 'Status')}"
    http = StatusAndHeaders(
        status,
        [("Content-Type", content_type), ("Content-Length", str(len(body)))],
        protocol="HTTP/1.1",
    )
    response = writer.create_warc_record(
        url,
        "response",
        payload=io.BytesIO(body),
        http_headers=http,
        warc_headers_dict={"WARC-Date": date, ENTRY_HEADER: entry_to_header(page.entry)},
    )
    parts = urlsplit(url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    request_http = StatusAndHeaders(
        f"GET {target} HTTP/1.1",
        [("Host", parts.netloc), ("User-Agent", DEFAULT_USER_AGENT), ("Accept", "text/html")],
        is_http_request=True,
    )
    request = writer.create_warc_record(
        url,
        "request",
        payload=io.BytesIO(b""),
        http_headers=request_http,
        warc_headers_dict={
            "WARC-Date": date,
            "WARC-Concurrent-To": response.rec_headers.get_header("WARC-Record-ID"),
        },
    )
    writer.write_record(request)
    writer.write_record(response)


class _CaptureFn(beam.DoFn):
    def __init__(self, *, folder: str, run_id: str) -> None:
        self._folder = folder
        self._run_id = run_id
        self._captured = Metrics.counter(NAMESPACE, "pages_captured")
        self._files = Metrics.counter(NAMESPACE, "capture_files_written")
        self._handle: Any = None
        self._writer: WARCWriter | None = None
        self._names: tuple[str, str] | None = None

    def start_bundle(self) -> None:
        self._handle = self._writer = self._names = None

    def _open(self) -> WARCWriter:
        name = f"{self._run_id}-{uuid.uuid4().hex[:12]}.warc.gz"
        final = FileSystems.join(self._folder, name)
        temp = FileSystems.join(self._folder, f"{TEMP_PREFIX}{name}")
        self._names = (temp, final)
        if not FileSystems.exists(self._folder):
            FileSystems.mkdirs(self._folder)
        # UNCOMPRESSED: warcio writes one gzip member per record (what WARC readers expect).
        self._handle = FileSystems.create(temp, compression_type=CompressionTypes.UNCOMPRESSED)
        writer = WARCWriter(self._handle, gzip=True, warc_version="WARC/1.1")
        writer.write_record(
            writer.create_warcinfo_record(
                name, {"software": "wiredesk", "format": "WARC File Format 1.1"}
            )
        )
        self._writer = writer
        return writer

    def process(self, page: FetchedPage) -> None:
        if page.entry.is_wire:  # never fetched: its body came in the wire item
            return
        writer = self._writer or self._open()
        write_page_records(writer, page)
        self._captured.inc()

    def finish_bundle(self) -> None:
        if self._handle is None or self._names is None:
            return
        self._handle.close()
        temp, final = self._names
        FileSystems.rename([temp], [final])
        self._files.inc()
        self._handle = self._writer = self._names = None


class CaptureWarc(beam.PTransform):
    """FetchedPage -> WARC files in ``folder`` (one per bundle); outputs nothing."""

    def __init__(self, *, folder: str, run_id: str) -> None:
        super().__init__()
        self._folder = folder.rstrip("/") or "/"
        self._run_id = run_id

    def expand(self, pages: beam.PCollection) -> beam.PCollection:
        return pages | "WriteWarc" >> beam.ParDo(
            _CaptureFn(folder=self._folder, run_id=self._run_id)
        )


# A shard is renamed when its bundle ends, seconds to minutes after it was opened; one
# untouched for a day belongs to a run that died.
STALE_AFTER_S = 24 * 3600


def remove_stale_captures(
    *, folder: str, run_id: str, now: float | None = None, stale_after_s: float = STALE_AFTER_S
) -> list[str]:
    """Delete the ``.tmp-`` shards a run left unfinished in the capture ``folder``; return them.

    This run's own (``<run_id>-...``, from a bundle that failed and was retried) go once it
    has finished. Another run's go only when untouched for ``stale_after_s``: that run may
    still be writing to the same folder (one capture folder can serve several OUTs, and
    no lease guards it). Readers skip them meanwhile (``--warc`` ignores ``.tmp-`` names).
    """
    now = time.time() if now is None else now
    try:
        found = FileSystems.match([FileSystems.join(folder, f"{TEMP_PREFIX}*")])[0].metadata_list
    except Exception:  # no folder (nothing was captured), or an unreadable one
        return []
    own = f"{TEMP_PREFIX}{run_id}-"
    stale = []
    for meta in found:
        name = meta.path.rstrip("/").rsplit("/", 1)[-1]
        updated = getattr(meta, "last_updated_in_seconds", None)
        if name.startswith(own) or (updated is not None and now - updated > stale_after_s):
            stale.append(meta.path)
    if stale:
        FileSystems.delete(stale)
    return stale
