"""The coders of page and article records: what they encode, what size they report, and
that a graph built as ``wiredesk run`` builds it (construction type check off) uses them."""

from __future__ import annotations

import datetime as dt
import pickle
from pathlib import Path

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions

from wiredesk.pipelines.graph import build_graph
from wiredesk.pipelines.options import RunConfig
from wiredesk.pipelines.run import without_construction_type_check
from wiredesk.schemas.records import Article, FeedEntry, FetchedPage
from wiredesk.transforms.common.stage_coders import ArticleCoder, FetchedPageCoder
from wiredesk.transforms.io.feed_list import FeedSource

AT = dt.datetime(2026, 12, 5, 9, 30, tzinfo=dt.UTC)


def _page(body: bytes) -> FetchedPage:
    entry = FeedEntry(url="https://example.com/a", feed_url="https://example.com/rss", url_key="a")
    return FetchedPage(entry=entry, final_url=entry.url, html="", fetched_at=AT, body=body)


def _article(text: str) -> Article:
    return Article(
        url="https://example.com/a",
        url_key="a",
        canonical_url="https://example.com/a",
        source="Example",
        feed_url=None,
        title="A",
        text=text,
        published_at=AT,
        fetched_at=AT,
        authors=["Ann Lee"],
        sketch=b"\x01" * 300,
    )


def test_a_page_survives_its_coder_and_reports_about_its_pickled_size() -> None:
    page = _page(b"<p>news</p>" * 20_000)
    coder = FetchedPageCoder()
    assert coder.decode(coder.encode(page)) == page
    assert coder.decode(coder.encode(page)).body == page.body
    pickled = len(pickle.dumps(page, protocol=pickle.HIGHEST_PROTOCOL))
    assert 0.9 * pickled <= coder.estimate_size(page) <= 1.1 * pickled
    # A text page (a wire item's body) too.
    wire = FetchedPage(entry=page.entry, final_url=page.final_url, html="é" * 5000, fetched_at=AT)
    assert coder.decode(coder.encode(wire)) == wire
    assert coder.estimate_size(wire) >= 5000


def test_an_article_survives_its_coder_sketch_included() -> None:
    article = _article("Words of the story. " * 500)
    coder = ArticleCoder()
    back = coder.decode(coder.encode(article))
    assert back == article
    assert back.sketch == article.sketch  # compare=False: checked apart
    pickled = len(pickle.dumps(article, protocol=pickle.HIGHEST_PROTOCOL))
    assert 0.8 * pickled <= coder.estimate_size(article) <= 1.25 * pickled


def test_the_registry_hands_out_the_coders() -> None:
    assert isinstance(beam.coders.registry.get_coder(FetchedPage), FetchedPageCoder)
    assert isinstance(beam.coders.registry.get_coder(Article), ArticleCoder)
    assert FetchedPageCoder() == FetchedPageCoder() != ArticleCoder()


def _coders_by_output(args: list[str], feeds: list[FeedSource]) -> dict[str, str]:
    beam_args = without_construction_type_check(args)
    options = PipelineOptions(beam_args)
    p = beam.Pipeline(options=options)
    build_graph(p, RunConfig.from_options(options), feeds)
    proto = p.to_runner_api()
    coders = {}
    for transform in proto.components.transforms.values():
        for tag, pcoll in transform.outputs.items():
            coder_id = proto.components.pcollections[pcoll].coder_id
            coders[f"{transform.unique_name}:{tag}"] = coder_id
    return coders


def test_a_run_graph_sizes_pages_and_articles_with_their_own_coders(tmp_path: Path) -> None:
    warc = tmp_path / "in.warc.gz"
    warc.write_bytes(b"")
    feeds = [FeedSource(url="http://127.0.0.1:9/rss")]
    args = ["--warc", str(warc), "--output", str(tmp_path / "out"), "--once"]
    assert "--no_pipeline_type_check" in without_construction_type_check(args)
    coders = _coders_by_output(args, feeds)
    pages_from_warc = coders["ReadWarc/Read/ParDo(_ReadWarcFileFn):None"]
    pages_fetched = coders["FetchArticle/Fetch/ParDo(_FetchFn):None"]
    batches = coders["ExtractText/Batch/ParDo(_GlobalWindowsBatchingDoFn):None"]
    articles = coders["ExtractText/Extract/ParDo(_ExtractFn):None"]
    assert "FetchedPageCoder" in pages_from_warc
    assert "FetchedPageCoder" in pages_fetched
    assert "ListCoder" in batches
    assert "ArticleCoder" in articles
