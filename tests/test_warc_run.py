"""WARC in and out through the CLI, read back with DuckDB (issue 18).

* ``wiredesk run --warc`` over a WARC built from fixture pages with every kind of record:
  each HTML response is one row, every other record is counted or a reject with a reason;
* a second run over the same file adds no row and reads no file again;
* ``--capture-warc`` on a feed run, then ``--warc`` over the capture: the same rows and
  the same stories;
* the filters (--warc-host, --since/--until, --language).
"""

from __future__ import annotations

import html
import os
import re
import time

import pytest

from tests.support.warcfixtures import FIXTURE_PAGES, build_mixed_warc, fixture_html
from wiredesk.cli import main
from wiredesk.loopback import LoopbackOutlet, Route
from wiredesk.query import connect


def _run(capsys, *argv: str) -> str:
    assert main(["run", *argv, "--once"]) == 0
    return capsys.readouterr().out


def _rows(out: str) -> dict[str, list[tuple]]:
    con = connect(out)
    return {
        "articles": con.execute("SELECT url, story_id FROM articles ORDER BY url").fetchall(),
        "duplicates": con.execute("SELECT url, story_id FROM duplicates ORDER BY url").fetchall(),
        "rejects": con.execute(
            "SELECT url, stage, reason, detail FROM rejects ORDER BY url"
        ).fetchall(),
    }


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("warc")
    folder = tmp / "in"
    folder.mkdir()
    warc = build_mixed_warc(folder / "CC-NEWS-20241023-00001.warc.gz")
    return warc, str(tmp / "out")


def test_each_html_response_is_one_row_and_the_rest_is_counted_or_rejected(mixed, capsys):
    warc, out = mixed
    # The folder form of --warc: every .warc(.gz) below it.
    summary = _run(capsys, "--warc", str(warc.path.parent), "--output", out)
    rows = _rows(out)
    written = [url for url, _ in rows["articles"] + rows["duplicates"]]
    extract_rejects = [r[0] for r in rows["rejects"] if r[1] == "extract"]
    assert sorted(written + extract_rejects) == sorted(warc.html_urls)
    assert len(rows["articles"]) >= 3  # the fixture pages extract
    # The republished copy of the first page joins its story.
    stories = dict(rows["articles"] + rows["duplicates"])
    assert stories[warc.html_urls[0]] == stories[warc.html_urls[-1]]
    fetch_rejects = {url: reason for url, stage, reason, _ in rows["rejects"] if stage == "fetch"}
    assert fetch_rejects == {
        warc.not_found_url: "http_404",
        warc.image_url: "not_html",
        warc.truncated_url: "truncated_record",
    }
    details = {url: detail for url, _, _, detail in rows["rejects"]}
    assert "image/png" in details[warc.image_url]
    assert "before its Content-Length" in details[warc.truncated_url]
    # Every record that is not a response is counted, by type.
    assert "warc files read 1 (seen before 0)" in summary
    responses = len(warc.html_urls) + 3  # and the 404, the image and the cut-off one
    assert f"responses {responses}: pages {len(warc.html_urls)}, rejected 3" in summary
    skipped = re.search(r"records skipped (.*)", summary)
    assert skipped is not None
    assert (
        dict(
            (name, int(count)) for name, count in (p.split() for p in skipped.group(1).split(", "))
        )
        == warc.skipped
    )


def test_a_second_run_over_the_same_file_adds_no_rows(mixed, capsys):
    warc, out = mixed
    before = _rows(out)
    if not before["articles"]:
        _run(capsys, "--warc", str(warc.path.parent), "--output", out)
        before = _rows(out)
    summary = _run(capsys, "--warc", str(warc.path), "--output", out)
    assert "warc files read 0 (seen before 1)" in summary
    assert _rows(out) == before
    # Even when the file is new to OUT (renamed), the records already written are not.
    renamed = warc.path.with_name("copy-of-it.warc.gz")
    renamed.write_bytes(warc.path.read_bytes())
    summary = _run(capsys, "--warc", str(renamed), "--output", out)
    assert "warc files read 1" in summary
    assert f"left out seen {len(warc.html_urls)}" in summary
    assert _rows(out) == before


def test_host_date_and_language_filters(mixed, tmp_path, capsys):
    warc, _ = mixed
    out = str(tmp_path / "out")
    summary = _run(
        capsys,
        "--warc",
        str(warc.path),
        "--output",
        out,
        "--warc-host",
        "dw.com",
        "--warc-host",
        "taipeitimes.com",
        "--since",
        "2024-10-23",
        "--until",
        "2024-10-24T00:00:00Z",
        "--language",
        "en",
    )
    rows = _rows(out)
    urls = {url for url, _ in rows["articles"] + rows["duplicates"]}
    # dw.com's page is in German: left out by --language en.
    assert urls == {"https://www.taipeitimes.com/News/four-story"}
    assert "left out host 5" in summary
    con = connect(out)
    assert {lang for (lang,) in con.execute("SELECT language FROM articles").fetchall()} == {"en"}
    # Outside the date range, nothing is read.
    empty = str(tmp_path / "empty")
    summary = _run(capsys, "--warc", str(warc.path), "--output", empty, "--since", "2025-01-01")
    assert f"left out date {len(warc.html_urls) + 3}" in summary
    assert _rows(empty)["articles"] == []


def _rss(title: str, items: list[tuple[str, str]]) -> bytes:
    body = "".join(
        f"<item><title>{html.escape(t)}</title><link>{html.escape(u)}</link>"
        f"<guid>{html.escape(u)}</guid><pubDate>Wed, 23 Oct 2024 01:00:00 GMT</pubDate></item>"
        for u, t in items
    )
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>{title}</title>'
        f"<link>http://example.com/</link><description>d</description>{body}</channel></rss>"
    ).encode()


def _site_rows(out: str) -> list[tuple]:
    con = connect(out)
    columns = (
        "url, canonical_url, title, source, feed_url, published_at, fetched_at, language, "
        "word_count, content_hash"
    )
    return con.execute(
        f"SELECT {columns} FROM articles UNION ALL SELECT {columns} FROM duplicates ORDER BY url"
    ).fetchall()


def _stories(out: str) -> set[frozenset[str]]:
    con = connect(out)
    groups = con.execute(
        "SELECT list(url ORDER BY url) FROM "
        "(SELECT url, story_id FROM articles UNION ALL SELECT url, story_id FROM duplicates) "
        "GROUP BY story_id"
    ).fetchall()
    return {frozenset(urls) for (urls,) in groups}


def test_capture_then_replay_gives_the_same_rows_and_stories(tmp_path, capsys):
    paper = LoopbackOutlet(host="127.0.0.71").start()
    daily = LoopbackOutlet(host="127.0.0.72").start()
    try:
        items: dict[LoopbackOutlet, list[tuple[str, str]]] = {paper: [], daily: []}
        for i, (_, name) in enumerate(FIXTURE_PAGES):
            outlet = paper if i % 2 == 0 else daily
            path = f"/news/{i}.html"
            outlet.set_route(path, Route(body=fixture_html(name)))
            items[outlet].append((outlet.url(path), f"Story {i}"))
        # The first story again at the other outlet: one story, two rows.
        daily.set_route("/wire/again.html", Route(body=fixture_html(FIXTURE_PAGES[0][1])))
        items[daily].append((daily.url("/wire/again.html"), "Story 0, republished"))
        for outlet, listed in items.items():
            outlet.set_route(
                "/rss.xml",
                Route(
                    body=_rss(f"Outlet {outlet.host}", listed), content_type="application/rss+xml"
                ),
            )
        feeds = tmp_path / "feeds.txt"
        feeds.write_text(f"{paper.url('/rss.xml')}\n{daily.url('/rss.xml')}\n")
        capture = tmp_path / "capture"
        # Left by earlier runs: a shard a crashed run never finished (two days old, so
        # removed after this run), and one another run is still writing (kept, unread).
        capture.mkdir()
        (capture / ".tmp-crashed-0000.warc.gz").write_bytes(b"WARC/1.1\r\ncut off")
        two_days_ago = time.time() - 2 * 86400
        os.utime(capture / ".tmp-crashed-0000.warc.gz", (two_days_ago, two_days_ago))
        (capture / ".tmp-inflight-1111.warc.gz").write_bytes(b"WARC/1.1\r\nstill writing")
        fed = str(tmp_path / "fed")
        _run(
            capsys,
            "--feeds",
            str(feeds),
            "--output",
            fed,
            "--allow-private-addresses",
            "--capture-warc",
            str(capture),
        )
    finally:
        paper.stop()
        daily.stop()
    hidden = sorted(p.name for p in capture.iterdir() if p.name.startswith("."))
    assert hidden == [".tmp-inflight-1111.warc.gz"]
    files = sorted(p.name for p in capture.iterdir() if not p.name.startswith("."))
    assert files and all(name.endswith(".warc.gz") for name in files)
    replayed = str(tmp_path / "replayed")
    summary = _run(capsys, "--warc", str(capture), "--output", replayed)
    assert _rows(replayed)["rejects"] == []  # the shard still being written was not read
    assert "records skipped request 5, warcinfo" in summary
    assert len(_site_rows(fed)) == 5
    assert _site_rows(replayed) == _site_rows(fed)
    assert _stories(replayed) == _stories(fed)
    assert any(len(story) == 2 for story in _stories(fed))


@pytest.mark.parametrize(
    ("extra", "says"),
    [
        (["--since", "last week", "--once"], "--since must be YYYY-MM-DD"),
        (["--since", "2024-10-24", "--until", "2024-10-23", "--once"], "--since must be before"),
        (["--streaming"], "--warc and --capture-warc are for batch runs"),
    ],
)
def test_bad_warc_options_fail_at_once_in_one_line(tmp_path, capsys, extra, says):
    argv = ["run", "--warc", str(tmp_path), "--output", str(tmp_path / "o"), *extra]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert says in err
    assert not (tmp_path / "o").exists()


def test_one_url_in_two_warc_files_is_one_row_the_later_capture(tmp_path, capsys):
    # A backfill over a month of CC-NEWS meets re-crawls: the same URL in several files.
    # Each URL is one article row (the later capture, which may have been updated), no
    # copy of it is lost or shown as its own republication, and the summary counts it.
    from warcio.warcwriter import WARCWriter

    from tests.support.warcfixtures import response_record

    folder = tmp_path / "in"
    folder.mkdir()
    (first_url, first_page), (second_url, second_page) = FIXTURE_PAGES[:2]
    updated = fixture_html(first_page).replace(
        b"</body>", b"<p>This story has been updated with new details.</p></body>", 1
    )
    captures = {
        "CC-NEWS-1.warc.gz": ("2024-10-23T10:00:00Z", fixture_html(first_page)),
        "CC-NEWS-2.warc.gz": ("2024-10-25T10:00:00Z", updated),
    }
    for name, (date, first_body) in captures.items():
        with (folder / name).open("wb") as handle:
            writer = WARCWriter(handle, gzip=True)
            writer.write_record(response_record(writer, first_url, first_body, date=date))
            writer.write_record(
                response_record(writer, second_url, fixture_html(second_page), date=date)
            )
    out = str(tmp_path / "out")

    summary = _run(capsys, "--warc", str(folder), "--output", out)

    assert "responses 4: pages 4" in summary
    assert "one URL twice in this run: 2 copies left out (the last fetched kept)" in summary
    con = connect(out)
    rows = con.execute(
        "SELECT url, strftime(fetched_at, '%Y-%m-%d') FROM articles ORDER BY url"
    ).fetchall()
    assert sorted(rows) == sorted([(first_url, "2024-10-25"), (second_url, "2024-10-25")])
    assert con.execute("SELECT count(*) FROM duplicates").fetchone() == (0,)
    assert con.execute("SELECT count(*) FROM rejects").fetchone() == (0,)


def test_files_that_are_no_warc_are_rejects_and_the_run_goes_on(tmp_path, capsys):
    # A backfill folder is whatever a user's crawler or a download left there. Before,
    # a response record without a target URI stopped the whole run (a warcio exception
    # of a kind nobody caught), and a file that is no WARC gave rows made of its bytes.
    from warcio.warcwriter import WARCWriter

    from tests.support.warcfixtures import response_record

    folder = tmp_path / "in"
    folder.mkdir()
    url, page = FIXTURE_PAGES[0]
    with (folder / "CC-NEWS-1.warc.gz").open("wb") as handle:
        writer = WARCWriter(handle, gzip=True)
        writer.write_record(response_record(writer, url, fixture_html(page)))
    (folder / "notes.warc").write_bytes(b"crawl notes, saved under the wrong name\n")
    (folder / "no-target.warc").write_bytes(
        b"WARC/1.0\r\nWARC-Type: response\r\nWARC-Date: 2024-10-23T03:30:00Z\r\n"
        b"Content-Length: 40\r\n\r\nHTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n"
    )
    with (folder / "year-9999.warc").open("wb") as handle:
        writer = WARCWriter(handle, gzip=False)
        second_url, second_page = FIXTURE_PAGES[1]
        page = fixture_html(second_page)
        writer.write_record(response_record(writer, second_url, page, date="9999-12-31T00:00:00Z"))
    out = str(tmp_path / "out")

    summary = _run(capsys, "--warc", str(folder), "--output", out)

    # The summary names them too (WARC's reasons were missing from its reason list).
    assert "rejects by stage/reason: fetch_corrupt_record 3" in summary
    rows = _rows(out)
    assert [u for u, _ in rows["articles"]] == [url]
    rejects = {(os.path.basename(u), stage, reason) for u, stage, reason, _ in rows["rejects"]}
    assert rejects == {
        ("notes.warc", "fetch", "corrupt_record"),
        ("no-target.warc#offset=0", "fetch", "corrupt_record"),
        (os.path.basename(second_url), "fetch", "corrupt_record"),  # no usable WARC-Date
    }


def test_a_payload_that_cannot_be_decoded_is_a_reject_row(tmp_path, capsys):
    # Pages from a WARC travel as bytes and are decoded in the extraction pass: what the
    # fetcher would reject as bad_encoding is the same reject row here, beside good rows.
    import random

    from warcio.warcwriter import WARCWriter

    from tests.support.warcfixtures import response_record
    from wiredesk.transforms.fetch.decode import sniff_binary

    # A UTF-8 byte order mark, then bytes that are no UTF-8: mostly replacement characters.
    rng = random.Random(7)
    garbled = b"\xef\xbb\xbf" + bytes(rng.randrange(0x80, 0x100) for _ in range(4096))
    assert sniff_binary(garbled, "text/html") is None  # not taken for an image or a PDF
    url, page = FIXTURE_PAGES[0]
    path = tmp_path / "garbled.warc.gz"
    with path.open("wb") as handle:
        writer = WARCWriter(handle, gzip=True)
        writer.write_record(response_record(writer, url, fixture_html(page)))
        writer.write_record(
            response_record(writer, "https://garbled.example/1", garbled, content_type="text/html")
        )
    out = str(tmp_path / "out")

    summary = _run(capsys, "--warc", str(path), "--output", out)

    assert "rejects by stage/reason: fetch_bad_encoding 1" in summary
    rows = _rows(out)
    assert [u for u, _ in rows["articles"]] == [url]
    assert [(u, stage, reason) for u, stage, reason, _ in rows["rejects"]] == [
        ("https://garbled.example/1", "fetch", "bad_encoding")
    ]
