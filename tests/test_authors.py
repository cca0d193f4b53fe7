"""Authors are people: wire credits, roles, outlets, e-mails, URLs and dates are dropped."""

from __future__ import annotations

import pytest

from wiredesk.transforms.enrich.authors import clean_authors, is_person_name


@pytest.mark.parametrize(
    ("authors", "expected"),
    [
        (["By STEVE PEOPLES and Thomas Beaumont"], ["Steve Peoples", "Thomas Beaumont"]),
        (["Jane Doe, John Roe"], ["Jane Doe", "John Roe"]),
        (["Jane Doe", "jane doe", "JANE DOE"], ["Jane Doe"]),
        (["Reuters Staff", "Associated Press", "By AP", "AFP", "dpa"], []),
        (["News Services", "Staff", "Guardian staff reporter", "Gear Team"], []),
        (["jane@example.com", "https://example.com/jane", "Updated 3:15 PM", "Nov. 19"], []),
        (["AFP, MANILA"], []),
        (["Jane Doe, Reuters"], ["Jane Doe"]),
        (["E. Jean Carroll"], ["E. Jean Carroll"]),
        (["JÖRG ZSCHOCHE"], ["Jörg Zschoche"]),
        (["PATRICK McDONALD"], ["Patrick McDonald"]),
        (["ANDRÉ Oliver KLEIN"], ["André Oliver Klein"]),
        (["DeShawn McKinney"], ["DeShawn McKinney"]),
        (["LUDWIG VAN BEETHOVEN"], ["Ludwig van Beethoven"]),
        (["松岡大地"], ["松岡大地"]),
        ([], []),
        (None, []),
        ("Jane Doe", ["Jane Doe"]),
    ],
)
def test_clean(authors: list[str] | str | None, expected: list[str]) -> None:
    assert clean_authors(authors) == expected


@pytest.mark.parametrize("value", ["", "\0", "x" * 300, "../", "1234", "lowercase words here"])
def test_not_people(value: str) -> None:
    assert not is_person_name(value)
