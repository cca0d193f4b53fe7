"""process_page: the one pass over a page gives what the stages gave one after another.

Extraction, the article record, enrichment and the sketch, in a pool worker or in this
process alike; each failure is a Reject naming the stage that failed.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import gzip
from pathlib import Path

from wiredesk.schemas.records import Article, FeedEntry, FetchedPage, Reject
from wiredesk.transforms.dedup.signatures import sketch_text
from wiredesk.transforms.dedup.stage_syndication import sketch_bytes
from wiredesk.transforms.enrich.article import enrich_article
from wiredesk.transforms.extract import page_pass
from wiredesk.transforms.extract.page import extract_fragment, extract_page
from wiredesk.transforms.extract.page_pass import process_page, to_article
from wiredesk.transforms.extract.pool import ExtractorPool, PoolConfig

AEB = Path(__file__).parent / "fixtures" / "extraction" / "aeb" / "html"
FETCHED_AT = dt.datetime(2024, 5, 1, 12, tzinfo=dt.UTC)


def _page(html: str, i: int, **entry: object) -> FetchedPage:
    url = f"http://127.0.0.1/news/{i}.html"
    feed_entry = FeedEntry(url=url, feed_url="http://127.0.0.1/feed.xml", url_key=url, **entry)
    return FetchedPage(entry=feed_entry, final_url=url, html=html, fetched_at=FETCHED_AT)


def _pages(n: int) -> list[FetchedPage]:
    files = sorted(AEB.glob("*.html.gz"))[:n]
    return [
        _page(gzip.decompress(f.read_bytes()).decode("utf-8", "replace"), i)
        for i, f in enumerate(files)
    ]


def _step_by_step(page: FetchedPage) -> Article:
    """The stages one after another, as the graph ran them before the one pass."""
    if page.entry.is_wire:
        extracted = extract_fragment(html=page.html)
    else:
        extracted = extract_page(html=page.html, url=page.final_url)
    assert not isinstance(extracted, Reject)
    return enrich_article(to_article(page, extracted))  # type: ignore[arg-type]


def _fields(article: Article) -> dict[str, object]:
    return dataclasses.asdict(article) | {"sketch": article.sketch}


def test_one_pass_equals_the_stages_one_after_another() -> None:
    for page in _pages(6):
        got = process_page(page)
        assert isinstance(got, Article), got
        want = _step_by_step(page)
        assert _fields(dataclasses.replace(got, sketch=None)) == _fields(want)
        assert got.sketch == sketch_text(text=want.text).to_bytes()
        # DetectSyndication uses the pass's sketch, and signs an article without one alike.
        assert sketch_bytes(got) == sketch_bytes(dataclasses.replace(got, sketch=None))


def test_a_wire_body_is_read_without_boilerplate_removal() -> None:
    body = "<p>SEOUL (Reuters) - A short flash.</p><p>More to follow.</p>"
    page = _page(body, 1, is_wire=True, agency="Reuters")
    got = process_page(page)
    assert isinstance(got, Article)
    assert got.text == "SEOUL (Reuters) - A short flash.\n\nMore to follow."
    assert got.dateline == "SEOUL" and got.agency == "Reuters" and got.sketch is not None


def test_failures_are_rejects_of_the_stage_that_failed(monkeypatch) -> None:
    empty = process_page(_page("<html><body></body></html>", 1))
    assert isinstance(empty, Reject)
    assert (empty.stage, empty.reason) == ("extract", "empty_text")

    def broken(article: Article) -> Article:
        raise ValueError("gazetteer unreadable")

    monkeypatch.setattr(page_pass, "enrich_article", broken)
    (page,) = _pages(1)
    got = process_page(page)
    assert isinstance(got, Reject)
    assert (got.stage, got.reason) == ("enrich", "enrich_error")
    assert got.detail == "ValueError: gazetteer unreadable" and got.url == page.entry.url


def test_an_unsignable_article_goes_on_without_a_sketch(monkeypatch) -> None:
    def broken(article: Article) -> Article:
        raise MemoryError

    monkeypatch.setattr(page_pass, "sign_article", broken)
    (page,) = _pages(1)
    got = process_page(page)
    assert isinstance(got, Article) and got.sketch is None


def test_the_pool_gives_what_this_process_gives() -> None:
    pages = _pages(5) + [_page("", 9)]
    with ExtractorPool(PoolConfig(workers=2, timeout_s=60)) as pool:
        got = pool.process_many(pages)
    want = [process_page(p) for p in pages]
    assert [type(g) for g in got] == [type(w) for w in want]
    for g, w in zip(got, want, strict=True):
        if isinstance(w, Article):
            assert _fields(g) == _fields(w)  # type: ignore[arg-type]
        else:
            assert (g.stage, g.reason) == (w.stage, w.reason)  # type: ignore[union-attr]


def test_extract_text_turns_a_failed_page_into_a_reject_row_and_goes_on(monkeypatch) -> None:
    import apache_beam as beam
    from apache_beam.testing.test_pipeline import TestPipeline
    from apache_beam.testing.util import assert_that, equal_to

    from wiredesk.transforms.extract.stage import ExtractText

    real = page_pass.enrich_article

    def broken_for_one(article: Article) -> Article:
        if article.url.endswith("/1.html"):
            raise ValueError("gazetteer unreadable")
        return real(article)

    monkeypatch.setattr(page_pass, "enrich_article", broken_for_one)
    pages = _pages(3)
    with TestPipeline() as p:
        out = p | beam.Create(pages) | ExtractText(in_process=True, batch_size=2)
        assert_that(
            out[ExtractText.ARTICLES] | "Urls" >> beam.Map(lambda a: a.url),
            equal_to([pages[0].entry.url, pages[2].entry.url]),
            label="GoodPagesGoOn",
        )
        assert_that(
            out[ExtractText.REJECTS] | "Why" >> beam.Map(lambda r: (r.url, r.stage, r.reason)),
            equal_to([(pages[1].entry.url, "enrich", "enrich_error")]),
            label="OneRejectRow",
        )


def test_a_page_carried_as_bytes_is_decoded_by_the_pass() -> None:
    # Pages read from a WARC come as bytes: the pass decodes them as the fetcher would.
    paragraph = (
        "<p>The café in Zürich reopened on Monday after a year of repairs, its owners said.</p>"
    )
    text = (
        '<html><head><meta charset="windows-1252"><title>Café reopens</title></head>'
        f"<body><article>{paragraph * 6}</article></body></html>"
    )
    page = _page(text, 0)
    raw = dataclasses.replace(page, html="", body=text.encode("cp1252"), content_type="text/html")
    assert raw.size == len(raw.body)
    assert process_page(raw) == process_page(dataclasses.replace(page, html=text))


def test_bytes_that_cannot_be_decoded_are_a_fetch_reject() -> None:
    garbled = b"\xef\xbb\xbf" + bytes(range(0x80, 0x100)) * 16  # a BOM, then no UTF-8
    page = dataclasses.replace(_pages(1)[0], html="", body=garbled)
    result = process_page(page)
    assert isinstance(result, Reject)
    assert (result.stage, result.reason, result.url) == ("fetch", "bad_encoding", page.entry.url)
