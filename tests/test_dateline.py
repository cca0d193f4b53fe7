"""Dateline parsing: the styles wire copy uses, chrome before the dateline, no false hits."""

from __future__ import annotations

import pytest

from wiredesk.transforms.enrich.dateline import parse_dateline, parse_dateline_field


@pytest.mark.parametrize(
    ("text", "printed", "tag"),
    [
        ("SEOUL (Reuters) – North Korea fired a missile.", "SEOUL", "Reuters"),
        ("SEOUL, Oct 23 (Reuters) - North Korea fired a missile.", "SEOUL", "Reuters"),
        ("TOKYO (AP) — The yen fell.", "TOKYO", "AP"),
        ("NAIROBI, Kenya (AP) — Rains fell.", "NAIROBI, Kenya", "AP"),
        ("BERLIN (dpa) - Die Regierung tagte.", "BERLIN", "dpa"),
        ("Berlin (dpa) - Die Regierung tagte.", "Berlin", "dpa"),
        ("Berlin (dpa/AFP) - Die Regierung tagte.", "Berlin", "dpa/AFP"),
        ("WASHINGTON, D.C. (AFP) - Talks resumed.", "WASHINGTON, D.C.", "AFP"),
        ("LONDON — Prices rose.", "LONDON", None),
        ("SÃO PAULO — O juro caiu.", "SÃO PAULO", None),
        ("MEXICO CITY (AP) — The peso rose.", "MEXICO CITY", "AP"),
        ("(ANSA) - ROMA, 12 GEN - Il governo.", "ROMA", "ANSA"),
        ("MADRID, 21 nov (EFE).- El Gobierno aprobó.", "MADRID", "EFE"),
        ("【ワシントン共同】米政府は", "ワシントン", "共同"),
        ("新华社北京4月24日电 题：", "北京", "新华社"),
        ("(서울=연합뉴스) 기자 = 북한이", "서울", "연합뉴스"),
        ("BEIRUT/THE HAGUE, March 7 (Reuters) - A tank.", "BEIRUT/THE HAGUE", "Reuters"),
        ("New Delhi [India], January 5 (ANI): The cabinet met.", "New Delhi, India", "ANI"),
    ],
)
def test_styles(text: str, printed: str, tag: str | None) -> None:
    found = parse_dateline(text)
    assert found is not None
    assert (found.printed, found.tag) == (printed, tag)


@pytest.mark.parametrize("tag", ["Kyodo", "Yonhap", "Reuters"])
def test_tag_only(tag: str) -> None:
    found = parse_dateline(f"({tag}) -- The economy shrank.")
    assert found is not None
    assert (found.printed, found.place, found.tag) == (None, None, tag)


def test_chrome_before_dateline() -> None:
    text = (
        "North Korean leader Kim Jong Un speaks during a visit to the National Defense "
        "University in Pyongyang, North Korea, October 7, 2024, in this photo released by "
        "North Korea's official Korean Central News Agency.\n"
        "13:01 JST, October 23, 2024\n"
        "SEOUL (Reuters) – North Korean leader Kim Jong Un has visited missile bases."
    )
    found = parse_dateline(text)
    assert found is not None and found.printed == "SEOUL" and found.line == 2


@pytest.mark.parametrize(
    "text",
    [
        "",
        "The minister flew to Paris on Monday.\n\nLONDON has not commented.",
        "BREAKING NEWS: Pope Francis has died.",
        "UPDATE 1-Oil rises as supply worries mount",
        "Summary: profits rose.",
        "Denmark (Group D): Ninth appearance",
        "Kim Jong Un (KCNA via Reuters) inspects a base.",
        "Jordan — the point guard — scored 30 points.",
        "The company said on Monday — in a statement — that it would cut jobs.",
        "AS - www.example.com",
    ],
)
def test_no_dateline(text: str) -> None:
    assert parse_dateline(text) is None


def test_only_the_head_is_searched() -> None:
    body = "\n\n".join(["A long body paragraph " * 12] * 7)
    assert parse_dateline(body + "\n\nMADRID (Reuters) - An old story.") is None


@pytest.mark.parametrize(
    ("field", "printed", "tag"),
    [
        ("Berlin (dpa) - ", "Berlin", "dpa"),
        ("Peine (dpa/lni) - ", "Peine", "dpa/lni"),
        ("KANSAS CITY, Mo.", "KANSAS CITY, Mo.", None),
        ("MOSCOW, Monday (Reuters)", "MOSCOW", "Reuters"),
        ("加州桑尼維爾", "加州桑尼維爾", None),
    ],
)
def test_wire_field(field: str, printed: str, tag: str | None) -> None:
    found = parse_dateline_field(field)
    assert found is not None and (found.printed, found.tag) == (printed, tag)


@pytest.mark.parametrize("field", [None, "", "../", "\0", "x" * 300, "123"])
def test_wire_field_rejects_junk(field: str | None) -> None:
    assert parse_dateline_field(field) is None
