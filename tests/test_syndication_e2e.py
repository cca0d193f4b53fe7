"""Syndication end to end: real stories republished by six outlets in their own page chrome.

The pages (``tests/fixtures/syndication/chrome``, made by
``build_chrome_fixtures.py``) are real story bodies set into other real pages'
chrome, with the variations and hard negatives of docs/syndication.md. Six outlets serve
them on loopback (127.0.0.61-66), one RSS feed each; ``wiredesk run --once``
reads them; the output is read back with DuckDB and scored against the gold
story labels as pairs of URLs in the same story (articles + duplicates).
Then: a re-run adds no row, a republication that first appears in a later run
joins the first run's story, and the same input into another OUT gets the
same story ids.
"""

from __future__ import annotations

import itertools
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.syndication.chrome_outlets import ChromeOutlets
from wiredesk.cli import main
from wiredesk.query import connect

PRECISION_FLOOR = 0.99
RECALL_FLOOR = 0.97


def _run(outlets: ChromeOutlets, out: Path, feeds: Path) -> None:
    argv = ["run", "--feeds", str(feeds), "--output", str(out), "--once"]
    assert main([*argv, "--allow-private-addresses"]) == 0


def _rows(out: Path, sql: str) -> list[tuple[Any, ...]]:
    return connect(str(out)).execute(sql).fetchall()


def _placed(out: Path) -> dict[str, tuple[str, bool]]:
    """url -> (story_id, is canonical) over articles and duplicates."""
    got: dict[str, tuple[str, bool]] = {}
    for url, story_id in _rows(out, "SELECT url, story_id FROM articles"):
        assert url not in got
        got[url] = (story_id, True)
    for url, story_id in _rows(out, "SELECT url, story_id FROM duplicates"):
        assert url not in got
        got[url] = (story_id, False)
    return got


def _counts(out: Path) -> tuple[int, int, int]:
    a, d, r = (
        _rows(out, f"SELECT count(*) FROM {t}")[0][0] for t in ("articles", "duplicates", "rejects")
    )
    return a, d, r


def _pair_scores(gold: dict[str, str], pred: dict[str, str]) -> tuple[float, float]:
    tp = fp = fn = 0
    for a, b in itertools.combinations(sorted(gold), 2):
        same_gold, same_pred = gold[a] == gold[b], pred[a] == pred[b]
        tp += same_gold and same_pred
        fp += same_pred and not same_gold
        fn += same_gold and not same_pred
    return tp / max(tp + fp, 1), tp / max(tp + fn, 1)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ChromeOutlets, Path]]:
    tmp = tmp_path_factory.mktemp("synd-e2e")
    with ChromeOutlets() as outlets:
        feeds = tmp / "feeds.opml"
        feeds.write_text(outlets.opml(), "utf-8")
        yield outlets, feeds


@pytest.fixture(scope="module")
def first(
    served: tuple[ChromeOutlets, Path], tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, dict[str, tuple[str, bool]]]:
    outlets, feeds = served
    out = tmp_path_factory.mktemp("synd-out-a") / "out"
    _run(outlets, out, feeds)
    return out, _placed(out)


def test_every_page_is_read(
    served: tuple[ChromeOutlets, Path], first: tuple[Path, dict[str, tuple[str, bool]]]
) -> None:
    outlets, _ = served
    out, placed = first
    assert _rows(out, "SELECT url, reason FROM rejects") == []
    assert set(placed) == {outlets.url(p) for p in outlets.pages(1)}


def test_pair_precision_and_recall_floors(
    served: tuple[ChromeOutlets, Path], first: tuple[Path, dict[str, tuple[str, bool]]]
) -> None:
    outlets, _ = served
    _, placed = first
    gold = {outlets.url(p): p["story"] for p in outlets.pages(1)}
    precision, recall = _pair_scores(gold, {u: placed[u][0] for u in gold})
    assert precision >= PRECISION_FLOOR, precision
    assert recall >= RECALL_FLOOR, recall


def test_hard_negatives_stay_apart(
    served: tuple[ChromeOutlets, Path], first: tuple[Path, dict[str, tuple[str, bool]]]
) -> None:
    outlets, _ = served
    _, placed = first
    pages = outlets.pages(1)
    for kind in ("boilerplate", "market_wrap", "brief"):
        ids = [placed[outlets.url(p)][0] for p in pages if p["variant"] == kind]
        assert len(ids) >= 3 and len(set(ids)) == len(ids), kind
    for p in pages:
        if p["variant"] == "follow_up":
            earlier = p["story"].replace("followup-", "story-", 1)
            old = {placed[outlets.url(q)][0] for q in pages if q["story"] == earlier}
            assert placed[outlets.url(p)][0] not in old, p["story"]


def test_canonical_is_the_agency_copy_else_the_earliest(
    served: tuple[ChromeOutlets, Path], first: tuple[Path, dict[str, tuple[str, bool]]]
) -> None:
    outlets, _ = served
    out, placed = first
    stories: dict[str, list[dict[str, Any]]] = {}
    for p in outlets.pages(1):
        stories.setdefault(p["story"], []).append(p)
    beaten_by_agency = 0
    for story, members in stories.items():
        want = min(members, key=lambda p: (not p["agency_copy"], outlets.published(p)))
        canonical = [p for p in members if placed[outlets.url(p)][1]]
        assert [p["path"] for p in canonical] == [want["path"]], story
        earliest = min(members, key=outlets.published)
        beaten_by_agency += want["agency_copy"] and earliest is not want
    assert beaten_by_agency >= 3  # the agency copy wins over an earlier republication
    agency = outlets.manifest["agency"]
    assert _rows(out, f"SELECT count(*) FROM articles WHERE source = '{agency}'")[0][0] >= 10


def test_duplicates_point_at_written_stories_with_a_similarity(
    first: tuple[Path, dict[str, tuple[str, bool]]],
) -> None:
    out, _ = first
    sims = [row[0] for row in _rows(out, "SELECT similarity FROM duplicates")]
    assert len(sims) >= 60 and all(s is not None and 0 < s <= 1 for s in sims)
    orphans = _rows(
        out,
        "SELECT count(*) FROM duplicates d WHERE NOT EXISTS "
        "(SELECT 1 FROM articles a WHERE a.story_id = d.story_id)",
    )
    assert orphans == [(0,)]
    assert _rows(out, "SELECT count(*) - count(DISTINCT story_id) FROM articles") == [(0,)]


def test_later_runs_add_nothing_but_the_late_republication(
    served: tuple[ChromeOutlets, Path],
    first: tuple[Path, dict[str, tuple[str, bool]]],
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    outlets, feeds = served
    out, placed = first
    # Run into a copy of OUT so that the other tests keep reading the first run.
    again = tmp_path_factory.mktemp("synd-out-again") / "out"
    shutil.copytree(out, again)
    before = _counts(again)
    _run(outlets, again, feeds)
    assert _counts(again) == before
    late = [p for p in outlets.manifest["pages"] if p["run"] == 2]
    assert late
    outlets.publish(2)
    try:
        _run(outlets, again, feeds)
    finally:
        outlets.publish(1)
    a, d, r = _counts(again)
    assert (a, d, r) == (before[0], before[1] + len(late), before[2])
    now = _placed(again)
    for p in late:
        story_id, canonical = now[outlets.url(p)]
        assert not canonical
        run1 = {placed[outlets.url(q)][0] for q in outlets.pages(1) if q["story"] == p["story"]}
        assert run1 == {story_id}
    assert {u: v for u, v in now.items() if u in placed} == placed


def test_story_ids_are_stable_across_outputs(
    served: tuple[ChromeOutlets, Path],
    first: tuple[Path, dict[str, tuple[str, bool]]],
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    outlets, feeds = served
    _, placed = first
    other = tmp_path_factory.mktemp("synd-out-b") / "out"
    _run(outlets, other, feeds)
    assert _placed(other) == placed
