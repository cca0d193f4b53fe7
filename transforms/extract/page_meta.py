"""A page's metadata as trafilatura reads it: title, author, URL, date, site name.

This is ``trafilatura.metadata.extract_metadata`` step for step, with four changes:

* what wiredesk does not store is not read (categories, tags, licence: their link scans
  cost 2.8 ms a page, a tenth of extraction, on 430 benchmark pages);
* the byline search over the whole tree (``extract_author``, about 5 ms on the pages
  that need it) runs only when the caller needs trafilatura's author: a page whose
  JSON-LD article names its people gets its authors from there (``page_authors``);
* a JSON-LD block that does not parse is read by trafilatura's regular expressions on
  its first :data:`MAX_BROKEN_JSON_CHARS` characters only. trafilatura's author loop
  searches the block again from its start after each name it finds, so its time grows
  with the square of the block: 0.7 s for a real 840 KB block, 23.6 s for 1.5 MB, past
  the extraction deadline, which loses the page;
* at most :data:`MAX_AUTHORS` people are read from each of the page's author lists
  (meta tags, a JSON-LD ``author`` list, a list's Person objects, a broken block).
  trafilatura's cost grows with the cube of their number: 300 took 0.37 s, and 1,500
  would have lost the page to the deadline.

Read apart from the text pass, a metadata reader that raises (htmldate on a hostile date
such as "+99:99") costs the metadata, never the text.

Example:
    >>> from trafilatura.utils import load_html
    >>> tree = load_html('<html><head><title>Rain in Spain | The Ledger</title>'
    ...     '<meta property="og:site_name" content="The Ledger">'
    ...     '<meta name="author" content="Jane Doe"></head><body><p>Hi</p></body></html>')
    >>> meta = page_metadata(tree, url="https://ledger.example/a", date_params={},
    ...                      extensive=False, find_dates=False)
    >>> meta.title, meta.author, meta.sitename
    ('Rain in Spain', 'Jane Doe', 'The Ledger')
"""

from __future__ import annotations

import copy
import json
import logging
from typing import Any

import lxml.html
from lxml import etree
from lxml.html import HtmlElement

__all__ = ["MAX_AUTHORS", "MAX_BROKEN_JSON_CHARS", "json_ld_metadata", "page_metadata"]

LOGGER = logging.getLogger(__name__)

# trafilatura's author list grows by one name per call, and each call compares every
# name with every other: a page naming n authors costs n³ (300: 0.37 s; 1,500: past the
# 20 s extraction deadline). 100 cost 0.02 s; a news story names a few.
MAX_AUTHORS = 100
# 64 KB of broken JSON-LD, cut at the 101st name, take trafilatura's regular expressions
# well under 0.1 s; a real article's metadata sits in the block's first few kilobytes.
MAX_BROKEN_JSON_CHARS = 65_536

_MAX_DEPTH = 6  # JSON-LD nesting where trafilatura looks for people
_JSON_LD_XPATH = './/script[@type="application/ld+json" or @type="application/settings+json"]'


def json_ld_metadata(tree: HtmlElement, metadata: Any) -> Any:
    """``trafilatura.metadata.extract_meta_json``, reading at most :data:`MAX_AUTHORS`
    people per list, and a broken block's first :data:`MAX_BROKEN_JSON_CHARS` characters
    (module docstring)."""
    from trafilatura.json_metadata import (
        extract_json,
        extract_json_parse_error,
        normalize_json,
    )
    from trafilatura.metadata import JSON_MINIFY

    for elem in tree.xpath(_JSON_LD_XPATH):
        if not elem.text:
            continue
        element_text = normalize_json(JSON_MINIFY.sub(r"\1", elem.text))
        try:
            schema = json.loads(element_text, strict=False)
        except json.JSONDecodeError:
            metadata = extract_json_parse_error(_broken_block_head(element_text), metadata)
        else:
            _keep_first_people(schema, depth=0)
            metadata = extract_json(schema, metadata)
    return metadata


def _broken_block_head(text: str) -> str:
    """What trafilatura's regular expressions read of a block that does not parse: its
    start, cut before the name past the :data:`MAX_AUTHORS`-th. Each author they find
    holds a ``"nam`` key of its own, so the cut bounds their loop."""
    text = text[:MAX_BROKEN_JSON_CHARS]
    at = -1
    for _ in range(MAX_AUTHORS + 1):
        at = text.find('"nam', at + 1)
        if at < 0:
            return text
    return text[:at]


def _keep_first_people(node: Any, *, depth: int) -> None:
    """Cut, in place, every ``author`` list and every list's run of Person objects to
    their first :data:`MAX_AUTHORS` (trafilatura reads a list's Persons as authors)."""
    if depth > _MAX_DEPTH:
        return
    if isinstance(node, dict):
        authors = node.get("author")
        if isinstance(authors, list):
            del authors[MAX_AUTHORS:]
        for value in node.values():
            _keep_first_people(value, depth=depth + 1)
    elif isinstance(node, list):
        kept, people = [], 0
        for item in node:
            if _is_person(item):
                people += 1
                if people > MAX_AUTHORS:
                    continue
            kept.append(item)
        if len(kept) < len(node):
            node[:] = kept  # one pass: deleting one by one is quadratic on a long list
        for item in node:
            _keep_first_people(item, depth=depth + 1)


def _is_person(item: object) -> bool:
    if not isinstance(item, dict):
        return False
    kind = item.get("@type")
    return kind == "Person" or (isinstance(kind, list) and "Person" in kind)


def _head_with_fewer_authors(tree: HtmlElement) -> HtmlElement:
    """``tree``, or, when its head holds more than :data:`MAX_AUTHORS` author meta tags
    (``citation_author`` on a paper with thousands of authors), a copy of its meta
    tags without the excess: all that trafilatura's ``examine_meta`` reads."""
    from trafilatura.metadata import METANAME_AUTHOR, PROPERTY_AUTHOR

    metas = tree.findall(".//head/meta[@content]")
    authors = [
        meta
        for meta in metas
        if meta.get("property", "").lower() in PROPERTY_AUTHOR
        or ("property" not in meta.attrib and meta.get("name", "").lower() in METANAME_AUTHOR)
        or (
            "property" not in meta.attrib
            and "name" not in meta.attrib
            and meta.get("itemprop", "").lower() == "author"
        )
    ]
    if len(authors) <= MAX_AUTHORS:
        return tree
    excess = set(authors[MAX_AUTHORS:])
    light = lxml.html.Element("html")
    head = etree.SubElement(light, "head")
    for meta in metas:
        if meta not in excess:
            head.append(copy.copy(meta))
    return light


def page_metadata(
    tree: HtmlElement,
    *,
    url: str | None,
    date_params: dict[str, Any],
    extensive: bool,
    find_dates: bool = True,
    need_author: bool = True,
) -> Any:
    """Title, author, URL, date, site name and description (a trafilatura ``Document``).

    ``need_author=False`` leaves ``author`` to what the meta tags and JSON-LD say, without
    the byline search. ``find_dates=False`` skips htmldate (``date`` is None). Never
    raises: on a reader's failure the metadata is empty.
    """
    from htmldate import find_date
    from trafilatura.metadata import (
        META_URL,
        examine_meta,
        extract_author,
        extract_sitename,
        extract_title,
        extract_url,
    )
    from trafilatura.settings import Document

    try:
        meta = examine_meta(_head_with_fewer_authors(tree))
        if meta.author and " " not in meta.author:  # a handle, not a name (as upstream)
            meta.author = None
        try:
            meta = json_ld_metadata(tree, meta)
        except Exception:  # upstream tolerates its JSON-LD reader's bugs too
            LOGGER.debug("JSON-LD metadata failed for %s", url, exc_info=True)
        meta.title = meta.title or extract_title(tree)
        if need_author:
            meta.author = meta.author or extract_author(tree)
        meta.url = meta.url or extract_url(tree, url)
        # htmldate's search is the fallback for pages whose markup states no date.
        meta.date = find_date(tree, url=meta.url, **date_params) if find_dates else None
        if meta.date is None and extensive and find_dates:
            meta.date = find_date(tree, url=meta.url, **{**date_params, "extensive_search": True})
        meta.sitename = meta.sitename or extract_sitename(tree)
        if meta.sitename:
            meta.sitename = meta.sitename.lstrip("@")
            if meta.sitename and "." not in meta.sitename and not meta.sitename[0].isupper():
                meta.sitename = meta.sitename.title()
        elif meta.url and (match := META_URL.match(meta.url)):
            meta.sitename = match[1]
        meta.clean_and_trim()
        return meta
    except Exception:
        LOGGER.debug("metadata extraction failed for %s", url, exc_info=True)
        return Document()
