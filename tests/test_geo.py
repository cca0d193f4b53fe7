"""Places to countries and countries to region slugs, from the libraries' data."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wiredesk.schemas.tables import REGION_SLUGS
from wiredesk.transforms import geo


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
