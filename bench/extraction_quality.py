"""Extraction quality and speed: our extract_page vs raw ``trafilatura.extract``.

Scores the article-extraction-benchmark pages and fundus publisher pages with the
benchmark's metric (wiredesk.transforms.extract.quality_metric) and prints precision / recall / F1
side by side, then times extraction in-process and through an ExtractorPool.

    python bench/extraction_quality.py                       # the fixtures in tests/
    python bench/extraction_quality.py \\
        --aeb AEB_CHECKOUT --fundus FUNDUS_CORPUS --compare --workers 2

``--aeb DIR`` takes upstream's layout (html/*.html.gz, ground-truth.json[.gz]): a checkout
of https://github.com/scrapinghub/article-extraction-benchmark (the commit in
tests/fixtures/extraction/aeb/LICENSE-NOTE.md);
``--fundus DIR`` takes either a corpus with manifest.json or the fixture expected.json.
``--compare`` also scores the trafilatura options we considered (precision, recall, fast,
no tables, comments kept) so the choice in extract_page can be re-checked after an upgrade.
"""

from __future__ import annotations

import argparse
import dataclasses
import gzip
import json
import logging
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from wiredesk.transforms.extract.page import (
    DEFAULT,
    ExtractConfig,
    ExtractedPage,
    extract_page,
)
from wiredesk.transforms.extract.pool import ExtractorPool, PoolConfig
from wiredesk.transforms.extract.quality_metric import Scores, score_documents

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "extraction"

Doc = tuple[str, str | None, str]  # html, url, expected body
Extractor = Callable[[str, str | None], str | None]


def _read_json(path: Path) -> object:
    if path.suffix == ".gz":
        with gzip.open(path, "rt", encoding="utf-8") as f:
            return json.load(f)
    return json.loads(path.read_text(encoding="utf-8"))


def load_aeb(root: Path) -> list[Doc]:
    gt_path = root / "ground-truth.json"
    truth = _read_json(gt_path if gt_path.exists() else root / "ground-truth.json.gz")
    assert isinstance(truth, dict)
    docs = []
    for key, item in sorted(truth.items()):
        with gzip.open(root / "html" / f"{key}.html.gz", "rt", encoding="utf-8") as f:
            docs.append((f.read(), item.get("url"), item["articleBody"]))
    return docs


def _fundus_body(body: dict) -> str:
    parts = list(body.get("summary") or [])
    for section in body.get("sections") or []:
        parts += list(section.get("headline") or [])
        parts += list(section.get("paragraphs") or [])
    return "\n\n".join(parts)


def load_fundus(root: Path) -> list[Doc]:
    docs = []
    if (root / "manifest.json").exists():
        manifest = _read_json(root / "manifest.json")
        assert isinstance(manifest, list)
        for m in manifest:
            expected = _read_json(root / m["expected_json"])
            assert isinstance(expected, dict)
            body = _fundus_body(expected[m["version_key"]].get("body") or {})
            with gzip.open(root / m["html"], "rt", encoding="utf-8", errors="replace") as f:
                docs.append((f.read(), m["url"], body))
    else:
        rows = _read_json(root / "expected.json")
        assert isinstance(rows, list)
        for row in rows:
            with gzip.open(root / row["html"], "rt", encoding="utf-8") as f:
                docs.append((f.read(), row["url"], row["body"]))
    return docs


def ours(config: ExtractConfig) -> Extractor:
    def run(html: str, url: str | None) -> str | None:
        result = extract_page(html=html, url=url, config=config)
        return result.text if isinstance(result, ExtractedPage) else None

    return run


def raw(html: str, url: str | None) -> str | None:
    import trafilatura

    return trafilatura.extract(html)


def score(docs: list[Doc], extractor: Extractor) -> tuple[Scores, list[float]]:
    preds, times = [], []
    for html, url, _ in docs:
        t0 = time.perf_counter()
        preds.append(extractor(html, url))
        times.append(time.perf_counter() - t0)
    return score_documents((truth, p) for (_, _, truth), p in zip(docs, preds, strict=True)), times


def line(name: str, s: Scores, times: list[float]) -> str:
    return (
        f"  {name:<28} P={s.precision:.4f}  R={s.recall:.4f}  F1={s.f1:.4f}  "
        f"acc={s.accuracy:.3f}  median {statistics.median(times) * 1000:.1f} ms/page"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--aeb", type=Path, default=FIXTURES / "aeb")
    parser.add_argument("--fundus", type=Path, default=FIXTURES / "fundus")
    parser.add_argument("--compare", action="store_true", help="also score option variants")
    parser.add_argument("--workers", type=int, default=2, help="pool size for the timing run")
    args = parser.parse_args()
    logging.disable(logging.CRITICAL)  # trafilatura warns on every page it gives up on

    corpora = {"article-extraction-benchmark": load_aeb(args.aeb)}
    corpora["fundus"] = load_fundus(args.fundus)

    variants: dict[str, Extractor] = {
        "raw trafilatura.extract": raw,
        "ours (extract_page)": ours(DEFAULT),
    }
    if args.compare:
        for name, cfg in {
            "ours + favor_precision": dataclasses.replace(DEFAULT, favor_precision=True),
            "ours + favor_recall": dataclasses.replace(DEFAULT, favor_recall=True),
            "ours + fast": dataclasses.replace(DEFAULT, fast=True),
            "ours - tables": dataclasses.replace(DEFAULT, include_tables=False),
            "ours + comments captured": dataclasses.replace(DEFAULT, include_comments=True),
        }.items():
            variants[name] = ours(cfg)

    for corpus, docs in corpora.items():
        print(f"{corpus}: {len(docs)} pages")
        for name, extractor in variants.items():
            print(line(name, *score(docs, extractor)), flush=True)

    pages = [(html, url) for docs in corpora.values() for html, url, _ in docs]
    in_process, via_pool = [], []
    with ExtractorPool(PoolConfig(workers=args.workers)) as pool:
        pool.extract_many(pages[: args.workers])  # start the workers outside the timing
        t0 = time.perf_counter()
        pool.extract_many(pages)
        pooled = time.perf_counter() - t0
        for page in pages:  # one page at a time: the latency a page sees, IPC included
            t1 = time.perf_counter()
            pool.extract_many([page])
            via_pool.append(time.perf_counter() - t1)
    t0 = time.perf_counter()
    for html, url in pages:
        t1 = time.perf_counter()
        extract_page(html=html, url=url)
        in_process.append(time.perf_counter() - t1)
    serial = time.perf_counter() - t0
    print(f"speed over {len(pages)} pages (median per page; throughput):")
    print(
        f"  in-process, one thread      {statistics.median(in_process) * 1000:5.1f} ms"
        f"  {len(pages) / serial:6.1f} pages/s"
    )
    print(
        f"  ExtractorPool, {args.workers} workers    {statistics.median(via_pool) * 1000:5.1f} ms"
        f"  {len(pages) / pooled:6.1f} pages/s (a batch of all pages)"
    )


if __name__ == "__main__":
    main()
