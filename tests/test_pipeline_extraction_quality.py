"""The text the pipeline *writes* scores at least raw trafilatura, on the benchmark's pages.

tests/test_extraction_quality.py gates ``extract_page`` alone; this gate goes
through everything a user's run does: the pages are served from loopback
outlets as plain ``text/html`` (no charset, so decoding is exercised), listed
by RSS feeds, fetched, decoded, extracted, enriched, deduplicated and written
as Parquet, then read back with DuckDB and scored by the article-extraction
benchmark's metric. A page that syndication folded into another story is
scored with the text the pipeline kept for that story, so a false merge costs
points here.
"""

from __future__ import annotations

import gzip
import html
import json
import os
from pathlib import Path

import pytest
import trafilatura

from wiredesk.cli import main
from wiredesk.loopback import LoopbackOutlet, Route
from wiredesk.query import connect
from wiredesk.transforms.extract.quality_metric import score_documents

AEB = Path(__file__).parent / "fixtures" / "extraction" / "aeb"
OUTLET_HOSTS = ("127.0.0.31", "127.0.0.32", "127.0.0.33")

# Measured side by side on the 149 pages: pipeline F1 0.9657 (P 0.9540, R 0.9777),
# raw trafilatura.extract F1 0.9577 (P 0.9385, R 0.9777). Floor: rounded down from 0.9632,
# the figure before extract_page compared with readability/jusText only when unsure.
PIPELINE_F1_FLOOR = 0.960


def _pages() -> dict[str, tuple[bytes, str]]:
    truth = json.loads(gzip.decompress((AEB / "ground-truth.json.gz").read_bytes()))
    return {
        key: (gzip.decompress((AEB / "html" / f"{key}.html.gz").read_bytes()), item["articleBody"])
        for key, item in sorted(truth.items())
    }


def _rss(items: list[tuple[str, str]]) -> bytes:
    body = "".join(
        f"<item><title>{html.escape(title)}</title><link>{html.escape(link)}</link></item>"
        for link, title in items
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>Benchmark outlet</title><link>http://example.invalid/</link>{body}"
        "</channel></rss>"
    ).encode()


@pytest.fixture(scope="module")
def pipeline_output(tmp_path_factory):
    pages = _pages()
    tmp = tmp_path_factory.mktemp("aeb-pipeline")
    outlets = [LoopbackOutlet(host=host).start() for host in OUTLET_HOSTS]
    try:
        listed: dict[int, list[tuple[str, str]]] = {i: [] for i in range(len(outlets))}
        url_of: dict[str, str] = {}
        for n, (key, (raw, _truth)) in enumerate(pages.items()):
            i = n % len(outlets)
            path = f"/story/{key}"
            # No charset: the pipeline has to find the encoding itself.
            outlets[i].set_route(path, Route(body=raw, content_type="text/html"))
            url_of[key] = outlets[i].url(path)
            listed[i].append((url_of[key], f"Story {key[:8]}"))
        opml = ['<?xml version="1.0"?><opml version="2.0"><body>']
        for i, outlet in enumerate(outlets):
            outlet.set_route(
                "/rss.xml", Route(body=_rss(listed[i]), content_type="application/rss+xml")
            )
            opml.append(f'<outline text="Outlet {i}" xmlUrl="{outlet.url("/rss.xml")}"/>')
        opml.append("</body></opml>")
        feeds = tmp / "feeds.opml"
        feeds.write_text("".join(opml))
        out = str(tmp / "out")
        argv = [
            "run",
            "--feeds",
            str(feeds),
            "--output",
            out,
            "--once",
            "--allow-private-addresses",
        ]
        assert main(argv) == 0
    finally:
        for outlet in outlets:
            outlet.stop()
    return pages, url_of, out


def _written_text(out: str) -> dict[str, str]:
    con = connect(out)
    texts = dict(con.execute("SELECT url, text FROM articles").fetchall())
    texts.update(
        con.execute(
            "SELECT d.url, a.text FROM duplicates d JOIN articles a USING (story_id)"
        ).fetchall()
    )
    return texts


def test_every_page_is_a_row_or_a_reject(pipeline_output):
    pages, _url_of, out = pipeline_output
    con = connect(out)
    rows = sum(
        con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]
        for table in ("articles", "duplicates", "rejects")
    )
    assert rows == len(pages)


def test_pipeline_text_scores_at_least_raw_trafilatura(pipeline_output):
    pages, url_of, out = pipeline_output
    written = _written_text(out)
    ours = score_documents(
        (truth, written.get(url_of[key])) for key, (_raw, truth) in pages.items()
    )
    raw = score_documents(
        (truth, trafilatura.extract(raw_html.decode("utf-8", "replace")))
        for raw_html, truth in pages.values()
    )
    print(f"pipeline F1 {ours.f1:.4f} P {ours.precision:.4f} R {ours.recall:.4f}")
    print(f"raw      F1 {raw.f1:.4f} P {raw.precision:.4f} R {raw.recall:.4f}")
    assert ours.f1 >= raw.f1
    assert ours.f1 >= PIPELINE_F1_FLOOR


def test_no_benchmark_page_was_merged_into_another_story(pipeline_output):
    _pages_, _url_of, out = pipeline_output
    merged = connect(out).execute("SELECT url FROM duplicates").fetchall()
    # The 149 pages are 149 different stories (a few share a topic, none a text).
    assert merged == [], merged


def test_written_files_are_complete(pipeline_output):
    _pages_, _url_of, out = pipeline_output
    import pyarrow.parquet as pq

    for folder, _dirs, files in os.walk(out):
        for name in files:
            if name.endswith(".parquet"):
                pq.read_metadata(os.path.join(folder, name))
