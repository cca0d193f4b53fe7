"""The performance benches run (``--quick``, tiny inputs) and print their tables.

No timing is asserted here (figures belong in BENCHMARKS.md); what is checked is that each
bench runs end to end on loopback and that every page it serves is accounted for. Also
checked: ExtractText gives the same articles, rejects and windows whether it waits for
each batch (``max_pending_pages=0``) or keeps batches pending in the pool (the default).
"""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import apache_beam as beam
from apache_beam.runners.portability.fn_api_runner import FnApiRunner
from apache_beam.testing.util import assert_that, equal_to
from apache_beam.transforms import window

from wiredesk.schemas.records import FeedEntry, FetchedPage, utcnow
from wiredesk.transforms.extract.stage import ExtractText

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"


def _start(script: str, *args: str) -> subprocess.Popen[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.Popen(
        [sys.executable, str(BENCH / script), "--quick", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(proc: subprocess.Popen[str]) -> str:
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, out[-3000:] + err[-3000:]
    return out


def test_benches_run_quick_and_print_their_tables():
    # Started together: the seven are mostly waiting (subprocess start-up, loopback I/O).
    procs = {
        # A second configuration runs this same checkout through "@checkout=".
        "throughput": _start(
            "throughput.py", "--config", "default=", "--config", f"checkout=@checkout={ROOT}"
        ),
        "profile": _start("profile_stages.py"),
        "poll": _start("poll_feeds_1000.py"),
        "timeline": _start("cpu_timeline.py"),
        "keep_alive": _start("keep_alive.py"),
        "fetch_cpu": _start("fetch_cpu.py"),
        "xpath_cost": _start("xpath_cost.py"),
    }
    outputs = {name: _finish(proc) for name, proc in procs.items()}

    tp = outputs["throughput"]
    assert "| mode | seconds (median) | pages/s | ratio to ceiling |" in tp
    assert "runner CPU s (share)" in tp
    assert ") trafilatura.extract(with_metadata=True) |" in tp
    assert "wiredesk run --once: default" in tp
    assert "wiredesk run --once: checkout" in tp
    assert "rows: articles 12, duplicates 0, rejects 0 (of 12 pages)" in tp

    prof = outputs["profile"]
    assert "| stage | seconds | ms per call |" in prof
    assert "4b extract_page (pipeline's)" in prof
    assert "'fetched': 12, 'extracted': 12" in prof
    assert "| DoFn (runner thread) | seconds |" in prof
    assert "extract.stage._ExtractFn" in prof
    assert "written: articles 12, duplicates 0, rejects 0" in prof

    timeline = outputs["timeline"]
    assert "# CPU of wiredesk run --once over 12 pages" in timeline
    assert "run " in timeline and "cores busy over" in timeline

    kept = outputs["keep_alive"]
    assert (
        "| scheme | fetching | wall ms a page | CPU ms a page | connections (last round) |" in kept
    )
    # 20 pages: a connection each, or the two the per-host limit allows, kept
    http_rows = [line for line in kept.splitlines() if line.startswith("| http |")]
    assert [row.rsplit("|", 2)[-2].strip() for row in http_rows] == ["20", "2"], kept

    fetch_cpu = outputs["fetch_cpu"]
    assert "| watchdog | user CPU | system CPU | wall |" in fetch_cpu
    assert "| one deadline thread |" in fetch_cpu and "| a Timer per request |" in fetch_cpu

    xpath_cost = outputs["xpath_cost"]
    assert "| expressions | as written | rewritten | without re:test |" in xpath_cost
    assert "| OVERALL_DISCARD_XPATH |" in xpath_cost

    poll = outputs["poll"]
    assert "| mode | seconds (median) | spread | entries | feeds/s |" in poll
    assert "| PollFeeds (Beam), interleaved |" in poll
    # 20 feeds x 3 items, every one listed, in each of the three modes
    assert poll.count("| 60 |") == 3, poll


def _pages() -> list[FetchedPage]:
    files = sorted((ROOT / "tests/fixtures/extraction/aeb/html").glob("*.html.gz"))[:5]
    pages = []
    for i, path in enumerate(files):
        html = gzip.decompress(path.read_bytes()).decode("utf-8", "replace")
        url = f"http://127.0.0.1/news/{i}.html"
        entry = FeedEntry(url=url, feed_url="http://127.0.0.1/feed.xml", url_key=url)
        pages.append(
            FetchedPage(entry=entry, final_url=url, html=html, fetched_at=utcnow(), status=200)
        )
    empty = FeedEntry(url="http://127.0.0.1/e", feed_url="http://127.0.0.1/f", url_key="e")
    pages.append(
        FetchedPage(entry=empty, final_url=empty.url, html="<html></html>", fetched_at=utcnow())
    )
    return pages


def _run_extract(max_pending_pages: int) -> None:
    pages = _pages()
    expected_urls = sorted(p.entry.url for p in pages[:-1])
    with beam.Pipeline(runner=FnApiRunner()) as p:
        stamped = (
            p
            | beam.Create([(page, 60.0 * i) for i, page in enumerate(pages)])
            | beam.Map(lambda pair: window.TimestampedValue(pair[0], pair[1]))
            | beam.WindowInto(window.FixedWindows(120))
        )
        out = stamped | ExtractText(workers=1, batch_size=2, max_pending_pages=max_pending_pages)
        urls = out[ExtractText.ARTICLES] | "Urls" >> beam.Map(lambda a: a.url)
        assert_that(urls, equal_to(expected_urls), label="articles")
        # page i is stamped 60 * i s: each article keeps its own page's window
        windows = out[ExtractText.ARTICLES] | "Windows" >> beam.ParDo(_WindowOf())
        expected_windows = [(f"http://127.0.0.1/news/{i}.html", 120 * (i // 2)) for i in range(5)]
        assert_that(windows, equal_to(expected_windows), label="windows")
        reasons = out[ExtractText.REJECTS] | "Reasons" >> beam.Map(lambda r: (r.url, r.stage))
        assert_that(reasons, equal_to([("http://127.0.0.1/e", "extract")]), label="rejects")


class _WindowOf(beam.DoFn):
    def process(self, article: Any, w: Any = beam.DoFn.WindowParam) -> Iterator[tuple[str, int]]:
        yield article.url, int(w.start)


def test_extract_text_pending_and_inline_agree():
    _run_extract(max_pending_pages=0)
    _run_extract(max_pending_pages=4)
