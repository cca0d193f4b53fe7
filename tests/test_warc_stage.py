"""ReadWarc (Beam): a .warc.gz read in byte ranges gives every record once, and keys per range."""

from __future__ import annotations

import apache_beam as beam
from apache_beam.runners.portability.fn_api_runner import FnApiRunner
from apache_beam.testing.util import assert_that, equal_to

from tests.support.warcfixtures import build_mixed_warc
from wiredesk.transforms.sources.stage_warc import ReadWarc


def test_a_split_warc_gz_gives_every_page_and_reject_once(tmp_path):
    warc = build_mixed_warc(tmp_path / "mixed.warc.gz")
    size = warc.path.stat().st_size
    chunk = 20_000
    starts = list(range(0, size, chunk))
    with beam.Pipeline(runner=FnApiRunner()) as p:
        seen = p | "NoSeen" >> beam.Create([])
        out = p | ReadWarc(
            paths=[str(tmp_path)], seen_keys=beam.pvalue.AsList(seen), split_bytes=chunk
        )
        urls = out[ReadWarc.PAGES] | "PageUrls" >> beam.Map(lambda page: page.entry.url)
        assert_that(urls, equal_to(list(warc.html_urls)), label="pages")
        reasons = out[ReadWarc.REJECTS] | "Reasons" >> beam.Map(lambda r: (r.url, r.reason))
        assert_that(
            reasons,
            equal_to(
                [
                    (warc.not_found_url, "http_404"),
                    (warc.image_url, "not_html"),
                    (warc.truncated_url, "truncated_record"),
                ]
            ),
            label="rejects",
        )
        files = out[ReadWarc.SEEN] | "FileKeys" >> beam.Filter(lambda k: k.startswith("warc:"))
        prefix = f"warc:{warc.path}|{size}|"
        ends = files | "Starts" >> beam.Map(
            lambda k: (k.startswith(prefix), int(k.rsplit("=", 1)[1]))
        )
        assert_that(ends, equal_to([(True, s) for s in starts]), label="range keys")


def test_a_capture_still_being_written_is_not_read_as_a_warc_file():
    from wiredesk.transforms.sources.stage_warc import is_warc_name

    assert is_warc_name("/archive/r1-0a1b.warc.gz")
    assert is_warc_name("gs://bucket/cc-news/CC-NEWS-2024.warc")
    assert not is_warc_name("/archive/.tmp-r1-0a1b.warc.gz")
    assert not is_warc_name("gs://bucket/warc/.tmp-r1-0a1b.warc.gz")
    assert not is_warc_name("/archive/r1-0a1b.warc.gz.md5")


def test_stale_capture_shards_are_removed_and_live_ones_kept(tmp_path):
    import os
    import time

    from wiredesk.transforms.io.warc_capture import STALE_AFTER_S, remove_stale_captures

    now = time.time()
    names = {
        "own": ".tmp-run2-aaaa.warc.gz",  # this run's, from a failed bundle
        "dead": ".tmp-run1-bbbb.warc.gz",  # another run's, untouched for two days
        "live": ".tmp-run3-cccc.warc.gz",  # another run's, written a minute ago
        "done": "run1-dddd.warc.gz",  # complete: never touched
    }
    for name in names.values():
        (tmp_path / name).write_bytes(b"partial")
    old = now - 2 * STALE_AFTER_S
    os.utime(tmp_path / names["dead"], (old, old))
    os.utime(tmp_path / names["done"], (old, old))
    os.utime(tmp_path / names["live"], (now - 60, now - 60))

    removed = remove_stale_captures(folder=str(tmp_path), run_id="run2", now=now)

    assert sorted(os.path.basename(p) for p in removed) == sorted([names["own"], names["dead"]])
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([names["live"], names["done"]])
    # A folder nothing was captured to is no error.
    assert remove_stale_captures(folder=str(tmp_path / "never"), run_id="run2") == []
