"""sources/warc_records.py: WARC records -> pages, skips and rejects, without Beam."""

from __future__ import annotations

import datetime as dt
import gzip
import io
import random
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from warcio.warcwriter import WARCWriter

from tests.support.warcfixtures import build_mixed_warc, fixture_html, response_record
from wiredesk.schemas.records import FeedEntry
from wiredesk.transforms.sources.warc_records import (
    WarcFilters,
    entry_from_header,
    entry_to_header,
    host_matches,
    parse_warc_date,
    read_warc,
    split_ranges,
)

PAGE = "us/APNews_2023_04_28.html.gz"


def _outcomes(path: Path, **kwargs):
    with path.open("rb") as stream:
        return list(read_warc(stream, source=str(path), **kwargs))


@pytest.mark.parametrize("gzipped", [True, False])
def test_every_record_of_a_mixed_warc_has_one_outcome(tmp_path, gzipped):
    warc = build_mixed_warc(
        tmp_path / ("mixed.warc.gz" if gzipped else "mixed.warc"), gzipped=gzipped
    )
    outcomes = _outcomes(warc.path)
    pages = [o.page for o in outcomes if o.kind == "page"]
    assert [p.entry.url for p in pages] == list(warc.html_urls)
    assert all(p.fetched_at == dt.datetime(2024, 10, 23, 3, 30, tzinfo=dt.UTC) for p in pages)
    assert all(b"<html" in p.body.lower() and p.html == "" for p in pages)
    skipped: dict[str, int] = {}
    for o in outcomes:
        if o.kind == "skipped":
            skipped[o.reason] = skipped.get(o.reason, 0) + 1
    assert skipped == warc.skipped
    rejects = {o.reject.url: o.reject.reason for o in outcomes if o.kind == "reject"}
    assert rejects == {
        warc.not_found_url: "http_404",
        warc.image_url: "not_html",
        warc.truncated_url: "truncated_record",
    }


def test_garbage_after_the_last_record_is_one_corrupt_record_reject(tmp_path):
    buffer = io.BytesIO()
    writer = WARCWriter(buffer, gzip=True)
    writer.write_record(response_record(writer, "https://a.example/1", fixture_html(PAGE)))
    path = tmp_path / "bad.warc.gz"
    path.write_bytes(buffer.getvalue() + b"this is not a WARC record\r\n\r\n")
    outcomes = _outcomes(path)
    assert [o.kind for o in outcomes] == ["page", "reject"]
    assert outcomes[1].reject.reason == "corrupt_record"
    assert outcomes[1].reject.url.startswith(f"{path}#offset=")


def test_filters_leave_out_other_hosts_and_dates_and_seen_urls(tmp_path):
    buffer = io.BytesIO()
    writer = WARCWriter(buffer, gzip=True)
    body = fixture_html(PAGE)
    for url, date in (
        ("https://www.bbc.co.uk/news/a", "2024-10-23T03:30:00Z"),
        ("https://notbbc.co.uk/news/b", "2024-10-23T03:30:00Z"),
        ("https://bbc.co.uk/news/c", "2024-10-21T00:00:00Z"),
        ("https://bbc.co.uk/news/d", "2024-10-23T09:00:00Z"),
    ):
        writer.write_record(response_record(writer, url, body, date=date))
    path = tmp_path / "f.warc.gz"
    path.write_bytes(buffer.getvalue())
    filters = WarcFilters(
        hosts=("bbc.co.uk",),
        since=dt.datetime(2024, 10, 22, tzinfo=dt.UTC),
        until=dt.datetime(2024, 10, 24, tzinfo=dt.UTC),
    )
    outcomes = _outcomes(path, filters=filters, seen={"url:bbc.co.uk/news/d"}.__contains__)
    assert [(o.kind, o.reason) for o in outcomes] == [
        ("page", ""),
        ("filtered", "host"),
        ("filtered", "date"),
        ("filtered", "seen"),
    ]


def test_host_suffixes_match_whole_labels():
    assert host_matches("https://www.bbc.co.uk/x", ["bbc.co.uk"])
    assert host_matches("https://bbc.co.uk/x", [".BBC.co.uk"])
    assert not host_matches("https://notbbc.co.uk/x", ["bbc.co.uk"])
    assert not host_matches("not a url", ["bbc.co.uk"])


def test_warc_dates_of_both_versions_are_utc():
    assert parse_warc_date("2024-10-23T03:30:00Z") == dt.datetime(
        2024, 10, 23, 3, 30, tzinfo=dt.UTC
    )
    assert parse_warc_date("2024-10-23T03:30:00.123456Z") == dt.datetime(
        2024, 10, 23, 3, 30, 0, 123456, tzinfo=dt.UTC
    )
    assert parse_warc_date("yesterday") is None


@pytest.mark.parametrize(
    "date", ["9999-12-31T00:00:00Z", "0001-01-01T00:00:00Z", "1970-01-01T00:00:00Z"]
)
def test_a_capture_time_no_crawl_can_have_is_a_reject(tmp_path, date):
    # The capture time stands in for the publication time of a page that states none:
    # year 9999 became a date partition.
    assert parse_warc_date(date) is None
    buffer = io.BytesIO()
    writer = WARCWriter(buffer, gzip=False)
    writer.write_record(
        response_record(writer, "https://a.example/1", fixture_html(PAGE), date=date)
    )
    path = tmp_path / "dated.warc"
    path.write_bytes(buffer.getvalue())
    (outcome,) = _outcomes(path)
    assert (outcome.kind, outcome.reason) == ("reject", "corrupt_record")
    assert outcome.reject.detail == "response without a usable WARC-Date"


def test_a_captured_entry_round_trips_through_its_header():
    entry = FeedEntry(
        url="https://a.example/story?id=1",
        feed_url="https://a.example/rss",
        url_key="a.example/story?id=1",
        guid="tag:a.example,2024:1",
        title="Tïtle",
        published_at=dt.datetime(2024, 10, 23, 1, 2, 3, tzinfo=dt.UTC),
        source="A Daily",
        feed_region="western-europe",
        feed_country="DE",
        authors=("Ann", "Bo"),
    )
    header = entry_to_header(entry)
    assert header.isascii() and "\n" not in header
    assert entry_from_header(header, target_uri="https://a.example/final") == entry
    assert entry_from_header("{not json", target_uri="https://a.example/x") is None


def test_a_response_that_is_not_http_is_a_bad_url_reject(tmp_path):
    buffer = io.BytesIO()
    writer = WARCWriter(buffer, gzip=False)
    dns = writer.create_warc_record(
        "dns:apnews.com",
        "response",
        payload=io.BytesIO(b"20241023033000\napnews.com. 300 IN A 192.0.2.1\n"),
        warc_content_type="text/dns",
        warc_headers_dict={"WARC-Date": "2024-10-23T03:30:00Z"},
    )
    writer.write_record(dns)
    path = tmp_path / "dns.warc"
    path.write_bytes(buffer.getvalue())
    (outcome,) = _outcomes(path)
    assert (outcome.kind, outcome.reason, outcome.reject.url) == (
        "reject",
        "bad_url",
        "dns:apnews.com",
    )


@pytest.mark.parametrize("chunk", [1, 700, 15_000, 40_000, 10**9])
def test_byte_ranges_of_a_warc_gz_give_every_record_once(tmp_path, chunk):
    warc = build_mixed_warc(tmp_path / "mixed.warc.gz")
    whole = _outcomes(warc.path)
    size = warc.path.stat().st_size
    ranges = split_ranges(str(warc.path), size, chunk)
    assert ranges[0][0] == 0 and ranges[-1][1] == size
    parts = []
    with warc.path.open("rb") as stream:
        for start, end in ranges:
            parts += list(read_warc(stream, source=str(warc.path), start=start, end=end))

    def key(o):
        return (o.kind, o.record_type, o.reason, o.url_key, o.reject.url if o.reject else None)

    assert [key(o) for o in parts] == [key(o) for o in whole]
    assert [o.page.body for o in parts if o.page] == [o.page.body for o in whole if o.page]


def test_plain_warc_files_are_not_split():
    assert split_ranges("a.warc", 10**10, 100) == [(0, 10**10)]
    assert split_ranges("a.warc.gz", 100, 100) == [(0, 100)]
    assert split_ranges("a.warc.gz", 250, 100) == [(0, 100), (100, 200), (200, 250)]


def _one_response_warc() -> bytes:
    buffer = io.BytesIO()
    writer = WARCWriter(buffer, gzip=False)
    writer.write_record(response_record(writer, "https://a.example/1", fixture_html(PAGE)))
    return buffer.getvalue()


NOT_WARC = {
    "plain-text.warc": b"hello, this is not a WARC file\n" * 20,
    "gzipped-text.warc.gz": gzip.compress(b"hello, this is not a WARC file\n" * 20),
    "random.warc.gz": bytes(random.Random(7).randrange(256) for _ in range(5000)),
    "html.warc": b"<!doctype html><html><body><p>a page saved under the wrong name</p></body></html>",
}


@pytest.mark.parametrize("name", sorted(NOT_WARC))
def test_a_file_that_is_no_warc_is_one_reject_that_says_so(tmp_path, name):
    # warcio reads on as best it can and made "records" of such bytes: a response without
    # a target, then an unreadable record (and for one, a crash of the whole run).
    path = tmp_path / name
    path.write_bytes(NOT_WARC[name])
    outcomes = _outcomes(path)
    assert [(o.kind, o.reason) for o in outcomes] == [("reject", "corrupt_record")]
    assert outcomes[0].reject.url == str(path)
    assert outcomes[0].reject.detail.startswith("not a WARC file: it starts with b")


def test_an_empty_file_has_no_records_and_no_reject(tmp_path):
    for name in ("empty.warc", "empty.warc.gz"):
        (tmp_path / name).write_bytes(b"")
        assert _outcomes(tmp_path / name) == []


def test_a_response_record_without_a_target_uri_is_a_reject_not_a_crash(tmp_path):
    # warcio's parser raised AttributeError on this, and the run died with it.
    path = tmp_path / "no-target.warc"
    path.write_bytes(
        b"WARC/1.0\r\nWARC-Type: response\r\nWARC-Date: 2024-10-23T03:30:00Z\r\n"
        b"Content-Length: 40\r\n\r\nHTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n"
    )
    outcomes = _outcomes(path)
    assert [(o.kind, o.reason) for o in outcomes] == [("reject", "corrupt_record")]
    assert "AttributeError" in outcomes[0].reject.detail


def test_a_record_with_a_wrong_length_prints_nothing(tmp_path, capfd):
    # warcio warns on stderr with the bytes that follow such a record (binary, up to a
    # buffer's worth); the record after it is read on, or rejected, as usual.
    data = _one_response_warc()
    length = re.search(rb"Content-Length: (\d+)", data)
    assert length is not None
    shorter = f"Content-Length: {int(length.group(1)) - 10}".encode()
    data = data.replace(length.group(0), shorter, 1)
    path = tmp_path / "wrong-length.warc"
    path.write_bytes(data)
    _outcomes(path)
    captured = capfd.readouterr()
    assert captured.err == "" and captured.out == ""


_INSERTS = [b"\r\n", b"Content-Length: -5\r\n", b"WARC-Type: response\r\n", b"\x00" * 9]
_INSERTS += [b"Transfer-Encoding: chunked\r\n", b"Content-Encoding: gzip\r\n", b"WARC/1.0\r\n"]


# Damage to a WARC's bytes: (what, where as a share of the length, a byte value).
_EDIT = st.tuples(
    st.sampled_from(["flip", "cut", "insert", "end"]),
    st.floats(0, 1, exclude_max=True),
    st.integers(0, 255),
)


def _damaged(data: bytes, edits: list[tuple[str, float, int]]) -> bytes:
    out = bytearray(data)
    for op, where, value in edits:
        at = int(where * len(out)) if out else 0
        if op == "flip" and out:
            out[at] = value
        elif op == "cut":
            del out[at : at + value + 1]
        elif op == "insert":
            out[at:at] = _INSERTS[value % len(_INSERTS)]
        else:
            del out[at:]
    return bytes(out)


def _responses_warc(*, gzipped: bool, sizes: list[int]) -> bytes:
    buffer = io.BytesIO()
    writer = WARCWriter(buffer, gzip=gzipped)
    for n, size in enumerate(sizes):
        url = f"https://a.example/{n}"
        writer.write_record(response_record(writer, url, fixture_html(PAGE)[:size]))
    return buffer.getvalue()


@settings(max_examples=150, deadline=None)
@given(gzipped=st.booleans(), edits=st.lists(_EDIT, min_size=1, max_size=6))
def test_no_damage_to_a_warc_makes_reading_it_raise(gzipped, edits):
    data = _damaged(_responses_warc(gzipped=gzipped, sizes=[3000, 3000]), edits)
    outcomes = list(read_warc(io.BytesIO(data), source="damaged.warc"))
    assert all(o.kind in {"page", "skipped", "filtered", "reject"} for o in outcomes)
    assert all(o.reject is not None for o in outcomes if o.kind == "reject")


def _key(o):
    return (o.kind, o.record_type, o.reason, o.url_key, o.reject.url if o.reject else None)


@pytest.mark.parametrize("chunk", [None, 700, 40_000])
def test_a_warc_gzipped_whole_reads_as_the_same_records(tmp_path, chunk):
    # `gzip file.warc` makes one gzip member, where WARC tools write one per record.
    # warcio reads the first record and then stops with an error; before, that was the
    # file's only row, a corrupt_record reject. Read in byte ranges, the first range reads
    # it all and the others find no record.
    warc = build_mixed_warc(tmp_path / "mixed.warc", gzipped=False)
    per_record = _outcomes(warc.path)
    whole = tmp_path / "whole.warc.gz"
    whole.write_bytes(gzip.compress(warc.path.read_bytes()))
    size = whole.stat().st_size
    ranges = [(0, size)] if chunk is None else split_ranges(str(whole), size, chunk)
    outcomes = []
    with whole.open("rb") as stream:
        for start, end in ranges:
            outcomes += list(read_warc(stream, source=str(whole), start=start, end=end))
    assert [_key(o) for o in outcomes] == [_key(o) for o in per_record]
    assert [o.page.body for o in outcomes if o.page] == [o.page.body for o in per_record if o.page]


def test_a_warc_gzipped_whole_and_cut_short_keeps_what_came_before(tmp_path):
    warc = build_mixed_warc(tmp_path / "mixed.warc", gzipped=False)
    packed = gzip.compress(warc.path.read_bytes())
    cut = tmp_path / "cut.warc.gz"
    cut.write_bytes(packed[: len(packed) // 2])
    outcomes = _outcomes(cut)
    assert [o.kind for o in outcomes].count("page") >= 1
    assert (outcomes[-1].kind, outcomes[-1].reason) == ("reject", "truncated_record")
    assert "uncompressed byte" in outcomes[-1].reject.detail


def test_lines_are_read_whole_across_buffers_and_cut_at_the_cap():
    from wiredesk.transforms.sources.warc_records import _MAX_LINE, _LinearLineReader

    long_line = b"x" * 50_000 + b"\r\n"  # spans several of warcio's 16 KiB buffers
    reader = _LinearLineReader(io.BytesIO(b"short\r\n" + long_line + b"end"))
    assert [reader.readline(), reader.readline(), reader.readline(), reader.readline()] == [
        b"short\r\n",
        long_line,
        b"end",
        b"",
    ]
    reader = _LinearLineReader(io.BytesIO(b"y" * (2 * _MAX_LINE + 5)))
    assert [len(reader.readline()) for _ in range(4)] == [_MAX_LINE, _MAX_LINE, 5, 0]
    reader = _LinearLineReader(io.BytesIO(b"abcdef\n"))
    assert reader.readline(4) == b"abcd" and reader.readline() == b"ef\n"


@pytest.mark.parametrize("where", ["warc", "http"])
def test_a_header_line_of_megabytes_is_read_through(tmp_path, where):
    # warcio appended every 16 KiB of a line to a bytes object: a 200 MB header line took
    # 5.5 minutes and 860 MiB. Lines are now read in linear time and at most 1 MiB at a
    # time; the pieces of such a line have no colon, so they are no header, and the
    # record around them reads as it would without it.
    junk = b"X-Junk: " + b"a" * (24 * 1024 * 1024)
    page = b"<html><body><p>text</p></body></html>"
    http = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n"
    if where == "http":
        http += junk + b"\r\n"
    block = http + b"\r\n" + page
    head = b"WARC/1.0\r\nWARC-Type: response\r\nWARC-Target-URI: https://a.example/1\r\n"
    head += b"WARC-Date: 2024-10-23T03:30:00Z\r\n"
    if where == "warc":
        head += junk + b"\r\n"
    head += b"Content-Type: application/http; msgtype=response\r\n"
    data = head + b"Content-Length: %d\r\n\r\n" % len(block) + block + b"\r\n\r\n"
    path = tmp_path / f"long-{where}.warc"
    path.write_bytes(data)
    outcomes = _outcomes(path)
    assert [o.kind for o in outcomes] == ["page"]
    assert outcomes[0].page.body == page


def _outcome_facts(outcomes):
    # What a reader decides about each record; a reject's wording (an exception's
    # class name) may differ between inflaters and is left out.
    return [
        (o.kind, o.record_type, o.reason, o.url_key, o.page.body if o.page else None)
        for o in outcomes
    ]


@settings(max_examples=120, deadline=None)
@given(gzipped=st.booleans(), edits=st.lists(_EDIT, max_size=4))
def test_isa_l_reads_every_warc_as_zlib_does(gzipped, edits):
    from warcio.bufferedreaders import DecompressingBufferedReader

    from wiredesk.transforms.sources.warc_records import _LinearLineReader

    data = _damaged(_responses_warc(gzipped=gzipped, sizes=[2000, 11000, 20000]), edits)
    isa_l = list(read_warc(io.BytesIO(data), source="w.warc"))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_LinearLineReader, "DECOMPRESSORS", DecompressingBufferedReader.DECOMPRESSORS)
        with_zlib = list(read_warc(io.BytesIO(data), source="w.warc"))
    assert _outcome_facts(isa_l) == _outcome_facts(with_zlib)
    if not edits:
        assert [o.kind for o in isa_l] == ["page", "page", "page"]


@pytest.mark.parametrize("block", [1, 2, 7, 4096, 1 << 20])
def test_isa_l_members_inflate_and_end_as_zlib_members_do(block):
    import zlib

    from wiredesk.transforms.sources.warc_records import _IsalGzipMember

    rng = random.Random(block)
    members = [gzip.compress(rng.randbytes(rng.randrange(0, 8_000)) * 3) for _ in range(4)]
    data = b"".join(members) + b"trailing bytes"

    def inflate(new):
        out, rest = [], data
        while rest.startswith(b"\x1f\x8b"):
            decompressor, at = new(), 0
            while at < len(rest) and not decompressor.unused_data:
                out.append(decompressor.decompress(rest[at : at + block]))
                at += block
            rest = decompressor.unused_data + rest[at:]
        return out, rest

    got, rest = inflate(_IsalGzipMember)
    want, want_rest = inflate(lambda: zlib.decompressobj(zlib.MAX_WBITS | 16))
    assert b"".join(got) == b"".join(want) and rest == want_rest == b"trailing bytes"
    for plain in (b"WARC/1.0\r\n", b"ab", b"\x1f"):
        with pytest.raises(zlib.error):
            zlib.decompressobj(zlib.MAX_WBITS | 16).decompress(plain + b"\x00" * 20)
        if plain != b"\x1f":
            with pytest.raises(zlib.error):
                _IsalGzipMember().decompress(plain)
