"""Enrichment of one extracted story: the one pure function the Enrich stage calls.

:func:`enrich` combines the dateline, agency, geography, language and authors modules:

* ``dateline``: the wire item's own dateline field, else the dateline at the head of the
  text, as printed without date and tag (``SEOUL``, ``NAIROBI, Kenya``);
* ``agency``: the wire item's agency, the dateline tag, credit lines, byline, outlet, URL;
* ``country``: the dateline's place; else the places the text clearly names; else the
  feed's home country (``country_source`` says which: ``dateline``/``text``/``feed``);
* ``region``: the UN M49 sub-region slug of the country, else the feed's region, else
  ``unknown``; always one of ``REGION_SLUGS``;
* ``language``, ``authors`` (people only), ``word_count`` (characters for scripts written
  without spaces), ``paywalled`` (passed through from extraction and fetching).

The text is never modified.

Example::

    >>> from wiredesk.transforms.enrich.article import enrich
    >>> e = enrich(text="NAIROBI, Kenya (AP) — Rain fell on Tuesday across the city.",
    ...            title=None, authors=["By AP"], declared_language="en",
    ...            feed_country="US", feed_region=None, source="AP News",
    ...            url="https://apnews.com/x")
    >>> (e.dateline, e.agency, e.country, e.region, e.country_source, e.authors)
    ('NAIROBI, Kenya', 'AP', 'KE', 'sub-saharan-africa', 'dateline', ())
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from typing import Any

from wiredesk.schemas.records import Article
from wiredesk.transforms.enrich import geo
from wiredesk.transforms.enrich.agency import detect_agency, is_agency_credit
from wiredesk.transforms.enrich.authors import clean_authors
from wiredesk.transforms.enrich.dateline import Dateline, parse_dateline, parse_dateline_field
from wiredesk.transforms.enrich.language import detect_language

__all__ = ["Enrichment", "enrich", "enrich_article", "word_count"]


@dataclasses.dataclass(frozen=True)
class Enrichment:
    """What enrichment adds to an article row."""

    language: str | None
    dateline: str | None
    agency: str | None
    country: str | None
    region: str
    authors: tuple[str, ...]
    word_count: int
    country_source: str | None
    paywalled: bool | None = None


# Scripts written without spaces between words: each character counts as a word.
_NO_SPACE_CHARS = re.compile(
    "[\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9d"
    "\u0e00-\u0e7f\u0e80-\u0eff\u1000-\u109f\u1780-\u17ff]"
)
# A whitespace-separated token holding a letter or digit, matched whole (a token of
# punctuation alone, such as a dash, is no word); counted by the regex engine, 3x
# faster than splitting and testing each token in Python.
_WORD_TOKEN = re.compile(r"\S*[^\W_]\S*")


def word_count(text: str) -> int:
    """Words in ``text``; for Chinese, Japanese, Thai, Lao, Khmer, Burmese: characters."""
    if not isinstance(text, str) or not text:
        return 0
    if text.isascii():  # no character of a language written without spaces
        chars, rest = 0, text
    else:
        chars = len(_NO_SPACE_CHARS.findall(text))
        rest = _NO_SPACE_CHARS.sub(" ", text)
    words = len(_WORD_TOKEN.findall(rest))
    return min(chars + words, 2**31 - 1)


def _str_or_none(value: Any, limit: int = 2000) -> str | None:
    if not isinstance(value, str):
        return None
    value = value.replace("\0", "").strip()
    return value[:limit] if value else None


def _iso2(value: Any) -> str | None:
    if isinstance(value, str) and len(value.strip()) == 2 and value.strip().isascii():
        code = value.strip().upper()
        return code if code.isalpha() else None
    return None


def _byline_dateline(authors: Sequence[str]) -> Dateline | None:
    # Some papers print the dateline in the byline: "AFP, MANILA" (Taipei Times).
    for author in authors[:4]:
        parts = [p.strip() for p in author.split(",")]
        if len(parts) == 2 and is_agency_credit(parts[0]):
            found = parse_dateline_field(parts[1])
            if found is not None and found.place and geo.resolve_place(found.place):
                return dataclasses.replace(found, tag=parts[0])
    return None


def enrich(
    *,
    text: str,
    title: str | None,
    authors: Sequence[str],
    declared_language: str | None,
    feed_country: str | None,
    feed_region: str | None,
    source: str | None,
    url: str,
    wire_agency: str | None = None,
    wire_dateline: str | None = None,
    paywalled: bool | None = None,
) -> Enrichment:
    """Enrich one story. Pure, deterministic, never raises on bad input."""
    body = text if isinstance(text, str) else ""
    head_title = _str_or_none(title, 1000)
    author_list = (
        [a for a in authors if isinstance(a, str)]
        if isinstance(authors, Sequence) and not isinstance(authors, str)
        else []
    )

    dateline: Dateline | None = parse_dateline_field(_str_or_none(wire_dateline, 200))
    body_dateline = parse_dateline(body)
    if dateline is None:
        dateline = body_dateline
    if dateline is None:
        dateline = _byline_dateline(author_list)

    agency = detect_agency(
        text=body,
        dateline_tag=(dateline.tag if dateline else None)
        or (body_dateline.tag if body_dateline else None),
        authors=author_list,
        source=_str_or_none(source, 200),
        url=_str_or_none(url, 4000),
        wire_agency=_str_or_none(wire_agency, 100),
    )

    country: str | None = None
    country_source: str | None = None
    if dateline is not None and dateline.place:
        country = geo.resolve_place(dateline.place, dateline.qualifiers)
        country_source = "dateline" if country else None
    if country is None:
        country = geo.country_from_text(f"{head_title}\n\n{body}" if head_title else body)
        country_source = "text" if country else None
    if country is None:
        country = _iso2(feed_country)
        country_source = "feed" if country else None

    region = geo.region_for_country(country) if country else "unknown"
    if region == "unknown" and country_source in (None, "feed"):
        region = geo.normalize_region(_str_or_none(feed_region, 60)) or "unknown"
    if region not in geo.REGION_SLUGS:
        region = "unknown"

    language_sample = body if len(body) >= 200 or not head_title else f"{head_title}\n{body}"
    language = detect_language(text=language_sample, declared=_str_or_none(declared_language, 40))

    return Enrichment(
        language=language,
        dateline=dateline.printed if dateline else None,
        agency=agency,
        country=country,
        region=region,
        authors=tuple(clean_authors(author_list)),
        word_count=word_count(body),
        country_source=country_source,
        paywalled=paywalled if isinstance(paywalled, bool) else None,
    )


def enrich_article(article: Article) -> Article:
    """``article`` with what :func:`enrich` finds in it (called by ExtractText's one pass
    over a page: transforms/extract/page_pass.py)."""
    found = enrich(
        text=article.text,
        title=article.title,
        authors=article.authors,
        declared_language=article.language,
        feed_country=article.feed_country,
        feed_region=article.feed_region,
        source=article.source,
        url=article.url,
        wire_agency=article.agency,
        wire_dateline=article.dateline,
        paywalled=article.paywalled,
    )
    return dataclasses.replace(
        article,
        language=found.language,
        dateline=found.dateline,
        agency=found.agency,
        country=found.country,
        region=found.region,
        authors=list(found.authors),
        word_count=found.word_count,
        paywalled=found.paywalled,
    )
