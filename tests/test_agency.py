"""The agency registry and agency detection from structural places only."""

from __future__ import annotations

import pytest

from wiredesk.transforms.enrich.agency import (
    AGENCIES,
    agency_country,
    agency_from_credits,
    agency_from_domain,
    canonical_agency,
    detect_agency,
    is_agency_credit,
)


def test_registry_is_consistent() -> None:
    names = [a.name for a in AGENCIES]
    assert len(names) == len(set(names))
    for agency in AGENCIES:
        assert len(agency.country) == 2 and agency.country.isupper()
        assert canonical_agency(agency.name) == agency.name or len(agency.name) <= 3


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Reuters", "Reuters"),
        ("The Associated Press", "AP"),
        ("AP", "AP"),
        ("Agence France-Presse", "AFP"),
        ("dpa/AFP", "dpa"),
        ("AFP/dpa", "AFP"),
        ("dpa/lni", "dpa"),
        ("dpa-AFX", "dpa"),
        ("Kyodo News", "Kyodo"),
        ("共同", "Kyodo"),
        ("時事", "Jiji"),
        ("연합뉴스", "Yonhap"),
        ("新华社", "Xinhua"),
        ("EUROPA PRESS", "Europa Press"),
        ("Press Trust of India", "PTI"),
        ("The Canadian Press", "Canadian Press"),
        ("Anadolu Agency", "Anadolu"),
        ("ITAR-TASS", "TASS"),
        ("AP Photo/Jae C. Hong", None),
        ("News Services", None),
        ("CNN", None),
        ("Pa.", None),
        (None, None),
        ("", None),
    ],
)
def test_canonical(value: str | None, expected: str | None) -> None:
    assert canonical_agency(value) == expected


def test_home_countries() -> None:
    assert agency_country("Reuters") == "GB"
    assert agency_country("Kyodo") == "JP"
    assert agency_country("nobody") is None


@pytest.mark.parametrize(
    ("tail", "expected"),
    [
        ("(Reporting by Jane Smith in London; Editing by Bob Jones)", "Reuters"),
        ("Reporting by Jane Smith; Writing by Ali Khan", "Reuters"),
        ("Copyright 2024 The Associated Press. All rights reserved.", "AP"),
        ("© 2019 Associated Press. All Rights Reserved.", "AP"),
        ("— AFP", "AFP"),
        ("(Kyodo)", "Kyodo"),
        ("Source: Xinhua", "Xinhua"),
        ("into the US. PTI", "PTI"),
        ("(AP Photo/Ahn Young-joon)", None),
        ('"News Services"', None),
        ("The company told Reuters it would appeal.", None),
    ],
)
def test_credits(tail: str, expected: str | None) -> None:
    assert agency_from_credits("A body paragraph.\n\n" + tail) == expected


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://www.reuters.com/world/x", "Reuters"),
        ("https://apnews.com/article/x", "AP"),
        ("https://hosted.ap.org/x", "AP"),
        ("https://notreuters.com/x", None),
        ("not a url", None),
        ("http://[::1", None),
    ],
)
def test_domain(url: str, expected: str | None) -> None:
    assert agency_from_domain(url) == expected


def test_detect_order_and_no_body_mentions() -> None:
    body = "According to Reuters, the company is weighing a sale.\n\nReuters reported it."
    assert detect_agency(text=body) is None
    assert detect_agency(text=body, dateline_tag="AFP") == "AFP"
    assert detect_agency(text=body, wire_agency="dpa", dateline_tag="AFP") == "dpa"
    assert detect_agency(text=body, authors=["AFP, MANILA"]) == "AFP"
    assert detect_agency(text=body, source="Reuters") == "Reuters"
    assert detect_agency(text=body, wire_agency="Business Wire") == "Business Wire"
    assert detect_agency(text=body, wire_agency="../etc") is None


@pytest.mark.parametrize("value", ["Reuters Staff", "By AP", "AFP", "dpa", "Associated Press"])
def test_is_agency_credit(value: str) -> None:
    assert is_agency_credit(value)


@pytest.mark.parametrize("value", ["Jane Smith", "Steve Peoples", "Kim Jong Un"])
def test_people_are_not_agencies(value: str) -> None:
    assert not is_agency_credit(value)


def test_wire_metadata_names_agencies_from_the_one_registry() -> None:
    # The wire reader kept a table of its own, which named 4 agencies the registry did
    # not and missed 39 that it did. It now reads the registry: every spelling of an
    # agency there names it in wire metadata too, in any letter case.
    from wiredesk.transforms.sources.wire_parse import canonical_agency as wire_agency

    for agency in AGENCIES:
        for spelling in (agency.name, *agency.tags, *agency.aliases, *agency.domains):
            assert wire_agency(spelling) == agency.name, spelling
            assert wire_agency(spelling.upper()) == agency.name, spelling
    assert wire_agency("nprov:BUSINESSWIRE") == "Business Wire"
    assert wire_agency("urn:newsml:tr.com:20240101:abc") == "Reuters"
    assert wire_agency("Photo: J. Doe/Sipa USA") == "SIPA"
    assert wire_agency("https://www.ansa.it/english/news/x.html") == "ANSA"
