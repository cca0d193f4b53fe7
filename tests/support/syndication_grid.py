"""The syndication evaluation grid: pairs of real texts along every axis of the definition.

docs/syndication.md defines when a later text X is the same story as an earlier story S,
and when it is a new story that reuses S's text. This module builds X from S (a real
story of ``tests/fixtures/syndication``) along six independent axes:

* ``offset``: where in S the reused text starts: its lede (0), paragraph 2 to 6 (1-5),
  or the second half (``"half"``);
* ``share``: how much of S is reused (20-100 % of its paragraphs, as many as remain
  after the offset);
* ``top``: paragraphs of X's own text above the reused text (0-4);
* ``tail``: the reused run kept as is, trimmed (its last paragraph cut to its first
  sentence), or extended (two paragraphs of X's own appended);
* ``style``: another desk's house style (per cent, US, mln, quotes) or not;
* ``gap``: time between the two (0, 1 day, 3 days). Each gap also picks the code path
  that decides: one batch (0), the stream (1 day), or a later run (3 days), so the grid
  shows the three paths agree.

X's own text is real text too: paragraphs of other stories of the fixture set, never
of a story in the same batch. :func:`label` is the definition, applied to the cell's
parameters; the detector never sees it.

Example::

    cells = build_grid(load_stories())
    scores = evaluate(cells)
    scores.precision, scores.recall, scores.ari
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import gzip
import itertools
import json
import random
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path

from wiredesk.transforms.dedup.signatures import Sketch, sketch_text
from wiredesk.transforms.dedup.syndication import (
    Assignment,
    DocInfo,
    SyndicationIndex,
    assign_streaming,
    cluster_batch,
    compare_sketches,
)

__all__ = [
    "AXES",
    "Cell",
    "Scores",
    "Story",
    "adjusted_rand_index",
    "build_grid",
    "evaluate",
    "label",
    "load_stories",
]

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "syndication"
FIXTURE /= "syndication_docs.json.gz"

OFFSETS: tuple[int | str, ...] = (0, 1, 2, 3, 4, 5, "half")
SHARES = (0.2, 0.4, 0.6, 0.8, 1.0)
TOPS = (0, 1, 2, 3, 4)
TAILS = ("as_is", "trimmed", "extended")
STYLES = (False, True)
GAPS = (dt.timedelta(0), dt.timedelta(days=1), dt.timedelta(days=3))
AXES = {
    "offset": OFFSETS,
    "share": SHARES,
    "top": TOPS,
    "tail": TAILS,
    "style": STYLES,
    "gap": GAPS,
}
STORIES_PER_CELL = 4
T0 = dt.datetime(2024, 10, 21, 6, 0, tzinfo=dt.UTC)
TODAY = dt.date(2024, 10, 28)
# Reuse of at least this share of either text is substantial, whatever its paragraphs;
# fewer words than this are a quote, not a copy.
SUBSTANTIAL_SHARE = 0.45
MIN_REUSED_WORDS = 25
# "All of the story but its lede": a rewritten lede under a caption or a kicker.
ALL_BUT_THE_LEDE = 0.8


@dataclasses.dataclass(frozen=True)
class Story:
    key: str
    paragraphs: tuple[str, ...]
    cjk: bool


@dataclasses.dataclass(frozen=True)
class Pair:
    """One earlier story S and the later text X built from it."""

    story: Story
    text: str
    start: int  # S's paragraph where the reused text starts
    full_paragraphs: int  # S's paragraphs reused whole
    share_of_copy: float  # X's words that are S's
    share_of_story: float  # S's words that are in X
    reused_words: int = 0

    @property
    def same(self) -> bool:
        return label(start=self.start, top=self.top, full_paragraphs=self.full_paragraphs,
                     share_of_copy=self.share_of_copy, share_of_story=self.share_of_story,
                     reused_words=self.reused_words)  # fmt: skip

    @property
    def reuses(self) -> bool:
        return reuses(full_paragraphs=self.full_paragraphs, share_of_copy=self.share_of_copy)

    top: int = 0


@dataclasses.dataclass(frozen=True)
class Cell:
    offset: int | str
    share: float
    top: int
    tail: str
    style: bool
    gap: dt.timedelta
    pairs: tuple[Pair, ...]  # one for each story of the cell's batch


def _paragraphs(text: str) -> list[str]:
    return [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]


def _is_cjk(text: str) -> bool:
    return sum(1 for ch in text if "\u3040" <= ch <= "\u9fff") > len(text) * 0.2


def load_stories(path: Path = FIXTURE) -> list[Story]:
    """The original stories of the syndication fixture set with at least six paragraphs,
    every one of at least eight words (the definition's paragraphs: docs/syndication.md)."""
    with gzip.open(path, "rt", encoding="utf-8") as f:
        docs = json.load(f)["docs"]
    stories = []
    for d in docs:
        if d["variant"] != "original":
            continue
        paras = _paragraphs(d["text"])
        words = [len(p.split()) if not _is_cjk(p) else len(p) for p in paras]
        if len(paras) >= 6 and min(words) >= 8:
            stories.append(Story(d["story"], tuple(paras), _is_cjk(d["text"])))
    return sorted(stories, key=lambda s: s.key)


def label(
    *,
    start: int,
    top: int,
    full_paragraphs: int,
    share_of_copy: float,
    share_of_story: float,
    reused_words: int,
) -> bool:
    """The definition (docs/syndication.md), on a pair's structure: X is a copy of S
    when the reuse is substantial (two of S's paragraphs whole, or 45 % of either text,
    and more than a quote) and X keeps S's lede, or replaces only S's lede with at most
    one paragraph of its own."""
    substantial = reused_words >= MIN_REUSED_WORDS and (
        full_paragraphs >= 2
        or share_of_copy >= SUBSTANTIAL_SHARE
        or share_of_story >= SUBSTANTIAL_SHARE
    )
    keeps_lede = (
        start == 0
        or (top <= 1 and start <= 2)
        or (top <= 2 and start == 1 and share_of_story >= ALL_BUT_THE_LEDE)
    )
    return substantial and keeps_lede


def reuses(*, full_paragraphs: int, share_of_copy: float) -> bool:
    """X is a new story that reuses S's text (when not a copy): two of S's paragraphs
    whole, or a fifth of X."""
    return full_paragraphs >= 2 or share_of_copy >= 0.2


def _words(paragraphs: Iterable[str]) -> int:
    return sum(len(p) if _is_cjk(p) else len(p.split()) for p in paragraphs)


_STYLE = (
    (re.compile(r"(\d)\s?%"), r"\1 per cent"),
    (re.compile(r"\bpercent\b"), "per cent"),
    (re.compile(r"\bU\.S\."), "US"),
    (re.compile(r"\bU\.K\."), "UK"),
    (re.compile(r"(\d) million\b"), r"\1 mln"),
    (re.compile(r"(\d) billion\b"), r"\1bn"),
)


def house_style(paragraph: str) -> str:
    """Another desk's style: what textnorm folds back (per cent, US, mln, quotes)."""
    for pattern, repl in _STYLE:
        paragraph = pattern.sub(repl, paragraph)
    paragraph = paragraph.translate(str.maketrans("“”‘’", "\"\"''"))
    if _is_cjk(paragraph):
        paragraph = paragraph.translate(str.maketrans("0123456789「」", "０１２３４５６７８９『』"))
    return paragraph


def _first_sentence(paragraph: str) -> str:
    parts = re.split(r"(?<=[.!?。！？])\s*", paragraph, maxsplit=1)
    return parts[0] if parts and len(parts[0]) >= 20 else paragraph


def _own_text(donors: Sequence[Story], rng: random.Random, count: int) -> list[str]:
    """``count`` consecutive paragraphs of one donor story (real text, not S's)."""
    if count == 0:
        return []
    donor = rng.choice(donors)
    start = rng.randrange(0, max(1, len(donor.paragraphs) - count))
    out = list(donor.paragraphs[start : start + count])
    while len(out) < count:  # a short donor: continue with another
        other = rng.choice(donors)
        out.extend(other.paragraphs[: count - len(out)])
    return out


def _make_copy(story: Story, params: dict[str, object], donors: Sequence[Story],
               rng: random.Random) -> Pair:  # fmt: skip
    n = len(story.paragraphs)
    offset = params["offset"]
    start = n // 2 if offset == "half" else int(offset)  # type: ignore[call-overload]
    share = float(params["share"])  # type: ignore[arg-type]
    count = max(1, min(n - start, round(share * n)))
    reused = list(story.paragraphs[start : start + count])
    full = count
    if params["tail"] == "trimmed":
        cut = _first_sentence(reused[-1])
        full -= cut != reused[-1]
        reused[-1] = cut
    reused_words = _words(reused)
    if params["style"]:
        reused = [house_style(p) for p in reused]
    top = int(params["top"])  # type: ignore[call-overload]
    extra = 2 if params["tail"] == "extended" else 0
    own = _own_text(donors, rng, top + extra)  # one run: top and tail never repeat
    own_top, tail = own[:top], own[top:]
    paragraphs = [*own_top, *reused, *tail]
    return Pair(
        story=story,
        text="\n\n".join(paragraphs),
        start=start,
        full_paragraphs=full,
        share_of_copy=reused_words / max(1, _words(paragraphs)),
        share_of_story=reused_words / max(1, _words(story.paragraphs)),
        top=top,
        reused_words=reused_words,
    )


def _publisher(key: str) -> str:
    return key.rsplit("-V", 1)[0]


def _overlapping(stories: Sequence[Story]) -> dict[str, set[str]]:
    """Stories of the set that share text with one another (two pages on one event, a
    shared boilerplate paragraph): one must not lend its text to the other's copies."""
    sketches = {s.key: _sketch("\n\n".join(s.paragraphs)) for s in stories}
    out: dict[str, set[str]] = defaultdict(set)
    for a, b in itertools.combinations(stories, 2):
        cmp = compare_sketches(sketches[a.key], sketches[b.key])
        if cmp is not None and cmp.shared * cmp.step >= 16:
            out[a.key].add(_publisher(b.key))
            out[b.key].add(_publisher(a.key))
    return out


def build_grid(stories: Sequence[Story], *, seed: int = 15) -> list[Cell]:
    """Every combination of offset, share, top and tail; style and gap cycle through
    their values across those cells (each value equally often, independent of the
    other axes), so the grid stays small enough for CI. Each cell has its own batch."""
    by_script: dict[bool, list[Story]] = defaultdict(list)
    for s in stories:
        by_script[s.cjk].append(s)
    overlapping = _overlapping(stories)
    cells = []
    combos = list(itertools.product(OFFSETS, SHARES, TOPS, TAILS))
    for c, (offset, share, top, tail) in enumerate(combos):
        style = STYLES[c % len(STYLES)]
        gap = GAPS[(c // len(STYLES)) % len(GAPS)]
        rng = random.Random(seed * 1_000_003 + c)
        # Spread over the (sorted) stories so that one batch rarely holds two of a kind.
        stride = max(1, len(stories) // STORIES_PER_CELL)
        chosen = [stories[(c + k * stride) % len(stories)] for k in range(STORIES_PER_CELL)]
        params = {"offset": offset, "share": share, "top": top, "tail": tail, "style": style}
        pairs = []
        taken = {_publisher(s.key) for s in chosen} | {
            o for s in chosen for o in overlapping.get(s.key, ())
        }
        lent: set[str] = set()  # each copy of the batch has its own text from its own donor
        for story in chosen:
            # Own text comes from other publishers: two versions of one page are not
            # two stories.
            donors = [d for d in by_script[story.cjk] if _publisher(d.key) not in taken] or [
                d for d in by_script[story.cjk] if _publisher(d.key) != _publisher(story.key)
            ]
            donors = [d for d in donors if d.key not in lent] or donors
            donor = rng.choice(donors)
            lent.add(donor.key)
            pairs.append(_make_copy(story, params, [donor], rng))
        cells.append(Cell(offset, share, top, tail, style, gap, tuple(pairs)))
    return cells


@dataclasses.dataclass
class Scores:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    related_found: int = 0
    related_expected: int = 0
    related_wrong: int = 0
    gold_labels: list[str] = dataclasses.field(default_factory=list)
    pred_labels: list[str] = dataclasses.field(default_factory=list)

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def ari(self) -> float:
        return adjusted_rand_index(self.gold_labels, self.pred_labels)

    def add(self, other: Scores) -> None:
        for f in ("tp", "fp", "fn", "related_found", "related_expected", "related_wrong"):
            setattr(self, f, getattr(self, f) + getattr(other, f))
        self.gold_labels += other.gold_labels
        self.pred_labels += other.pred_labels


def _pairs(labels: Sequence[str]) -> set[tuple[int, int]]:
    groups: dict[str, list[int]] = defaultdict(list)
    for i, lab in enumerate(labels):
        groups[lab].append(i)
    return {(a, b) for members in groups.values() for a, b in itertools.combinations(members, 2)}


def adjusted_rand_index(gold: Sequence[str], pred: Sequence[str]) -> float:
    """Hubert and Arabie's adjusted Rand index of two clusterings of the same items."""
    n = len(gold)
    if n < 2:
        return 1.0

    def pairs_in(counts: Iterable[int]) -> float:
        return float(sum(c * (c - 1) // 2 for c in counts))

    index = pairs_in(Counter(zip(gold, pred, strict=True)).values())
    a = pairs_in(Counter(gold).values())
    b = pairs_in(Counter(pred).values())
    total = n * (n - 1) / 2
    expected = a * b / total
    maximum = (a + b) / 2
    return 1.0 if maximum == expected else (index - expected) / (maximum - expected)


def _assign(cell: Cell, docs: list[DocInfo]) -> dict[str, Assignment]:
    """The code path the cell's gap picks: one batch, the stream, or a later run."""
    if cell.gap == GAPS[0]:
        return {a.doc_id: a for a in cluster_batch(docs, index=None, today=TODAY)}
    if cell.gap == GAPS[1]:
        index = SyndicationIndex()
        ordered = sorted(docs, key=lambda d: (d.published_at, d.seen_order))
        return {d.doc_id: assign_streaming(d, index, today=TODAY) for d in ordered}
    earlier = [d for d in docs if d.doc_id.startswith("S")]
    later = [d for d in docs if d.doc_id.startswith("X")]
    first = SyndicationIndex()
    out = {a.doc_id: a for a in cluster_batch(earlier, index=first, today=TODAY)}
    restored = SyndicationIndex.from_rows(first.to_rows())
    out.update({a.doc_id: a for a in cluster_batch(later, index=restored, today=TODAY)})
    return out


_SKETCHES: dict[str, Sketch] = {}


def _sketch(text: str) -> Sketch:
    found = _SKETCHES.get(text)
    if found is None:
        found = _SKETCHES[text] = sketch_text(text=text)
    return found


def evaluate_cell(cell: Cell, *, tag: str = "") -> Scores:
    docs: list[DocInfo] = []
    gold: list[str] = []
    expect_related: dict[str, str] = {}
    for k, pair in enumerate(cell.pairs):
        s_id, x_id = f"S{k}", f"X{k}"
        docs.append(DocInfo(s_id, _sketch("\n\n".join(pair.story.paragraphs)), published_at=T0,
                            seen_order=2 * k))  # fmt: skip
        docs.append(DocInfo(x_id, _sketch(pair.text), published_at=T0 + cell.gap,
                            seen_order=2 * k + 1))  # fmt: skip
        gold += [f"{tag}s{k}", f"{tag}s{k}" if pair.same else f"{tag}x{k}"]
        if not pair.same and pair.reuses:
            expect_related[x_id] = s_id
    got = _assign(cell, docs)
    pred = [f"{tag}{got[d.doc_id].story_id}" for d in docs]
    gold_pairs, pred_pairs = _pairs(gold), _pairs(pred)
    scores = Scores(
        tp=len(gold_pairs & pred_pairs),
        fp=len(pred_pairs - gold_pairs),
        fn=len(gold_pairs - pred_pairs),
        gold_labels=gold,
        pred_labels=pred,
    )
    for x_id, s_id in expect_related.items():
        scores.related_expected += 1
        if got[s_id].story_id in got[x_id].related and got[x_id].is_canonical:
            scores.related_found += 1
    for d in docs:
        a = got[d.doc_id]
        wrong = set(a.related) - {got[expect_related[d.doc_id]].story_id} if (
            d.doc_id in expect_related) else set(a.related)  # fmt: skip
        scores.related_wrong += len(wrong)
    return scores


def evaluate(cells: Sequence[Cell]) -> tuple[Scores, dict[tuple[object, ...], Scores]]:
    """Scores over the whole grid, and per cell (keyed by its axis values)."""
    total = Scores()
    per_cell: dict[tuple[object, ...], Scores] = {}
    for c, cell in enumerate(cells):
        s = evaluate_cell(cell, tag=f"c{c}:")
        per_cell[(cell.offset, cell.share, cell.top, cell.tail, cell.style, cell.gap)] = s
        total.add(s)
    return total, per_cell
