"""Score syndication detection on the evaluation grid and draw it (docs/syndication-grid.svg).

    python bench/syndication_grid.py                # prints the scores, writes the SVG
    python bench/syndication_grid.py --svg OUT.svg

The grid and its labels come from tests/support/syndication_grid.py (the definition of
docs/syndication.md); tests/test_syndication_grid.py pins the floors. The picture has
two heatmaps over (where the reused text starts) x (new paragraphs on top), each cell
aggregated over the other axes: pair precision and pair recall. A plain SVG, drawn
here in a few lines, so that it needs no plotting library.
"""

from __future__ import annotations

import argparse
import html
import sys
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.syndication_grid import (  # noqa: E402
    OFFSETS,
    TOPS,
    Scores,
    build_grid,
    evaluate,
    load_stories,
)

CELL = 46


def _colour(value: float | None) -> str:
    if value is None:
        return "#eeeeee"
    # 0.9 or less is full red, 1.0 full green: the floors live in between.
    t = max(0.0, min(1.0, (value - 0.9) / 0.1))
    red, green = int(220 * (1 - t) + 40 * t), int(60 * (1 - t) + 170 * t)
    return f"rgb({red},{green},80)"


def _heatmap(
    x0: int,
    title: str,
    values: dict[tuple[object, int], float | None],
    none_merged: frozenset[tuple[object, int]] = frozenset(),
) -> str:
    parts = [f'<text x="{x0}" y="20" font-size="14" font-weight="bold">{html.escape(title)}</text>']
    for c, top in enumerate(TOPS):
        parts.append(f'<text x="{x0 + 70 + c * CELL + CELL // 2}" y="44" font-size="11" '
                     f'text-anchor="middle">{top}</text>')  # fmt: skip
    parts.append(f'<text x="{x0 + 70 + len(TOPS) * CELL // 2}" y="32" font-size="11" '
                 'text-anchor="middle">new paragraphs on top</text>')  # fmt: skip
    for r, offset in enumerate(OFFSETS):
        name = (
            "lede"
            if offset == 0
            else ("2nd half" if offset == "half" else f"para {int(offset) + 1}")
        )
        y = 52 + r * CELL
        parts.append(f'<text x="{x0 + 64}" y="{y + CELL // 2 + 4}" font-size="11" '
                     f'text-anchor="end">{name}</text>')  # fmt: skip
        for c, top in enumerate(TOPS):
            v = values.get((offset, top))
            x = x0 + 70 + c * CELL
            label = "n/a" if v is None else f"{v:.2f}"
            if (offset, top) in none_merged:
                v, label = 1.0, "none"
            parts.append(f'<rect x="{x}" y="{y}" width="{CELL - 2}" height="{CELL - 2}" '
                         f'fill="{_colour(v)}"/>')  # fmt: skip
            parts.append(f'<text x="{x + CELL // 2 - 1}" y="{y + CELL // 2 + 4}" font-size="11" '
                         f'text-anchor="middle" fill="white">{label}</text>')  # fmt: skip
    return "\n".join(parts)


def render(cells: dict[tuple[object, ...], Scores], total: Scores) -> str:
    by: dict[tuple[object, int], Scores] = defaultdict(Scores)
    for key, scores in cells.items():
        by[(key[0], int(key[2]))].add(scores)  # type: ignore[call-overload]
    precision = {k: (s.precision if s.tp + s.fp else None) for k, s in by.items()}
    # Cells of new stories only: precision is undefined; "none" says no pair was merged.
    none_merged = frozenset(k for k, s in by.items() if not s.tp + s.fp + s.fn)
    recall = {k: (s.recall if s.tp + s.fn else None) for k, s in by.items()}
    width = 2 * (70 + len(TOPS) * CELL) + 60
    height = 52 + len(OFFSETS) * CELL + 50
    caption = (
        f"whole grid: pair precision {total.precision:.3f}, recall {total.recall:.3f}, "
        f"ARI {total.ari:.3f} ({len(cells)} cells). Rows: where the reused text starts in "
        "the story. none: no pair merged (all new stories); n/a: no copy of that kind."
    )
    body = [
        _heatmap(10, "pair precision", precision, none_merged),
        _heatmap(10 + 70 + len(TOPS) * CELL + 50, "pair recall", recall),
        f'<text x="10" y="{height - 18}" font-size="11">{html.escape(caption)}</text>',
    ]
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'font-family="sans-serif">\n<rect width="100%" height="100%" fill="white"/>\n'
        + "\n".join(body)
        + "\n</svg>\n"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--svg", type=Path, default=ROOT / "docs" / "syndication-grid.svg")
    args = parser.parse_args(argv)
    total, cells = evaluate(build_grid(load_stories()))
    print(f"pairs: precision {total.precision:.4f}, recall {total.recall:.4f}, ARI {total.ari:.4f}")
    print(f"related: {total.related_found}/{total.related_expected} found, "
          f"{total.related_wrong} listed wrongly")  # fmt: skip
    args.svg.write_text(render(cells, total), encoding="utf-8")
    print(f"wrote {args.svg}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
