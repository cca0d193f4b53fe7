"""trafilatura's parser with lxml's C-level class lookup extracts exactly what it did.

The two lookups give different classes only to form elements (``element_lookup``), and
215 of the 252 golden pages have some; every page is compared, field by field.
"""

from __future__ import annotations

import gzip
import subprocess
import sys
from pathlib import Path

import pytest
from lxml.html import HtmlElementClassLookup
from trafilatura import utils as trafilatura_utils

from wiredesk.transforms.extract.element_lookup import (
    html_element_lookup,
    use_plain_element_classes,
)
from wiredesk.transforms.extract.page import extract_page

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "extraction"
FORM_PAGE = (
    "<html><head><title>Vote count | Example</title></head><body>"
    "<form action='/search'><label for='q'>Search</label><input id='q' name='q' value='x'>"
    "<select name='s'><option selected>News</option></select></form><article>"
    + "<p>The count went on through the night in the capital, officials said.</p>"
    * 8
    + "<form><label>Your email<input type='email' value='me@example.com'></label>"
    "<textarea name='c'>A comment left in the page</textarea></form></article></body></html>"
)


@pytest.fixture
def parser_lookup():
    """Set the lookup of trafilatura's parser; put the plain one back afterwards (what
    every extraction process runs with once the warm-up was imported)."""
    parser = trafilatura_utils.HTML_PARSER

    yield parser.set_element_class_lookup
    use_plain_element_classes()


def _golden_pages() -> list[tuple[str, str]]:
    pages = [("form page", FORM_PAGE)]
    for path in sorted(FIXTURES.rglob("*.html.gz")):
        pages.append((path.name, gzip.decompress(path.read_bytes()).decode("utf-8", "replace")))
    return pages


def test_both_lookups_extract_the_same_from_every_golden_page(parser_lookup):
    pages = _golden_pages()
    assert len(pages) > 200

    def extract_all():
        return [extract_page(html=html, url=f"https://example.com/{name}") for name, html in pages]

    parser_lookup(HtmlElementClassLookup())
    with_form_classes = extract_all()
    parser_lookup(html_element_lookup())
    plain = extract_all()

    differ = [
        name for (name, _), a, b in zip(pages, with_form_classes, plain, strict=True) if a != b
    ]
    assert differ == []
    # The form page's article is found, and its forms are no part of it.
    assert "count went on" in with_form_classes[0].text
    assert "comment left" not in with_form_classes[0].text


def test_the_plain_lookup_wraps_form_elements_as_plain_html_elements(parser_lookup):
    parser_lookup(HtmlElementClassLookup())
    tree = trafilatura_utils.load_html(FORM_PAGE)
    assert type(tree.find(".//input")).__name__ == "InputElement"
    parser_lookup(html_element_lookup())
    tree = trafilatura_utils.load_html(FORM_PAGE)
    assert {type(tree.find(f".//{tag}")).__name__ for tag in ("form", "input", "p")} == {
        "HtmlElement"
    }


def test_every_extraction_process_gets_the_plain_lookup_from_the_warm_up():
    # A fresh interpreter: what a pool worker or an SDK process imports before its first page.
    probe = (
        "import wiredesk.transforms.extract.warmup\n"
        "from trafilatura.utils import load_html\n"
        f"print(type(load_html({FORM_PAGE!r}).find('.//input')).__name__)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == "HtmlElement"
