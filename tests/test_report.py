"""``wiredesk report``, the ``feeds`` table and clean runs, at the user's boundary.

Two outputs are made once per module: the demo, run as a user runs it (a
subprocess of ``wiredesk demo``, on an install without Beam's gcp extra, which is
what makes Beam log its "apitools not found" notice), and a ``wiredesk run
--once`` over the sample's feeds plus two dead ones (a closed port, an HTTP 500).
The reports of both are checked as files (one file, nothing external, charts,
every region and agency named) and in headless Chromium (no console error, no
request, charts drawn, a screenshot).
"""

from __future__ import annotations

import csv
import html
import io
import os
import re
import shutil
import socket
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.support.chromium import chromium_binary, load_page
from tests.support.httpfakes import FakeOutlet
from wiredesk.cli import main
from wiredesk.demo import SampleOutlets
from wiredesk.feeds_table import FEEDS_COLUMNS
from wiredesk.query import connect

ROOT = Path(__file__).resolve().parent.parent

# An install without the gcp extra: apitools cannot be imported (the test extras have it).
_WITHOUT_APITOOLS = "import sys; sys.modules['apitools'] = None; "
_CLI = _WITHOUT_APITOOLS + "from wiredesk.cli import main; sys.exit(main(sys.argv[1:]))"
_WARNING = re.compile(r"\bWARNING\b")


def _python(code: str, *args: str, cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("demo")
    out = tmp / "out"
    done = _python(_CLI, "demo", "--output", str(out), cwd=tmp)
    assert done.returncode == 0, done.stderr
    return out, done


def _closed_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def dead_feeds_run(tmp_path_factory):
    """The sample's feeds plus a feed on a closed port and one that answers HTTP 500."""
    tmp = tmp_path_factory.mktemp("dead")
    out = tmp / "out"
    broken = FakeOutlet({"/feed.xml": (500, {}, "down for maintenance")}, host="127.0.0.31")
    closed = f"http://127.0.0.32:{_closed_port('127.0.0.32')}/rss.xml"
    with SampleOutlets() as sample, broken:
        opml = sample.opml().replace(
            "</body>",
            f'<outline type="rss" text="Closed Port Daily" xmlUrl="{closed}"/>'
            f'<outline type="rss" text="Server Error Times" xmlUrl="{broken.url("/feed.xml")}"/>'
            "</body>",
        )
        feeds = tmp / "feeds.opml"
        feeds.write_text(opml, encoding="utf-8")
        argv = ["run", "--feeds", str(feeds), "--output", str(out), "--once"]
        assert main([*argv, "--allow-private-addresses", "--connect-timeout", "2"]) == 0
    return out, feeds, closed, broken.url("/feed.xml")


def _query_csv(out: Path, sql: str, capsys) -> list[dict[str, str]]:
    capsys.readouterr()
    assert main(["query", str(out), sql, "--format", "csv"]) == 0
    return list(csv.DictReader(io.StringIO(capsys.readouterr().out)))


class _Refs(HTMLParser):
    """Every tag and every attribute that could make a browser fetch something."""

    FETCHING = {"src", "href", "srcset", "poster", "action", "data", "background", "xlink:href"}

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.refs: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        for name, value in attrs:
            if name in self.FETCHING and not (value or "").startswith("#"):
                self.refs.append(f"<{tag} {name}={value!r}>")
            if name == "style" and "url(" in (value or "") and "url(#" not in value:
                self.refs.append(f"<{tag} style={value!r}>")


def _assert_self_contained(page: str) -> None:
    parser = _Refs()
    parser.feed(page)
    assert parser.refs == []
    assert not {"script", "link", "img", "iframe", "object", "embed"} & set(parser.tags)
    css = " ".join(re.findall(r"<style[^>]*>(.*?)</style>", page, re.S))
    assert "@import" not in css and "url(" not in css.replace("url(#", "")


def _charts(page: str) -> list[str]:
    return re.findall(r'<svg [^>]*class="chart"[^>]*>.*?</svg>', page, re.S)


def _names(out: Path) -> tuple[set[str], set[str]]:
    con = connect(str(out))
    regions = {
        r
        for (r,) in con.sql(
            "SELECT region FROM articles UNION SELECT region FROM duplicates"
        ).fetchall()
    }
    agencies = {
        a
        for (a,) in con.sql(
            "SELECT agency FROM articles WHERE agency IS NOT NULL "
            "UNION SELECT agency FROM duplicates WHERE agency IS NOT NULL"
        ).fetchall()
    }
    return regions, agencies


def _check_report(out: Path, report: Path) -> str:
    page = report.read_text(encoding="utf-8")
    _assert_self_contained(page)
    charts = _charts(page)
    assert len(charts) >= 3
    assert all("<text" in chart or "<path" in chart for chart in charts)
    regions, agencies = _names(out)
    assert regions and agencies
    for name in regions | agencies:
        assert html.escape(name) in page, name
    return page


# -- clean runs -----------------------------------------------------------------------


def test_without_wiredesk_beam_logs_its_apitools_notice(tmp_path):
    """The subprocess really is an install without apitools: Beam warns when imported alone."""
    done = _python(_WITHOUT_APITOOLS + "import apache_beam", cwd=tmp_path, timeout=300)
    assert "apitools not found" in done.stderr


def test_the_demo_prints_no_warning_and_ends_with_the_report_path(demo):
    out, done = demo
    lines = (done.stdout + done.stderr).splitlines()
    assert [line for line in lines if _WARNING.search(line)] == []
    last = [line for line in done.stdout.splitlines() if line.strip()][-1]
    assert last.startswith("Report") and last.endswith(str(out / "report.html"))
    assert (out / "report.html").is_file()


# -- the report -----------------------------------------------------------------------


def test_the_demo_report_is_one_self_contained_file_naming_every_region_and_agency(demo):
    out, _ = demo
    assert [p.name for p in out.iterdir() if p.is_file()] == ["report.html"]
    page = _check_report(out, out / "report.html")
    for section in ("Stories per day and region", "reach", "Syndication", "Health of each feed"):
        assert section in page
    assert "empty_text" in page


def test_report_on_a_run_with_dead_feeds_shows_their_errors(dead_feeds_run, tmp_path, capsys):
    out, _, closed, broken = dead_feeds_run
    target = tmp_path / "health" / "r.html"
    capsys.readouterr()
    assert main(["report", str(out), "--output", str(target)]) == 0
    assert capsys.readouterr().out.strip() == f"report: {target}"
    assert list(target.parent.iterdir()) == [target]
    page = _check_report(out, target)
    for url in (closed, broken):
        assert html.escape(url) in page
    assert "connection_error" in page and "http_500" in page
    assert "Closed Port Daily" in page and "Server Error Times" in page


def test_report_since_a_later_day_counts_nothing_old(dead_feeds_run, tmp_path, capsys):
    out, *_ = dead_feeds_run
    target = tmp_path / "later.html"
    assert main(["report", str(out), "--output", str(target), "--since", "2999-01-01"]) == 0
    page = target.read_text(encoding="utf-8")
    assert "since 2999-01-01" in page and "No stories yet." in page
    assert "Closed Port Daily" in page  # the feeds' health is always today's
    capsys.readouterr()
    assert main(["report", str(out), "--since", "last tuesday"]) == 2
    assert "--since wants a date" in capsys.readouterr().err


def test_report_on_a_missing_output_fails_in_one_line(tmp_path, capsys):
    assert main(["report", str(tmp_path / "nothing")]) == 2
    assert capsys.readouterr().err.count("\n") == 1


# -- the feeds table ------------------------------------------------------------------


def test_feeds_table_of_the_demo_has_every_feed_of_the_file(demo, capsys):
    out, _ = demo
    rows = _query_csv(out, "SELECT * FROM feeds", capsys)
    assert tuple(rows[0]) == FEEDS_COLUMNS
    assert len(rows) == len(SampleOutlets().manifest["opml"])
    gone = [row for row in rows if row["feed_url"].endswith("/gone.xml")]
    assert gone[0]["last_status"] == "http_404" and gone[0]["last_error"] == "HTTP 404"
    assert gone[0]["consecutive_failures"] == "1"
    ok = [row for row in rows if row["last_status"] == "ok"]
    assert ok and all(int(row["items_last_poll"]) > 0 for row in ok)
    assert sum(int(row["stories"]) for row in rows) == int(
        _query_csv(out, "SELECT count(*) AS n FROM articles", capsys)[0]["n"]
    )


def test_feeds_table_lists_dead_feeds_with_their_error(dead_feeds_run, capsys):
    out, feeds, closed, broken = dead_feeds_run
    rows = {row["feed_url"]: row for row in _query_csv(out, "SELECT * FROM feeds", capsys)}
    listed = re.findall(r'xmlUrl="([^"]+)"', feeds.read_text(encoding="utf-8"))
    assert list(rows) == [html.unescape(url) for url in listed]
    assert rows[closed]["last_status"] == "connection_error"
    assert rows[closed]["title"] == "Closed Port Daily" and rows[closed]["last_error"]
    assert rows[broken]["last_status"] == "http_500" and "500" in rows[broken]["last_error"]
    for url in (closed, broken):
        assert rows[url]["items_last_poll"] == "0" and rows[url]["rejects"] == "1"
        assert rows[url]["next_poll_at"] > rows[url]["last_polled_at"]


def test_feeds_table_without_a_recorded_list_lists_the_polled_feeds(
    dead_feeds_run, tmp_path, capsys
):
    out, *_ = dead_feeds_run
    older = tmp_path / "older"
    shutil.copytree(out, older)
    shutil.rmtree(older / "_state" / "feed_list")  # as written before lists were recorded
    rows = _query_csv(older, "SELECT feed_url, title, last_status FROM feeds", capsys)
    assert len(rows) == 8 and all(row["title"] == "" for row in rows)
    assert {row["last_status"] for row in rows} >= {"ok", "http_500", "connection_error"}


def test_feeds_table_of_an_empty_output_is_empty(tmp_path, capsys):
    assert _query_csv(tmp_path, "SELECT * FROM feeds", capsys) == []


# -- in a real browser ----------------------------------------------------------------

_MEASURE = """JSON.stringify({
  charts: [...document.querySelectorAll('svg.chart')].map(s => {
    const r = s.getBoundingClientRect(); return [s.dataset.chart, r.width, r.height]; }),
  texts: document.querySelectorAll('svg.chart text').length,
  title: document.title,
})"""


def _browser() -> str:
    binary = chromium_binary()
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("CI must run the browser test: .ci/run installs Debian's chromium")
        pytest.skip("headless Chromium not found (Debian: apt-get install chromium)")
    return binary


def _screenshot_copy(name: str, png: bytes) -> None:
    """WIREDESK_SCREENSHOT_DIR=... keeps the screenshots to look at."""
    folder = os.environ.get("WIREDESK_SCREENSHOT_DIR")
    if folder:
        os.makedirs(folder, exist_ok=True)
        Path(folder, name).write_bytes(png)


@pytest.mark.parametrize("which", ["demo", "dead_feeds_run"])
def test_the_report_loads_in_headless_chromium_without_errors(which, request, tmp_path):
    import json

    binary = _browser()
    out = request.getfixturevalue(which)[0]
    report = tmp_path / "report.html"
    assert main(["report", str(out), "--output", str(report)]) == 0
    page = load_page(
        binary=binary, url=report.as_uri(), profile=tmp_path / "profile", measure=_MEASURE
    )
    assert page.errors == []
    assert page.requests == []
    measured = json.loads(page.measured)
    assert measured["title"].startswith("wiredesk report")
    assert len(measured["charts"]) >= 3
    assert all(width > 300 and height > 100 for _, width, height in measured["charts"])
    assert measured["texts"] > 20
    assert page.screenshot.startswith(b"\x89PNG\r\n\x1a\n") and len(page.screenshot) > 50_000
    (tmp_path / "report.png").write_bytes(page.screenshot)
    _screenshot_copy(f"report-{which}.png", page.screenshot)


def test_the_browser_check_sees_console_errors_and_requests(tmp_path):
    """The check above can fail: a page that logs an error and fetches an image is caught."""
    binary = _browser()
    bad = tmp_path / "bad.html"
    bad.write_text(
        "<!DOCTYPE html><html><body><img src='http://127.0.0.1:9/x.png'>"
        "<script>console.error('broken chart'); undefinedFunction();</script></body></html>",
        encoding="utf-8",
    )
    page = load_page(binary=binary, url=bad.as_uri(), profile=tmp_path / "profile", measure="1")
    assert any("broken chart" in error for error in page.errors)
    assert any("undefinedFunction" in error for error in page.errors)
    assert page.requests == ["http://127.0.0.1:9/x.png"]
