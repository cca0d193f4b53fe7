"""Syndication detection: is this body a copy of a story seen before? (pure, no Beam)

Candidates come from LSH over two MinHash families (whole body, and lede);
each candidate is then *verified* on the order-preserving shingle samples of
both sketches (see ``signatures``). Jaccard alone cannot tell a copy trimmed
to its first paragraphs from a follow-up that reuses half of an old story
under a new lede (both score ~0.3), so the verifier looks at two things:

* containment: how much of the more-contained body is found in the other
  (a trimmed copy is ~fully contained in the original; chrome around a
  republication only lowers the containment of the copy, not of the story);
* alignment: where the shared text starts in *each* body. Copies of one story
  share their ledes (the shared run starts at the top of both bodies, give or
  take a rewritten or topped lede or a caption); a follow-up shares only
  background paragraphs, so the shared run starts deep inside the original.

Two market wraps from different days share their template but not their
numbers (numbers are kept as tokens), so their containment stays low; two
stories that share a boilerplate paragraph share it far from both ledes.

>>> from wiredesk.transforms.dedup.signatures import sketch_text
>>> from wiredesk.transforms.dedup.syndication import DocInfo, cluster_batch
>>> body = "\\n".join(f"Paragraph {i} of the story says something new about item {i}." for i in range(9))
>>> docs = [DocInfo(doc_id="a", sketch=sketch_text(text=body), seen_order=0),
...         DocInfo(doc_id="b", sketch=sketch_text(text="Caption line.\\n" + body), seen_order=1)]
>>> [(a.doc_id, a.is_canonical) for a in cluster_batch(docs, index=None)]
[('a', True), ('b', False)]
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from wiredesk.transforms.dedup.signatures import (
    DEFAULT_LSH_CONFIG,
    DEFAULT_SKETCH_CONFIG,
    LshConfig,
    Sketch,
    SketchError,
    band_keys,
    filed_band_keys,
)

__all__ = [
    "Assignment",
    "Comparison",
    "DocInfo",
    "Match",
    "SyndicationConfig",
    "SyndicationIndex",
    "Verdict",
    "assign_streaming",
    "cluster_batch",
    "compare_sketches",
    "decode_link",
    "encode_link",
    "story_id_for",
    "verify",
]


@dataclasses.dataclass(frozen=True)
class SyndicationConfig:
    """Thresholds of the verifier and bounds of the state, in one place."""

    # Share of the more-contained body found in the other (page chrome around a
    # short trimmed copy counts against it, so not higher).
    min_containment: float = 0.45
    # Share shared between the first and last shared window, in the denser body:
    # a copy is shared end to end; a common template or market wrap is not.
    min_density: float = 0.75
    # ... and when the copy replaced the story's lede instead of keeping it.
    min_density_replaced_lede: float = 0.9
    max_replaced_lede_offset_tokens: int = 8
    # Where the shared text may start, as a share of each body: a rewritten or
    # topped lede, or a caption above the body, stays under it; a follow-up's
    # reused background starts well past it in the original.
    max_lead_gap: float = 0.3
    # ... or, in tokens, about one paragraph (a caption over a short trimmed copy,
    # a new lede over a short story), as long as it is not most of the body.
    max_lead_gap_tokens: int = 60
    max_lead_gap_short: float = 0.45
    # Shared tokens below which nothing is decided (too little evidence).
    min_shared_tokens: int = 24
    # Both containments at least this: a full republication.
    republication_containment: float = 0.8
    # A new story that reuses at least this share of its text from a known story (or
    # two of its paragraphs) lists it in ``related_story_ids``; a shared boilerplate
    # paragraph is less.
    min_related_share: float = 0.2
    # Candidates verified per lookup, most LSH hits first.
    max_candidates: int = 48
    # A bucket shared by more copies than this is boilerplate (a credit line, a
    # standard intro on thousands of stories), not evidence: it is not looked in.
    max_bucket_size: int = 64
    # Sketches remembered per story (the canonical's and copies that add coverage).
    max_sketches_per_story: int = 4
    # Days a story stays matchable after it was added (streaming and across runs).
    horizon_days: int = 7
    lsh: LshConfig = DEFAULT_LSH_CONFIG


DEFAULT_CONFIG = SyndicationConfig()
DEFAULT_HEAD_PERM = DEFAULT_SKETCH_CONFIG.head_perm

U32 = npt.NDArray[np.uint32]
U64 = npt.NDArray[np.uint64]


# Restored copies hashed together at a time: enough for numpy to pay off, few enough
# that their decoded sketches stay small beside the index.
_RESTORE_CHUNK = 4096

_LINK_MAGIC = b"WK"
_LINK_FORMAT = 1


def encode_link(key: str) -> bytes:
    """A link record for the ``sketch`` column of ``stories`` state: magic ``WK``, a
    format byte, the UTF-8 key. Sketches start with ``WS``, so a reader that knows
    only sketches skips these rows (and counts them in ``rejected_rows``)."""
    return _LINK_MAGIC + bytes([_LINK_FORMAT]) + key.encode("utf-8")


def decode_link(blob: object) -> str | None:
    """The key of an :func:`encode_link` record, or None for anything else."""
    if not isinstance(blob, bytes | bytearray) or len(blob) < 4:
        return None
    if bytes(blob[:2]) != _LINK_MAGIC or blob[2] != _LINK_FORMAT:
        return None
    try:
        return bytes(blob[3:]).decode("utf-8")
    except UnicodeDecodeError:
        return None


def story_id_for(canonical_doc_id: str) -> str:
    """The stable id of the story whose canonical copy is ``canonical_doc_id``
    (the normalized URL key): the same in every run and on every worker."""
    digest = hashlib.blake2b(canonical_doc_id.encode("utf-8"), digest_size=10).hexdigest()
    return f"st_{digest}"


# -- the verifier --------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Comparison:
    """How two sketches overlap: containment each way, where the shared text starts
    in each body (as a share, in tokens and in paragraphs), whether each body's lede
    is shared, and how dense the shared text is between its first and last shared run."""

    exact: bool
    containment_a: float  # share of a's samples found in b
    containment_b: float
    lead_gap_a: float  # share of a before its first shared run
    lead_gap_b: float
    lead_gap_tokens_a: int
    lead_gap_tokens_b: int
    density_a: float  # share of a's samples shared, from its first to its last shared run
    density_b: float
    shared: int  # shared samples at the common sampling rate
    step: int  # tokens per sample at the common rate
    # Paragraphs of each body before its shared text (0: its lede is shared), and the
    # longest run of its paragraphs that are mostly shared. None: a sketch without paragraph starts
    # (format 1) or a body of one paragraph, where only the token gaps above can tell.
    para_gap_a: int | None = None
    para_gap_b: int | None = None
    reused_paras_a: int = 0
    reused_paras_b: int = 0
    # Samples between the start of the paragraph where the shared text starts and its
    # first dense run: 0 when a copy takes the paragraph whole, more when it only
    # shares the paragraph's end (a template's closing words).
    start_in_paragraph_b: int = 0


def _span(hit: npt.NDArray[np.bool_], window: int) -> tuple[int, int]:
    """Where the shared text starts and ends: the first and last shared sample that
    opens (closes) a window of ``window`` samples (about 32 tokens) at least 60 %
    shared. A stray shared phrase, or a few shared chrome lines (a headline,
    a byline) above a new lede, do not make such a window; copied paragraphs do."""
    n = len(hit)
    window = max(1, min(window, n))
    csum = np.concatenate(([0], np.cumsum(hit, dtype=np.int32)))
    sums = csum[window:] - csum[:-window]  # sums[i] = hits in [i, i + window)
    need = 0.6 * window
    ok_start = np.flatnonzero((sums >= need) & hit[: n - window + 1])
    if len(ok_start) == 0:
        return n, n
    ends = np.flatnonzero((sums >= need) & hit[window - 1 :])
    end = int(ends[-1]) + window if len(ends) else int(ok_start[-1]) + window
    return int(ok_start[0]), end


# A paragraph counts as reused when at least this share of its samples is shared; the
# lede counts as kept when this share of it is (a lede cut to its last sentence).
_REUSED_PARAGRAPH = 0.5
_LEDE_KEPT = 0.3


def _paragraphs(sketch: Sketch, kept: npt.NDArray[np.bool_] | None, n: int) -> list[int] | None:
    """The sketch's paragraph starts as indices into its samples at the common rate
    (``kept``: which of its samples survive thinning), or None when it has fewer than
    two paragraphs known."""
    if len(sketch.para_starts) < 2:
        return None
    if kept is None:
        return [min(p, n) for p in sketch.para_starts]
    before = np.concatenate(([0], np.cumsum(kept, dtype=np.int64)))
    top = len(kept)
    return [int(before[min(p, top)]) for p in sketch.para_starts]


def _positions(mine: U32, other: U32) -> npt.NDArray[np.int64]:
    """For each of ``mine``'s samples, where it first occurs in ``other`` (-1: nowhere)."""
    order = np.argsort(other, kind="stable")
    ranked = other[order]
    at = np.searchsorted(ranked, mine)
    at_clipped = np.minimum(at, len(ranked) - 1)
    found = (at < len(ranked)) & (ranked[at_clipped] == mine)
    return np.where(found, order[at_clipped], -1).astype(np.int64)


def _unique(samples: U32) -> npt.NDArray[np.bool_]:
    """Which samples occur once in their body: a phrase the story repeats (a headline-like
    lede echoed in paragraph three) is no evidence of *where* the shared text starts."""
    _values, inverse, counts = np.unique(samples, return_inverse=True, return_counts=True)
    return np.asarray(counts[inverse] == 1)


def _lede_in_heads(known: Sketch, new: Sketch, lede_samples: int, step: int) -> bool:
    """The known body's first lede signature agrees with one of the new body's (one per
    paragraph, up to six): its lede opens a paragraph of the new body, wherever. A short
    lede's signature runs on into its second paragraph, which a follow-up may reuse
    from its own paragraph start: then only a (near) exact agreement counts."""
    k = DEFAULT_HEAD_PERM
    short = lede_samples * step < DEFAULT_SKETCH_CONFIG.head_shingles
    need = k - 1 if short else k // 2
    kh, nh = known.head_array(), new.head_array()
    if len(kh) < k or len(nh) < k or len(kh) % k or len(nh) % k:
        return False
    agree = (nh.reshape(-1, k) == kh[:k][None, :]).sum(axis=1)
    return bool(agree.max() >= need)


def _paragraph_evidence(
    hit: npt.NDArray[np.bool_],
    starts: list[int] | None,
    where: npt.NDArray[np.int64],
    unique: npt.NDArray[np.bool_],
    *,
    first_shared: int,
    lede_opens_paragraph: bool = False,
) -> tuple[int | None, int, int]:
    """(paragraphs before the shared text, the longest run of paragraphs mostly shared,
    samples from the start of the paragraph where the shared text starts to its first
    dense run) of one body.

    Shares count samples that occur once in the body. ``where``: for each sample, its
    position in the other body. The lede is kept when its first lede signature opens
    a paragraph of the other body (``lede_opens_paragraph``), or when enough of the
    first paragraph is shared (a lede cut to its last sentence keeps a third), the
    shared text's first dense run (``first_shared``) starts in it, and it comes *in the
    story's order*: before the first reused paragraph that follows. Stray template
    phrases ("Japan's Nikkei share average rose") make no dense run there. Otherwise the gap is the first paragraph mostly shared (at
    least one)."""
    if starts is None:
        return None, 0, 0
    n = len(hit)
    bounds = [*starts, n]
    shares, hits = [], []
    for k in range(len(starts)):
        lo, hi = bounds[k], max(bounds[k], bounds[k + 1])
        own = unique[lo:hi]
        hits.append(int((hit[lo:hi] & own).sum()))
        shares.append(hits[-1] / int(own.sum()) if own.any() else 0.0)
    # The longest run of consecutive paragraphs mostly shared: a copy shares paragraphs
    # in a row; the same page chrome above and below two different stories does not.
    reused = run = 0
    for share in shares:
        run = run + 1 if share >= _REUSED_PARAGRAPH else 0
        reused = max(reused, run)
    following = next((k for k in range(1, len(starts)) if shares[k] >= _REUSED_PARAGRAPH), None)
    lede_at = where[bounds[0] : bounds[1]][
        hit[bounds[0] : bounds[1]] & unique[bounds[0] : bounds[1]]
    ]
    # A lede with no samples at the common rate (short, thinned) says nothing here: the
    # lede signatures decide, or the first reused paragraph after it.
    kept_lede = (
        bounds[1] > 0
        and first_shared < bounds[1]
        and ((shares[0] >= _LEDE_KEPT and hits[0] >= 3) or (shares[0] >= 0.6 and hits[0] >= 2))
    )
    if kept_lede and following is not None and len(lede_at):
        span = slice(bounds[following], bounds[following + 1])
        later = where[span][hit[span] & unique[span]]
        kept_lede = not len(later) or float(np.median(lede_at)) < float(np.median(later))
    if kept_lede or lede_opens_paragraph:
        return 0, reused, 0
    # Where the shared text starts: the first paragraph after the lede that is mostly
    # shared and reaches the first dense shared run (a shared promo line above, or a
    # stray phrase just before, is not where a copy starts).
    first = next(
        (
            k
            for k in range(1, len(starts))
            if shares[k] >= _REUSED_PARAGRAPH and bounds[k + 1] > first_shared
        ),
        len(starts),
    )
    into = first_shared - bounds[first] if first < len(starts) else 0
    return first, reused, max(0, into)


def compare_sketches(a: Sketch, b: Sketch) -> Comparison | None:
    """Compare two sketches; ``None`` when they cannot be compared (empty, other script)."""
    if a.is_empty or b.is_empty or a.script != b.script:
        return None
    if a.content_hash == b.content_hash and a.n_tokens == b.n_tokens:
        n = len(a.samples) // 4
        paras = len(a.para_starts)
        return Comparison(
            True, 1.0, 1.0, 0.0, 0.0, 0, 0, 1.0, 1.0, n, 1 << a.shift, 0, 0, paras, paras
        )
    shift = max(a.shift, b.shift)
    sa, sb = a.sample_array(), b.sample_array()
    kept_a = kept_b = None
    if shift:
        mask = np.uint32((1 << shift) - 1)
        if a.shift < shift:
            kept_a = (sa & mask) == 0
            sa = sa[kept_a]
        if b.shift < shift:
            kept_b = (sb & mask) == 0
            sb = sb[kept_b]
    if len(sa) == 0 or len(sb) == 0:
        return None
    hit_a = np.isin(sa, sb)
    hit_b = np.isin(sb, sa)
    window = max(3, 32 >> shift)
    a0, a1 = _span(hit_a, window)
    b0, b1 = _span(hit_b, window)
    step = 1 << shift
    starts_a = _paragraphs(a, kept_a, len(sa))
    starts_b = _paragraphs(b, kept_b, len(sb))
    # Without paragraph starts on both sides, the token gaps decide (as format 1 did).
    if starts_a is None or starts_b is None:
        (gap_a, reused_a, _into_a), (gap_b, reused_b, into_b) = (None, 0, 0), (None, 0, 0)
    else:
        gap_a, reused_a, _into_a = _paragraph_evidence(
            hit_a, starts_a, _positions(sa, sb), _unique(sa), first_shared=a0,
            lede_opens_paragraph=_lede_in_heads(a, b, starts_a[1], step),
        )  # fmt: skip
        gap_b, reused_b, into_b = _paragraph_evidence(
            hit_b, starts_b, _positions(sb, sa), _unique(sb), first_shared=b0,
            lede_opens_paragraph=_lede_in_heads(b, a, starts_b[1], step),
        )  # fmt: skip
    return Comparison(
        exact=False,
        containment_a=float(hit_a.mean()),
        containment_b=float(hit_b.mean()),
        lead_gap_a=a0 / len(sa),
        lead_gap_b=b0 / len(sb),
        lead_gap_tokens_a=a0 * step,
        lead_gap_tokens_b=b0 * step,
        density_a=float(hit_a[a0:a1].mean()) if a1 > a0 else 0.0,
        density_b=float(hit_b[b0:b1].mean()) if b1 > b0 else 0.0,
        shared=int(hit_a.sum()),
        step=step,
        para_gap_a=gap_a,
        para_gap_b=gap_b,
        reused_paras_a=reused_a,
        reused_paras_b=reused_b,
        start_in_paragraph_b=into_b,
    )


@dataclasses.dataclass(frozen=True)
class Verdict:
    """What a new copy is to a known one (docs/syndication.md, "The definition").

    ``kind``: ``exact`` (same normalized body), ``republication`` (each mostly
    contains the other), ``trimmed`` (the copy is contained in the story), ``extended``
    (the copy contains the story and adds to it), ``edited`` (neither contains the
    other, the lede is kept or replaced), ``related`` (a new story that reuses the
    known one's text: not the same story) or ``different``.
    """

    same: bool
    similarity: float  # containment of the more-contained body in the other
    kind: str
    copy_in_story: float = 0.0  # share of the new copy found in the known one
    story_in_copy: float = 0.0  # share of the known copy found in the new one
    lede_shared: bool = False  # the known copy's lede is in the new one

    @property
    def related(self) -> bool:
        return self.kind == "related"


_DIFFERENT = Verdict(False, 0.0, "different")


def _keeps_lede_by_tokens(cmp: Comparison, config: SyndicationConfig) -> bool:
    """Format-1 sketches and one-paragraph bodies: the shared text starts near the top
    of both bodies, as a share of each or within about a paragraph of tokens."""
    return all(
        frac <= config.max_lead_gap
        or (tokens <= config.max_lead_gap_tokens and frac <= config.max_lead_gap_short)
        for frac, tokens in (
            (cmp.lead_gap_a, cmp.lead_gap_tokens_a),
            (cmp.lead_gap_b, cmp.lead_gap_tokens_b),
        )
    )


def verify(a: Sketch, b: Sketch, config: SyndicationConfig = DEFAULT_CONFIG) -> Verdict:
    """Is ``a`` (the new copy) the same story as ``b`` (a known, earlier copy)?

    docs/syndication.md defines it; in short, ``a`` is a copy of ``b``'s story when
    it reuses ``b``'s text in ``b``'s order (dense, not a shared template) and

    * keeps ``b``'s lede (anywhere: under a new top paragraph, a write-through
      update's new paragraphs, cut to its last sentence, in another house style), or
    * puts at most one paragraph of its own in place of ``b``'s first one or two
      (a rewritten lede);

    and the reuse is substantial: most of one body is in the other, or the lede and
    at least one more paragraph. A new story that reuses ``b``'s paragraphs from after
    its lede, under text of its own (a follow-up, a backgrounder, an analysis), is
    ``related``: its own story, linked to ``b``.
    """
    cmp = compare_sketches(a, b)
    if cmp is None:
        return _DIFFERENT
    if cmp.exact:
        return Verdict(True, 1.0, "exact", 1.0, 1.0, True)
    similarity = max(cmp.containment_a, cmp.containment_b)
    copied = (
        cmp.shared * cmp.step >= config.min_shared_tokens
        and max(cmp.density_a, cmp.density_b) >= config.min_density
    )
    if not copied:
        return Verdict(False, round(similarity, 4), "different")
    if cmp.para_gap_a is None or cmp.para_gap_b is None:
        lede_shared = _keeps_lede_by_tokens(cmp, config)
        keeps_story = lede_shared
        substantial = similarity >= config.min_containment
    else:
        lede_shared = cmp.para_gap_b == 0
        # The lede kept, or at most one paragraph of the copy's own in place of the
        # story's first one or two.
        # A replaced lede is weaker evidence than a kept one: the copy must then take
        # the story's next paragraphs whole and almost word for word (two briefs of one
        # template, other numbers, share their shape and closing words, not their text).
        # Or the copy carries all of the story but its lede under two paragraphs of its
        # own (a caption or a kicker above a rewritten lede).
        replaced = (cmp.para_gap_a <= 1 and cmp.para_gap_b <= 2) or (
            cmp.para_gap_a <= 2
            and cmp.para_gap_b == 1
            and cmp.containment_b >= config.republication_containment
        )
        keeps_story = lede_shared or (
            replaced
            and cmp.start_in_paragraph_b * cmp.step <= config.max_replaced_lede_offset_tokens
            and max(cmp.density_a, cmp.density_b) >= config.min_density_replaced_lede
        )
        substantial = similarity >= config.min_containment or cmp.reused_paras_b >= 2
    evidence = (round(cmp.containment_a, 4), round(cmp.containment_b, 4), lede_shared)
    if keeps_story and substantial:
        rep = config.republication_containment
        if min(cmp.containment_a, cmp.containment_b) >= rep:
            kind = "republication"
        elif cmp.containment_a >= rep:
            kind = "trimmed"
        elif cmp.containment_b >= rep:
            kind = "extended"
        else:
            kind = "edited"
        return Verdict(True, round(similarity, 4), kind, *evidence)
    reuses = cmp.reused_paras_b >= 2 or cmp.containment_a >= config.min_related_share
    if reuses:
        return Verdict(False, round(similarity, 4), "related", *evidence)
    return Verdict(False, round(similarity, 4), "different", *evidence)


# -- LSH buckets -----------------------------------------------------------------


class _BandStore:
    """LSH buckets as a sorted uint64 key array (12 bytes an entry) with a directory
    on the keys' top bits, plus a small dict of recent additions.

    A lookup reads the directory slot of each key and scans its few neighbours
    (about four: the directory has one slot per four keys), so it costs the same at
    10k and at 200k stories; a binary search over millions of keys would cost a
    cache miss per level. Additions are merged into the array (an O(n) sorted insert)
    when they pass an eighth of it, so adding is amortized O(1) and memory stays flat.

    An addition is only kept as its key array at first, and filed under its keys in the
    dict when a lookup needs it: most additions never meet a lookup before they are
    merged (an index restored from ``OUT/_state``, the copies a batch run files for the
    next run), and a merge takes them as arrays without a Python step per key.
    """

    def __init__(self) -> None:
        self.keys: U64 = np.zeros(0, dtype=np.uint64)
        self.vals: U32 = np.zeros(0, dtype=np.uint32)
        self.shift = np.uint64(63)
        self.directory: npt.NDArray[np.int64] = np.zeros(3, dtype=np.int64)
        self.pending: dict[int, list[int]] = {}  # filed: key -> entries, oldest first
        self.unfiled: list[tuple[int, U64]] = []  # (entry, keys), newer than ``pending``
        self.n_pending = 0  # keys in both

    def add(self, entry: int, keys: U64) -> None:
        self.unfiled.append((entry, keys))
        self.n_pending += len(keys)
        if self.n_pending > max(8192, len(self.keys) // 8):
            self._merge()

    def _file(self) -> None:
        for entry, keys in self.unfiled:
            for k in keys.tolist():
                self.pending.setdefault(k, []).append(entry)
        self.unfiled = []

    def _merge(self) -> None:
        if not self.n_pending:
            return
        # Oldest first (the dict, then the arrays in the order added): the stable sort
        # keeps each bucket's entries in insertion order.
        filed = sum(len(v) for v in self.pending.values())
        pk = np.concatenate(
            [
                np.fromiter(
                    (k for k, v in self.pending.items() for _ in v), dtype=np.uint64, count=filed
                ),
                *(keys.astype(np.uint64, copy=False) for _e, keys in self.unfiled),
            ]
        )
        pv = np.concatenate(
            [
                np.fromiter(
                    (e for v in self.pending.values() for e in v), dtype=np.uint32, count=filed
                ),
                *(np.full(len(keys), e, dtype=np.uint32) for e, keys in self.unfiled),
            ]
        )
        self.unfiled = []
        order = np.argsort(pk, kind="stable")
        pk, pv = pk[order], pv[order]
        at = np.searchsorted(self.keys, pk, side="right")  # after equal keys: insertion order
        self.keys = np.insert(self.keys, at, pk)
        self.vals = np.insert(self.vals, at, pv)
        self.pending, self.n_pending = {}, 0
        bits = max(1, min(30, int(np.log2(max(len(self.keys), 8) / 4))))
        self.shift = np.uint64(64 - bits)
        prefixes = np.arange(1 << bits, dtype=np.uint64) << self.shift
        self.directory = np.concatenate(
            (np.searchsorted(self.keys, prefixes, side="left"), [len(self.keys)])
        ).astype(np.int64)

    def query(self, keys: U64, max_bucket: int = 0) -> U32:
        """Entries in the buckets of ``keys``; a bucket holding more than ``max_bucket``
        entries (when > 0) is left out: what thousands of stories share is boilerplate."""
        found_keys: list[U64] = []
        found: list[U32] = []
        # A bucket counts once, even when two ledes hash alike. Sorted like np.unique,
        # whose fixed cost (~25 us) was most of a query on a few dozen keys.
        keys = np.array(sorted(set(keys.tolist())), dtype=np.uint64)
        self._file()
        if len(self.keys) and len(keys):
            slot = (keys >> self.shift).astype(np.int64)
            lo, hi = self.directory[slot], self.directory[slot + 1]
            size = hi - lo
            total = int(size.sum())
            if total:
                offsets = np.repeat(lo - (np.cumsum(size) - size), size)
                at = offsets + np.arange(total)
                hit = at[self.keys[at] == np.repeat(keys, size)]
                found_keys.append(self.keys[hit])
                found.append(self.vals[hit])
        if self.pending:
            got_k: list[int] = []
            got_v: list[int] = []
            for k in keys.tolist():
                for e in self.pending.get(k, ()):
                    got_k.append(k)
                    got_v.append(e)
            if got_v:
                found_keys.append(np.array(got_k, dtype=np.uint64))
                found.append(np.array(got_v, dtype=np.uint32))
        if not found:
            return np.zeros(0, dtype=np.uint32)
        vals = np.concatenate(found)
        if max_bucket > 0 and len(vals) > max_bucket:
            ks = np.concatenate(found_keys)
            _uniq, inverse, counts = np.unique(ks, return_inverse=True, return_counts=True)
            vals = vals[counts[inverse] <= max_bucket]
        return vals

    def nbytes(self) -> int:
        return int(self.keys.nbytes + self.vals.nbytes + self.directory.nbytes)


def _plausible(a: Sketch, b: Sketch) -> bool:
    """Cheap screen before :func:`verify`: MinHash agreement estimates Jaccard. One
    chance LSH collision agrees on a band (2 of 64 values); a trimmed copy with
    chrome (Jaccard >= ~0.15) agrees on ~10, a shared lede on most of a lede hash."""
    if a.content_hash == b.content_hash:
        return True
    if int(np.count_nonzero(a.minhash_array() == b.minhash_array())) >= 3:
        return True
    ha, hb = a.head_array(), b.head_array()
    k = DEFAULT_HEAD_PERM
    if len(ha) % k or len(hb) % k or not len(ha) or not len(hb):
        return True  # another layout: let the verifier decide
    eq = ha.reshape(-1, k)[:, None, :] == hb.reshape(-1, k)[None, :, :]
    return bool(eq.sum(axis=2).max() >= k // 2)


# -- the index of known stories ------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Match:
    """A known story a sketch belongs to, and the verdict that says why."""

    story_id: str
    similarity: float
    kind: str
    verdict: Verdict


def _best_match(found: Sequence[tuple[int, str, Verdict]]) -> Match | None:
    """The story of the best same-story verdict: highest similarity, ties to the
    smaller story id (deterministic)."""
    same = [f for f in found if f[2].same]
    if not same:
        return None
    _e, story_id, v = min(same, key=lambda f: (-f[2].similarity, f[1]))
    return Match(story_id=story_id, similarity=v.similarity, kind=v.kind, verdict=v)


def _related_ids(found: Sequence[tuple[int, str, Verdict]]) -> list[str]:
    """Stories with a related verdict and no same-story verdict, sorted."""
    same = {sid for _e, sid, v in found if v.same}
    return sorted({sid for _e, sid, v in found if v.related and sid not in same})


class SyndicationIndex:
    """Known stories, matchable by sketch, bounded by a horizon in days.

    Each entry is one remembered copy of a story: ``(story_id, day, sketch)``.
    A story keeps its canonical copy's sketch and up to
    ``max_sketches_per_story - 1`` more copies that add coverage (a trimmed and
    an extended copy match different later copies). ``to_rows``/``from_rows``
    persist exactly these entries, so a restored index matches like the original.
    """

    def __init__(self, config: SyndicationConfig = DEFAULT_CONFIG) -> None:
        self.config = config
        self.rejected_rows = 0  # rows from_rows could not decode
        self._reset()

    def _reset(self) -> None:
        # Link keys (a wire item's id): key -> (story id, day), and the order they were
        # recorded in (rows_since reads it).
        self._links: dict[str, tuple[str, int]] = {}
        self._link_log: list[str] = []
        self._story: list[str] = []
        self._day: list[int] = []  # date ordinal
        self._blob: list[bytes] = []  # sketch bytes: compact, decoded on verify
        self._alive: list[bool] = []
        self._by_story: dict[str, list[int]] = {}
        self._exact: dict[int, int] = {}  # content hash -> entry
        self._bands = _BandStore()

    # ---- size ----
    def __len__(self) -> int:
        """Number of stories."""
        return len(self._by_story)

    @property
    def n_entries(self) -> int:
        return sum(len(v) for v in self._by_story.values())

    def story_ids(self) -> list[str]:
        return sorted(self._by_story)

    def __contains__(self, story_id: object) -> bool:
        return story_id in self._by_story

    # ---- adding ----
    def add(self, story_id: str, sketch: Sketch, day: dt.date, keys: U64 | None = None) -> bool:
        """Remember ``sketch`` as a copy of ``story_id`` first seen on ``day``.

        Returns False (and keeps nothing) for an empty sketch, when the story
        already holds ``max_sketches_per_story`` copies, or when the copy adds no
        coverage (an exact or full republication of a copy already held).
        """
        if sketch.is_empty:
            return False
        held = self._by_story.get(story_id, [])
        if held:
            if len(held) >= self.config.max_sketches_per_story:
                return False
            for e in held:
                v = verify(sketch, self._sketch(e), self.config)
                if v.kind in ("exact", "republication"):
                    return False
        self._append(story_id, sketch, sketch.to_bytes(), day.toordinal(), keys)
        return True

    def _append(
        self, story_id: str, sketch: Sketch, blob: bytes, day: int, keys: U64 | None = None
    ) -> None:
        entry = len(self._story)
        if sketch.head_minhash != (filed := sketch.filed()).head_minhash:
            sketch, blob = filed, filed.to_bytes()
        self._story.append(story_id)
        self._day.append(day)
        self._blob.append(blob)
        self._alive.append(True)
        self._by_story.setdefault(story_id, []).append(entry)
        self._exact.setdefault(sketch.content_hash, entry)
        self._bands.add(entry, band_keys(sketch, self.config.lsh) if keys is None else keys)

    def _sketch(self, entry: int) -> Sketch:
        s = Sketch.from_bytes(self._blob[entry])
        assert isinstance(s, Sketch)  # blobs are written by _append only
        return s

    def link(self, key: str, story_id: str, day: dt.date) -> bool:
        """Remember that every doc with link ``key`` (e.g. ``wire:<item id>``) belongs to
        ``story_id``. The first story a key is linked to stays; a later day keeps the link
        alive longer. Returns True when something new must be persisted."""
        if not key:
            return False
        held = self._links.get(key)
        ordinal = day.toordinal()
        if held is not None and held[1] >= ordinal:
            return False
        self._links[key] = (held[0] if held else story_id, ordinal)
        self._link_log.append(key)
        return True

    def story_for_key(self, key: str | None) -> str | None:
        """The story a link key belongs to, or None."""
        if not key:
            return None
        held = self._links.get(key)
        return held[0] if held else None

    def similarity_to_story(self, sketch: Sketch, story_id: str) -> float:
        """How much of the more-contained body is shared with the story's best copy held,
        for a doc joined by its link key: the measured overlap, never below 0.01 (the
        same item, whatever its text)."""
        best = 0.0
        for e in self._by_story.get(story_id, ()):
            cmp = compare_sketches(sketch, self._sketch(e)) if self._alive[e] else None
            if cmp is not None:
                best = max(best, cmp.containment_a, cmp.containment_b)
        return round(min(1.0, max(0.01, best)), 4)

    # ---- matching ----
    def candidates(self, sketch: Sketch, keys: U64 | None = None) -> list[int]:
        """Live entries sharing LSH buckets with ``sketch``, most shared buckets first.
        ``keys``: the sketch's ``band_keys`` under this index's LSH config, if known."""
        if sketch.is_empty:
            return []
        hits = self._bands.query(
            band_keys(sketch, self.config.lsh, lookup=True) if keys is None else keys,
            max_bucket=self.config.max_bucket_size,
        )
        out: list[int] = []
        exact = self._exact.get(sketch.content_hash)
        if exact is not None and self._alive[exact]:
            out.append(exact)
        if len(hits):
            ids, counts = np.unique(hits, return_counts=True)
            order = np.lexsort((ids, -counts))
            for e in ids[order][: self.config.max_candidates].tolist():
                if self._alive[e] and e != exact:
                    out.append(e)
        return out

    def comparisons(
        self, sketch: Sketch, keys: U64 | None = None
    ) -> list[tuple[int, str, Verdict]]:
        """Every (entry, story_id, verdict) for ``sketch`` that is the same story or a
        related one (a new story reusing the entry's text)."""
        out = []
        for e in self.candidates(sketch, keys):
            known = self._sketch(e)
            if not _plausible(sketch, known):
                continue
            v = verify(sketch, known, self.config)
            if v.same or v.related:
                out.append((e, self._story[e], v))
        return out

    def matches(self, sketch: Sketch, keys: U64 | None = None) -> list[tuple[int, str, Verdict]]:
        """Every verified (entry, story_id, verdict) of the same story as ``sketch``."""
        return [m for m in self.comparisons(sketch, keys) if m[2].same]

    def match(self, sketch: Sketch, keys: U64 | None = None) -> Match | None:
        """The known story ``sketch`` is a copy of, or None. Never raises on a valid sketch."""
        if not isinstance(sketch, Sketch):
            return None
        return _best_match(self.comparisons(sketch, keys))

    def related_to(self, sketch: Sketch, keys: U64 | None = None) -> list[str]:
        """Known stories whose text ``sketch`` reuses without being their copy."""
        if not isinstance(sketch, Sketch):
            return []
        return _related_ids(self.comparisons(sketch, keys))

    # ---- bounding ----
    def expire(self, before_day: dt.date) -> int:
        """Forget every copy (and link) added before ``before_day``; returns how many
        copies were dropped."""
        cut = before_day.toordinal()
        keep = [e for e, d in enumerate(self._day) if self._alive[e] and d >= cut]
        dropped = sum(self._alive) - len(keep)
        links = {k: v for k, v in self._links.items() if v[1] >= cut}
        if dropped or len(links) != len(self._links):
            self._rebuild(keep, links)
        return dropped

    def expire_horizon(self, today: dt.date) -> int:
        """Forget what is older than ``config.horizon_days`` before ``today``."""
        return self.expire(today - dt.timedelta(days=self.config.horizon_days))

    def _rebuild(self, keep: list[int], links: dict[str, tuple[str, int]]) -> None:
        old = (self._story, self._day, self._blob)
        self._reset()
        for e in keep:
            blob = old[2][e]
            s = Sketch.from_bytes(blob)
            assert isinstance(s, Sketch)
            self._append(old[0][e], s, blob, old[1][e])
        self._links = dict(links)
        self._link_log = list(links)

    # ---- persistence ----
    def to_rows(self) -> list[dict[str, Any]]:
        """Plain rows ``{story_id: str, day: date, sketch: bytes}``: the copies in
        insertion order, then the links (their ``sketch`` is an :func:`encode_link`
        record, not a sketch)."""
        return self.rows_since((0, 0))

    def mark(self) -> tuple[int, int]:
        """A watermark for :meth:`rows_since`: what the index holds now."""
        return len(self._story), len(self._link_log)

    def rows_since(self, mark: tuple[int, int]) -> list[dict[str, Any]]:
        """The rows added after ``mark`` (what a run must persist), in insertion order."""
        rows = [
            {
                "story_id": self._story[e],
                "day": dt.date.fromordinal(self._day[e]),
                "sketch": self._blob[e],
            }
            for e in range(mark[0], len(self._story))
            if self._alive[e]
        ]
        # Each key once, at its latest record (a refreshed day), in the order recorded.
        latest = {key: n for n, key in enumerate(self._link_log[mark[1] :])}
        for key in sorted(latest, key=latest.__getitem__):
            if key in self._links:
                story_id, day = self._links[key]
                rows.append(
                    {
                        "story_id": story_id,
                        "day": dt.date.fromordinal(day),
                        "sketch": encode_link(key),
                    }
                )
        return rows

    @classmethod
    def from_rows(
        cls, rows: Iterable[Mapping[str, Any]], config: SyndicationConfig = DEFAULT_CONFIG
    ) -> SyndicationIndex:
        """Restore :meth:`to_rows` output. Undecodable rows are skipped and counted in
        ``rejected_rows`` (state written by another version must not stop a run)."""
        index = cls(config)
        # Copies are filed in chunks, so that their bucket keys are hashed together.
        chunk: list[tuple[str, Sketch, bytes, int]] = []
        for row in rows:
            try:
                story_id = row["story_id"]
                day = row["day"]
                blob = row["sketch"]
            except (KeyError, TypeError):
                index.rejected_rows += 1
                continue
            if isinstance(day, dt.datetime):
                day = day.date()
            key = decode_link(blob)
            if key is not None and isinstance(story_id, str) and isinstance(day, dt.date):
                index.link(key, story_id, day)
                continue
            sketch = Sketch.from_bytes(bytes(blob)) if isinstance(blob, bytes | bytearray) else None
            if (
                not isinstance(story_id, str)
                or not isinstance(day, dt.date)
                or not isinstance(sketch, Sketch)
                or sketch.is_empty
            ):
                index.rejected_rows += 1
                continue
            chunk.append((story_id, sketch, bytes(blob), day.toordinal()))
            if len(chunk) >= _RESTORE_CHUNK:
                index._append_many(chunk)
                chunk = []
        index._append_many(chunk)
        return index

    def _append_many(self, copies: Sequence[tuple[str, Sketch, bytes, int]]) -> None:
        # The keys of the form _append files (it keeps a copy's filed form).
        keys = filed_band_keys([c[1].filed() for c in copies], self.config.lsh)
        for (story_id, sketch, blob, day), its_keys in zip(copies, keys, strict=True):
            self._append(story_id, sketch, blob, day, its_keys)

    def nbytes(self) -> int:
        """Approximate bytes held (sketch blobs + bucket arrays + links), for capacity planning."""
        links = sum(len(k) + 120 for k in self._links)
        return sum(len(b) + 33 for b in self._blob) + self._bands.nbytes() + links


# -- batch and streaming assignment ---------------------------------------------------


@dataclasses.dataclass(frozen=True)
class DocInfo:
    """One new copy to assign. ``doc_id`` is the normalized URL key."""

    doc_id: str
    sketch: Sketch | SketchError
    is_agency_copy: bool = False  # the wire agency's own copy (wire item, agency site)
    published_at: dt.datetime | None = None
    seen_order: int = 0
    # Docs with one link key are one story whatever their text (every version of a
    # wire item: ``wire:<item id>``), in one batch and across runs.
    link_key: str | None = None


@dataclasses.dataclass(frozen=True)
class Assignment:
    doc_id: str
    story_id: str
    is_canonical: bool
    similarity: float  # 1.0 for a canonical copy
    kind: str  # "canonical", "same_item" (joined by link key) or a Verdict kind
    # The evidence of a duplicate (docs/syndication.md, "What a match says").
    copy_in_story: float | None = None
    story_in_copy: float | None = None
    lede_shared: bool | None = None
    # A canonical copy: the stories whose text this new story reuses.
    related: tuple[str, ...] = ()

    @property
    def relation(self) -> str | None:
        """The ``duplicates.relation`` of a non-canonical copy: ``exact``,
        ``republication``, ``trimmed``, ``extended``, ``edited`` or ``wire_version``."""
        if self.is_canonical:
            return None
        return "wire_version" if self.kind == "same_item" else self.kind


def _joined(doc_id: str, story_id: str, v: Verdict) -> Assignment:
    """The assignment of a copy that joins ``story_id`` on verdict ``v``."""
    return Assignment(
        doc_id, story_id, False, v.similarity, v.kind, v.copy_in_story, v.story_in_copy,
        v.lede_shared,
    )  # fmt: skip


_FAR_FUTURE = dt.datetime.max.replace(tzinfo=dt.UTC)


def _aware(t: dt.datetime | None) -> dt.datetime:
    if t is None:
        return _FAR_FUTURE
    return t if t.tzinfo is not None else t.replace(tzinfo=dt.UTC)


def _priority(d: DocInfo) -> tuple[int, int, dt.datetime, int, str]:
    """Canonical order: the agency's own copy, then the earliest published, then
    the first seen, then the doc id (so a tie never depends on input order)."""
    return (
        0 if d.is_agency_copy else 1,
        1 if d.published_at is None else 0,
        _aware(d.published_at),
        d.seen_order,
        d.doc_id,
    )


def _day_of(d: DocInfo, today: dt.date) -> dt.date:
    return _aware(d.published_at).astimezone(dt.UTC).date() if d.published_at else today


def cluster_batch(
    docs: Sequence[DocInfo],
    *,
    index: SyndicationIndex | None,
    today: dt.date | None = None,
    config: SyndicationConfig | None = None,
) -> list[Assignment]:
    """Assign every doc of a batch to a story; returns assignments in input order.

    * A doc that matches a story of ``index`` (earlier runs) joins it, never as
      canonical (earlier files are final).
    * The other docs form new stories. Docs are taken in canonical order (agency
      copy, earliest published, seen_order, doc_id), so the first doc of each
      story is its canonical copy, and ``story_id = story_id_for(its doc_id)``.
    * No chaining: a doc joins a new story only if it matches the story's
      canonical copy or at least half of its copies, so a follow-up that happens
      to match one republication does not pull the two stories together.
    * Docs with the same ``link_key`` (versions of one wire item) are one story,
      whatever their text: a key the index knows joins its story; a key seen earlier
      in the batch joins that doc's story. A story whose canonical copy has a link
      key gets ``story_id_for(link_key)``, the same for every version.
    * When ``index`` is given, the new stories and useful copies are added to it
      (day = the doc's publication day, else ``today``) for later runs, and so are
      the links of every doc with a key.
    """
    cfg = config or (index.config if index is not None else DEFAULT_CONFIG)
    today = today or dt.datetime.now(dt.UTC).date()
    batch = SyndicationIndex(cfg)  # entries = this batch's docs, story = story id
    members: dict[str, list[int]] = {}  # story id -> batch entries
    canonical_entry: dict[str, int] = {}
    doc_of_entry: list[int] = []
    result: dict[int, Assignment] = {}
    keyed: dict[str, str] = {}  # link key -> story id, in this batch
    keys_of: dict[int, U64] = {}  # lookup band keys of each doc, computed once
    related_prior: dict[str, list[str]] = {}  # new story -> stories of earlier runs
    related_pairs: set[tuple[str, str]] = set()  # (later, earlier) stories of this batch
    order = sorted(range(len(docs)), key=lambda k: _priority(docs[k]))
    for i in order:
        d = docs[i]
        sketch = d.sketch
        key = d.link_key or None
        known = (index.story_for_key(key) if index is not None else None) or keyed.get(key or "")
        usable = isinstance(sketch, Sketch) and not sketch.is_empty
        if known is not None:
            # Another version of an item already placed: its story, whatever the text.
            comparable = sketch if usable and isinstance(sketch, Sketch) else None
            result[i] = _same_item(d.doc_id, known, comparable, index, batch)
            if usable:
                assert isinstance(sketch, Sketch)
                members.setdefault(known, []).append(len(doc_of_entry))
                doc_of_entry.append(i)
                batch._append(known, sketch, sketch.to_bytes(), 0, band_keys(sketch, cfg.lsh))
            continue
        if not usable:
            # Nothing to compare: a story of its own.
            sid = story_id_for(key or d.doc_id)
            result[i] = Assignment(d.doc_id, sid, True, 1.0, "canonical")
            if key:
                keyed[key] = sid
            continue
        assert isinstance(sketch, Sketch)
        keys = keys_of[i] = band_keys(sketch, cfg.lsh, lookup=True)
        found_prior = (
            index.comparisons(sketch, _same_lsh(index, cfg, keys)) if index is not None else []
        )
        prior = _best_match(found_prior)
        if prior is not None:
            sid = prior.story_id
            result[i] = _joined(d.doc_id, sid, prior.verdict)
        else:
            found = batch.comparisons(sketch, keys)
            joined = _join_batch_story(found, members, canonical_entry, exclude=None)
            if joined is not None:
                sid, v = joined
                result[i] = _joined(d.doc_id, sid, v)
            else:
                sid = story_id_for(key or d.doc_id)
                result[i] = Assignment(d.doc_id, sid, True, 1.0, "canonical")
                canonical_entry[sid] = len(doc_of_entry)
                related_prior[sid] = _related_ids(found_prior)
                related_pairs.update((sid, other) for other in _related_ids(found))
        if key:
            keyed[key] = sid
        members.setdefault(sid, []).append(len(doc_of_entry))
        doc_of_entry.append(i)
        batch._append(sid, sketch, sketch.to_bytes(), 0, _filed(keys, cfg))
    merged = _merge_late_joiners(
        docs, batch, members, canonical_entry, doc_of_entry, result, keys_of
    )
    for i, a in list(result.items()):
        if a.story_id in merged:  # a doc outside the batch index (no usable sketch)
            result[i] = dataclasses.replace(a, story_id=merged[a.story_id])
    _attach_related(docs, result, related_prior, related_pairs, merged)
    if index is not None:
        for i in order:
            sketch = docs[i].sketch
            day = _day_of(docs[i], today)
            if isinstance(sketch, Sketch):
                lookup_keys = keys_of.get(i)
                filed = _filed(lookup_keys, cfg) if lookup_keys is not None else None
                index.add(result[i].story_id, sketch, day, _same_lsh(index, cfg, filed))
            if docs[i].link_key:
                index.link(str(docs[i].link_key), result[i].story_id, day)
    return [result[i] for i in range(len(docs))]


def _filed(lookup_keys: U64, cfg: SyndicationConfig) -> U64:
    """The keys a copy is filed under: the prefix of its lookup keys that holds the body
    bands and the lede bands of its first ``lede_lines`` paragraphs."""
    lsh = cfg.lsh
    filed = lsh.body_bands + lsh.head_bands * DEFAULT_SKETCH_CONFIG.lede_lines
    return lookup_keys[:filed]


def _same_item(
    doc_id: str,
    story_id: str,
    sketch: Sketch | None,
    index: SyndicationIndex | None,
    batch: SyndicationIndex,
) -> Assignment:
    """Another version of a wire item already placed: its story whatever the text, with
    the measured overlap as evidence (never below 0.01: the same item)."""
    sim = 0.01
    if sketch is not None:
        sim = max(
            index.similarity_to_story(sketch, story_id) if index is not None else 0.0,
            batch.similarity_to_story(sketch, story_id),
        )
    return Assignment(doc_id, story_id, False, sim, "same_item")


def _attach_related(
    docs: Sequence[DocInfo],
    result: dict[int, Assignment],
    related_prior: Mapping[str, list[str]],
    related_pairs: set[tuple[str, str]],
    merged: Mapping[str, str],
) -> None:
    """Give each new story's canonical row the stories whose text it reuses.

    Stories of earlier runs are older. Within the batch a pair is oriented by the
    canonical copies' publication times: the later story reuses the earlier one's
    text (the canonical order already put the earlier first, unless an agency copy
    came first)."""
    canonical_doc = {a.story_id: i for i, a in result.items() if a.is_canonical}
    related: dict[str, set[str]] = {sid: set(ids) for sid, ids in related_prior.items()}
    for later, earlier in related_pairs:
        later, earlier = merged.get(later, later), merged.get(earlier, earlier)
        if later == earlier or later not in canonical_doc or earlier not in canonical_doc:
            continue
        t_later = docs[canonical_doc[later]].published_at
        t_earlier = docs[canonical_doc[earlier]].published_at
        if t_later is not None and t_earlier is not None and _aware(t_later) < _aware(t_earlier):
            later, earlier = earlier, later
        related.setdefault(later, set()).add(earlier)
    for sid, ids in related.items():
        i = canonical_doc.get(merged.get(sid, sid))
        if i is None or not ids:
            continue
        ids = {merged.get(x, x) for x in ids} - {result[i].story_id}
        result[i] = dataclasses.replace(result[i], related=tuple(sorted(ids)))


def _same_lsh(index: SyndicationIndex, cfg: SyndicationConfig, keys: U64 | None) -> U64 | None:
    """``keys`` (computed under ``cfg``) when ``index`` bands alike, else None (recompute)."""
    return keys if index.config.lsh == cfg.lsh else None


def _merge_late_joiners(
    docs: Sequence[DocInfo],
    batch: SyndicationIndex,
    members: dict[str, list[int]],
    canonical_entry: dict[str, int],
    doc_of_entry: list[int],
    result: dict[int, Assignment],
    keys_of: Mapping[int, U64],
) -> dict[str, str]:
    """Second look at each new story's canonical copy, now that every copy is known.

    In canonical order, a copy can come before the copy that links it to its story
    (a rewritten lede is not comparable with a trimmed copy, but both are with the
    full text that arrives later). Such a story is folded into the earlier story
    when its canonical copy meets the same no-chaining rule as a single doc.
    Returns the story ids folded away, each to the story it joined. ``keys_of``: the
    lookup band keys already computed for each doc under the batch's LSH config.
    """
    merged: dict[str, str] = {}
    for sid, entry in sorted(canonical_entry.items(), key=lambda kv: kv[1]):
        if entry == 0 or sid not in members:
            continue
        sketch = batch._sketch(entry)
        found = batch.comparisons(sketch, keys_of.get(doc_of_entry[entry]))
        joined = _join_batch_story(found, members, canonical_entry, exclude=sid)
        if joined is None:
            continue
        target, v = joined
        if canonical_entry.get(target, -1) > entry:
            continue  # the other story's canonical comes later: it will look at us
        for e in members.pop(sid):
            batch._story[e] = target
            members[target].append(e)
            i = doc_of_entry[e]
            old = result[i]
            result[i] = (
                _joined(old.doc_id, target, v)
                if e == entry
                else dataclasses.replace(old, story_id=target, is_canonical=False)
            )
        batch._by_story.setdefault(target, []).extend(batch._by_story.pop(sid, []))
        del canonical_entry[sid]
        merged[sid] = target
        for old_sid, new_sid in merged.items():
            if new_sid == sid:
                merged[old_sid] = target
    return merged


def _join_batch_story(
    found: Sequence[tuple[int, str, Verdict]],
    members: Mapping[str, list[int]],
    canonical_entry: Mapping[str, int],
    *,
    exclude: str | None,
) -> tuple[str, Verdict] | None:
    """The story a copy may join among those with copies in the batch (``found``: its
    comparisons with them): it must match the story's canonical copy or at least half
    of its copies in the batch, so that one stray match never chains two stories."""
    by_story: dict[str, list[tuple[int, Verdict]]] = {}
    for e, sid, v in found:
        if sid != exclude and v.same:
            by_story.setdefault(sid, []).append((e, v))
    eligible: list[tuple[float, str, Verdict]] = []
    for sid, hits in by_story.items():
        size = len(members.get(sid, ()))
        with_canonical = canonical_entry.get(sid) in {e for e, _ in hits}
        if with_canonical or 2 * len(hits) >= size:
            v = max((v for _, v in hits), key=lambda x: x.similarity)
            eligible.append((-v.similarity, sid, v))
    if not eligible:
        return None
    _neg_sim, sid, v = min(eligible, key=lambda t: (t[0], t[1]))
    return sid, v


def assign_streaming(
    doc: DocInfo, index: SyndicationIndex, *, today: dt.date | None = None
) -> Assignment:
    """Streaming: the first copy seen of a story stays canonical (files are append-only);
    every later copy joins it. A new story lists the known stories whose text it reuses.
    The index is updated in place."""
    today = today or dt.datetime.now(dt.UTC).date()
    sketch = doc.sketch
    day = _day_of(doc, today)
    key = doc.link_key or None
    usable = isinstance(sketch, Sketch) and not sketch.is_empty
    known = index.story_for_key(key)
    lookup = (
        band_keys(sketch, index.config.lsh, lookup=True) if isinstance(sketch, Sketch) else None
    )
    keys = _filed(lookup, index.config) if lookup is not None else None
    if known is not None:
        comparable = sketch if usable and isinstance(sketch, Sketch) else None
        assigned = _same_item(doc.doc_id, known, comparable, None, index)
        if usable:
            assert isinstance(sketch, Sketch)
            index.add(known, sketch, day, keys)
        index.link(str(key), known, day)
        return assigned
    if not usable:
        sid = story_id_for(key or doc.doc_id)
        if key:
            index.link(key, sid, day)
        return Assignment(doc.doc_id, sid, True, 1.0, "canonical")
    assert isinstance(sketch, Sketch)
    found = index.comparisons(sketch, lookup)
    m = _best_match(found)
    if m is not None:
        index.add(m.story_id, sketch, day, keys)
        if key:
            index.link(key, m.story_id, day)
        return _joined(doc.doc_id, m.story_id, m.verdict)
    sid = story_id_for(key or doc.doc_id)
    index.add(sid, sketch, day, keys)
    if key:
        index.link(key, sid, day)
    return Assignment(doc.doc_id, sid, True, 1.0, "canonical", related=tuple(_related_ids(found)))
