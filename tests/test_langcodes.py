"""The one declared-language table: every spelling a source uses maps to one ISO 639-1 code."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wiredesk.transforms.common.langcodes import normalize_language
from wiredesk.transforms.enrich import language
from wiredesk.transforms.sources import feed_parse, wire_parse


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        # Region, script and locale tags keep only the language.
        ("en-US", "en"),
        ("pt_BR", "pt"),
        ("zh-Hant-TW", "zh"),
        ("pt_BR.UTF-8", "pt"),
        ("de_DE@euro", "de"),
        ("en-US, en;q=0.9", "en"),
        ("  fr-CA  ", "fr"),
        # Case.
        ("EN", "en"),
        ("En-gB", "en"),
        ("DE_de", "de"),
        # ISO 639-2 (B and T) codes.
        ("eng", "en"),
        ("ENG", "en"),
        ("jpn", "ja"),
        ("zho", "zh"),
        ("chi", "zh"),
        ("ger", "de"),
        ("deu", "de"),
        ("cze", "cs"),
        ("fil", "tl"),
        ("eng-GB", "en"),
        # English names.
        ("English", "en"),
        ("german", "de"),
        ("Chinese (Simplified)", "zh"),
        ("Filipino", "tl"),
        # Withdrawn ISO 639-1 codes.
        ("iw", "he"),
        ("iw-IL", "he"),
        ("in", "id"),
        ("ji", "yi"),
        ("jw", "jv"),
        ("mo", "ro"),
    ],
)
def test_known_declarations(value: str, expected: str) -> None:
    assert normalize_language(value) == expected


@pytest.mark.parametrize(
    "value",
    ["no", "nb", "nn", "nb-NO", "nn_NO", "NO", "nor", "nob", "nno", "Norwegian"],
)
def test_norwegian_is_one_code(value: str) -> None:
    assert normalize_language(value) == "no"


@pytest.mark.parametrize(
    "value",
    [
        None,
        5,
        b"en",
        ["en"],
        "",
        "   ",
        "x",
        "zz",
        "zz-ZZ",
        "english-ish junk",
        "en us",
        "klingon",
        "und",
        "x-default",
        "i-klingon",
        "e\u0301n",
        "\u212aor",  # the Kelvin sign lowercases to an ASCII "k"
        "../",
        "x" * 300,
    ],
)
def test_junk_is_none(value: object) -> None:
    assert normalize_language(value) is None


def test_norwegian_detection_agrees_with_declaration() -> None:
    # py3langid labels Bokmål "no" and Nynorsk "nn": both must meet the declared "nb-NO".
    bokmal = "Dette er en norsk setning om været i Oslo i dag, og det regner mye."
    nynorsk = "Dette er ei norsk setning om vêret i Oslo i dag, og eg likar det godt."
    assert language.detect_language(text=bokmal) == "no"
    assert language.detect_language(text=nynorsk) == "no"
    assert language.detect_language(text=bokmal, declared="nb-NO") == "no"
    assert language.detect_language(text="OK", declared="nb") == "no"


def test_old_names_are_this_function() -> None:
    assert feed_parse.normalize_language is normalize_language
    assert language.normalize_language is normalize_language
    assert wire_parse.language_code is normalize_language


@given(st.one_of(st.none(), st.integers(), st.text(max_size=60)))
def test_any_input_is_a_known_code_or_none(value: object) -> None:
    code = normalize_language(value)
    assert code is None or (len(code) == 2 and code.isascii() and code.islower())
    assert code not in ("nb", "nn", "iw", "in", "ji", "jw", "mo")


def test_doctest() -> None:
    import doctest

    from wiredesk.transforms.common import langcodes

    assert doctest.testmod(langcodes).failed == 0
