"""Quality gate for article extraction, by the article-extraction-benchmark metric.

- the metric itself against hand-worked cases and upstream's published baseline output;
- the 149 benchmark pages: extract_page's text must score at least raw
  ``trafilatura.extract(html)`` (default options), and above pinned floors;
- 29 fundus publisher pages: golden titles and per-page body F1 floors.

Floors were set from measured values rounded down by 0.005 (see bench/extraction_quality.py).
"""

from __future__ import annotations

import gzip
import json
import logging
import unicodedata
from pathlib import Path

import pytest

from wiredesk.transforms.extract.page import ExtractedPage, extract_page
from wiredesk.transforms.extract.quality_metric import (
    DocCounts,
    Scores,
    score_counts,
    score_documents,
    shingle_counts,
    tokenize,
)

FIXTURES = Path(__file__).parent / "fixtures" / "extraction"
AEB = FIXTURES / "aeb"
FUNDUS = FIXTURES / "fundus"

# Measured with trafilatura 2.3.1 (ours / raw): F1 0.9657 / 0.9577, P 0.9540 / 0.9385,
# R 0.9777 / 0.9777 on the 149 pages; fundus subset F1 0.9241 / 0.9224, titles 24 of 29.
# (Ours with the readability/jusText comparison on every page scored F1 0.9632 and P 0.9492;
# the floors below were set then and still hold for both.)
AEB_F1_FLOOR = 0.958
AEB_PRECISION_FLOOR = 0.944
AEB_RECALL_FLOOR = 0.972
AEB_RAW_F1_FLOOR = 0.952
FUNDUS_F1_FLOOR = 0.919
FUNDUS_TITLE_MATCH_FLOOR = 24  # of 29


def _read_gz_json(path: Path) -> dict:
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return json.load(f)


def _text(result: object) -> str | None:
    return result.text if isinstance(result, ExtractedPage) else None


# ---- the metric -----------------------------------------------------------------------------


def test_tokenize_keeps_case_and_splits_on_non_word() -> None:
    assert tokenize("Hello, World! it's 2019") == ["Hello", "World", "it", "s", "2019"]
    assert tokenize(None) == []
    # \w+ clumps scripts without spaces into one token, as upstream does
    assert tokenize("東京は晴れ。明日も") == ["東京は晴れ", "明日も"]


def test_identical_texts_score_one() -> None:
    c = shingle_counts(true="a b c d e f", pred="a  b\n\nc d e f")
    assert c == DocCounts(1.0, 0.0, 0.0)


def test_counts_are_normalised_multisets() -> None:
    # truth shingles: (a b c d), (b c d e); prediction repeats the first and adds one
    c = shingle_counts(true="a b c d e", pred="a b c d a b c d")
    # pred shingles: abcd x2, bcda, cdab, dabc -> tp 1, fp 4, fn 1 -> /6
    assert c.tp == pytest.approx(1 / 6)
    assert c.fp == pytest.approx(4 / 6)
    assert c.fn == pytest.approx(1 / 6)


def test_case_matters() -> None:
    assert shingle_counts(true="A b c d", pred="a b c d").tp == 0.0


def test_short_texts_make_one_shingle() -> None:
    assert shingle_counts(true="one two", pred="one two") == DocCounts(1.0, 0.0, 0.0)
    assert shingle_counts(true="one two", pred="one three").tp == 0.0


def test_empty_prediction_has_no_precision_and_zero_recall() -> None:
    s = score_documents([("a b c d e", "a b c d e"), ("w x y z", None)])
    assert s.precision == 1.0  # the empty prediction is left out of the precision mean
    assert s.recall == 0.5
    assert s.f1 == pytest.approx(2 * 1.0 * 0.5 / 1.5)


def test_empty_truth_and_prediction_count_nowhere() -> None:
    s = score_documents([("a b c d", "a b c d"), ("", "")])
    assert (s.precision, s.recall) == (1.0, 1.0)
    assert s.accuracy == 1.0


def test_f1_is_of_the_means_not_mean_of_f1() -> None:
    counts = [DocCounts(0.5, 0.5, 0.0), DocCounts(0.5, 0.0, 0.5)]
    s = score_counts(counts)
    assert s.precision == pytest.approx(0.75)
    assert s.recall == pytest.approx(0.75)
    assert s.f1 == pytest.approx(0.75)  # a mean of per-document F1s would be 2/3


def test_metric_reproduces_upstream_baseline_score() -> None:
    """Upstream's trafilatura 2.0.0 output on this split, scored by our metric.

    0.9632 F1 over these 149 pages sits where upstream's 0.958 +- 0.006 over 181 pages
    puts it; pinned so that any change to the metric shows.
    """
    truth = _read_gz_json(AEB / "ground-truth.json.gz")
    base = _read_gz_json(AEB / "baseline-output" / "trafilatura.json.gz")["output"]
    assert truth.keys() == base.keys()
    s = score_documents((truth[k]["articleBody"], base[k].get("articleBody")) for k in truth)
    assert s.n_docs == 149
    assert s.f1 == pytest.approx(0.96315, abs=5e-5)
    assert s.precision == pytest.approx(0.94956, abs=5e-5)
    assert s.recall == pytest.approx(0.97714, abs=5e-5)


# ---- the benchmark pages --------------------------------------------------------------------


@pytest.fixture(scope="module")
def aeb_scores() -> tuple[Scores, Scores]:
    import trafilatura

    logging.getLogger("trafilatura").setLevel(logging.CRITICAL)
    truth = _read_gz_json(AEB / "ground-truth.json.gz")
    ours, raw = [], []
    for key, item in sorted(truth.items()):
        with gzip.open(AEB / "html" / f"{key}.html.gz", "rt", encoding="utf-8") as f:
            html = f.read()
        ours.append((item["articleBody"], _text(extract_page(html=html, url=item["url"]))))
        raw.append((item["articleBody"], trafilatura.extract(html)))
    return score_documents(ours), score_documents(raw)


def test_aeb_ours_above_floors(aeb_scores: tuple[Scores, Scores]) -> None:
    ours, _ = aeb_scores
    assert ours.n_docs == 149
    assert ours.f1 >= AEB_F1_FLOOR, ours
    assert ours.precision >= AEB_PRECISION_FLOOR, ours
    assert ours.recall >= AEB_RECALL_FLOOR, ours


def test_aeb_raw_trafilatura_above_floor(aeb_scores: tuple[Scores, Scores]) -> None:
    _, raw = aeb_scores
    assert raw.f1 >= AEB_RAW_F1_FLOOR, raw


def test_aeb_ours_no_worse_than_raw_trafilatura(aeb_scores: tuple[Scores, Scores]) -> None:
    ours, raw = aeb_scores
    assert ours.f1 >= raw.f1, (ours, raw)
    assert ours.recall >= raw.recall - 0.001, (ours, raw)  # we must not lose text


# ---- fundus golden pages --------------------------------------------------------------------


def _norm_title(title: str | None) -> str:
    t = unicodedata.normalize("NFKC", title or "").replace("\u200b", "")
    for a, b in (("‘", "'"), ("’", "'"), ("“", '"'), ("”", '"')):
        t = t.replace(a, b)
    return " ".join(t.split())


@pytest.fixture(scope="module")
def fundus_results() -> list[tuple[dict, object, str | None]]:
    import trafilatura

    logging.getLogger("trafilatura").setLevel(logging.CRITICAL)
    rows = json.loads((FUNDUS / "expected.json").read_text(encoding="utf-8"))
    out = []
    for row in rows:
        with gzip.open(FUNDUS / row["html"], "rt", encoding="utf-8") as f:
            html = f.read()
        out.append((row, extract_page(html=html, url=row["url"]), trafilatura.extract(html)))
    return out


def test_fundus_fixture_set(fundus_results: list) -> None:
    countries = {row["country"] for row, _, _ in fundus_results}
    assert len(fundus_results) == 29
    assert {"jp", "us", "uk", "de", "kr", "cn"} <= countries


def test_fundus_titles(fundus_results: list) -> None:
    matched = 0
    for row, page, _ in fundus_results:
        assert isinstance(page, ExtractedPage), (row["html"], page)
        same = _norm_title(page.title) == _norm_title(row["title"])
        matched += same
        if row["title_matches"]:
            assert same, (row["html"], page.title, row["title"])
    assert matched >= FUNDUS_TITLE_MATCH_FLOOR


def test_fundus_body_per_page_floors(fundus_results: list) -> None:
    for row, page, _ in fundus_results:
        s = score_counts([shingle_counts(true=row["body"], pred=_text(page))])
        assert s.f1 >= row["f1_floor"], (row["html"], s)


def test_fundus_body_overall(fundus_results: list) -> None:
    ours = score_documents((row["body"], _text(page)) for row, page, _ in fundus_results)
    raw = score_documents((row["body"], raw) for row, _, raw in fundus_results)
    assert ours.f1 >= FUNDUS_F1_FLOOR, ours
    assert ours.f1 >= raw.f1, (ours, raw)
