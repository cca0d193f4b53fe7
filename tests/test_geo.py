"""Places to countries and countries to region slugs, from the libraries' data."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wiredesk.schemas.tables import REGION_SLUGS
from wiredesk.transforms.enrich import geo


@pytest.mark.parametrize(
    ("place", "qualifiers", "expected"),
    [
        ("PARIS", (), "FR"),
        ("PARIS", ("Texas",), "US"),
        ("NAIROBI", ("Kenya",), "KE"),
        ("WASHINGTON", (), "US"),
        ("WASHINGTON", ("D.C.",), "US"),
        ("LONDON", (), "GB"),
        ("LONDON", ("Ontario",), "CA"),
        ("SAO PAULO", (), "BR"),
        ("SÃO PAULO", (), "BR"),
        ("MEXICO CITY", (), "MX"),
        ("ST. JOSEPH", ("Mich.",), "US"),
        ("DUBAI", ("United Arab Emirates",), "AE"),
        ("SEOUL/TOKYO", (), "KR"),
        ("KIEV", (), "UA"),
        ("ソウル", (), "KR"),
        ("北京", (), "CN"),
        ("SINGAPORE", (), "SG"),
        ("UNITED NATIONS", (), "US"),
        ("Waghäusel", (), "DE"),
        ("Nowhere-on-Earth", (), None),
        ("", (), None),
    ],
)
def test_resolve_place(place: str, qualifiers: tuple[str, ...], expected: str | None) -> None:
    assert geo.resolve_place(place, qualifiers) == expected


@pytest.mark.parametrize(
    ("country", "slug"),
    [
        ("KE", "sub-saharan-africa"),
        ("NG", "sub-saharan-africa"),
        ("BR", "latin-america-and-the-caribbean"),
        ("MX", "latin-america-and-the-caribbean"),
        ("US", "northern-america"),
        ("EG", "northern-africa"),
        ("GB", "northern-europe"),
        ("GR", "southern-europe"),
        ("DE", "western-europe"),
        ("RU", "eastern-europe"),
        ("JP", "eastern-asia"),
        ("VN", "south-eastern-asia"),
        ("IN", "southern-asia"),
        ("KZ", "central-asia"),
        ("TR", "western-asia"),
        ("AU", "australia-and-new-zealand"),
        ("FJ", "melanesia"),
        ("FM", "micronesia"),
        ("WS", "polynesia"),
        ("AQ", "unknown"),
        ("ZZ", "unknown"),
        ("", "unknown"),
        (None, "unknown"),
    ],
)
def test_region(country: str | None, slug: str) -> None:
    assert geo.region_for_country(country) == slug


def test_every_country_maps_into_the_allowed_set() -> None:
    regions, _, _ = geo._country_rows()
    assert len(regions) > 240
    assert {geo.region_for_country(c) for c in regions} <= REGION_SLUGS


@given(st.text(max_size=300))
def test_region_any_text(value: str) -> None:
    assert geo.region_for_country(value) in REGION_SLUGS
    assert geo.normalize_region(value) in REGION_SLUGS | {None}


def test_normalize_region() -> None:
    assert geo.normalize_region("eastern-asia") == "eastern-asia"
    assert geo.normalize_region("Eastern Africa") == "sub-saharan-africa"
    assert geo.normalize_region("../etc") is None
    assert geo.normalize_region("unknown") is None


def test_text_vote() -> None:
    text = (
        "Kenya's president said on Tuesday that Kenya would send police to Haiti. "
        "Officials in Nairobi said Kenya had secured funding."
    )
    assert geo.country_from_text(text) == "KE"
    # A single passing mention is not enough.
    assert geo.country_from_text("The minister, back from Paris, said profits rose.") is None
    assert geo.country_from_text("") is None


def test_country_data_read_without_pandas() -> None:
    import sys

    geo._country_rows()
    assert "country_converter.country_converter" not in sys.modules


# ---- place mentions: the word index must find what one big regex finds -------------------


def _reference_mentions(text: str) -> list[tuple[int, str]]:
    """The straightforward definition: one alternation, longest spelling first."""
    import re

    forms, _ = geo._mention_forms()
    alternation = "|".join(re.escape(f) for f in sorted(forms, key=len, reverse=True))
    pattern = re.compile(r"(?<![\w.])(?:" + alternation + r")(?![\w])")
    return [(m.start(), m.group(0)) for m in pattern.finditer(text)]


_SAMPLE_FORMS = sorted(geo._mention_forms()[0])[::7]
_GLUE = st.sampled_from([" ", ", ", ".", "-", "'s ", "x", "é", "\n\n", " St. ", "(", "_", "2"])


@given(st.lists(st.one_of(st.sampled_from(_SAMPLE_FORMS), _GLUE), max_size=25))
def test_mentions_match_the_reference_regex(parts: list[str]) -> None:
    text = "".join(parts)
    assert list(geo._mention_index().mentions(text)) == _reference_mentions(text)


def test_mentions_skip_words_no_spelling_starts_with() -> None:
    # The index walks only words that may start a spelling (the test above holds it to
    # the reference); it falls back to every word if a spelling ever starts lowercase.
    index = geo._mention_index()
    assert index.word_re is geo._CAPITAL_WORD
    text = "talks in 2024 on _x and élan, then Paris, Москва and москва"
    assert list(index.mentions(text)) == _reference_mentions(text)
    assert [w.group(0) for w in index.word_re.finditer(text)] == [
        "élan",
        "Paris",
        "Москва",
        "москва",
    ]
    lower = geo._MentionIndex(
        by_first_word={"paris": ("paris",)}, names={}, word_re=geo._MENTION_WORD
    )
    assert list(lower.mentions("in paris")) == [(3, "paris")]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Talks in Washington and Paris.", [(9, "Washington"), (24, "Paris")]),
        ("New York and Seoul", [(0, "New York"), (13, "Seoul")]),  # not "York"
        ("Parisian cafes, e.Paris", []),  # inside a word; right after a dot
        ("Guinea-Bissau's leader", [(0, "Guinea-Bissau")]),
    ],
)
def test_mentions_longest_spelling_at_word_starts(
    text: str, expected: list[tuple[int, str]]
) -> None:
    found = list(geo._mention_index().mentions(text))
    assert found == expected == _reference_mentions(text)
