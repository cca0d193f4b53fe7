"""Syndication detection benchmark: signature throughput, index scaling, memory, pipeline share.

    python bench/dedup.py             # full: 200k docs through the index (~10 min on one core)
    python bench/dedup.py --quick     # small sizes, about a minute
    python bench/dedup.py --pipeline  # share of DetectSyndication in `wiredesk run --once`

Docs are synthesized (see :class:`Synth`) so that unrelated docs overlap as much
as unrelated real news does; the bench prints that overlap next to the real one.
Times are CPU seconds of this process (``time.process_time``), i.e. per core, so
that other load on the machine does not inflate them; the pipeline share is wall time.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import gzip
import itertools
import json
import re
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from wiredesk.transforms.dedup.signatures import (  # noqa: E402
    Sketch,
    band_keys,
    sketch_text,
    sketch_tokens,
)
from wiredesk.transforms.dedup.syndication import (  # noqa: E402
    DocInfo,
    SyndicationIndex,
    _plausible,
    assign_streaming,
)

FIXTURE = ROOT / "tests" / "fixtures" / "syndication" / "syndication_docs.json.gz"
AEB_TRUTH = ROOT / "tests" / "fixtures" / "extraction" / "aeb" / "ground-truth.json.gz"


class Synth:
    """Seeded ~600-word docs from a word-bigram chain over real news bodies.

    The chain is trained on the English bodies of the article-extraction benchmark
    ground truth and the syndication fixtures (~68k words); one word in ten is drawn
    from the whole vocabulary instead, so runs of real text stay short. Unrelated
    docs then overlap as much as unrelated real bodies do: two of them agree on at
    least one of 64 MinHash values with P ~ 0.004 (real aeb bodies: ~0.003).

    The previous generator glued together whole real sentences (a pool of 879) with
    one word in four replaced: any two docs shared a sentence about one time in
    three, so they agreed on a MinHash value with P ~ 0.05, 15x more than real
    news, and LSH collisions and verifications grew with the index by construction.
    """

    def __init__(self, seed: int = 7, mix: float = 0.1) -> None:
        texts: list[str] = []
        with gzip.open(AEB_TRUTH, "rt", encoding="utf-8") as f:
            texts += [v["articleBody"] for v in json.load(f).values()]
        with gzip.open(FIXTURE, "rt", encoding="utf-8") as f:
            texts += [d["text"] for d in json.load(f)["docs"] if d["variant"] == "original"]
        words: list[str] = []
        for t in texts:
            w = t.split()
            if w and sum(x.isascii() for x in w) > 0.97 * len(w):
                words += w
        vocab = sorted(set(words))
        index = {w: i for i, w in enumerate(vocab)}
        self.vocab = np.array(vocab, dtype=object)
        self.ids = np.array([index[w] for w in words], dtype=np.int64)
        # successors[i] = the words that follow word i in the corpus (with repeats).
        order = np.argsort(self.ids[:-1], kind="stable")
        self.next_words = self.ids[1:][order]
        self.starts = np.searchsorted(self.ids[:-1][order], np.arange(len(vocab) + 1))
        self.mix = mix
        self.rng = np.random.default_rng(seed)

    def tokens(self, words: int = 600) -> list[list[str]]:
        """Paragraphs of words (strings), ~40 words each."""
        rng = self.rng
        n_words = len(self.ids)
        coins = rng.random(words)
        picks = rng.integers(0, 1 << 30, words)
        w = int(self.ids[picks[0] % n_words])
        out = [w]
        for i in range(1, words):
            lo, hi = int(self.starts[w]), int(self.starts[w + 1])
            if coins[i] < self.mix or hi == lo:
                w = int(self.ids[picks[i] % n_words])
            else:
                w = int(self.next_words[lo + picks[i] % (hi - lo)])
            out.append(w)
        text = self.vocab[np.array(out)]
        return [list(text[i : i + 40]) for i in range(0, words, 40)]

    def text(self, words: int = 600) -> str:
        return "\n\n".join(" ".join(p) for p in self.tokens(words))


def _agreement(sketches: list[Sketch]) -> float:
    """Share of pairs agreeing on at least one of the 64 MinHash values (LSH's raw food)."""
    mh = np.array([s.minhash_array() for s in sketches])
    pairs = list(itertools.combinations(range(len(mh)), 2))
    return sum(bool((mh[i] == mh[j]).any()) for i, j in pairs) / len(pairs)


def bench_realism(synth: Synth) -> None:
    with gzip.open(AEB_TRUTH, "rt", encoding="utf-8") as f:
        real = [v["articleBody"] for v in json.load(f).values()]
    real_sk = [sketch_text(text=t) for t in real if len(t.split()) >= 300]
    syn_sk = [_synthetic_sketch(synth) for _ in range(300)]
    print("\n## how alike unrelated docs are: pairs agreeing on >= 1 of 64 MinHash values")
    print("| docs | pairs | share |")
    print("|---|---:|---:|")
    n = len(real_sk)
    print(f"| real aeb bodies (>= 300 words) | {n * (n - 1) // 2:,} | {_agreement(real_sk):.4f} |")
    print(f"| synthetic (this bench) | {300 * 299 // 2:,} | {_agreement(syn_sk):.4f} |")


def _synthetic_sketch(synth: Synth) -> Sketch:
    return sketch_tokens(tokens=[w.casefold() for p in synth.tokens() for w in p], script="word")


def bench_throughput(synth: Synth, n: int) -> None:
    texts = [synth.text() for _ in range(n)]
    for t in texts[:50]:  # warm the token caches as a long run would
        band_keys(sketch_text(text=t))
    t0 = time.process_time()
    for t in texts:
        band_keys(sketch_text(text=t))
    cpu = time.process_time() - t0
    words = sum(len(t.split()) for t in texts) / n
    print(f"\n## signature + LSH keys, {n} docs of ~{words:.0f} words, CPU time of one core")
    print("| method | docs/s per core | us/doc |")
    print("|---|---:|---:|")
    print(f"| wiredesk sketch_text + band_keys | {n / cpu:,.0f} | {cpu / n * 1e6:,.0f} |")
    try:
        from datasketch import MinHash
    except ImportError:  # pragma: no cover - datasketch is optional here
        return
    m = min(n, 1000)
    t0 = time.process_time()
    for t in texts[:m]:
        toks = re.findall(r"\w+", t.casefold())
        mh = MinHash(num_perm=64)
        mh.update_batch([" ".join(toks[i : i + 5]).encode() for i in range(len(toks) - 4)])
    cpu = time.process_time() - t0
    print(
        f"| datasketch 2.0 MinHash(64) alone, for reference | {m / cpu:,.0f} | {cpu / m * 1e6:,.0f} |"
    )


def bench_scaling(synth: Synth, checkpoints: list[int]) -> None:
    total = checkpoints[-1]
    t0 = time.process_time()
    sketches = [_synthetic_sketch(synth) for _ in range(total)]
    print(f"\n(sketched {total:,} synthetic docs in {time.process_time() - t0:.0f} CPU s)")
    index = SyndicationIndex()
    day = dt.date(2024, 10, 23)
    print(f"\n## streaming match + add into one index, up to {total:,} stories")
    print("Per doc over the last quarter before each size (includes the bucket merges).")
    print("| stories in index | us/doc (CPU) | LSH hits/doc | candidates/doc | verified/doc |")
    print("|---:|---:|---:|---:|---:|")
    starts = {c - c // 4: c for c in checkpoints}
    cpu = 0.0
    counted = hits = cands = verified = sampled = 0
    for i, s in enumerate(sketches, 1):
        if i - 1 in starts:
            cpu, counted, hits, cands, verified, sampled = 0.0, 0, 0, 0, 0, 0
        if i % 10 == 0:  # sample what a lookup meets (not timed)
            keys = band_keys(s, index.config.lsh)
            hits += len(index._bands.query(keys, max_bucket=index.config.max_bucket_size))
            found = index.candidates(s, keys)
            cands += len(found)
            verified += sum(_plausible(s, index._sketch(e)) for e in found)
            sampled += 1
        t = time.process_time()
        assign_streaming(DocInfo(doc_id=f"doc{i}", sketch=s), index, today=day)
        cpu += time.process_time() - t
        counted += 1
        if i in checkpoints:
            print(
                f"| {i:,} | {cpu / counted * 1e6:,.0f} | {hits / sampled:.2f} | "
                f"{cands / sampled:.2f} | {verified / sampled:.3f} |"
            )


def bench_memory(synth: Synth, n: int) -> None:
    sketches = [_synthetic_sketch(synth) for _ in range(n)]
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


def bench_pipeline(repeats: int) -> None:
    """Wall time of `wiredesk run --once` over the chrome fixtures (129 pages, six
    outlets on loopback), and the time spent in DetectSyndication's own steps
    (signing, clustering, routing), measured inside the run: wall time of those
    steps, and their CPU time (``thread_time``: on a busy machine the wall time of
    a step also counts the time its thread waited for a core)."""
    from tests.fixtures.syndication.chrome_outlets import ChromeOutlets
    from wiredesk.cli import main
    from wiredesk.transforms.dedup import stage_syndication as syndication

    wall_in = {"sign": 0.0, "cluster": 0.0, "route": 0.0}
    cpu_in = dict(wall_in)

    def timed(cls: Any, name: str) -> None:
        inner = cls.process

        @functools.wraps(inner)  # Beam reads the signature (side inputs, type hints)
        def process(self: Any, *args: Any, **kwargs: Any) -> Any:
            t, c = time.perf_counter(), time.thread_time()
            out = list(inner(self, *args, **kwargs))
            wall_in[name] += time.perf_counter() - t
            cpu_in[name] += time.thread_time() - c
            return out

        cls.process = process

    timed(syndication._SignFn, "sign")
    timed(syndication._AssignFn, "cluster")
    timed(syndication._RouteFn, "route")
    print("\n## DetectSyndication in `wiredesk run --once` (129 pages)")
    print(
        "| run | run wall s | steps wall s (sign/cluster/route) | steps CPU s | share (wall) | share (CPU) |"
    )
    print("|---:|---:|---:|---:|---:|---:|")
    with ChromeOutlets() as outlets, tempfile.TemporaryDirectory() as tmp:
        feeds = Path(tmp, "feeds.opml")
        feeds.write_text(outlets.opml(), "utf-8")
        for r in range(repeats):
            for k in wall_in:
                wall_in[k] = cpu_in[k] = 0.0
            out = Path(tmp, f"out{r}")
            t = time.perf_counter()
            argv = ["run", "--feeds", str(feeds), "--output", str(out), "--once"]
            assert main([*argv, "--allow-private-addresses"]) == 0
            wall = time.perf_counter() - t
            steps = "/".join(f"{wall_in[k]:.2f}" for k in wall_in)
            print(
                f"| {r + 1} | {wall:.1f} | {steps} | {sum(cpu_in.values()):.2f} | "
                f"{sum(wall_in.values()) / wall:.1%} | {sum(cpu_in.values()) / wall:.1%} |"
            )


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes (about a minute)")
    ap.add_argument("--pipeline", action="store_true", help="DetectSyndication's share of a run")
    args = ap.parse_args()
    if args.pipeline:
        bench_pipeline(3)
        return
    synth = Synth()
    bench_realism(synth)
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
