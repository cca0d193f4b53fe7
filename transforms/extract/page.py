"""Extract an article's body text and metadata from one HTML page (trafilatura).

The page is parsed once with trafilatura's own loader; that tree is read for JSON-LD
(paywall flag), for the publication and update dates its markup states and where
(``page_dates``), handed to ``trafilatura.bare_extraction`` for the text, checked for a
consent dialog posing as the text (``consent``: a ``consent_wall`` error), and read for
metadata by trafilatura's own readers (``page_meta``: title, author, URL, site name;
htmldate's date only when the markup states none), minus the categories, tags and
licence wiredesk does not store. Authors are the JSON-LD article's people, else
trafilatura's, without the outlet (``page_authors``). On 430 benchmark pages that gave
the same output as ``bare_extraction(with_metadata=True)`` at 0.9x its cost; the date
search then became a fallback (see ``extensive_date_search``).

The chosen configuration is trafilatura's default "balanced" mode with comments left out
(``trafilatura.extract`` appends reader comments by default; they are not the article),
run in two steps. trafilatura's own extractor goes first (``fast=True``); its comparison
with readability and jusText, which costs about a third of a full pass, runs only when
that first result looks unsure: fewer than 4 paragraphs or 1,000 characters, more tables
than paragraphs, or leftover page furniture (trafilatura's own triggers for the
comparison, made stricter). On 252 benchmark pages the comparison changed the text of 8,
and every page where it helped had at most 3 paragraphs; the gate sends 26 pages (10 %)
through it. Benchmark F1 (P/R means), ours vs raw ``extract``: 0.966 vs 0.958 on 149
article-extraction-benchmark pages, 0.944 vs 0.940 on 103 fundus pages (the comparison
on every page: 0.963 and 0.944; never: 0.966 and 0.926). favor_recall, deduplicate and
include_tables=False lose on both sets, so none of them is used.
``bench/extraction_quality.py --compare`` re-checks this after an upgrade. The text keeps
trafilatura's blocks as paragraphs, joined by blank lines; nothing is dropped.

Example:
    >>> from wiredesk.transforms.extract.page import extract_page
    >>> html = ("<html><head><title>Rain in Spain</title></head><body><article>"
    ...         "<p>" + "The rain in Spain stays mainly in the plain. " * 8 + "</p>"
    ...         "<p>" + "Forecasters expect more of it next week, they said. " * 6 + "</p>"
    ...         "</article></body></html>")
    >>> page = extract_page(html=html, url="https://example.com/rain")
    >>> page.title, page.text.count("\\n\\n")
    ('Rain in Spain', 1)
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import json
import logging
import re
import unicodedata
from collections.abc import Iterator
from typing import Any
from urllib.parse import urljoin, urlsplit

import lxml.html
from lxml.html import HtmlElement

from wiredesk.schemas.records import RejectReason
from wiredesk.transforms.common.langcodes import normalize_language
from wiredesk.transforms.extract.consent import DEFAULT as CONSENT_DEFAULT
from wiredesk.transforms.extract.consent import button_labels, consent_wall, page_blocks
from wiredesk.transforms.extract.page_authors import page_authors, stated_people
from wiredesk.transforms.extract.page_dates import (
    DatedBy,
    article_objects,
    page_dates,
    url_has_date,
)
from wiredesk.transforms.extract.page_meta import page_metadata

__all__ = [
    "DEFAULT",
    "ExtractConfig",
    "ExtractError",
    "ExtractedPage",
    "extract_fragment",
    "extract_page",
]

LOGGER = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class ExtractConfig:
    """Extraction options; the defaults are the measured choice (module docstring)."""

    favor_precision: bool = False
    favor_recall: bool = False
    include_comments: bool = False
    include_tables: bool = True
    # fast: never run trafilatura's comparison with readability/jusText. compare_when_unsure:
    # run it only when the fast pass looks unsure (the thresholds below; measurements in
    # the module docstring). Both off: compare on every page, as trafilatura does.
    fast: bool = False
    compare_when_unsure: bool = True
    sure_min_paragraphs: int = 4
    sure_min_chars: int = 1000
    # htmldate's pattern search in the page text finds dates that markup lacks, but costs
    # ~8 ms on a page whose URL holds no date, while markup gives a date on 99 % of news
    # pages: on 149 AEB pages it added a date to one and a time of day to another, and on
    # 132 fundus pages it changed no date. So it runs only when the markup search finds none.
    extensive_date_search: bool = True
    # Pages beyond this are not worth a parse; fetch caps bodies well below it anyway.
    max_html_chars: int = 8_000_000
    # Fewer non-space characters than this is a menu or a stub, not an article (trafilatura
    # falls back to any text it finds: a page of navigation yields "Home").
    min_text_chars: int = 20
    # Dates before this are parser noise (htmldate's own floor is 1995).
    min_year: int = 1990


DEFAULT = ExtractConfig()


@dataclasses.dataclass(frozen=True)
class ExtractedPage:
    """What one page yields: clean text (paragraphs split by blank lines) and metadata."""

    text: str
    title: str | None = None
    authors: tuple[str, ...] = ()
    published_at: dt.datetime | None = None  # aware, UTC
    language: str | None = None  # declared by the page (html lang, meta), ISO 639-1
    canonical_url: str | None = None  # absolute http(s)
    site_name: str | None = None
    description: str | None = None
    paywalled: bool | None = None  # schema.org isAccessibleForFree, None when not stated
    # Where published_at came from (page_dates.DATE_SOURCES), and the page's last update.
    published_at_source: str | None = None
    modified_at: dt.datetime | None = None  # aware, UTC
    modified_at_source: str | None = None
    text_complete: bool = True  # False: the text is only a paywall's teaser


@dataclasses.dataclass(frozen=True)
class ExtractError:
    """Why a page gave no article; ``reason`` is a RejectReason value."""

    reason: str  # "empty_text" | "parse_error" | "extract_error" (pool: "extract_timeout")
    detail: str


# htmldate is asked for the time and offset too; a bare date comes back as T00:00:00.
_DATE_FORMAT = "%Y-%m-%dT%H:%M:%S%z"
_MAX_JSON_LD_DEPTH = 12
# " | ", " - ", " – ", " — ", " * ", " · ", and the full-width bar and colon of Japanese
# sites and the Hangul "ㅣ" Korean sites use as a bar.
_TITLE_SEP_RE = re.compile(r"(\s+[|\-–—*·]\s+|\s*[｜：ㅣ]\s*)")
_DATE_SEGMENT_RE = re.compile(r"^\d{1,4}[./-]\d{1,2}[./-]\d{1,4}$")
_BYLINE_RE = re.compile(r"^by\s+\w", re.IGNORECASE)
_HOST_NOISE = frozenset({"www", "com", "net", "org", "co", "news", "edition", "amp", "m"})


def extract_page(
    *, html: str, url: str | None = None, config: ExtractConfig = DEFAULT
) -> ExtractedPage | ExtractError:
    """Extract one page; never raises: failures become an :class:`ExtractError`."""
    try:
        return _extract(html=html, url=url, config=config)
    except Exception as err:  # a library bug on one page must not stop the stream
        LOGGER.debug("extraction failed for %s", url, exc_info=True)
        return ExtractError(RejectReason.EXTRACT_ERROR.value, f"{type(err).__name__}: {err}"[:500])


def _extract(*, html: str, url: str | None, config: ExtractConfig) -> ExtractedPage | ExtractError:
    # Imported here so that importing this module (e.g. in a Beam graph builder) stays cheap.
    from trafilatura.core import bare_extraction
    from trafilatura.settings import Document
    from trafilatura.utils import load_html

    if not isinstance(html, str):
        return ExtractError(RejectReason.PARSE_ERROR.value, f"html is {type(html).__name__}")
    if not html.strip():
        return ExtractError(RejectReason.PARSE_ERROR.value, "empty document")
    if len(html) > config.max_html_chars:
        return ExtractError(
            RejectReason.EXTRACT_ERROR.value,
            f"html has {len(html)} chars, limit {config.max_html_chars}",
        )
    tree = load_html(html)
    if tree is None:
        return ExtractError(RejectReason.PARSE_ERROR.value, "not parseable as HTML")

    # Read the raw tree before trafilatura: its cleaning drops <script> elements.
    ld_objects = list(_json_ld_objects(tree))
    declared_lang = _declared_language(tree)
    ld_articles = article_objects(tree)
    stated = page_dates(tree, ld_articles)
    published = _plausible_dated(stated.published, config)

    date_params = {
        "original_date": True,
        "extensive_search": False,
        "max_date": dt.date.today().isoformat(),
        "outputformat": _DATE_FORMAT,
    }
    options: dict[str, Any] = {
        "url": url,
        "favor_precision": config.favor_precision,
        "favor_recall": config.favor_recall,
        "include_comments": config.include_comments,
        "include_tables": config.include_tables,
    }
    fast_first = config.fast or config.compare_when_unsure

    # trafilatura copies a tree it is given, so ours stays intact.
    doc = bare_extraction(tree, fast=fast_first, **options)
    if fast_first and not config.fast and not _looks_sure(doc, config):
        full = bare_extraction(tree, fast=False, **options)
        if full is not None:
            doc = full
    if doc is None:
        return _wall_or(tree, ExtractError(RejectReason.EMPTY_TEXT.value, "no main text found"))
    if not isinstance(doc, Document):  # as_dict is off; guards an API drift
        return ExtractError(RejectReason.EXTRACT_ERROR.value, f"unexpected {type(doc).__name__}")

    text = _paragraphs(doc.text or "")
    chars = len("".join(text.split()))  # non-space characters
    if chars < config.min_text_chars:
        return _wall_or(
            tree,
            ExtractError(
                RejectReason.EMPTY_TEXT.value,
                f"main text has {chars} characters, fewer than {config.min_text_chars}",
            ),
        )
    if wall := _consent_wall(text, tree, doc.title):
        return ExtractError(RejectReason.CONSENT_WALL.value, wall)

    meta = page_metadata(
        tree,
        url=url,
        date_params=date_params,
        extensive=config.extensive_date_search,
        find_dates=published is None,
        need_author=not stated_people(ld_articles),
    )
    if published is None:
        published = _searched_date(meta.date, page_url=meta.url or url, config=config)
    paywalled = _paywalled(ld_objects)
    modified = _plausible_dated(stated.modified, config)
    if modified is not None and published is not None and modified.at < published.at:
        modified = None
    return ExtractedPage(
        text=text,
        title=_strip_site_suffix(
            _clean(meta.title), site=_clean(meta.sitename), url=meta.url or url
        ),
        authors=page_authors(tree, meta.author, url=meta.url or url, articles=ld_articles),
        published_at=published.at if published else None,
        language=declared_lang,
        canonical_url=_canonical_url(tree, page_url=url, fallback=meta.url),
        site_name=_clean(meta.sitename),
        description=_clean(meta.description),
        paywalled=paywalled,
        text_complete=not paywalled or not _is_teaser(text, ld_objects, tree),
        published_at_source=published.source if published else None,
        modified_at=modified.at if modified else None,
        modified_at_source=modified.source if modified else None,
    )


# Below this many words, the extracted text may be a scrap of the dialog's page (its
# footer, one button) while trafilatura's filters dropped the dialog itself.
_SCRAP_WORDS = 80
_MAX_WALL_WORDS = CONSENT_DEFAULT.max_words


def _consent_wall(text: str, tree: HtmlElement, title: object) -> str | None:
    """Why the main text is a consent dialog, else None (see ``consent``)."""
    title_str = title if isinstance(title, str) else None
    if len(text.split()) > _MAX_WALL_WORDS:
        return None  # spares long articles the button scan
    # Read once, and only for a text that may be a wall (consent_wall asks last).
    buttons = functools.cache(lambda: button_labels(tree))
    if wall := consent_wall(text, title=title_str, buttons=buttons):
        return wall
    if len(text.split()) < _SCRAP_WORDS:
        return consent_wall(page_blocks(tree), title=title_str, buttons=buttons)
    return None


def _wall_or(tree: HtmlElement, error: ExtractError) -> ExtractError:
    """A page without main text whose visible text is a consent dialog is a wall."""
    title = tree.findtext(".//title")
    if wall := consent_wall(page_blocks(tree), title=title, buttons=lambda: button_labels(tree)):
        return ExtractError(RejectReason.CONSENT_WALL.value, wall)
    return error


def _looks_sure(doc: Any, config: ExtractConfig) -> bool:
    """Whether a fast pass's result can skip trafilatura's readability/jusText comparison.

    trafilatura lets readability win when its own text is much shorter, has no paragraph
    text or is table-dominated, and runs jusText when the body keeps page furniture
    (``SANITIZED_XPATH``) or is short; this asks the same questions with a wider margin.
    """
    from trafilatura.external import SANITIZED_XPATH

    body = getattr(doc, "body", None)
    if body is None or len(doc.text or "") < config.sure_min_chars:
        return False
    paragraphs = len(body.findall(".//p"))
    return (
        paragraphs >= config.sure_min_paragraphs
        and len(body.findall(".//table")) <= paragraphs
        and not body.xpath(SANITIZED_XPATH)
    )


_BLOCK_TAGS = frozenset(
    {"p", "h1", "h2", "h3", "h4", "h5", "h6", "li", "blockquote", "pre", "dd", "dt", "td", "th"}
)


def extract_fragment(*, html: str, config: ExtractConfig = DEFAULT) -> ExtractedPage | ExtractError:
    """Text of an article body that is already clean (a wire item's ``body_html``).

    A wire body has no page chrome to remove, and trafilatura's boilerplate
    heuristics drop short bodies (a flash, a brief) outright; so the body's
    block elements are read in order and joined with the same paragraph rules
    as :func:`extract_page`. Never raises.
    """
    try:
        if len(html) > config.max_html_chars:
            return ExtractError(RejectReason.PARSE_ERROR.value, "body too large to parse")
        if not html.strip():
            return ExtractError(RejectReason.EMPTY_TEXT.value, "the item has no body")
        root = lxml.html.fragment_fromstring(html, create_parent="div")
        blocks: list[str] = []
        for element in root.iter():
            if not isinstance(element.tag, str):
                continue  # comments, processing instructions
            if element.tag.lower() in _BLOCK_TAGS and not any(
                isinstance(child.tag, str) and child.tag.lower() in _BLOCK_TAGS
                for child in element.iterdescendants()
            ):
                blocks.append(" ".join(element.text_content().split()))
        if not blocks:  # a body of bare text, or only inline markup
            blocks = [" ".join(root.text_content().split())]
        text = _paragraphs("\n".join(blocks))
    except Exception as err:  # lxml on hostile input: a reject, never a crash
        return ExtractError(RejectReason.PARSE_ERROR.value, f"{type(err).__name__}: {err}"[:300])
    if sum(not ch.isspace() for ch in text) == 0:
        return ExtractError(RejectReason.EMPTY_TEXT.value, "the item's body holds no text")
    return ExtractedPage(text=text)


def _paragraphs(raw: str) -> str:
    # trafilatura ends every block with one newline; the contract wants blank lines between
    # paragraphs. NFC as trafilatura.extract does, so tokens compare with other copies.
    lines = (line.strip() for line in unicodedata.normalize("NFC", raw).splitlines())
    return "\n\n".join(line for line in lines if line)


def _clean(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    value = " ".join(unicodedata.normalize("NFC", value).split())
    return value or None


def _norm_name(value: str) -> str:
    return "".join(ch for ch in value.casefold() if ch.isalnum())


def _strip_site_suffix(title: str | None, *, site: str | None, url: str | None) -> str | None:
    """Drop a trailing " | Site", " - Site", "：Site" part naming the outlet.

    Only a separator-delimited segment that names the site (its site name, or the host's
    label such as "techcrunch"), or is just a date or a "by Someone" byline, is removed
    (up to three such segments); the headline itself is never
    cut, and a title that would become too short is left as it is.
    """
    if not title:
        return title
    names = {n for n in (_norm_name(site or ""),) if n}
    try:
        host = (urlsplit(url).hostname or "") if url else ""
    except ValueError:
        host = ""
    labels = [lab for lab in host.split(".") if lab not in _HOST_NOISE and len(lab) >= 2]
    names.update(_norm_name(lab) for lab in labels)
    result = title
    for _ in range(3):
        parts = _TITLE_SEP_RE.split(result)
        if len(parts) < 3:
            break
        head, last = "".join(parts[:-2]).strip(), parts[-1].strip()
        key = _norm_name(last)
        # Short names (a host label like "ft") must match whole, or "Soft drinks" would go.
        is_site = bool(key) and any(
            key == n or (len(n) >= 4 and n in key) or (len(key) >= 4 and key in n) for n in names
        )
        if not (is_site or _DATE_SEGMENT_RE.match(last) or _BYLINE_RE.match(last)) or len(head) < 8:
            break
        result = head
    return result


def _absolute_http_url(value: str | None, *, base: str | None) -> str | None:
    if not value or not isinstance(value, str):
        return None
    value = value.strip()
    try:
        if base and not urlsplit(value).scheme:
            value = urljoin(base, value)
        parts = urlsplit(value)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return value


def _canonical_url(tree: HtmlElement, *, page_url: str | None, fallback: str | None) -> str | None:
    """``<link rel=canonical>``, else og:url, else trafilatura's URL (the page URL if none).

    Read here rather than taken from trafilatura alone: it drops a relative canonical link
    (common) unless an og: tag gives it a base, and then falls back to the fetched URL.
    """
    candidates: list[str | None] = []
    for link in tree.iterfind(".//link[@href]"):
        if "canonical" in (link.get("rel") or "").lower().split():
            candidates.append(link.get("href"))
    for meta in tree.iterfind(".//meta[@content]"):
        if (meta.get("property") or meta.get("name") or "").lower() == "og:url":
            candidates.append(meta.get("content"))
    candidates.append(fallback)
    for cand in candidates:
        if absolute := _absolute_http_url(cand, base=page_url):
            return absolute
    return None


def _declared_language(tree: HtmlElement) -> str | None:
    candidates = [tree.get("lang"), tree.get("{http://www.w3.org/XML/1998/namespace}lang")]
    for meta in tree.iterfind(".//head/meta[@content]"):
        key = (meta.get("http-equiv") or meta.get("property") or meta.get("name") or "").lower()
        if key in ("content-language", "og:locale", "language", "dc.language"):
            candidates.append(meta.get("content"))
    for cand in candidates:
        if code := normalize_language(cand):
            return code
    return None


# ---- dates -------------------------------------------------------------------------------


def _parse_datetime(value: object) -> dt.datetime | None:
    if not isinstance(value, str) or not value.strip():
        return None
    value = value.strip()
    try:
        parsed = dt.datetime.strptime(value, _DATE_FORMAT)
    except ValueError:
        try:
            # Python 3.11 reads most ISO 8601 forms, "Z" included.
            parsed = dt.datetime.fromisoformat(value)
        except ValueError:
            return None
    return parsed


def _to_utc(value: dt.datetime) -> dt.datetime:
    # A time without an offset is taken as UTC: the best guess, and stable across runs.
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


def _plausible(value: dt.datetime, config: ExtractConfig) -> bool:
    now = dt.datetime.now(dt.UTC)
    return value.year >= config.min_year and value <= now + dt.timedelta(days=1)


def _plausible_dated(found: DatedBy | None, config: ExtractConfig) -> DatedBy | None:
    return found if found is not None and _plausible(found.at, config) else None


def _searched_date(
    date_str: str | None, *, page_url: str | None, config: ExtractConfig
) -> DatedBy | None:
    """htmldate's date for a page whose markup states none: from the URL, else the text."""
    found = _parse_datetime(date_str)
    if found is None:
        return None
    utc = _to_utc(found)
    if not _plausible(utc, config):
        return None
    return DatedBy(utc, "url" if url_has_date(page_url, found.date()) else "text")


# ---- JSON-LD -----------------------------------------------------------------------------


def _json_ld_objects(tree: HtmlElement) -> Iterator[dict[str, Any]]:
    """Every JSON object in the page's JSON-LD blocks (lists, @graph and nesting flattened)."""
    for script in tree.iterfind(".//script"):
        kind = (script.get("type") or "").lower()
        if not kind.startswith("application/ld+json"):
            continue
        raw = (script.text or "").strip()
        # Some CMSs wrap the block in an HTML comment or CDATA.
        for prefix, suffix in (("<!--", "-->"), ("<![CDATA[", "]]>")):
            if raw.startswith(prefix) and raw.endswith(suffix):
                raw = raw[len(prefix) : -len(suffix)].strip()
        if not raw:
            continue
        try:
            data = json.loads(raw, strict=False)
        except (ValueError, RecursionError):
            continue
        yield from _walk(data, 0)


def _walk(node: object, depth: int) -> Iterator[dict[str, Any]]:
    if depth > _MAX_JSON_LD_DEPTH:
        return
    if isinstance(node, list):
        for item in node:
            yield from _walk(item, depth + 1)
    elif isinstance(node, dict):
        yield node
        for key in ("@graph", "mainEntity", "mainEntityOfPage", "hasPart", "itemListElement"):
            if key in node:
                yield from _walk(node[key], depth + 1)


def _as_bool(value: object) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        v = value.strip().lower()
        if v in ("true", "yes", "1", "https://schema.org/true", "http://schema.org/true"):
            return True
        if v in ("false", "no", "0", "https://schema.org/false", "http://schema.org/false"):
            return False
    return None


def _paywalled(ld_objects: list[dict[str, Any]]) -> bool | None:
    """schema.org isAccessibleForFree: any false means paywalled, else any true means free."""
    seen_free = False
    for obj in ld_objects:
        free = _as_bool(obj.get("isAccessibleForFree"))
        if free is False:
            return True
        if free is True:
            seen_free = True
    return False if seen_free else None


# ---- teasers -------------------------------------------------------------------------------

# The invitation a paywall puts where the text stops, in the last paragraphs of a teaser.
_PAYWALL_PROMPT = re.compile(
    r"subscribe (?:now |today )?to (?:read|continue|keep reading|unlock)|to continue reading"
    r"|(?:read|unlock) the (?:full|rest of the|whole) (?:article|story)|subscribers only"
    r"|(?:exclusive|available) (?:to|for) (?:subscribers|members)|already a subscriber"
    r"|(?:jetzt |hier )?(?:weiterlesen|freischalten) mit|abonnieren sie|(?:plus|premium)-artikel"
    r"|exklusiv für abonnenten|réservé aux abonnés|la suite (?:est réservée|de cet article)"
    r"|abonnez-vous|déjà abonné|suscríbete|exclusivo para suscriptores|ya eres suscriptor"
    r"|abbonati|riservato agli abbonati|lees verder met|alleen voor abonnees|assine para ler",
    re.I,
)
_TEASER_MAX_WORDS = 150
_SIMPLE_SELECTOR = re.compile(r"^\s*([.#])([\w-]+)\s*$")


def _is_teaser(text: str, ld_objects: list[dict[str, Any]], tree: HtmlElement) -> bool:
    """Whether a paywalled page's text is only the free part.

    Yes when the text ends with the paywall's invitation to subscribe, is shorter than a
    teaser's ceiling, or the page's schema.org ``hasPart`` marks a paywalled section
    (``cssSelector``) that the served page leaves empty. A paywalled page that carries
    its whole text (a metered wall, served in full) is complete.
    """
    paragraphs = text.split("\n\n")
    if any(_PAYWALL_PROMPT.search(p) for p in paragraphs[-3:]):
        return True
    if len(text.split()) < _TEASER_MAX_WORDS:
        return True
    for obj in ld_objects:
        parts = obj.get("hasPart")
        for part in parts if isinstance(parts, list) else [parts]:
            if not isinstance(part, dict) or _as_bool(part.get("isAccessibleForFree")) is not False:
                continue
            selector = part.get("cssSelector")
            match = _SIMPLE_SELECTOR.match(selector) if isinstance(selector, str) else None
            if match is None:
                continue
            if match[1] == ".":
                found = tree.xpath(
                    "//*[contains(concat(' ', normalize-space(@class), ' '), $name)]",
                    name=f" {match[2]} ",
                )
            else:
                found = tree.xpath("//*[@id=$name]", name=match[2])
            if not any(len(el.text_content().split()) >= 30 for el in found):
                return True
    return False
