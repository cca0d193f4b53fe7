"""Authors: people only.

Bylines arrive as whatever a page or a feed said: ``"By JANE DOE and John Roe"``,
``"Reuters Staff"``, ``"AFP, MANILA"``, ``"News Services"``, an e-mail, a URL, a date.
:func:`clean_authors` keeps the people, splits joint bylines, title-cases names that are
shouted in capitals (conservatively: ``McDONALD`` and ``O'NEIL`` come out right, mixed
case is left alone) and drops duplicates.

Example::

    >>> from wiredesk.transforms.enrich.authors import clean_authors
    >>> clean_authors(["By STEVE PEOPLES and Thomas Beaumont", "Associated Press"])
    ['Steve Peoples', 'Thomas Beaumont']
    >>> clean_authors(["Reuters Staff", "jane@example.com", "News Services"])
    []
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from collections.abc import Iterable

from wiredesk.transforms.enrich.agency import is_agency_credit

__all__ = ["AuthorsConfig", "clean_authors", "is_person_name"]


@dataclasses.dataclass(frozen=True)
class AuthorsConfig:
    max_authors: int = 12
    max_name_chars: int = 60
    max_name_words: int = 6


DEFAULT_CONFIG = AuthorsConfig()

_BY = re.compile(r"^\s*(?:by|von|par|por|di|door|av|af|written by|reported by)\s*:?\s+", re.I)
# Conjunctions only between spaces: "E. Jean Carroll" and "Y. Tanaka" keep their initials.
_SPLIT = re.compile(r"\s*(?:;|\||/|&|,)\s*|\s+(?:and|und|et|y|e|og|och|en)\s+", re.I)
_EMAIL = re.compile(r"\S+@\S+")
_URL = re.compile(r"(?:https?://|www\.)\S+|\b\S+\.(?:com|org|net|de|jp|co\.uk)\b", re.I)
_DATE = re.compile(
    r"\b(?:\d{1,4}[./-]\d{1,2}[./-]\d{1,4}|\d{1,2}:\d{2}|(?:jan|feb|mar|apr|may|jun|jul|aug|"
    r"sep|oct|nov|dec)[a-z]*\.?\s+\d{1,2}|updated|published)\b",
    re.I,
)
# Roles and outlets, not people. Compared on whole folded names or trailing words.
_NOT_PEOPLE = frozenset(
    [
        "staff staff reporter staff writer staff writers news services news service",
        "    news desk newsroom editorial board editors the editors editor web desk online desk",
        "    wire wires wire services agencies agency and agencies admin administrator guest",
        "    contributor contributors team correspondent our correspondent special correspondent",
        "    bbc news the associated press associated press press release sponsored content",
        "    guardian staff reporter guardian staff gear team mnd staff tpn",
    ]
)
_ROLE_WORDS = frozenset(
    [
        "staff",
        "desk",
        "team",
        "newsroom",
        "services",
        "service",
        "reporters",
        "reporter",
        "writers",
        "editors",
        "board",
        "correspondents",
        "bureau",
        "online",
        "digitale",
        "news",
        "redaktion",
        "rédaction",
        "redacción",
        "agencies",
        "wires",
    ]
)
_PARTICLES = frozenset(
    [
        "van",
        "von",
        "der",
        "den",
        "de",
        "da",
        "di",
        "du",
        "la",
        "le",
        "del",
        "della",
        "dos",
        "das",
        "bin",
        "al",
        "el",
        "ter",
        "ten",
    ]
)


def _fold(text: str) -> str:
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text)).strip().casefold()


def _titlecase_word(word: str, first: bool) -> str:
    lower = word.lower()
    if not first and lower in _PARTICLES:
        return lower
    parts = re.split(r"([-'’])", lower)
    out = []
    for part in parts:
        if part in "-'’":
            out.append(part)
        elif part.startswith("mc") and len(part) > 2:
            out.append("Mc" + part[2:].capitalize())
        else:
            out.append(part.capitalize())
    return "".join(out)


def _shouted(word: str) -> bool:
    letters = [ch for ch in word if ch.isalpha()]
    return len(letters) > 1 and all(ch.isupper() for ch in letters)


def _fix_case(name: str) -> str:
    words = name.split()
    # Only rewrite shouted names, word by word; a mixed-case word ("McDONALD" aside,
    # "DeShawn") is kept as written.
    if not words or sum(_shouted(w) for w in words) * 2 < len(words):
        return name
    out = []
    for i, word in enumerate(words):
        if _shouted(word):
            out.append(_titlecase_word(word, i == 0))
        elif re.match(r"^Mc[A-Z]+$", word):
            out.append("Mc" + word[2:].capitalize())
        else:
            out.append(word)
    return " ".join(out)


def is_person_name(name: str, *, config: AuthorsConfig = DEFAULT_CONFIG) -> bool:
    """True when ``name`` looks like a person: not an agency, role, outlet, e-mail or date."""
    if not isinstance(name, str):
        return False
    text = name.strip()
    if not text or len(text) > config.max_name_chars or "\0" in text:
        return False
    if _EMAIL.search(text) or _URL.search(text) or _DATE.search(text):
        return False
    if any(ch.isdigit() for ch in text):
        return False
    folded = _fold(text)
    # Agency tags are matched case-sensitively ("dpa"); a shouted "DPA" is the same credit.
    if folded in _NOT_PEOPLE or is_agency_credit(text) or is_agency_credit(folded):
        return False
    words = folded.split()
    if len(words) > config.max_name_words:
        return False
    if words and words[-1] in _ROLE_WORDS:
        return False
    letters = [ch for ch in text if ch.isalpha()]
    if len(letters) < 2:
        return False
    # Latin-script names start with a capital; CJK and other scripts have no case.
    first = next(ch for ch in text if ch.isalpha())
    return not (first.isascii() and first.islower())


def _pieces(value: str) -> Iterable[str]:
    text = _BY.sub("", unicodedata.normalize("NFKC", value)).strip()
    # "Jane Doe, Reuters" and "AFP, MANILA": one credit with an outlet or a place.
    for piece in _SPLIT.split(text):
        piece = _BY.sub("", piece).strip(" .:-–—()[]\"'")
        if piece:
            yield piece


def clean_authors(
    authors: Iterable[str] | str | None, *, config: AuthorsConfig = DEFAULT_CONFIG
) -> list[str]:
    """People named in ``authors``, in order, deduplicated. Never raises."""
    if authors is None:
        return []
    if isinstance(authors, str):
        authors = [authors]
    out: list[str] = []
    seen: set[str] = set()
    try:
        items = list(authors)
    except TypeError:
        return []
    for value in items:
        if not isinstance(value, str):
            continue
        for piece in _pieces(value):
            # A place after a wire credit ("AFP, MANILA") is no person either.
            if not is_person_name(piece, config=config):
                continue
            if (
                _fold(piece) == _fold(value.split(",")[-1])
                and "," in value
                and is_agency_credit(value.split(",")[0])
            ):
                continue
            name = _fix_case(piece)
            key = _fold(name)
            if key in seen:
                continue
            seen.add(key)
            out.append(name)
            if len(out) >= config.max_authors:
                return out
    return out
