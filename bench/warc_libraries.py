"""warcio against fastwarc: reading a WARC built from the fixture pages (why wiredesk uses warcio).

    pip install fastwarc==2.0.0          # not a wiredesk dependency: only for this comparison
    python bench/warc_libraries.py       # 1,000 responses (178 fixture pages, repeated), 5 runs

Both libraries read the same ``.warc.gz`` and ``.warc`` (request/response pairs written by
warcio) and, for every response, read the target URI, the HTTP status and the whole
payload: what sources/warc_records.py needs. Medians of ``--runs`` passes, in this
process, one library after the other.
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import load_pages, median  # noqa: E402
from warcio.archiveiterator import ArchiveIterator  # noqa: E402
from warcio.statusandheaders import StatusAndHeaders  # noqa: E402
from warcio.warcwriter import WARCWriter  # noqa: E402


def write(path: Path, bodies: Sequence[bytes], *, gzipped: bool) -> None:
    with path.open("wb") as handle:
        writer = WARCWriter(handle, gzip=gzipped)
        for i, body in enumerate(bodies):
            http = StatusAndHeaders(
                "200 OK",
                [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(body)))],
                protocol="HTTP/1.1",
            )
            url = f"https://example.org/news/{i}.html"
            writer.write_record(
                writer.create_warc_record(
                    url, "response", payload=io.BytesIO(body), http_headers=http
                )
            )


def read_warcio(path: Path) -> int:
    size = 0
    with path.open("rb") as handle:
        for record in ArchiveIterator(handle):
            if record.rec_type == "response":
                record.rec_headers.get_header("WARC-Target-URI")
                if record.http_headers.get_statuscode() == "200":
                    size += len(record.content_stream().read())
    return size


def read_fastwarc(path: Path) -> int:
    from fastwarc.warc import ArchiveIterator as FastIterator
    from fastwarc.warc import WarcRecordType

    size = 0
    with path.open("rb") as handle:
        for record in FastIterator(handle, record_types=WarcRecordType.response):
            record.headers.get("WARC-Target-URI")
            if record.http_headers.status_code == 200:
                size += len(record.reader.read())
    return size


def timed(fn: Callable[[Path], int], path: Path, runs: int) -> tuple[float, int]:
    times = []
    size = 0
    for _ in range(runs):
        start = time.perf_counter()
        size = fn(path)
        times.append(time.perf_counter() - start)
    return median(times), size


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    pages = [p.html.encode("utf-8") for p in load_pages()]
    bodies = [pages[i % len(pages)] for i in range(args.records)]
    readers: dict[str, Callable[[Path], int]] = {"warcio": read_warcio}
    try:
        import fastwarc  # noqa: F401

        readers["fastwarc"] = read_fastwarc
    except ImportError:
        print("fastwarc is not installed: pip install fastwarc==2.0.0 to compare")
    with tempfile.TemporaryDirectory() as tmp:
        for gzipped in (True, False):
            path = Path(tmp) / ("pages.warc.gz" if gzipped else "pages.warc")
            write(path, bodies, gzipped=gzipped)
            mb = path.stat().st_size / 1e6
            for name, fn in readers.items():
                seconds, size = timed(fn, path, args.runs)
                print(
                    f"{name:9} {path.name:14} {mb:7.1f} MB: {seconds * 1000:7.0f} ms,"
                    f" {seconds / args.records * 1e6:6.0f} us/record ({size / 1e6:.0f} MB payload)"
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
