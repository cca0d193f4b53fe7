"""Language detection: scripts first, py3langid for shared scripts, declarations as tie-breakers."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wiredesk.transforms.enrich.language import detect_language, normalize_language


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("北朝鮮の金正恩総書記は23日、ミサイル基地を視察した。", "ja"),
        ("東京", None),
        ("国家主席习近平24日向首届中国拉美和加勒比国家航天合作论坛致贺信。", "zh"),
        ("북한이 23일 동해상으로 탄도미사일을 발사했다.", "ko"),
        ("ประเทศไทยมีฝนตกหนักในกรุงเทพฯ วันนี้", "th"),
        ("Η κυβέρνηση ανακοίνωσε νέα μέτρα σήμερα.", "el"),
        ("The government announced new measures on Tuesday to support farmers.", "en"),
        ("Die Bundesregierung hat sich am Mittwoch auf einen Haushalt geeinigt.", "de"),
        ("Le gouvernement a annoncé mardi de nouvelles mesures pour les agriculteurs.", "fr"),
        ("El Gobierno aprobó este martes el proyecto de presupuestos generales.", "es"),
        ("Правительство объявило о новых мерах поддержки фермеров во вторник.", "ru"),
        ("", None),
        ("12345 !!!", None),
    ],
)
def test_detect(text: str, expected: str | None) -> None:
    assert detect_language(text=text) == expected


def test_declared_helps_only_when_short_or_agreeing() -> None:
    assert detect_language(text="OK", declared="de-DE") == "de"
    english = "The government announced new measures on Tuesday to support farmers."
    assert detect_language(text=english, declared="en-US") == "en"
    # A wrong declaration does not override a clear text.
    assert detect_language(text=english, declared="ja") == "en"
    assert detect_language(text="東京の天気は晴れです。", declared="zh") == "ja"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("en-US", "en"),
        ("de_DE", "de"),
        ("jpn", "ja"),
        ("iw", "he"),
        ("x", None),
        ("../", None),
        (None, None),
    ],
)
def test_normalize(value: str | None, expected: str | None) -> None:
    assert normalize_language(value) == expected


def test_script_counts_ascii_fast_path_agrees_with_the_general_path() -> None:
    from wiredesk.transforms.enrich.language import script_counts

    text = "Seoul (Reuters) - 42 missiles, said officials."
    assert script_counts(text) == {"LATIN": 33}
    # One non-ASCII letter takes the per-character path: the Latin count is the same.
    assert script_counts(text + " 서울") == {"LATIN": 33, "HANGUL": 2}
    assert script_counts("2024-01-02, 10:00") == {}


@given(st.text(max_size=200))
@settings(max_examples=300, deadline=None)
def test_script_counts_equal_a_count_of_every_letter(text: str) -> None:
    from wiredesk.transforms.enrich.language import _script_of, script_counts

    expected: dict[str, int] = {}
    for ch in text:
        if ch.isalpha() and (script := _script_of(ch)):
            expected[script] = expected.get(script, 0) + 1
    assert script_counts(text) == expected


def test_the_model_read_from_the_table_cache_answers_as_py3langid_loads_it(
    tmp_path, monkeypatch
) -> None:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    from wiredesk.transforms.enrich import language

    monkeypatch.setenv("WIREDESK_CACHE_DIR", str(tmp_path))
    reference = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    texts = [
        "The quick brown fox jumps over the lazy dog.",
        "Der schnelle braune Fuchs springt über den faulen Hund.",
        "Le renard brun rapide saute par-dessus le chien paresseux.",
        "El rápido zorro marrón salta sobre el perro perezoso.",
        "Быстрая коричневая лиса перепрыгивает через ленивую собаку.",
        "الثعلب البني السريع يقفز فوق الكلب الكسول",
        "तेज़ भूरी लोमड़ी आलसी कुत्ते के ऊपर कूदती है",
        "Szybki brązowy lis przeskakuje nad leniwym psem.",
        "",
    ]
    try:
        for _ in ("built and stored", "read back"):
            language._identifier.cache_clear()
            identifier = language._identifier()
            assert [identifier.classify(t) for t in texts] == [reference.classify(t) for t in texts]
            assert [p.name.split("-")[:2] for p in tmp_path.iterdir()] == [["langid", "model"]]
    finally:
        language._identifier.cache_clear()
