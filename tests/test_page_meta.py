"""page_meta: trafilatura's metadata readers, without the byline search a page's JSON-LD
makes moot, and with a broken JSON-LD block read in bounded time."""

from __future__ import annotations

import logging

import pytest
import trafilatura.json_metadata
import trafilatura.metadata
from trafilatura.settings import Document
from trafilatura.utils import load_html

from tests.support.names import distinct_names
from wiredesk.transforms.extract.page import ExtractedPage, extract_page
from wiredesk.transforms.extract.page_meta import (
    MAX_AUTHORS,
    MAX_BROKEN_JSON_CHARS,
    json_ld_metadata,
    page_metadata,
)

logging.getLogger("trafilatura").setLevel(logging.CRITICAL)
logging.getLogger("htmldate").setLevel(logging.CRITICAL)

BODY = "<article><h1>Storm closes ports</h1>" + "".join(
    f"<p>Paragraph {i}: heavy storms closed three ports on the northern coast on Tuesday, "
    "officials said, as winds of up to 150 kilometres an hour swept across the region.</p>"
    for i in range(8)
)
BYLINE = '<p class="byline">By <span class="author">Maria Lopez</span></p>'


def html(head: str = "", byline: str = BYLINE) -> str:
    return f"<html><head>{head}</head><body>{BODY}{byline}</article></body></html>"


def ld(block: str) -> str:
    return f'<script type="application/ld+json">{block}</script>'


def extracted(markup: str) -> ExtractedPage:
    result = extract_page(html=markup, url="https://news.example.com/a/1")
    assert isinstance(result, ExtractedPage), result
    return result


@pytest.fixture
def byline_searches(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    real = trafilatura.metadata.extract_author
    calls: list[int] = []

    def spy(*args: object, **kwargs: object) -> object:
        calls.append(1)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(trafilatura.metadata, "extract_author", spy)
    return calls


def test_people_named_by_json_ld_spare_the_byline_search(byline_searches: list[int]) -> None:
    article = '{"@type": "NewsArticle", "author": [{"@type": "Person", "name": "Jane Doe"}]}'
    assert extracted(html(head=ld(article))).authors == ("Jane Doe",)
    assert byline_searches == []


@pytest.mark.parametrize(
    "head",
    [
        "",
        # JSON-LD that names only the outlet: page_authors falls back to the byline.
        ld('{"@type": "NewsArticle", "author": {"@type": "Organization", "name": "Coast"}}'),
    ],
)
def test_without_json_ld_people_the_byline_is_searched(
    byline_searches: list[int], head: str
) -> None:
    assert extracted(html(head=head)).authors == ("Maria Lopez",)
    assert byline_searches == [1]


def test_a_broken_block_is_still_read_for_its_author() -> None:
    broken = '{"@type":"NewsArticle","author":{"@type":"Person","name":"Jane Doe"}, oops'
    assert extracted(html(head=ld(broken), byline="")).authors == ("Jane Doe",)


_names = distinct_names


def test_a_huge_broken_block_is_read_on_its_first_part_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # 1.5 MB: trafilatura's author loop alone took 23.6 s on it, past the page deadline.
    people = ",".join(f'{{"@type":"Person","name":"{name}"}}' for name in _names(32_000))
    block = f'{{"@type":"NewsArticle","author":[{people}], oops'
    real = trafilatura.json_metadata.extract_json_parse_error
    read: list[str] = []

    def spy(elem: str, metadata: Document) -> Document:
        read.append(elem)
        return real(elem, metadata)

    monkeypatch.setattr(trafilatura.json_metadata, "extract_json_parse_error", spy)
    meta = json_ld_metadata(load_html(html(head=ld(block))), Document())
    assert len(read) == 1 and len(read[0]) <= MAX_BROKEN_JSON_CHARS
    assert read[0].count('"nam') == MAX_AUTHORS
    assert meta.author.split("; ") == _names(MAX_AUTHORS)


MORE = MAX_AUTHORS + 50
PEOPLE = ",".join(f'{{"@type":"Person","name":"{name}"}}' for name in _names(MORE))
CONTEXT = '"@context":"https://schema.org"'


@pytest.mark.parametrize(
    "head",
    [
        ld(f'{{{CONTEXT},"@type":"NewsArticle","author":[{PEOPLE}]}}'),
        ld(f'{{{CONTEXT},"@graph":[{{"@type":"NewsArticle"}},{PEOPLE}]}}'),
        ld(f'{{{CONTEXT},"@type":"NewsArticle","author":[{PEOPLE}], oops'),
        "".join(f'<meta name="citation_author" content="{name}">' for name in _names(MORE)),
        "".join(f'<meta property="author" content="{name}">' for name in _names(MORE)),
    ],
    ids=["json-ld-author-list", "json-ld-graph-persons", "broken-json-ld", "meta", "property"],
)
def test_a_page_keeps_its_first_authors(head: str) -> None:
    # Each list trafilatura reads people from costs the cube of its length.
    meta = page_metadata(
        load_html(html(head=head)),
        url="https://news.example.com/a/1",
        date_params={},
        extensive=False,
        find_dates=False,
    )
    assert meta.author.split("; ") == _names(MAX_AUTHORS)
    assert extracted(html(head=head, byline="")).authors == tuple(_names(MAX_AUTHORS))


def test_a_head_with_few_authors_is_read_as_it_is() -> None:
    head = "".join(f'<meta name="author" content="{name}">' for name in _names(3))
    head += '<meta property="og:site_name" content="Coast Times">'
    meta = page_metadata(
        load_html(html(head=head)),
        url=None,
        date_params={},
        extensive=False,
        find_dates=False,
    )
    assert (meta.author, meta.sitename) == ("; ".join(_names(3)), "Coast Times")
