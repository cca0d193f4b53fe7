"""Let lxml wrap the elements of trafilatura's trees without calling back into Python.

lxml creates a Python object for an element each time Python code touches it, and asks
the parser's *class lookup* which class that object gets. ``lxml.html``'s parsers use
``HtmlElementClassLookup``, a lookup written in Python: one Python call per element
touched, about 3,600 a page through trafilatura's passes, 4-5 % of the extraction's CPU.
Its only job beyond lxml's C-level ``ElementDefaultClassLookup`` is to give ``<form>``,
``<input>``, ``<select>``, ``<textarea>`` and ``<label>`` their form-filling classes
(``.value``, ``.fields``, ...), which neither trafilatura, its fallbacks (readability,
jusText, htmldate) nor wiredesk reads. Every element stays an ``HtmlElement``.

:func:`use_plain_element_classes` gives trafilatura's parser the C-level lookup. It is
process-wide (the parser is trafilatura's module-level object), so only the processes
that exist to extract call it: each worker of the local pool (through the forkserver's
warm-up) and each SDK process of a distributed runner (ExtractText's set-up). The
extracted text and metadata are the same either way; ``tests/test_element_lookup.py``
compares both on the golden pages.

Example:
    >>> from wiredesk.transforms.extract.element_lookup import use_plain_element_classes
    >>> use_plain_element_classes()
    True
    >>> from trafilatura.utils import load_html
    >>> form = load_html("<html><body><form><p>x</p></form><p>y</p></body></html>").find(".//form")
    >>> type(form).__name__
    'HtmlElement'
"""

from __future__ import annotations

__all__ = ["html_element_lookup", "use_plain_element_classes"]


def html_element_lookup() -> object:
    """lxml's C-level lookup giving the classes ``lxml.html`` gives, forms aside."""
    from lxml import etree
    from lxml.html import HtmlComment, HtmlElement, HtmlEntity, HtmlProcessingInstruction

    return etree.ElementDefaultClassLookup(
        element=HtmlElement, comment=HtmlComment, pi=HtmlProcessingInstruction, entity=HtmlEntity
    )


def use_plain_element_classes() -> bool:
    """Give trafilatura's HTML parser :func:`html_element_lookup`; False (and nothing
    changed) if this trafilatura keeps no module-level lxml HTML parser."""
    from lxml import etree
    from trafilatura import utils

    parser = getattr(utils, "HTML_PARSER", None)
    if not isinstance(parser, etree.HTMLParser):
        return False
    parser.set_element_class_lookup(html_element_lookup())
    return True
