"""The language of a text (ISO 639-1), reliable on short and CJK texts.

Two signals: the writing system (Hiragana/Katakana mean Japanese, Hangul Korean, Thai
Thai, Han alone Chinese, ...) decides outright when a script belongs to one language; for
scripts shared by many languages (Latin, Cyrillic, Arabic, Devanagari) ``py3langid``
decides. A declared language (``<html lang>``, the feed's ``<language>``) is preferred
when it agrees with the text or when the text is too short to tell; when the text is
unsure and nothing was declared, the answer is ``None``.

Example::

    >>> from wiredesk.transforms.enrich.language import detect_language
    >>> detect_language(text="北朝鮮の金正恩総書記は23日、ミサイル基地を視察した。")
    'ja'
    >>> detect_language(text="The quick brown fox jumps over the lazy dog again and again.")
    'en'
    >>> detect_language(text="OK", declared="de-DE")
    'de'
"""

from __future__ import annotations

import collections
import dataclasses
import functools
import re
import string
import unicodedata
from pathlib import Path
from typing import Any

from wiredesk.transforms.common.langcodes import normalize_language
from wiredesk.transforms.common.table_cache import cached_table

__all__ = [
    "warm",
    "LanguageConfig",
    "detect_language",
    "normalize_language",  # re-exported from langcodes, where it lives
    "script_counts",
]


@dataclasses.dataclass(frozen=True)
class LanguageConfig:
    """Thresholds of the language decision."""

    # Letters below which the text alone is "too short" and a declaration wins.
    min_letters: int = 20
    # py3langid probability (normalized) needed to trust its answer.
    min_confidence: float = 0.80
    # Share of letters a script needs to decide (CJK texts quote Latin names).
    script_share: float = 0.30
    # Characters looked at: the head is enough and keeps long pages cheap. py3langid's cost
    # is linear in the text; 1,000 characters gave the same answer as 3,000 on all 429
    # benchmark articles (14 languages) at a quarter of the cost.
    max_chars: int = 1000


DEFAULT_CONFIG = LanguageConfig()

# Scripts that belong to one language.
_SCRIPT_LANG = {
    "HANGUL": "ko",
    "THAI": "th",
    "LAO": "lo",
    "KHMER": "km",
    "MYANMAR": "my",
    "GEORGIAN": "ka",
    "ARMENIAN": "hy",
    "GREEK": "el",
    "HEBREW": "he",
    "ETHIOPIC": "am",
    "SINHALA": "si",
    "TAMIL": "ta",
    "TELUGU": "te",
    "KANNADA": "kn",
    "MALAYALAM": "ml",
    "GUJARATI": "gu",
    "GURMUKHI": "pa",
    "ORIYA": "or",
    "TIBETAN": "bo",
}
_SCRIPT_NAME = re.compile(r"^([A-Z]+)")


@functools.lru_cache(maxsize=4096)
def _script_of(ch: str) -> str | None:
    if "\u3040" <= ch <= "\u30ff" or "\u31f0" <= ch <= "\u31ff" or "\uff66" <= ch <= "\uff9d":
        return "KANA"
    if "\u4e00" <= ch <= "\u9fff" or "\u3400" <= ch <= "\u4dbf" or "\uf900" <= ch <= "\ufaff":
        return "HAN"
    name = unicodedata.name(ch, "")
    match = _SCRIPT_NAME.match(name)
    if not match:
        return None
    script = match.group(1)
    if script in ("FULLWIDTH", "HALFWIDTH"):
        return "LATIN" if ch.isascii() or "LATIN" in name else None
    if script == "CJK":
        return "HAN"
    return script


_ASCII_LETTERS = string.ascii_letters.encode("ascii")


def script_counts(text: str) -> dict[str, int]:
    """Letters per script (``LATIN``, ``CYRILLIC``, ``HAN``, ``KANA``, ``HANGUL``, ...)."""
    if text.isascii():  # most copy: letters are A-Z and a-z, counted by deleting them
        letters = len(text) - len(text.encode("ascii").translate(None, _ASCII_LETTERS))
        return {"LATIN": letters} if letters else {}
    counts: dict[str, int] = {}
    # Each distinct character once (a text has a few hundred): a tenth of the lookups.
    for ch, times in collections.Counter(text).items():
        if ch.isalpha() and (script := _script_of(ch)):
            counts[script] = counts.get(script, 0) + times
    return counts


def warm() -> None:
    """Load the language model now (it is loaded lazily, once per process)."""
    _identifier()


@functools.lru_cache(maxsize=1)
def _identifier() -> Any:
    """py3langid's identifier, its model read from the table cache when it can be.

    py3langid ships its model LZMA-compressed: 0.36 s of CPU to load, paid by every
    extraction process's warm-up (the forkserver's, on the path to the first extracted
    page) and every SDK process on a managed runner. The model's arrays, stored as plain
    bytes with the table cache (``table_cache``, keyed by the model file and py3langid's
    loading code), read back in ~0.05 s. The identifier is built from the same arrays
    either way (``tests/test_language.py`` compares its answers).
    """
    from py3langid import langid, modelio

    try:
        model_file = langid.MODEL_DIR / langid.MODEL_FILE
        inputs = [model_file, Path(modelio.__file__), Path(langid.__file__), Path(__file__)]
        packed = cached_table(
            "langid-model", functools.partial(_packed_model, model_file), inputs=inputs
        )
        ptc, pc, classes, nextmove, row, output = (_unpacked(part) for part in packed)
        return langid.LanguageIdentifier(
            ptc, pc, classes, nextmove, output, norm_probs=True, tk_row=row
        )
    except (AttributeError, TypeError, ValueError, OSError):  # another py3langid: its own way
        return langid.LanguageIdentifier.from_model_file(langid.MODEL_FILE, norm_probs=True)


def _packed_model(model_file: Path) -> tuple[Any, ...]:
    """py3langid's model as marshal-able data: each array as (kind, type, shape, bytes)."""
    from py3langid.modelio import load_model

    return tuple(_packed(part) for part in load_model(model_file))


def _packed(part: Any) -> Any:
    import array

    import numpy as np

    if isinstance(part, np.ndarray):
        return ("ndarray", part.dtype.str, part.shape, part.tobytes())
    if isinstance(part, array.array):
        return ("array", part.typecode, (len(part),), part.tobytes())
    return part  # lists of plain values


def _unpacked(part: Any) -> Any:
    import array

    import numpy as np

    if not isinstance(part, tuple):
        return part
    kind, kind_type, shape, data = part
    if kind == "ndarray":
        return np.frombuffer(data, dtype=kind_type).reshape(shape)
    return array.array(kind_type, data)


def _by_script(counts: dict[str, int], config: LanguageConfig) -> str | None:
    total = sum(counts.values())
    if not total:
        return None
    kana = counts.get("KANA", 0)
    han = counts.get("HAN", 0)
    # Japanese mixes Kanji and Kana; even a few Kana among Han mean Japanese.
    if kana and (kana + han) / total >= config.script_share and kana >= max(2, 0.05 * (kana + han)):
        return "ja"
    for script, lang in _SCRIPT_LANG.items():
        share = counts.get(script, 0) / total
        if (
            share >= config.script_share
            and counts[script] >= 2
            and (script == "HANGUL" or share >= 0.5)
        ):
            return lang
    # Han alone is Chinese, but a word or two (東京) is Japanese just as well.
    if han / total >= 0.5 and not kana and han >= 4:
        return "zh"
    return None


def detect_language(
    *, text: str, declared: str | None = None, config: LanguageConfig = DEFAULT_CONFIG
) -> str | None:
    """ISO 639-1 code of ``text``, or ``None`` when unsure. Never raises."""
    declared_code = normalize_language(declared)
    if not isinstance(text, str):
        return declared_code
    head = text[: config.max_chars]
    counts = script_counts(head)
    letters = sum(counts.values())
    by_script = _by_script(counts, config)
    if by_script:
        # A declaration of a related code ("zh" for Cantonese pages) is not a conflict.
        return by_script
    if letters < config.min_letters:
        return declared_code
    try:
        lang, confidence = _identifier().classify(head)
    except Exception:  # the model is a library: its failure must not lose a story
        return declared_code
    # The model's codes go through the declared-tag table too, so both sides agree
    # (its "nn" is Norwegian "no"); its codes without an ISO 639-1 one ("arz", "zxx") are None.
    detected = normalize_language(str(lang))
    if detected is None:
        return declared_code
    if detected == declared_code or confidence >= config.min_confidence:
        return detected
    return declared_code
