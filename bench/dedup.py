"""Syndication detection benchmark: signature throughput, index scaling, index memory.

    python bench/dedup.py            # full: 200k docs through the index (a few minutes)
    python bench/dedup.py --quick    # small sizes, seconds

Docs are synthesized from the fixture texts (tests/fixtures/syndication): ~600-word
bodies made of real sentences with one word in four replaced at random, so that
unrelated docs share about as few 5-word shingles as unrelated news does.
Runs on one core (single process). Numbers vary with machine load: run on an idle box.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import json
import re
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from wiredesk.transforms.signatures import band_keys, sketch_text, sketch_tokens  # noqa: E402
from wiredesk.transforms.syndication_core import (  # noqa: E402
    DocInfo,
    SyndicationIndex,
    _plausible,
    assign_streaming,
)

FIXTURE = ROOT / "tests" / "fixtures" / "syndication" / "syndication_docs.json.gz"


class Synth:
    """Seeded ~600-word docs from real sentences, one word in four replaced."""

    def __init__(self, seed: int = 7) -> None:
        with gzip.open(FIXTURE, "rt", encoding="utf-8") as f:
            docs = json.load(f)["docs"]
        sentences: list[list[str]] = []
        for d in docs:
            if d["variant"] != "original":
                continue
            for s in re.split(r"(?<=[.!?])\s+", d["text"]):
                words = s.split()
                if 8 <= len(words) <= 60 and all(w.isascii() for w in words):
                    sentences.append(words)
        vocab = sorted({w for s in sentences for w in s})
        self.vocab = np.array(vocab, dtype=object)
        index = {w: i for i, w in enumerate(vocab)}
        self.sentences = [np.array([index[w] for w in s]) for s in sentences]
        self.rng = np.random.default_rng(seed)

    def tokens(self, words: int = 600) -> list[list[str]]:
        """Paragraphs of words (strings)."""
        out: list[list[str]] = []
        n = 0
        while n < words:
            para = np.concatenate(
                [self.sentences[i] for i in self.rng.integers(0, len(self.sentences), 3)]
            )
            mask = self.rng.random(len(para)) < 0.25
            para = para.copy()
            para[mask] = self.rng.integers(0, len(self.vocab), int(mask.sum()))
            out.append(list(self.vocab[para]))
            n += len(para)
        return out

    def text(self, words: int = 600) -> str:
        return "\n\n".join(" ".join(p) for p in self.tokens(words))


def bench_throughput(synth: Synth, n: int) -> None:
    texts = [synth.text() for _ in range(n)]
    for t in texts[:50]:  # warm the token caches as a long run would
        band_keys(sketch_text(text=t))
    t0 = time.perf_counter()
    for t in texts:
        band_keys(sketch_text(text=t))
    dt_ours = time.perf_counter() - t0
    words = sum(len(t.split()) for t in texts) / n
    print(f"\n## signature + LSH keys, {n} docs of ~{words:.0f} words, one core")
    print("| method | docs/s | us/doc |")
    print("|---|---:|---:|")
    print(f"| wiredesk sketch_text + band_keys | {n / dt_ours:,.0f} | {dt_ours / n * 1e6:,.0f} |")
    try:
        from datasketch import MinHash
    except ImportError:  # pragma: no cover - datasketch is optional here
        return
    m = min(n, 1000)
    t0 = time.perf_counter()
    for t in texts[:m]:
        toks = re.findall(r"\w+", t.casefold())
        mh = MinHash(num_perm=64)
        mh.update_batch([" ".join(toks[i : i + 5]).encode() for i in range(len(toks) - 4)])
    dt_ds = time.perf_counter() - t0
    print(
        f"| datasketch 2.0 MinHash(64) alone, for reference | {m / dt_ds:,.0f} | {dt_ds / m * 1e6:,.0f} |"
    )


def bench_scaling(synth: Synth, checkpoints: list[int]) -> None:
    total = checkpoints[-1]
    # Sketch straight from tokens: the index is what is measured here.
    sketches = []
    t0 = time.perf_counter()
    for _ in range(total):
        paras = synth.tokens()
        sketches.append(
            sketch_tokens(tokens=[w.casefold() for p in paras for w in p], script="word")
        )
    print(f"\n(sketched {total:,} synthetic docs in {time.perf_counter() - t0:.0f} s)")
    index = SyndicationIndex()
    day = dt.date(2024, 10, 23)
    print(f"\n## streaming match + add into one index, up to {total:,} stories")
    print("| stories in index | us/doc (last window) | cumulative s | candidates verified/doc |")
    print("|---:|---:|---:|---:|")
    window = max(1000, checkpoints[0] // 5)
    window_starts = {c - window for c in checkpoints}
    verified = 0
    start = t_win = time.perf_counter()
    for i, s in enumerate(sketches, 1):
        if i - 1 in window_starts:
            t_win, verified = time.perf_counter(), 0
        if i % 10 == 0:  # sample how many candidates each lookup verifies
            verified += sum(_plausible(s, index._sketch(e)) for e in index.candidates(s))
        assign_streaming(DocInfo(doc_id=f"doc{i}", sketch=s), index, today=day)
        if i in checkpoints:
            now = time.perf_counter()
            per = (now - t_win) / window * 1e6
            print(f"| {i:,} | {per:,.0f} | {now - start:,.1f} | {verified / (window / 10):.2f} |")


def bench_memory(synth: Synth, n: int) -> None:
    sketches = [
        sketch_tokens(tokens=[w.casefold() for p in synth.tokens() for w in p], script="word")
        for _ in range(n)
    ]
    rows: list[dict[str, Any]] = [
        # bytearray: the index then holds its own copy, which tracemalloc sees.
        {
            "story_id": f"st_{i:020d}",
            "day": dt.date(2024, 10, 23),
            "sketch": bytearray(s.to_bytes()),
        }
        for i, s in enumerate(sketches)
    ]
    del sketches
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    index = SyndicationIndex.from_rows(rows)
    index._bands._merge()  # the steady state: buckets in the sorted arrays
    used = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    scale = 100_000 / n
    print(f"\n## index state memory ({n:,} stories, one sketch each; scaled per 100k)")
    print("| measure | MB per 100k stories |")
    print("|---|---:|")
    print(f"| tracemalloc (Python heap incl. numpy) | {used * scale / 1e6:,.0f} |")
    print(f"| sketch bytes + bucket arrays (nbytes) | {index.nbytes() * scale / 1e6:,.0f} |")
    print(
        f"| persisted rows (sketch bytes only) | {sum(len(r['sketch']) for r in rows) * scale / 1e6:,.0f} |"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes (seconds)")
    args = ap.parse_args()
    synth = Synth()
    if args.quick:
        bench_throughput(synth, 1000)
        bench_scaling(synth, [2_000, 5_000, 10_000])
        bench_memory(synth, 10_000)
    else:
        bench_throughput(synth, 5000)
        bench_scaling(synth, [10_000, 50_000, 100_000, 200_000])
        bench_memory(synth, 100_000)


if __name__ == "__main__":
    main()
