"""The syndication evaluation grid (docs/syndication.md, "How it is checked").

Real stories, and texts built from them along every axis of the definition (where the
reused text starts, how much is reused, new text on top, tail trimmed or extended, house
style, time gap). The definition labels each pair (``syndication_grid.label``); the
detector is scored on the whole grid, through all three code paths (one batch, the
stream, a later run). The floors are pinned here; bench/syndication_grid.py draws the
per-cell picture in docs/syndication-grid.svg.
"""

from __future__ import annotations

import pytest

from tests.support.syndication_grid import (
    AXES,
    GAPS,
    Scores,
    build_grid,
    evaluate,
    label,
    load_stories,
)

PRECISION_FLOOR = 0.99
RECALL_FLOOR = 0.97
ARI_FLOOR = 0.97  # NEWS-COPY's published figures: MinHash 0.737, re-ranking 0.937
RELATED_RECALL_FLOOR = 0.85
# Each code path alone has a third of the pairs, so one pair moves it three times as much.
PATH_PRECISION_FLOOR = 0.98


@pytest.fixture(scope="module")
def grid() -> tuple[Scores, dict[tuple[object, ...], Scores]]:
    return evaluate(build_grid(load_stories()))


def test_the_grid_covers_every_value_of_every_axis() -> None:
    cells = build_grid(load_stories())
    for axis, values in AXES.items():
        seen = {getattr(cell, axis) for cell in cells}
        assert seen == set(values), axis
    labels = {pair.same for cell in cells for pair in cell.pairs}
    assert labels == {True, False}


def test_pair_precision_and_recall_over_the_whole_grid(grid) -> None:
    total, _cells = grid
    print(f"grid: P={total.precision:.4f} R={total.recall:.4f} ARI={total.ari:.4f}")
    assert total.precision >= PRECISION_FLOOR, total.precision
    assert total.recall >= RECALL_FLOOR, total.recall


def test_adjusted_rand_index_over_the_whole_grid(grid) -> None:
    total, _cells = grid
    assert total.ari >= ARI_FLOOR, total.ari


@pytest.mark.parametrize("gap", GAPS, ids=["batch", "stream", "later-run"])
def test_every_code_path_holds_the_floors(grid, gap) -> None:
    _total, cells = grid
    path = Scores()
    for key, scores in cells.items():
        if key[5] == gap:
            path.add(scores)
    assert path.precision >= PATH_PRECISION_FLOOR, path.precision
    assert path.recall >= RECALL_FLOOR, path.recall


def test_new_stories_that_reuse_text_list_the_story_they_reuse(grid) -> None:
    total, _cells = grid
    assert total.related_expected > 0
    assert total.related_found / total.related_expected >= RELATED_RECALL_FLOOR
    # A story listed as related that the pair does not reuse: at most one in a thousand.
    assert total.related_wrong <= total.related_expected // 1000 + 1


@pytest.mark.parametrize(
    ("start", "top", "expected"),
    [
        (0, 0, True),  # a copy, trimmed or not
        (0, 4, True),  # the lede under new paragraphs: a write-through update
        (1, 1, True),  # a rewritten lede
        (2, 1, True),  # one new paragraph for the story's first two
        (3, 0, False),  # reuse from paragraph 4 on: a fragment, not the story's copy
        (1, 2, False),  # a new lede of two paragraphs over the story: a follow-up
        (2, 2, False),  # reuse from paragraph 3 under text of its own: a follow-up
        (3, 3, False),
        (3, 1, False),  # one paragraph of its own over paragraph 4 on: a backgrounder
    ],
)
def test_the_definition_on_its_own_terms(start: int, top: int, expected: bool) -> None:
    assert (
        label(
            start=start,
            top=top,
            full_paragraphs=4,
            share_of_copy=0.6,
            share_of_story=0.5,
            reused_words=120,
        )  # fmt: skip
        is expected
    )


def test_a_quote_is_not_a_copy() -> None:
    assert not label(start=0, top=0, full_paragraphs=0, share_of_copy=0.9, share_of_story=0.1,
                     reused_words=12)  # fmt: skip
