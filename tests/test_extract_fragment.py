"""extract_fragment: a wire body's paragraphs, without boilerplate heuristics."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from wiredesk.transforms.extract.page import ExtractedPage, ExtractError, extract_fragment


def test_paragraphs_in_order_separated_by_blank_lines():
    page = extract_fragment(html="<p>BERLIN (dpa) - Eins.</p><h2>Zwei</h2><ul><li>drei</li></ul>")
    assert isinstance(page, ExtractedPage)
    assert page.text == "BERLIN (dpa) - Eins.\n\nZwei\n\ndrei"


def test_a_one_line_flash_is_kept():
    # trafilatura's heuristics drop bodies this short; a wire flash is still a story.
    page = extract_fragment(html="<p>Grünen-Vorstand tritt zurück.</p>")
    assert isinstance(page, ExtractedPage) and page.text == "Grünen-Vorstand tritt zurück."


def test_nested_blocks_are_read_once():
    page = extract_fragment(
        html="<blockquote><p>quoted</p></blockquote><div>bare <b>text</b></div>"
    )
    assert isinstance(page, ExtractedPage)
    assert page.text.count("quoted") == 1


def test_bare_text_without_blocks():
    page = extract_fragment(html="just <em>inline</em> text")
    assert isinstance(page, ExtractedPage) and page.text == "just inline text"


def test_empty_bodies_are_rejected():
    for body in ("", "   ", "<p> </p>", "<!-- nothing -->"):
        result = extract_fragment(html=body)
        assert isinstance(result, ExtractError) and result.reason == "empty_text", body


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=500))
def test_never_raises(markup):
    result = extract_fragment(html=markup)
    assert isinstance(result, ExtractedPage | ExtractError)
