"""Quality floors of enrichment on real and wire-style heads (tests/fixtures/enrich/cases.json)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wiredesk.schemas.tables import REGION_SLUGS
from wiredesk.transforms.enrich.article import Enrichment, enrich

CASES: list[dict[str, Any]] = json.loads(
    (Path(__file__).parent / "fixtures" / "enrich" / "cases.json").read_text(encoding="utf-8")
)
FLOOR = 0.97


def _run(case: dict[str, Any]) -> Enrichment:
    text = case["text"] + ("\n\n" + case["tail"] if case.get("tail") else "")
    return enrich(
        text=text,
        title=case.get("title"),
        authors=case.get("authors", []),
        declared_language=None,
        feed_country=case.get("feed_country"),
        feed_region=None,
        source=case.get("source"),
        url=case.get("url", ""),
        wire_agency=case.get("wire_agency"),
        wire_dateline=case.get("wire_dateline"),
    )


@pytest.fixture(scope="module")
def results() -> list[tuple[dict[str, Any], Enrichment]]:
    return [(case, _run(case)) for case in CASES]


def test_enough_cases() -> None:
    with_dateline_or_credit = [
        c for c in CASES if c["expected"]["dateline"] or c["expected"]["agency"]
    ]
    assert len(with_dateline_or_credit) >= 80
    assert sum(1 for c in CASES if not c["expected"]["dateline"]) >= 50
    assert {c["origin"] for c in CASES} >= {
        "article-extraction-benchmark",
        "fundus",
        "dpa-digitalwires",
        "seed",
        "wire-style",
    }


@pytest.mark.parametrize("field", ["dateline", "agency", "country"])
def test_floor(results: list[tuple[dict[str, Any], Enrichment]], field: str) -> None:
    scored = [(c, e) for c, e in results if field in c["expected"]]
    wrong = [
        (c["id"], c["expected"][field], getattr(e, field))
        for c, e in scored
        if getattr(e, field) != c["expected"][field]
    ]
    rate = 1 - len(wrong) / len(scored)
    assert rate >= FLOOR, wrong


def test_no_false_dateline(results: list[tuple[dict[str, Any], Enrichment]]) -> None:
    false = [
        (c["id"], e.dateline) for c, e in results if not c["expected"]["dateline"] and e.dateline
    ]
    assert false == []


def test_seed_case(results: list[tuple[dict[str, Any], Enrichment]]) -> None:
    case, found = next((c, e) for c, e in results if c["origin"] == "seed")
    assert (found.dateline, found.agency, found.country, found.region) == (
        "SEOUL",
        "Reuters",
        "KR",
        "eastern-asia",
    )
    assert found.country_source == "dateline"


def test_regions_valid(results: list[tuple[dict[str, Any], Enrichment]]) -> None:
    assert all(e.region in REGION_SLUGS for _, e in results)


HOSTILE = st.sampled_from(
    ["../", "/", "\0", "..\\..\\etc", "x" * 300, "northern-europe/../../x", "", " ", "\ud800"]
)
ANY_TEXT = st.one_of(st.text(max_size=400), HOSTILE)


@settings(max_examples=150, deadline=None)
@given(
    text=ANY_TEXT,
    title=st.one_of(st.none(), ANY_TEXT),
    authors=st.lists(ANY_TEXT, max_size=3),
    lang=st.one_of(st.none(), ANY_TEXT),
    feed_country=st.one_of(st.none(), ANY_TEXT, st.sampled_from(["US", "jp", "ZZ", "X"])),
    feed_region=st.one_of(st.none(), ANY_TEXT, st.sampled_from(sorted(REGION_SLUGS))),
    dateline=st.one_of(st.none(), ANY_TEXT),
)
def test_any_input_gives_valid_slug(
    text: str,
    title: str | None,
    authors: list[str],
    lang: str | None,
    feed_country: str | None,
    feed_region: str | None,
    dateline: str | None,
) -> None:
    result = enrich(
        text=text,
        title=title,
        authors=authors,
        declared_language=lang,
        feed_country=feed_country,
        feed_region=feed_region,
        source=text,
        url=text,
        wire_agency=text,
        wire_dateline=dateline,
    )
    assert result.region in REGION_SLUGS
    assert result.country is None or (len(result.country) == 2 and result.country.isalpha())
    assert result.country_source in (None, "dateline", "text", "feed")
    assert result.language is None or (len(result.language) == 2 and result.language.isalpha())
    assert result.word_count >= 0


@pytest.mark.parametrize("hostile", ["../", "/", "\0", "a/b", "x" * 300, "../../etc/passwd"])
def test_hostile_feed_region_never_reaches_region(hostile: str) -> None:
    result = enrich(
        text=hostile,
        title=hostile,
        authors=[hostile],
        declared_language=hostile,
        feed_country=hostile,
        feed_region=hostile,
        source=hostile,
        url=hostile,
        wire_agency=hostile,
        wire_dateline=hostile,
    )
    assert result.region == "unknown"
    assert result.country is None


@given(st.text(alphabet=st.characters(max_codepoint=0x2FFF), max_size=300))
@settings(max_examples=300, deadline=None)
def test_word_count_counts_tokens_with_a_letter_or_digit(text: str) -> None:
    import re

    from wiredesk.transforms.enrich.article import _NO_SPACE_CHARS, word_count

    rest = _NO_SPACE_CHARS.sub(" ", text)
    by_token = sum(1 for token in rest.split() if re.search(r"[^\W_]", token))
    assert word_count(text) == len(_NO_SPACE_CHARS.findall(text)) + by_token


@given(st.text(alphabet=st.characters(max_codepoint=127), max_size=300))
@settings(max_examples=200, deadline=None)
def test_word_count_of_ascii_text_takes_the_short_way_to_the_same_count(text: str) -> None:
    import re

    from wiredesk.transforms.enrich.article import word_count

    by_token = sum(1 for token in text.split() if re.search(r"[^\W_]", token))
    assert word_count(text) == by_token


def test_word_count_of_a_dash_and_of_cjk() -> None:
    from wiredesk.transforms.enrich.article import word_count

    assert word_count("Tokyo - The yen fell 2% on Tuesday , said _") == 8
    assert word_count("東京で雨 rain") == 5
