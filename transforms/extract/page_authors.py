"""Who wrote a page: the bylines it states, without the outlet posing as an author.

trafilatura reads a page's authors from meta tags, JSON-LD and byline elements and joins
them into one string; on news pages that string often holds the publisher too ("Condé
Nast; Rachel Riederer"), a URL split into words ("Www Washingtontimes Com"), a profile
handle ("Aligharib"), or the same person twice ("Chuck Ross; Chuck-Ross"). This module
prefers the people the page's own JSON-LD article names (``author`` objects of type
Person, or plain names), else trafilatura's list, then drops:

* names of organisations the page names as its publisher or site (``og:site_name``,
  JSON-LD ``publisher``, ``<meta name=publisher>``) and names built from its host name;
* a single word when a full name is also given (a handle beside the byline);
* URL slugs (``chuck-ross``) and repeats that differ only in punctuation or case.

A page keeps its first ``MAX_AUTHORS`` (100) authors, as ``page_meta`` reads them.

Wire credits and roles are removed later, in enrichment (``enrich.authors``).

>>> from lxml import html
>>> tree = html.fromstring('<html><head><meta property="og:site_name" content="The Ledger">'
...     '</head><body></body></html>')
>>> page_authors(tree, "The Ledger; Jane Doe; Jane-Doe", url="https://www.theledger.com/a")
('Jane Doe',)
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any
from urllib.parse import urlsplit

from lxml.html import HtmlElement

from wiredesk.transforms.extract.page_dates import article_objects
from wiredesk.transforms.extract.page_meta import MAX_AUTHORS

__all__ = ["page_authors", "stated_people"]

_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)+$")
_HOST_NOISE = frozenset({"www", "com", "net", "org", "co", "news", "amp", "m", "edition"})
_ORG_TYPES = ("organization", "newsmediaorganization", "corporation", "brand")
_MIN_CONTAINED = 5  # an outlet's name must be this long to match inside another name


def page_authors(
    tree: HtmlElement,
    trafilatura_author: str | None,
    *,
    url: str | None = None,
    articles: list[dict[str, Any]] | None = None,
) -> tuple[str, ...]:
    """The page's authors, in order (module docstring). Never raises on odd markup.

    ``articles`` is ``article_objects(tree)`` when the caller has it already.
    """
    if articles is None:
        articles = article_objects(tree)
    people, persons = _ld_people(articles)
    names = people or _split(trafilatura_author)
    site_names, host_labels = _outlet_keys(tree, articles, url)
    kept: list[str] = []
    seen: set[str] = set()
    for name in names:
        key = _key(name)
        if not key or key in seen or _SLUG.match(name):
            continue
        # A JSON-LD Person is a person even when the site bears their name (a newsletter).
        if name not in persons and _is_outlet(key, site_names, host_labels):
            continue
        seen.add(key)
        kept.append(name)
    if any(len(n.split()) > 1 for n in kept):
        kept = [n for n in kept if len(n.split()) > 1 or not _latin(n)]
    return tuple(kept[:MAX_AUTHORS])


def stated_people(articles: list[dict[str, Any]]) -> bool:
    """Whether the page's JSON-LD article names its authors, so that :func:`page_authors`
    will not read trafilatura's byline (its search can be skipped)."""
    return bool(_ld_people(articles)[0])


def _clean(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    value = " ".join(unicodedata.normalize("NFC", value).split())
    return value or None


def _split(author: str | None) -> list[str]:
    # trafilatura joins several authors with "; "
    if not author:
        return []
    return [c for c in (_clean(a) for a in author.split(";")) if c]


def _types(obj: dict[str, Any]) -> str:
    kind = obj.get("@type")
    kinds = kind if isinstance(kind, list) else [kind]
    return " ".join(k.casefold() for k in kinds if isinstance(k, str))


def _ld_people(articles: list[dict[str, Any]]) -> tuple[list[str], set[str]]:
    """Names of the first page article object's ``author``s that are not organisations,
    and those of them typed ``Person``."""
    for obj in articles:
        found = obj.get("author") or obj.get("creator")
        items = found if isinstance(found, list) else [found]
        names: list[str] = []
        persons: set[str] = set()
        for item in items:
            person = False
            if isinstance(item, dict):
                kinds = _types(item)
                if any(t in kinds for t in _ORG_TYPES):
                    continue
                person = "person" in kinds
                item = item.get("name")
                if isinstance(item, list):
                    item = item[0] if item else None
            if (name := _clean(item)) is not None:
                for part in _split(name):
                    names.append(part)
                    if person:
                        persons.add(part)
        names = [n for n in names if not _SLUG.match(n)]
        if names:
            return names, persons
    return [], set()


def _key(name: str) -> str:
    return "".join(ch for ch in name.casefold() if ch.isalnum())


def _outlet_keys(
    tree: HtmlElement, articles: list[dict[str, Any]], url: str | None
) -> tuple[set[str], set[str]]:
    """Folded names of the site and its publisher, and the labels of its host name."""
    keys: set[str] = set()
    for meta in tree.iter("meta"):
        prop = (meta.get("property") or meta.get("name") or "").casefold()
        if prop in ("og:site_name", "publisher", "application-name", "article:publisher"):
            keys.add(_key(meta.get("content") or ""))
    for obj in articles:
        publisher = obj.get("publisher")
        for item in publisher if isinstance(publisher, list) else [publisher]:
            name = item.get("name") if isinstance(item, dict) else item
            if isinstance(name, str):
                keys.add(_key(name))
    try:
        host = (urlsplit(url).hostname or "") if url else ""
    except ValueError:
        host = ""
    labels = {_key(label) for label in host.split(".") if label not in _HOST_NOISE}
    return {k for k in keys if len(k) >= 2}, {k for k in labels if len(k) >= _MIN_CONTAINED}


def _is_outlet(key: str, site_names: set[str], host_labels: set[str]) -> bool:
    """The site's or publisher's name, or a name spelling the host ("Www Ledger Com")."""
    if any(
        key == site
        or (len(site) >= _MIN_CONTAINED and site in key)
        or (len(key) >= _MIN_CONTAINED and key in site)
        for site in site_names
    ):
        return True
    # Only a name *longer* than the host's label: "janedoe.example" keeps "Jane Doe".
    return any(label in key and label != key for label in host_labels)


def _latin(name: str) -> bool:
    """Written in Latin script (a lone word in CJK or Hangul may well be a full name)."""
    return all(not ch.isalpha() or unicodedata.name(ch, "").startswith("LATIN") for ch in name)
