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

>>> from wiredesk.transforms.signatures import sketch_text
>>> from wiredesk.transforms.syndication_core import DocInfo, cluster_batch
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

from wiredesk.transforms.signatures import (
    DEFAULT_LSH_CONFIG,
    DEFAULT_SKETCH_CONFIG,
    LshConfig,
    Sketch,
    SketchError,
    band_keys,
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
    # Candidates verified per lookup, most LSH hits first.
    max_candidates: int = 48
    # Sketches remembered per story (the canonical's and copies that add coverage).
    max_sketches_per_story: int = 4
    # Days a story stays matchable after it was added (streaming and across runs).
    horizon_days: int = 7
    lsh: LshConfig = DEFAULT_LSH_CONFIG


DEFAULT_CONFIG = SyndicationConfig()
DEFAULT_HEAD_PERM = DEFAULT_SKETCH_CONFIG.head_perm

U32 = npt.NDArray[np.uint32]
U64 = npt.NDArray[np.uint64]


def story_id_for(canonical_doc_id: str) -> str:
    """The stable id of the story whose canonical copy is ``canonical_doc_id``
    (the normalized URL key): the same in every run and on every worker."""
    digest = hashlib.blake2b(canonical_doc_id.encode("utf-8"), digest_size=10).hexdigest()
    return f"st_{digest}"


# -- the verifier --------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Comparison:
    """How two sketches overlap: containment each way, where the shared text starts
    in each body and how dense it is between its first and last shared run."""

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


def compare_sketches(a: Sketch, b: Sketch) -> Comparison | None:
    """Compare two sketches; ``None`` when they cannot be compared (empty, other script)."""
    if a.is_empty or b.is_empty or a.script != b.script:
        return None
    if a.content_hash == b.content_hash and a.n_tokens == b.n_tokens:
        n = len(a.samples) // 4
        return Comparison(True, 1.0, 1.0, 0.0, 0.0, 0, 0, 1.0, 1.0, n, 1 << a.shift)
    shift = max(a.shift, b.shift)
    sa, sb = a.sample_array(), b.sample_array()
    if shift:
        mask = np.uint32((1 << shift) - 1)
        if a.shift < shift:
            sa = sa[(sa & mask) == 0]
        if b.shift < shift:
            sb = sb[(sb & mask) == 0]
    if len(sa) == 0 or len(sb) == 0:
        return None
    hit_a = np.isin(sa, sb)
    hit_b = np.isin(sb, sa)
    window = max(3, 32 >> shift)
    a0, a1 = _span(hit_a, window)
    b0, b1 = _span(hit_b, window)
    step = 1 << shift
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
    )


@dataclasses.dataclass(frozen=True)
class Verdict:
    same: bool
    similarity: float  # containment of the more-contained body in the other
    kind: str  # "exact", "republication", "partial", "extended", "edited", "different"


def verify(a: Sketch, b: Sketch, config: SyndicationConfig = DEFAULT_CONFIG) -> Verdict:
    """Are ``a`` (the new copy) and ``b`` (a known copy) the same story?

    Same story when the shared text (1) starts near the top of *both* bodies
    (lead gap), (2) is dense between its first and last shared run in at least
    one body (a copy, not a common template or a shared quote), and (3) is
    a substantial part of at least one body (containment).

    Kinds: ``exact`` (same normalized body), ``republication`` (each mostly
    contains the other: chrome, house style, light edits), ``partial`` (``a``
    is contained in ``b``: a trimmed copy), ``extended`` (``a`` contains ``b``:
    an update that appends paragraphs, a topped lede), ``edited`` (a rewritten
    lede and the like), ``different``.
    """
    cmp = compare_sketches(a, b)
    if cmp is None:
        return Verdict(False, 0.0, "different")
    if cmp.exact:
        return Verdict(True, 1.0, "exact")
    similarity = max(cmp.containment_a, cmp.containment_b)
    lead_ok = all(
        frac <= config.max_lead_gap
        or (tokens <= config.max_lead_gap_tokens and frac <= config.max_lead_gap_short)
        for frac, tokens in (
            (cmp.lead_gap_a, cmp.lead_gap_tokens_a),
            (cmp.lead_gap_b, cmp.lead_gap_tokens_b),
        )
    )
    same = (
        lead_ok
        and cmp.shared * cmp.step >= config.min_shared_tokens
        and similarity >= config.min_containment
        and max(cmp.density_a, cmp.density_b) >= config.min_density
    )
    if not same:
        return Verdict(False, similarity, "different")
    rep = config.republication_containment
    if min(cmp.containment_a, cmp.containment_b) >= rep:
        kind = "republication"
    elif cmp.containment_a >= rep:
        kind = "partial"
    elif cmp.containment_b >= rep:
        kind = "extended"
    else:
        kind = "edited"
    return Verdict(True, round(similarity, 4), kind)


# -- LSH buckets -----------------------------------------------------------------


class _BandStore:
    """LSH buckets as a sorted uint64 key array (12 bytes an entry) plus a small
    dict of recent additions, merged when it grows past a quarter of the array;
    so adding is amortized O(log n) and memory stays flat."""

    def __init__(self) -> None:
        self.keys: U64 = np.zeros(0, dtype=np.uint64)
        self.vals: U32 = np.zeros(0, dtype=np.uint32)
        self.pending: dict[int, list[int]] = {}
        self.n_pending = 0

    def add(self, entry: int, keys: U64) -> None:
        for k in keys.tolist():
            self.pending.setdefault(k, []).append(entry)
        self.n_pending += len(keys)
        if self.n_pending > max(8192, len(self.keys) // 4):
            self._merge()

    def _merge(self) -> None:
        if not self.pending:
            return
        pk = np.fromiter(
            (k for k, v in self.pending.items() for _ in v), dtype=np.uint64, count=self.n_pending
        )
        pv = np.fromiter(
            (e for v in self.pending.values() for e in v), dtype=np.uint32, count=self.n_pending
        )
        keys = np.concatenate([self.keys, pk])
        vals = np.concatenate([self.vals, pv])
        order = np.argsort(keys, kind="stable")
        self.keys, self.vals = keys[order], vals[order]
        self.pending, self.n_pending = {}, 0

    def query(self, keys: U64) -> U32:
        found: list[U32] = []
        if len(self.keys):
            lo = np.searchsorted(self.keys, keys, side="left")
            hi = np.searchsorted(self.keys, keys, side="right")
            for i, j in zip(lo.tolist(), hi.tolist(), strict=True):
                if j > i:
                    found.append(self.vals[i:j])
        if self.pending:
            got = [e for k in keys.tolist() for e in self.pending.get(k, ())]
            if got:
                found.append(np.array(got, dtype=np.uint32))
        if not found:
            return np.zeros(0, dtype=np.uint32)
        return np.concatenate(found)

    def nbytes(self) -> int:
        return int(self.keys.nbytes + self.vals.nbytes)


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
    """A known story a sketch belongs to."""

    story_id: str
    similarity: float
    kind: str


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
    def add(self, story_id: str, sketch: Sketch, day: dt.date) -> bool:
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
        self._append(story_id, sketch, sketch.to_bytes(), day.toordinal())
        return True

    def _append(self, story_id: str, sketch: Sketch, blob: bytes, day: int) -> None:
        entry = len(self._story)
        self._story.append(story_id)
        self._day.append(day)
        self._blob.append(blob)
        self._alive.append(True)
        self._by_story.setdefault(story_id, []).append(entry)
        self._exact.setdefault(sketch.content_hash, entry)
        self._bands.add(entry, band_keys(sketch, self.config.lsh))

    def _sketch(self, entry: int) -> Sketch:
        s = Sketch.from_bytes(self._blob[entry])
        assert isinstance(s, Sketch)  # blobs are written by _append only
        return s

    # ---- matching ----
    def candidates(self, sketch: Sketch) -> list[int]:
        """Live entries sharing LSH buckets with ``sketch``, most shared buckets first."""
        if sketch.is_empty:
            return []
        hits = self._bands.query(band_keys(sketch, self.config.lsh))
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

    def matches(self, sketch: Sketch) -> list[tuple[int, str, Verdict]]:
        """Every verified (entry, story_id, verdict) for ``sketch``."""
        out = []
        for e in self.candidates(sketch):
            known = self._sketch(e)
            if not _plausible(sketch, known):
                continue
            v = verify(sketch, known, self.config)
            if v.same:
                out.append((e, self._story[e], v))
        return out

    def match(self, sketch: Sketch) -> Match | None:
        """The known story ``sketch`` is a copy of, or None. Never raises on a valid sketch."""
        if not isinstance(sketch, Sketch):
            return None
        found = self.matches(sketch)
        if not found:
            return None
        # Highest similarity wins; ties go to the smaller story id (deterministic).
        _e, story_id, v = min(found, key=lambda f: (-f[2].similarity, f[1]))
        return Match(story_id=story_id, similarity=v.similarity, kind=v.kind)

    # ---- bounding ----
    def expire(self, before_day: dt.date) -> int:
        """Forget every copy added before ``before_day``; returns how many were dropped."""
        cut = before_day.toordinal()
        keep = [e for e, d in enumerate(self._day) if self._alive[e] and d >= cut]
        dropped = sum(self._alive) - len(keep)
        if dropped:
            self._rebuild(keep)
        return dropped

    def expire_horizon(self, today: dt.date) -> int:
        """Forget what is older than ``config.horizon_days`` before ``today``."""
        return self.expire(today - dt.timedelta(days=self.config.horizon_days))

    def _rebuild(self, keep: list[int]) -> None:
        old = (self._story, self._day, self._blob)
        self._reset()
        for e in keep:
            blob = old[2][e]
            s = Sketch.from_bytes(blob)
            assert isinstance(s, Sketch)
            self._append(old[0][e], s, blob, old[1][e])

    # ---- persistence ----
    def to_rows(self) -> list[dict[str, Any]]:
        """Plain rows ``{story_id: str, day: date, sketch: bytes}``, in insertion order."""
        return [
            {
                "story_id": self._story[e],
                "day": dt.date.fromordinal(self._day[e]),
                "sketch": self._blob[e],
            }
            for e in range(len(self._story))
            if self._alive[e]
        ]

    @classmethod
    def from_rows(
        cls, rows: Iterable[Mapping[str, Any]], config: SyndicationConfig = DEFAULT_CONFIG
    ) -> SyndicationIndex:
        """Restore :meth:`to_rows` output. Undecodable rows are skipped and counted in
        ``rejected_rows`` (state written by another version must not stop a run)."""
        index = cls(config)
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
            sketch = Sketch.from_bytes(bytes(blob)) if isinstance(blob, bytes | bytearray) else None
            if (
                not isinstance(story_id, str)
                or not isinstance(day, dt.date)
                or not isinstance(sketch, Sketch)
                or sketch.is_empty
            ):
                index.rejected_rows += 1
                continue
            index._append(story_id, sketch, bytes(blob), day.toordinal())
        return index

    def nbytes(self) -> int:
        """Approximate bytes held (sketch blobs + bucket arrays), for capacity planning."""
        return sum(len(b) + 33 for b in self._blob) + self._bands.nbytes()


# -- batch and streaming assignment ---------------------------------------------------


@dataclasses.dataclass(frozen=True)
class DocInfo:
    """One new copy to assign. ``doc_id`` is the normalized URL key."""

    doc_id: str
    sketch: Sketch | SketchError
    is_agency_copy: bool = False  # the wire agency's own copy (wire item, agency site)
    published_at: dt.datetime | None = None
    seen_order: int = 0


@dataclasses.dataclass(frozen=True)
class Assignment:
    doc_id: str
    story_id: str
    is_canonical: bool
    similarity: float  # 1.0 for a canonical copy
    kind: str  # "canonical" or a Verdict kind ("exact", "republication", ...)


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
    * When ``index`` is given, the new stories and useful copies are added to it
      (day = the doc's publication day, else ``today``) for later runs.
    """
    cfg = config or (index.config if index is not None else DEFAULT_CONFIG)
    today = today or dt.datetime.now(dt.UTC).date()
    batch = SyndicationIndex(cfg)  # entries = this batch's docs, story = story id
    members: dict[str, list[int]] = {}  # story id -> batch entries
    canonical_entry: dict[str, int] = {}
    doc_of_entry: list[int] = []
    result: dict[int, Assignment] = {}
    order = sorted(range(len(docs)), key=lambda k: _priority(docs[k]))
    for i in order:
        d = docs[i]
        sketch = d.sketch
        if not isinstance(sketch, Sketch) or sketch.is_empty:
            # Nothing to compare: a story of its own.
            result[i] = Assignment(d.doc_id, story_id_for(d.doc_id), True, 1.0, "canonical")
            continue
        prior = index.match(sketch) if index is not None else None
        if prior is not None:
            sid = prior.story_id
            result[i] = Assignment(d.doc_id, sid, False, prior.similarity, prior.kind)
        else:
            joined = _join_batch_story(sketch, batch, members, canonical_entry, exclude=None)
            if joined is not None:
                sid, v = joined
                result[i] = Assignment(d.doc_id, sid, False, v.similarity, v.kind)
            else:
                sid = story_id_for(d.doc_id)
                result[i] = Assignment(d.doc_id, sid, True, 1.0, "canonical")
                canonical_entry[sid] = len(doc_of_entry)
        members.setdefault(sid, []).append(len(doc_of_entry))
        doc_of_entry.append(i)
        batch._append(sid, sketch, sketch.to_bytes(), 0)
    _merge_late_joiners(docs, batch, members, canonical_entry, doc_of_entry, result)
    if index is not None:
        for i in order:
            sketch = docs[i].sketch
            if isinstance(sketch, Sketch):
                index.add(result[i].story_id, sketch, _day_of(docs[i], today))
    return [result[i] for i in range(len(docs))]


def _merge_late_joiners(
    docs: Sequence[DocInfo],
    batch: SyndicationIndex,
    members: dict[str, list[int]],
    canonical_entry: dict[str, int],
    doc_of_entry: list[int],
    result: dict[int, Assignment],
) -> None:
    """Second look at each new story's canonical copy, now that every copy is known.

    In canonical order, a copy can come before the copy that links it to its story
    (a rewritten lede is not comparable with a trimmed copy, but both are with the
    full text that arrives later). Such a story is folded into the earlier story
    when its canonical copy meets the same no-chaining rule as a single doc.
    """
    for sid, entry in sorted(canonical_entry.items(), key=lambda kv: kv[1]):
        if entry == 0 or sid not in members:
            continue
        sketch = batch._sketch(entry)
        joined = _join_batch_story(sketch, batch, members, canonical_entry, exclude=sid)
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
            result[i] = Assignment(
                old.doc_id,
                target,
                False,
                v.similarity if e == entry else old.similarity,
                v.kind if e == entry else old.kind,
            )
        batch._by_story.setdefault(target, []).extend(batch._by_story.pop(sid, []))
        del canonical_entry[sid]


def _join_batch_story(
    sketch: Sketch,
    batch: SyndicationIndex,
    members: Mapping[str, list[int]],
    canonical_entry: Mapping[str, int],
    *,
    exclude: str | None,
) -> tuple[str, Verdict] | None:
    """The story ``sketch`` may join among those with copies in the batch: it must
    match the story's canonical copy or at least half of its copies in the batch,
    so that one stray match never chains two stories."""
    found: dict[str, list[tuple[int, Verdict]]] = {}
    for e, sid, v in batch.matches(sketch):
        if sid != exclude:
            found.setdefault(sid, []).append((e, v))
    eligible: list[tuple[float, str, Verdict]] = []
    for sid, hits in found.items():
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
    every later copy joins it. The index is updated in place."""
    today = today or dt.datetime.now(dt.UTC).date()
    sketch = doc.sketch
    if not isinstance(sketch, Sketch) or sketch.is_empty:
        return Assignment(doc.doc_id, story_id_for(doc.doc_id), True, 1.0, "canonical")
    m = index.match(sketch)
    if m is not None:
        index.add(m.story_id, sketch, _day_of(doc, today))
        return Assignment(doc.doc_id, m.story_id, False, m.similarity, m.kind)
    sid = story_id_for(doc.doc_id)
    index.add(sid, sketch, _day_of(doc, today))
    return Assignment(doc.doc_id, sid, True, 1.0, "canonical")
