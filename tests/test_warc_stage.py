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
