"""write_page_records: what a captured page's response record holds."""

from __future__ import annotations

import datetime as dt
import io

from warcio.archiveiterator import ArchiveIterator
from warcio.warcwriter import WARCWriter

from wiredesk.schemas.records import FeedEntry, FetchedPage
from wiredesk.transforms.io.warc_capture import write_page_records

URL = "https://news.example/a/1"
AT = dt.datetime(2024, 5, 1, 12, tzinfo=dt.UTC)


def _response(page: FetchedPage) -> tuple[str | None, bytes]:
    buffer = io.BytesIO()
    write_page_records(WARCWriter(buffer, gzip=True), page)
    buffer.seek(0)
    for record in ArchiveIterator(buffer):
        if record.rec_type == "response":
            return record.http_headers.get_header("Content-Type"), record.content_stream().read()
    raise AssertionError("no response record")


def _page(**fields: object) -> FetchedPage:
    entry = FeedEntry(url=URL, feed_url="", url_key=URL)
    return FetchedPage(entry=entry, final_url=URL, fetched_at=AT, **fields)  # type: ignore[arg-type]


def test_a_decoded_page_is_written_as_utf8() -> None:
    assert _response(_page(html="<p>café</p>")) == (
        "text/html; charset=utf-8",
        "<p>café</p>".encode(),
    )


def test_a_page_still_in_bytes_is_written_as_it_came() -> None:
    body = "<p>café</p>".encode("cp1252")
    page = _page(html="", body=body, content_type="text/html; charset=windows-1252")
    assert _response(page) == ("text/html; charset=windows-1252", body)
