"""One pass over one fetched page: every step that needs no other page.

Extraction (trafilatura), the article record, enrichment, the content hash and the
syndication sketch all depend on the page alone, so they run together wherever the
runner's parallelism is (docs/architecture.md, "Where the per-page work runs"): in an
extraction worker of the local pool, or in the DoFn itself on a distributed runner.
What stays in the runner process needs all pages in one place (assigning stories) or
is I/O (polling, fetching, writing).

A wire item's body is already the article: its paragraphs are read without boilerplate
removal (:func:`extract_fragment`). One page's failure is a :class:`Reject` with the stage
that failed and why; this never raises.

Example:
    >>> import datetime as dt
    >>> from wiredesk.schemas.records import FeedEntry, FetchedPage
    >>> html = ("<html><head><title>Rain in Spain</title></head><body><article>"
    ...         "<p>" + "MADRID (Reuters) - The rain in Spain stays mainly in the plain. " * 6
    ...         + "</p><p>" + "Forecasters expect more of it next week, they said. " * 6
    ...         + "</p></article></body></html>")
    >>> entry = FeedEntry(url="https://example.com/rain", feed_url="", url_key="k")
    >>> page = FetchedPage(entry=entry, final_url=entry.url, html=html,
    ...                    fetched_at=dt.datetime(2024, 5, 1, tzinfo=dt.timezone.utc))
    >>> article = process_page(page)
    >>> article.dateline, article.agency, article.country, article.sketch is not None
    ('MADRID', 'Reuters', 'ES', True)
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import unicodedata

from wiredesk.schemas.records import Article, FetchedPage, Reject, RejectReason, Stage
from wiredesk.transforms.common.urlnorm import normalize_url
from wiredesk.transforms.dedup.signatures import sketch_text
from wiredesk.transforms.enrich.article import enrich_article
from wiredesk.transforms.extract.page import (
    DEFAULT,
    ExtractConfig,
    ExtractedPage,
    ExtractError,
    extract_fragment,
    extract_page,
)
from wiredesk.transforms.fetch.decode import Decoded, decode_html

__all__ = ["content_hash", "decode_page", "process_page", "sign_article", "to_article"]


def content_hash(text: str) -> str:
    """Hash of the normalized text: NFKC, case-folded, whitespace collapsed."""
    # is_normalized is a quick check that spares most texts the NFKC pass, and
    # split/join collapses the same (str.isspace) whitespace as a \s+ regex, 2.5x faster.
    if not unicodedata.is_normalized("NFKC", text):
        text = unicodedata.normalize("NFKC", text)
    normalized = " ".join(text.casefold().split())
    return hashlib.sha256(normalized.encode("utf-8")).hexdigest()[:32]


def _published(
    page: FetchedPage, extracted: ExtractedPage
) -> tuple[dt.datetime | None, str | None]:
    """Order of trust (docs/output-contract.md): the page, then the feed or wire item (the fetch time is
    the writer's last resort). A feed's date never overrides a date the page states."""
    if extracted.published_at is not None:
        return extracted.published_at, extracted.published_at_source
    if page.entry.published_at is not None:
        return page.entry.published_at, "wire" if page.entry.is_wire else "feed"
    return None, None


def to_article(page: FetchedPage, extracted: ExtractedPage) -> Article:
    """Merge what the listing said with what the page says (the page is trusted first)."""
    entry = page.entry
    published_at, published_source = _published(page, extracted)
    canonical = extracted.canonical_url and normalize_url(extracted.canonical_url)
    return Article(
        url=entry.url,
        url_key=entry.url_key,
        canonical_url=canonical or normalize_url(page.final_url) or page.final_url,
        source=entry.source or extracted.site_name,
        feed_url=entry.feed_url,
        title=extracted.title or entry.title,
        text=extracted.text,
        published_at=published_at,
        fetched_at=page.fetched_at,
        language=entry.language if entry.is_wire and entry.language else extracted.language,
        authors=list(extracted.authors) or list(entry.authors),
        agency=entry.agency,
        dateline=entry.dateline,
        site_name=extracted.site_name,
        paywalled=True if page.paywalled else extracted.paywalled,
        guid=entry.guid,
        feed_region=entry.feed_region,
        feed_country=entry.feed_country,
        is_wire=entry.is_wire,
        wire=entry.wire,
        content_hash=content_hash(extracted.text),
        published_at_source=published_source,
        modified_at=extracted.modified_at,
        modified_at_source=extracted.modified_at_source,
        # A 401/402 answer is a teaser by definition.
        text_complete=extracted.text_complete and not page.paywalled,
    )


def sign_article(article: Article) -> Article:
    """``article`` with its syndication sketch (the one DetectSyndication would make)."""
    sketch = sketch_text(text=article.text, title=article.title, language=article.language)
    return dataclasses.replace(article, sketch=sketch.to_bytes())


def _reject(page: FetchedPage, stage: Stage, reason: str, detail: str) -> Reject:
    return Reject(
        url=page.entry.url,
        feed_url=page.entry.feed_url,
        stage=stage.value,
        reason=reason,
        detail=detail,
    )


def decode_page(page: FetchedPage) -> FetchedPage | Reject:
    """``page`` with its text, decoded from the bytes it came as, or a ``fetch`` Reject
    (as the fetcher rejects what it cannot decode). A page that carries text is as is."""
    if page.body is None:
        return page
    decoded = decode_html(body=page.body, content_type=page.content_type)
    if not isinstance(decoded, Decoded):
        return _reject(page, Stage.FETCH, decoded.reason, decoded.detail)
    return dataclasses.replace(page, html=decoded.text, body=None)


def process_page(page: FetchedPage, *, config: ExtractConfig = DEFAULT) -> Article | Reject:
    """Decode (a page that comes as bytes), extract, enrich and sign one page: an
    Article ready for syndication, or a Reject."""
    decoded = decode_page(page)
    if isinstance(decoded, Reject):
        return decoded
    page = decoded
    if page.entry.is_wire:
        extracted = extract_fragment(html=page.html, config=config)
    else:
        extracted = extract_page(html=page.html, url=page.final_url, config=config)
    if isinstance(extracted, ExtractError):
        reason = extracted.reason or RejectReason.EXTRACT_ERROR.value
        return _reject(page, Stage.EXTRACT, reason, extracted.detail)
    article = to_article(page, extracted)
    try:
        article = enrich_article(article)
    except Exception as exc:  # one bad page must not stop the run
        detail = f"{type(exc).__name__}: {exc}"
        return _reject(page, Stage.ENRICH, RejectReason.ENRICH_ERROR.value, detail)
    # A sketch that fails here is made again by DetectSyndication, where a failure is
    # the run's (as it was before signing moved here): nothing is lost either way.
    try:
        return sign_article(article)
    except Exception:
        return article
