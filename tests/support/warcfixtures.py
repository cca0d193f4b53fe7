"""Build WARC files from the extraction fixture pages (tests/fixtures/extraction), with warcio.

:func:`build_mixed_warc` writes what a CC-NEWS file holds, and what goes wrong in one:
a warcinfo record, request/response pairs for real news pages, a revisit, a metadata
record, a 404, an image and, last, a response cut off in the middle.
"""

from __future__ import annotations

import dataclasses
import gzip
import io
from pathlib import Path

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

__all__ = ["FIXTURE_PAGES", "MixedWarc", "build_mixed_warc", "fixture_html", "response_record"]

FUNDUS = Path(__file__).resolve().parents[1] / "fixtures" / "extraction" / "fundus"
# (URL the test serves the page under, fixture file): fundus pages, MIT (see its LICENSE-NOTE).
FIXTURE_PAGES = (
    ("https://apnews.com/article/one-story", "us/APNews_2023_04_28.html.gz"),
    ("https://www.dw.com/de/two-story", "de/DW_2023_04_28.html.gz"),
    ("https://www.aa.com.tr/tr/three-story", "tr/AnadoluAjansi_2025_04_05.html.gz"),
    ("https://www.taipeitimes.com/News/four-story", "tw/TaipeiTimes_2024_10_15.html.gz"),
)
# The first page again under another outlet's URL: a republication (same story).
REPUBLISHED = ("https://news.example.org/wire/one-story-again", "us/APNews_2023_04_28.html.gz")
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 64


def fixture_html(name: str) -> bytes:
    return gzip.decompress((FUNDUS / name).read_bytes())


def response_record(
    writer: WARCWriter,
    url: str,
    body: bytes,
    *,
    status: str = "200 OK",
    content_type: str = "text/html; charset=utf-8",
    date: str = "2024-10-23T03:30:00Z",
) -> object:
    http = StatusAndHeaders(
        status,
        [("Content-Type", content_type), ("Content-Length", str(len(body)))],
        protocol="HTTP/1.1",
    )
    return writer.create_warc_record(
        url,
        "response",
        payload=io.BytesIO(body),
        http_headers=http,
        warc_headers_dict={"WARC-Date": date},
    )


def _request_record(writer: WARCWriter, url: str) -> object:
    http = StatusAndHeaders(
        "GET / HTTP/1.1", [("User-Agent", "test-crawler")], is_http_request=True
    )
    return writer.create_warc_record(
        url,
        "request",
        payload=io.BytesIO(b""),
        http_headers=http,
        warc_headers_dict={"WARC-Date": "2024-10-23T03:30:00Z"},
    )


@dataclasses.dataclass(frozen=True)
class MixedWarc:
    path: Path
    html_urls: tuple[str, ...]  # every HTML 200 response: one row each
    not_found_url: str
    image_url: str
    truncated_url: str
    skipped: dict[str, int]  # WARC-Type -> records that are only counted


def build_mixed_warc(path: Path, *, gzipped: bool = True) -> MixedWarc:
    """The mixed WARC described above, at ``path``."""
    buffer = io.BytesIO()
    writer = WARCWriter(buffer, gzip=gzipped, warc_version="WARC/1.1")
    writer.write_record(writer.create_warcinfo_record(path.name, {"software": "wiredesk tests"}))
    html_urls = []
    for url, name in (*FIXTURE_PAGES, REPUBLISHED):
        writer.write_record(_request_record(writer, url))
        writer.write_record(response_record(writer, url, fixture_html(name)))
        html_urls.append(url)
    first = FIXTURE_PAGES[0][0]
    revisit = writer.create_revisit_record(
        first,
        digest="sha1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        refers_to_uri=first,
        refers_to_date="2024-10-23T03:30:00Z",
    )
    writer.write_record(revisit)
    writer.write_record(
        writer.create_warc_record(
            first,
            "metadata",
            payload=io.BytesIO(b"fetchTimeMs: 120\r\n"),
            warc_content_type="application/warc-fields",
        )
    )
    missing = "https://apnews.com/article/gone"
    writer.write_record(
        response_record(
            writer, missing, b"<html><body>Not found</body></html>", status="404 Not Found"
        )
    )
    image = "https://apnews.com/images/photo.png"
    writer.write_record(response_record(writer, image, PNG, content_type="image/png"))
    data = buffer.getvalue()
    # Last: a response cut off half way, as a crawler killed mid-write leaves it.
    cut = io.BytesIO()
    tail_writer = WARCWriter(cut, gzip=gzipped, warc_version="WARC/1.1")
    truncated = "https://www.dw.com/en/cut-off-story"
    tail_writer.write_record(
        response_record(tail_writer, truncated, fixture_html("de/DW_2023_06_13.html.gz"))
    )
    whole = cut.getvalue()
    path.write_bytes(data + whole[: len(whole) // 2])
    return MixedWarc(
        path=path,
        html_urls=tuple(html_urls),
        not_found_url=missing,
        image_url=image,
        truncated_url=truncated,
        skipped={"warcinfo": 1, "request": len(html_urls), "revisit": 1, "metadata": 1},
    )
