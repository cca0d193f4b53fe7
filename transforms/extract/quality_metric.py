"""Article-body extraction quality: the article-extraction-benchmark metric.

A faithful re-implementation of ``evaluate.py`` from scrapinghub/article-extraction-benchmark
(commit 7d95432): text is tokenized with the regex ``\\w+`` (case is kept), each document's
4-gram *shingle* multiset is compared with the ground truth's, and TP/FP/FN are normalised
to sum 1 per document, so long articles weigh no more than short ones. Precision and recall
are then MEANS over documents and F1 is the harmonic mean of those two means (not a mean of
per-document F1s). The upstream edge cases are kept on purpose, so scores compare with the
published table:

- a text with fewer than 4 tokens yields one shorter shingle (all its tokens);
- a document whose prediction is empty has no precision (it is left out of the precision
  mean) and recall 0; a document with an empty truth has no recall;
- both empty: the document counts in neither mean.

Example:
    >>> from wiredesk.transforms.extract.quality_metric import score_documents
    >>> s = score_documents([("a b c d e", "a b c d e"), ("one two three four", "")])
    >>> (round(s.precision, 3), round(s.recall, 3), round(s.f1, 3), s.accuracy)
    (1.0, 0.5, 0.667, 0.5)
"""

from __future__ import annotations

import dataclasses
import re
import statistics
from collections import Counter
from collections.abc import Iterable

__all__ = [
    "DocCounts",
    "Scores",
    "accuracy",
    "score_counts",
    "score_documents",
    "shingle_counts",
    "tokenize",
]

# Upstream compiles with IGNORECASE too; it changes nothing for \w+, tokens keep their case.
_TOKEN_RE = re.compile(r"\w+", re.UNICODE | re.MULTILINE | re.IGNORECASE | re.DOTALL)
NGRAM_N = 4


@dataclasses.dataclass(frozen=True)
class DocCounts:
    """Normalised shingle counts of one document (tp + fp + fn == 1, or all 0)."""

    tp: float
    fp: float
    fn: float


@dataclasses.dataclass(frozen=True)
class Scores:
    """Benchmark scores over a set of documents."""

    precision: float
    recall: float
    f1: float
    accuracy: float
    n_docs: int


def tokenize(text: str | None) -> list[str]:
    return _TOKEN_RE.findall(text or "")


def _ngrams(text: str | None, n: int) -> list[tuple[str, ...]]:
    tokens = tokenize(text)
    # max(1, ...) keeps one (short) shingle for a text of fewer than n tokens, as upstream does
    return [
        shingle for i in range(max(1, len(tokens) - n + 1)) if (shingle := tuple(tokens[i : i + n]))
    ]


def shingle_counts(*, true: str | None, pred: str | None, ngram_n: int = NGRAM_N) -> DocCounts:
    """TP/FP/FN of one document over shingle multisets, normalised to sum 1."""
    true_shingles = Counter(_ngrams(true, ngram_n))
    pred_shingles = Counter(_ngrams(pred, ngram_n))
    tp = fp = fn = 0.0
    for key in true_shingles.keys() | pred_shingles.keys():
        t = true_shingles.get(key, 0)
        p = pred_shingles.get(key, 0)
        tp += min(t, p)
        fp += max(0, p - t)
        fn += max(0, t - p)
    s = tp + fp + fn
    if s > 0:
        return DocCounts(tp / s, fp / s, fn / s)
    return DocCounts(tp, fp, fn)


def _precision(c: DocCounts) -> float:
    if c.fp == c.fn == 0:
        return 1.0
    if c.tp == c.fp == 0:
        return 0.0
    return c.tp / (c.tp + c.fp)


def _recall(c: DocCounts) -> float:
    if c.fp == c.fn == 0:
        return 1.0
    if c.tp == c.fn == 0:
        return 0.0
    return c.tp / (c.tp + c.fn)


def accuracy(*, true: str | None, pred: str | None) -> float:
    """1.0 when the token sequences are identical (upstream's ``accuracy``)."""
    return float(tokenize(true) == tokenize(pred))


def score_counts(counts: Iterable[DocCounts], accuracies: Iterable[float] = ()) -> Scores:
    """Precision/recall as means over documents, F1 of the means (upstream's aggregation)."""
    docs = list(counts)
    precisions = [_precision(c) for c in docs if c.tp + c.fp > 0]
    recalls = [_recall(c) for c in docs if c.tp + c.fn > 0]
    precision = statistics.mean(precisions) if precisions else 0.0
    recall = statistics.mean(recalls) if recalls else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    accs = list(accuracies)
    return Scores(
        precision=precision,
        recall=recall,
        f1=f1,
        accuracy=statistics.mean(accs) if accs else 0.0,
        n_docs=len(docs),
    )


def score_documents(pairs: Iterable[tuple[str | None, str | None]]) -> Scores:
    """Score ``(truth, prediction)`` pairs; ``None`` counts as an empty text."""
    counts: list[DocCounts] = []
    accs: list[float] = []
    for true, pred in pairs:
        counts.append(shingle_counts(true=true, pred=pred))
        accs.append(accuracy(true=true, pred=pred))
    return score_counts(counts, accs)
