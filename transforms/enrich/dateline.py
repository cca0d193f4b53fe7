"""Find the dateline at the head of a story: ``SEOUL, Oct 23 (Reuters) -`` and its kin.

A dateline is only looked for at the head of the text: the first few lines, where a
republisher's chrome (a photo caption, a timestamp, a byline) may come before it, never
deep inside the body. Styles handled:

* tagged: ``SEOUL (Reuters) –``, ``NAIROBI, Kenya (AP) —``, ``Berlin (dpa) -``,
  ``Peine (dpa/lni) -``, ``MADRID, 21 Nov. 2024 (Europa Press) -``, ``Hong Kong (CNN)``;
* tag only: ``(Kyodo) --``, ``(Reuters) -``; ANSA's ``(ANSA) - ROMA, 12 GEN -``;
* untagged: ``LONDON —``, ``WASHINGTON, D.C. --``, ``NEW DELHI:``, ``PUTRAJAYA, Nov 22 —``
  and a place alone on the first line (``BAAR, SWITZERLAND``); untagged forms must name
  a place the gazetteer knows, so ``BREAKING NEWS:`` is not a dateline;
* Japanese ``【ソウル＝共同】`` / ``【ワシントン時事】``, Chinese ``新华社北京4月24日电``,
  Korean ``(서울=연합뉴스)``.

Example::

    >>> from wiredesk.transforms.enrich.dateline import parse_dateline
    >>> d = parse_dateline("13:01 JST, October 23, 2024\\nSEOUL (Reuters) – North Korea ...")
    >>> d.printed, d.place, d.tag
    ('SEOUL', 'SEOUL', 'Reuters')
    >>> parse_dateline("WASHINGTON, D.C. (AFP) - Talks resumed.").printed
    'WASHINGTON, D.C.'
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata

from wiredesk.transforms.enrich import geo
from wiredesk.transforms.enrich.agency import canonical_agency

__all__ = [
    "Dateline",
    "DatelineConfig",
    "parse_dateline",
    "parse_dateline_field",
]


@dataclasses.dataclass(frozen=True)
class DatelineConfig:
    """How far into the text a dateline may be."""

    max_lines: int = 6  # non-empty lines looked at
    max_chars: int = 1500  # characters before the dateline's line
    # Untagged datelines only after lines this short (timestamps, kickers, bylines).
    chrome_line_chars: int = 120
    # A single-word title-case place without a tag must be at least this big.
    untagged_min_population: int = 15_000


DEFAULT_CONFIG = DatelineConfig()


@dataclasses.dataclass(frozen=True)
class Dateline:
    """A dateline found at the head of a text.

    ``printed`` is the place as printed with its qualifiers (``NAIROBI, Kenya``), without
    the date and the agency tag; ``place`` is the first part (``NAIROBI``); ``tag`` the
    agency credit in the parentheses or brackets (``Reuters``, ``dpa/lni``), if any.
    """

    printed: str | None
    place: str | None
    qualifiers: tuple[str, ...] = ()
    tag: str | None = None
    line: int = 0


_DASH = r"(?:-{1,3}|–|—|―|‒|−|\.-)"
_TAGGED = re.compile(
    r"^(?P<pre>[^()（）\n]{0,80}?)\s*[(（](?P<tag>[^()（）\n]{1,40})[)）]\s*"
    r"(?P<dash>" + _DASH + r"|:)?\s*"
)
# The separator after an untagged dateline: a spaced hyphen, a dash, or a colon.
_UNTAGGED_SEP = re.compile(r"\s+-{1,3}\s+|\s*(?:–|—|―|‒)+\s*|\s*--\s*|:\s+|\s+\.-\s*")
_JA = re.compile(
    r"^【(?P<place>[^【】＝=\s]{1,20}?)(?:[＝=](?P<who>[^【】]{1,24})|(?P<ag>共同|時事))】"
)
_ZH = re.compile(
    r"^(?P<ag>新华社|新華社|中新社|中新网)(?:记者)?(?P<place>[^\s\d]{1,12}?)\d{1,2}月\d{1,2}日电"
)
_KO = re.compile(r"^[(（](?P<place>[^()（）=＝\s]{1,15})\s*[=＝]\s*(?P<ag>[^()（）]{1,15})[)）]")

_MONTHS = (
    "jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec|"
    "january|february|march|april|june|july|august|september|october|november|december|"
    "januar|februar|märz|mai|juni|juli|oktober|dezember|"
    "enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|octubre|noviembre|diciembre|"
    "janvier|février|mars|avril|juin|juillet|août|septembre|octobre|novembre|décembre|"
    "gen|giu|lug|ago|set|ott|dic|ene|abr|dez|"
    "monday|tuesday|wednesday|thursday|friday|saturday|sunday|"
    "mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun"
)
_DATE_PART = re.compile(
    r"^(?:\d{1,4}[.,]?\s*)?(?:(?:" + _MONTHS + r")\.?\s*)(?:\d{1,4}[.,]?\s*){0,2}$|"
    r"^\d{1,2}[./-]\d{1,2}(?:[./-]\d{2,4})?$|^\d{4}$|^\d{1,2}$",
    re.I,
)
# Words that start a sentence or a label, never a place.
_NOT_PLACE = frozenset(
    [
        "a",
        "an",
        "the",
        "in",
        "on",
        "at",
        "by",
        "for",
        "from",
        "to",
        "of",
        "and",
        "or",
        "but",
        "with",
        "as",
        "if",
        "it",
        "its",
        "this",
        "that",
        "these",
        "those",
        "he",
        "she",
        "they",
        "we",
        "you",
        "i",
        "photo",
        "photos",
        "video",
        "file",
        "update",
        "updated",
        "breaking",
        "analysis",
        "opinion",
        "editorial",
        "watch",
        "live",
        "note",
        "editor's",
        "editors",
        "correction",
        "corrected",
        "summary",
        "reuters",
        "ap",
        "afp",
        "dpa",
        "kyodo",
        "yonhap",
        "xinhua",
        "by",
        "news",
        "story",
        "report",
        "reports",
        "source",
        "sources",
        "credit",
        "image",
        "images",
        "pictured",
        "caption",
        "getty",
        "shutterstock",
        "advertisement",
        "sponsored",
        "warning",
        "exclusive",
        "interview",
        "review",
        "podcast",
        "explainer",
        "factbox",
        "instant",
        "view",
    ]
)
_CONNECTORS = frozenset(
    [
        "de",
        "del",
        "la",
        "las",
        "los",
        "le",
        "les",
        "el",
        "al",
        "da",
        "do",
        "dos",
        "das",
        "du",
        "des",
        "di",
        "am",
        "an",
        "der",
        "im",
        "upon",
        "on",
        "sur",
        "en",
        "of",
        "y",
        "i",
        "e",
        "and",
    ]
)
_PLACE_WORD = re.compile(r"^[^\W\d_][\w'’.\-]*$")


def _is_caps(text: str) -> bool:
    letters = [ch for ch in text if ch.isalpha()]
    return bool(letters) and all(ch.isupper() for ch in letters)


def _valid_place(place: str) -> bool:
    place = place.strip()
    if not place or len(place) > 48 or sum(ch.isalpha() for ch in place) < 3:
        return False
    for part in re.split(r"\s*/\s*", place):
        words = part.split()
        if not words or len(words) > 4 or _DATE_PART.match(part):
            return False
        # "The" starts sentences, and also "THE HAGUE": only a known place passes.
        if words[0].strip(".").casefold() in _NOT_PLACE and geo.resolve_place(part) is None:
            return False
        for word in words:
            if not _PLACE_WORD.match(word):
                return False
            if word.casefold() in _CONNECTORS and word is not words[0]:
                continue
            if not word[0].isupper():
                return False
    return True


def _valid_qualifier(text: str) -> bool:
    words = text.split()
    if not words or len(words) > 4 or len(text) > 36:
        return False
    return all(
        _PLACE_WORD.match(w) and (w[0].isupper() or w.casefold() in _CONNECTORS) for w in words
    )


def _has_date(pre: str) -> bool:
    return any(_DATE_PART.match(p.strip()) for p in pre.split(",")[1:])


def _split_pre(pre: str) -> tuple[str, tuple[str, ...]] | None:
    """``"SEOUL, Oct 23"`` -> ("SEOUL", ()); ``"NAIROBI, Kenya"`` -> ("NAIROBI", ("Kenya",))."""
    # ANI prints the country in brackets: "New Delhi [India], January 5 (ANI):".
    pre = re.sub(r"\s*\[([^\[\]]{2,30})\]", r", \1", pre)
    parts = [p.strip() for p in pre.strip().strip(",").split(",")]
    if not parts or not parts[0]:
        return None
    place, rest = parts[0], parts[1:]
    if not _valid_place(place):
        return None
    qualifiers: list[str] = []
    dated = False
    for part in rest:
        if not part:
            return None
        if _DATE_PART.match(part):
            dated = True
            continue
        if dated or not _valid_qualifier(part) or len(qualifiers) >= 2:
            return None
        qualifiers.append(part)
    return place, tuple(qualifiers)


def _printed(place: str, qualifiers: tuple[str, ...]) -> str:
    return ", ".join((place, *qualifiers))


def _resolvable(place: str, qualifiers: tuple[str, ...], config: DatelineConfig) -> bool:
    """Untagged datelines must name a place the gazetteer knows."""
    if any(geo.resolve_qualifier(q) for q in qualifiers):
        return True
    if geo.resolve_place(place) is None:
        return False
    if not _is_caps(place) and len(place.split()) == 1:
        if geo.is_ambiguous_word(place):
            return False
        return geo.place_population(place) >= config.untagged_min_population
    return True


def _known_or_outlet_tag(tag: str) -> bool:
    if canonical_agency(tag):
        return True
    # An outlet's own tag: "(CNN)", "(CNN Business)", "(HawaiiNewsNow)", "(Europa Press)".
    words = tag.split()
    return (
        1 <= len(words) <= 3
        and all(w[:1].isupper() for w in words)
        and not any(ch.isdigit() for ch in tag)
    )


def _tag_only(line: str, tag: str, index: int, config: DatelineConfig) -> Dateline:
    # ANSA and some Italian/Spanish desks put the tag first: "(ANSA) - ROMA, 12 GEN - ...".
    rest = _TAGGED.sub("", line, count=1)
    inner = _untagged(rest, index, config, require_caps=True)
    if inner is not None:
        return dataclasses.replace(inner, tag=tag)
    return Dateline(printed=None, place=None, tag=tag, line=index)


def _tagged(line: str, index: int, config: DatelineConfig) -> Dateline | None:
    match = _TAGGED.match(line)
    if match is None:
        return None
    tag = match.group("tag").strip()
    pre = match.group("pre").strip()
    if "=" in tag or "＝" in tag or re.search(r"\bvia\b", tag, re.I):
        return None
    if (
        not tag
        or not tag[0].isalpha()
        or canonical_agency(tag) is None
        and not _known_or_outlet_tag(tag)
    ):
        return None
    if not pre:
        if canonical_agency(tag) is None and match.group("dash") is None:
            return None
        return _tag_only(line, tag, index, config)
    split = _split_pre(pre)
    if split is None:
        return None
    place, qualifiers = split
    if canonical_agency(tag) is None and (
        match.group("dash") == ":" or not (_is_caps(place) or geo.resolve_place(place))
    ):
        # "Denmark (Group D): Ninth appearance" is a list item, not a dateline.
        return None
    # Without a dash the parentheses may be a caption credit ("Kim Jong Un (KCNA via
    # Reuters) inspects ..."): then the place must be one the gazetteer knows.
    if match.group("dash") is None and (
        geo.resolve_place(place) is None or not all(geo.resolve_qualifier(q) for q in qualifiers)
    ):
        return None
    return Dateline(_printed(place, qualifiers), place, qualifiers, tag, index)


def _untagged(
    line: str, index: int, config: DatelineConfig, *, require_caps: bool = False
) -> Dateline | None:
    sep = _UNTAGGED_SEP.search(line, 0, 100)
    if sep is None or sep.start() == 0:
        return None
    if not line[sep.end() :].strip():
        return None
    split = _split_pre(line[: sep.start()])
    if split is None:
        return None
    place, qualifiers = split
    if require_caps and not _is_caps(place):
        return None
    # "Nendeln, 27.6.2025 –": a place, a date and a dash are a dateline by themselves.
    dated = _has_date(line[: sep.start()]) and sep.group(0).strip() != ":"
    if not dated and not _resolvable(place, qualifiers, config):
        return None
    return Dateline(_printed(place, qualifiers), place, qualifiers, None, index)


def _standalone(line: str, index: int, config: DatelineConfig) -> Dateline | None:
    # A place alone on the first line: "BAAR, SWITZERLAND", Anadolu's "Ankara".
    if len(line) > 60 or line.endswith((".", "?", "!")):
        return None
    split = _split_pre(line)
    if split is None:
        return None
    place, qualifiers = split
    if qualifiers and not any(geo.resolve_qualifier(q) for q in qualifiers):
        return None
    if not qualifiers and geo.place_population(place) < max(
        100_000, config.untagged_min_population
    ):
        return None
    if not _resolvable(place, qualifiers, config):
        return None
    return Dateline(_printed(place, qualifiers), place, qualifiers, None, index)


def _asian(line: str, index: int) -> Dateline | None:
    match = _JA.match(line)
    if match:
        place = match.group("place")
        who = match.group("ag") or match.group("who") or ""
        tag = who if canonical_agency(who) else None
        return Dateline(place, place, (), tag, index)
    match = _ZH.match(line)
    if match:
        return Dateline(match.group("place"), match.group("place"), (), match.group("ag"), index)
    match = _KO.match(line)
    if match and canonical_agency(match.group("ag")):
        return Dateline(match.group("place"), match.group("place"), (), match.group("ag"), index)
    return None


def _clean(text: str) -> str:
    text = unicodedata.normalize("NFC", text)
    # Zero-width characters and NBSPs that CMSs leave around datelines.
    return text.replace("\u00a0", " ").replace("\u200b", "").replace("\ufeff", "")


def parse_dateline(text: str, *, config: DatelineConfig = DEFAULT_CONFIG) -> Dateline | None:
    """The dateline at the head of ``text``, or ``None`` when it has none.

    Never raises: anything that is not a string gives ``None``.
    """
    if not isinstance(text, str) or not text:
        return None
    consumed = 0
    short_so_far = True
    lines = [ln.strip() for ln in _clean(text[:6000]).splitlines()]
    seen = 0
    for raw in lines:
        if not raw:
            continue
        if seen >= config.max_lines or consumed > config.max_chars:
            break
        line = re.sub(r"^[\u2022*#>•·\s]+", "", raw)
        found = _asian(line, seen) or _tagged(line, seen, config)
        if found is None and short_so_far:
            found = _untagged(line, seen, config)
            if found is None and seen == 0:
                found = _standalone(line, seen, config)
        if found is not None:
            return found
        consumed += len(raw)
        short_so_far = short_so_far and len(raw) <= config.chrome_line_chars
        seen += 1
    return None


def parse_dateline_field(value: str | None) -> Dateline | None:
    """A wire item's own dateline field (``"Berlin (dpa) - "``, ``"KANSAS CITY, Mo."``).

    The field is trusted: no gazetteer check, and a place that does not look like a
    Latin-script dateline is kept as printed (``"加州桑尼維爾"``).
    """
    if not isinstance(value, str):
        return None
    text = _clean(value).strip()
    if not text or len(text) > 120 or "\n" in text:
        return None
    found = _asian(text, 0)
    if found is not None:
        return found
    match = _TAGGED.match(text)
    tag: str | None = None
    if match and match.group("pre").strip():
        tag = match.group("tag").strip()
        text = match.group("pre").strip()
    text = re.sub(r"\s*" + _DASH + r"\s*$", "", text).strip()
    split = _split_pre(text)
    if split is not None:
        place, qualifiers = split
        return Dateline(_printed(place, qualifiers), place, qualifiers, tag, 0)
    if any(ch in text for ch in "<>/\\\0") or not any(ch.isalpha() for ch in text):
        return None
    return Dateline(text, text, (), tag, 0)
