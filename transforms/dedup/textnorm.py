"""Text normalization for near-duplicate signatures (never for display).

Copies of one wire story differ in ways that say nothing about the story: page
chrome around the body, the agency dateline, the credit line, a desk's house
style (``per cent``/``percent``, ``U.S.``/``US``, ``mln``/``million``), quote and
dash glyphs, full-width digits. This module folds those away and turns a body
into the token sequence the signatures are built from. Numbers are kept: two
daily market wraps differ mainly in their numbers.

>>> from wiredesk.transforms.dedup.textnorm import body_tokens
>>> body_tokens(text="SEOUL (Reuters) - Output rose 5 per cent in the U.S.").tokens
['output', 'rose', '5', 'percent', 'in', 'the', 'us']
>>> body_tokens(text="東京で地震").script
'char'
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from collections.abc import Sequence

__all__ = [
    "NormalizedBody",
    "body_paragraphs",
    "body_tokens",
    "fold_house_style",
    "fold_token",
    "is_char_script",
    "normalize_text",
    "raw_body",
    "split_lines",
    "strip_furniture",
]

# Scripts written without spaces between words: tokens are single characters.
_CHAR_SCRIPT_RANGES = (
    (0x0E00, 0x0EFF),  # Thai, Lao
    (0x1000, 0x109F),  # Myanmar
    (0x1780, 0x17FF),  # Khmer
    (0x3040, 0x30FF),  # Hiragana, Katakana
    (0x3100, 0x312F),  # Bopomofo
    (0x31F0, 0x31FF),  # Katakana extensions
    (0x3400, 0x4DBF),  # CJK extension A
    (0x4E00, 0x9FFF),  # CJK unified ideographs
    (0xF900, 0xFAFF),  # CJK compatibility ideographs
    (0x20000, 0x2FA1F),  # CJK extensions B..
)
_CHAR_CLASS = "".join(f"{chr(lo)}-{chr(hi)}" for lo, hi in _CHAR_SCRIPT_RANGES)
# One character of a spaceless script, or a run of other word characters.
_TOKEN_RE = re.compile(
    rf"[{_CHAR_CLASS}]|\d+(?:,\d{{3}})+(?!\d)|(?:[^\W\d_{_CHAR_CLASS}]\.){{2,}}|[^\W_{_CHAR_CLASS}]+"
)
_CHAR_RE = re.compile(rf"[{_CHAR_CLASS}]")
_LETTER_RE = re.compile(r"[^\W\d_]")

# Quotes, dashes and other punctuation never reach a token (tokens are runs of
# word characters), so glyph styles fold for free; only invisible characters
# that sit *inside* words must go before tokenizing.
_INVISIBLES = "\u00ad\u200b\u200c\u200d\u2060\ufeff"
_INVISIBLE_RE = re.compile(f"[{_INVISIBLES}]")

# House-style folding. The tokenizer keeps "u.s." and "1,200,000" whole, so
# their folding is a token rule; "5%" and "per cent" are folded in the text.
# Token rules map one case-folded token to one or two tokens and are cached
# (a news vocabulary is small). Every rule maps
# several desk spellings onto one, so two copies of a story fold alike.
_PER_CENT_RE = re.compile(r"\bper\s+cent\b")
_PER_CENT_ANYWHERE = re.compile(r"per\s+cent")  # every match of the above contains one
_TOKEN_WORDS = {
    "pct": "percent",
    "pc": "percent",
    "mln": "million",
    "mn": "million",
    "bln": "billion",
    "bn": "billion",
    "trln": "trillion",
    "tln": "trillion",
    "sept": "sep",
    "defence": "defense",
    "offence": "offense",
    "licence": "license",
    "programme": "program",
    "programmes": "programs",
    "jewellery": "jewelry",
    "grey": "gray",
    "tonnes": "tons",
    "tonne": "ton",
    "usa": "us",
}
_NUMBER_SUFFIX_RE = re.compile(r"^(\d+)(mln|mn|m|bln|bn|b|trln|tn|k)$")
_SUFFIX_WORDS = {"m": "million", "mn": "million", "mln": "million", "b": "billion",
                 "bn": "billion", "bln": "billion", "tn": "trillion", "trln": "trillion",
                 "k": "thousand"}  # fmt: skip
_SPELLING_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(?<=[a-z]{3})is(ation|ations|ing|ed|es|e)$"), r"iz\1"),
    (re.compile(r"(?<=[a-z]{3})our(s|ed|ing|ite|ites)?$"), r"or\1"),
    (re.compile(r"(?<=[a-z]{2})tre(s)?$"), r"ter\1"),
    (re.compile(r"(?<=[a-z])ll(ed|ing|er|ers)$"), r"l\1"),
    (re.compile(r"(?<=[a-z]{2})ogue(s)?$"), r"og\1"),
)
_fold_cache: dict[str, tuple[str, ...]] = {}
_FOLD_CACHE_MAX = 200_000


def fold_token(token: str) -> tuple[str, ...]:
    """House-style fold of one case-folded token (``5bn`` -> ``5 billion``)."""
    hit = _fold_cache.get(token)
    if hit is not None:
        return hit
    out: tuple[str, ...]
    if "." in token or "," in token:  # "u.s." -> "us", "1,200" -> "1200"
        out = fold_token(token.replace(".", "").replace(",", ""))
    elif token in _TOKEN_WORDS:
        out = (_TOKEN_WORDS[token],)
    elif token[:1].isdigit() and (m := _NUMBER_SUFFIX_RE.match(token)):
        out = (m.group(1), _SUFFIX_WORDS[m.group(2)])
    else:
        folded = token
        if folded.isascii() and len(folded) > 4:
            for pattern, repl in _SPELLING_RULES:
                folded = pattern.sub(repl, folded)
        out = (folded,)
    if len(_fold_cache) < _FOLD_CACHE_MAX:
        _fold_cache[token] = out
    return out


_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
    r"sept?(?:ember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
# "SEOUL (Reuters) -", "WASHINGTON, Oct 23 (Reuters) -", "Berlin (dpa) - ",
# "MADRID, 21 Nov. 2024 (Europa Press) -", "TOKYO, Japan (AP) —", "(Reuters) -".
_DATELINE_RE = re.compile(
    r"^\s*(?:[^\W\d_][\w.'/ -]{0,40}?(?:,\s*[^\n(]{0,40}?)?\s*)?"
    r"\((?:reuters|ap|afp|dpa(?:/\w+)?|kyodo|xinhua|yonhap|bloomberg|efe|ansa|europa press|"
    r"the associated press|associated press|agence france-presse|upi|pti|ani|ians|bernama|"
    r"aap|ntb|tt|anadolu|tass|ria novosti|jiji|jiji press|cna|thomson reuters)\)\s*[-:\u2013\u2014\u2015\u2010\u2011\u2012]\s*",
    re.IGNORECASE,
)
# An all-caps place before a dash: "NEW YORK -", "WASHINGTON, Oct. 23 -".
_DATELINE_CAPS_RE = re.compile(
    rf"^\s*[A-Z][A-Z.'/-]{{2,30}}(?: [A-Z][A-Z.'/-]+){{0,3}}"
    rf"(?:,\s*(?i:{_MONTH})\s*\d{{1,2}}|,\s*\d{{1,2}}\s*(?i:{_MONTH}))?"
    r"\s*[-:\u2013\u2014]\s+(?=[A-Z\"'\u201c])"
)
# Japanese / Chinese agency furniture: 【ソウル＝小池和樹】, 新华社北京4月24日电, （共同）.
_CJK_DATELINE_RE = re.compile(r"^\s*(?:【[^】]{1,30}】|新华社[^\s电]{0,16}电|\[[^\]]{1,30}\])\s*")
_UPDATE_RE = re.compile(r"^\s*(?:update|corrected|refile|rpt|exclusive)\s*\d*\s*[-:]\s*", re.I)
_BYLINE_RE = re.compile(r"^\s*by\s+[^\W\d_][\w.'-]*(?:\s+[^\W\d_][\w.'-]*){0,5}\s*$", re.I)

_CREDIT_RE = re.compile(
    r"^\W*(?:\(?\s*(?:additional\s+)?(?:reporting|writing|editing|compiled|compiling|"
    r"graphic|graphics|research)\s+by\b.*"
    r"|.*\b(?:contributed|contributing)\s+to\s+this\s+report.*"
    r"|(?:©|\(c\)|copyright)\s.*"
    r"|our standards:.*"
    r"|(?:\W*(?:news services|the associated press|associated press|reuters|afp|dpa|kyodo|"
    r"xinhua|bloomberg|ap|jiji press|yonhap)\W*)"
    r"|\(?\s*(?:dpa|afp|ap|ap/dpa)\s*[/:-]?\s*\w{0,6}\s*\)?"
    r"|\(\s*共同\s*\)|（\s*共同\s*）)\s*$",
    re.IGNORECASE,
)
# A short line that introduces a list of unrelated headlines: everything after it
# is page chrome (the seed's "POPULAR ARTICLE" and "JN ACCESS RANKING").
_LIST_MARKER_RE = re.compile(
    r"(?:popular|most read|most viewed|most popular|related|read more|recommended|"
    r"access ranking|ranking|trending|more from|more stories|you may also like|also read|"
    r"see also|top stories|latest news|more news|editor'?s picks|what to read next|"
    r"read next|more on this|also on|you might like|don't miss|mehr zum thema|"
    r"meistgelesen|lesen sie auch|das könnte sie auch interessieren|más leídas|"
    r"te puede interesar|les plus lus|à lire aussi|sur le même sujet|"
    r"関連記事|関連ニュース|ランキング|人気記事|おすすめ|相关新闻|相关阅读|热门|推荐阅读)",
    re.IGNORECASE,
)
_TIMESTAMP_TOKENS = frozenset(
    [
        "jan",
        "january",
        "feb",
        "february",
        "mar",
        "march",
        "apr",
        "april",
        "may",
        "jun",
        "june",
        "jul",
        "july",
        "aug",
        "august",
        "sep",
        "sept",
        "september",
        "oct",
        "october",
        "nov",
        "november",
        "dec",
        "december",
        "am",
        "pm",
        "a",
        "p",
        "m",
        "jst",
        "gmt",
        "utc",
        "bst",
        "est",
        "edt",
        "pst",
        "pdt",
        "cet",
        "cest",
        "ist",
        "kst",
        "hkt",
        "sgt",
        "aest",
        "updated",
        "published",
        "posted",
        "last",
        "update",
        "on",
        "at",
        "mon",
        "tue",
        "wed",
        "thu",
        "fri",
        "sat",
        "sun",
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
        "min",
        "read",
        "h",
        "uhr",
    ]
)


@dataclasses.dataclass(frozen=True)
class NormalizedBody:
    """The signature view of a body: its tokens and their script."""

    tokens: list[str]
    script: str  # "word" (spaced scripts) or "char" (CJK, Thai, ...)


def normalize_text(text: str) -> str:
    """NFKC, case-fold, drop in-word invisibles, spell out ``%`` and ``per cent``."""
    text = unicodedata.normalize("NFKC", text).casefold()
    if any(c in text for c in _INVISIBLES):
        text = _INVISIBLE_RE.sub("", text)
    text = text.replace("%", " percent ")
    # The literal search is ~20x cheaper than the \b-anchored one, and "cent" is in
    # almost half of all texts ("recent", "centre"); the phrase is in few.
    if _PER_CENT_ANYWHERE.search(text):
        text = _PER_CENT_RE.sub("percent", text)
    return text


def fold_house_style(text: str) -> str:
    """The whole fold as text: normalized, tokenized, folded, re-joined by spaces."""
    return " ".join(_fold_tokens(_TOKEN_RE.findall(normalize_text(text))))


def _fold_tokens(raw: list[str]) -> list[str]:
    cache = _fold_cache
    return [t for tok in raw for t in (cache.get(tok) or fold_token(tok))]


def split_lines(text: str) -> list[str]:
    """Paragraph-ish units: non-empty lines (extracted text puts one paragraph a line)."""
    return [line.strip() for line in text.splitlines() if line.strip()]


def is_char_script(text: str) -> bool:
    """True when most letters are of a script written without spaces."""
    sample = text[:4000]
    chars = len(_CHAR_RE.findall(sample))
    if chars == 0:
        return False
    letters = len(_LETTER_RE.findall(sample))
    return chars * 2 >= letters


_CJK_TIMESTAMP_RE = re.compile(r"^[\s\d年月日時分秒:/.()\-（）更新配信]+$")


def _is_timestamp_line(line: str) -> bool:
    if len(line) > 80:
        return False
    if _CJK_TIMESTAMP_RE.match(unicodedata.normalize("NFKC", line)):
        return True
    toks = re.findall(r"\w+", line.casefold())
    if not toks or len(toks) > 12:
        return False
    return all(t.isdigit() or t in _TIMESTAMP_TOKENS for t in toks)


def _is_list_marker(line: str) -> bool:
    if len(line) > 60:
        return False
    words = line.split()
    return 0 < len(words) <= 6 and _LIST_MARKER_RE.search(line) is not None


def strip_furniture(lines: Sequence[str]) -> list[str]:
    """Drop what is not the story: chrome before a dateline, dates, credits, headline lists.

    Conservative by design: a line is dropped only on a pattern that real body
    paragraphs do not have, so a clean body passes through unchanged.
    """
    body = list(lines)
    # A dateline within the first lines marks the lede: what comes before it is
    # page chrome (captions, timestamps, breadcrumbs).
    total = sum(map(len, body))
    chrome = 0
    for i, line in enumerate(body[:6]):
        m = ("(" in line[:90] and _DATELINE_RE.match(line)) or _CJK_DATELINE_RE.match(line)
        if m:
            # Only a short head is chrome; a dateline deep in the text is a quoted item.
            if chrome <= 600 and chrome <= 0.35 * total:
                body = [line[m.end() :]] + body[i + 1 :]
            break
        chrome += len(line)
    else:
        if body:
            m2 = _DATELINE_CAPS_RE.match(body[0])
            if m2 and len(body[0]) - m2.end() > 40:
                body[0] = body[0][m2.end() :]
    # Headline lists after a marker line, in the second half of the page.
    for i in range(max(len(body) // 3, 1), len(body)):
        if _is_list_marker(body[i]):
            body = body[:i]
            break
    body = [
        ln
        for ln in body
        if not _is_timestamp_line(ln) and not (len(ln) < 80 and _BYLINE_RE.match(ln))
    ]
    while body and (
        (len(body[-1]) < 400 and _CREDIT_RE.match(body[-1])) or _is_tail_noise(body[-1])
    ):
        body.pop()
    if body:
        body[0] = _UPDATE_RE.sub("", body[0])
        body[0] = _CJK_DATELINE_RE.sub("", body[0])
    # A credit in parentheses at the end of the last paragraph: "... (Reporting by X)".
    if body:
        body[-1] = re.sub(
            r"\(\s*(?:additional\s+)?(?:reporting|writing|editing)\s+by[^)]*\)\s*$",
            "",
            body[-1],
            flags=re.I,
        ).strip()
        if not body[-1]:
            body.pop()
    return body


def _is_tail_noise(line: str) -> bool:
    # Bare separators and one-word chrome ("-", "Advertisement", "Share").
    if len(line) > 40:
        return False
    return len(re.findall(r"\w+", line)) == 0 or line.casefold() in {
        "advertisement",
        "share",
        "share this article",
        "comments",
    }


def body_paragraphs(text: str) -> list[str]:
    """The body lines a signature is built from (furniture stripped, not normalized)."""
    return strip_furniture(split_lines(text))


def raw_body(*, text: str) -> tuple[list[list[str]], str]:
    """Normalized, not yet house-folded tokens of each body line, and the script
    (``"word"``/``"char"``). :func:`body_tokens` folds them; signatures fold and
    hash them in one cached step, and use the line starts for lede signatures."""
    paragraphs = body_paragraphs(text)
    norm = normalize_text("\n".join(paragraphs))
    script = "char" if is_char_script(norm) else "word"
    lines = [toks for line in norm.split("\n") if (toks := _TOKEN_RE.findall(line))]
    return lines, script


def body_tokens(*, text: str) -> NormalizedBody:
    """Normalized, house-folded tokens of the story body: what signatures shingle."""
    lines, script = raw_body(text=text)
    return NormalizedBody(tokens=[t for line in lines for t in _fold_tokens(line)], script=script)
