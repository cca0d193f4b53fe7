"""Where the time goes: each stage's pure function on the same pages, and the Beam run
itself with every wiredesk DoFn timed on the runner thread.

    python bench/profile_stages.py                # 1,068 pages: pure stages + one Beam run
    python bench/profile_stages.py --quick        # 12 pages (smoke)
    python bench/profile_stages.py --no-beam      # pure stages only (--no-pure: Beam run only)

Part 1 (pure functions, one process, one thread unless stated): fetch_feed + parse_feed
over the RSS feeds; SafeFetcher.fetch_page on loopback (16 threads, as FetchArticle);
extract_page (and plain trafilatura.extract for comparison); to_article + enrich_article;
sketch_text; cluster_batch against an index (LSH + verify) and the index's state rows;
article_row + write_rows_atomically per partition; and the Beam coder round trip of a
FetchedPage and an Article (what crossing a fusion break costs).

Part 2 (``wiredesk run --once`` in this process, FnApiRunner in_memory): every DoFn class
of wiredesk's modules gets its ``process`` wrapped so that the runner thread's time inside
it is summed. In in_memory mode one thread runs every DoFn, so the residue (run time minus
the DoFns) is Beam itself: bundle handling, coders at fusion breaks, BatchElements, Maps.
Extraction runs in the pool's processes: _ExtractFn's time is the runner thread waiting
for them, during which nothing else of the graph runs.
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import functools
import importlib
import inspect
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import PageSite, fmt_table, load_pages, machine_info, story_variants  # noqa: E402

WIREDESK_DOFN_MODULES = (
    "wiredesk.transforms.sources.stage_feeds",
    "wiredesk.transforms.dedup.stage_exact",
    "wiredesk.transforms.fetch.stage",
    "wiredesk.transforms.extract.stage",
    "wiredesk.transforms.dedup.stage_syndication",
    "wiredesk.transforms.io.write_table",
    "wiredesk.transforms.io.state_store",
    "wiredesk.transforms.sources.stage_wire",
    "wiredesk.pipelines.graph",
)


class StageClock:
    """Seconds and calls per stage name (thread-safe)."""

    def __init__(self) -> None:
        self.seconds: collections.defaultdict[str, float] = collections.defaultdict(float)
        self.calls: collections.defaultdict[str, int] = collections.defaultdict(int)
        # CPU of the calling thread only (time.thread_time): without the time it waits
        # for the GIL, which the fetch threads and the pool's threads hold meanwhile.
        self.cpu: collections.defaultdict[str, float] = collections.defaultdict(float)
        self._lock = threading.Lock()

    def add(self, name: str, seconds: float, calls: int = 1, cpu: float = 0.0) -> None:
        with self._lock:
            self.seconds[name] += seconds
            self.calls[name] += calls
            self.cpu[name] += cpu

    def time(self, name: str, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            self.add(name, time.perf_counter() - start)

    def most_common(self) -> list[tuple[str, float]]:
        return sorted(self.seconds.items(), key=lambda kv: -kv[1])


# ---- part 1: pure functions ---------------------------------------------------------


def profile_pure(pages: Sequence[Any], site: PageSite, clock: StageClock) -> dict[str, int]:
    from apache_beam.coders import registry

    from wiredesk.schemas.records import Article, FeedSource, FetchedPage
    from wiredesk.schemas.rows import article_row, row_partition
    from wiredesk.schemas.tables import ARTICLES_SCHEMA
    from wiredesk.transforms.dedup.signatures import sketch_text
    from wiredesk.transforms.dedup.syndication import (
        DocInfo,
        SyndicationConfig,
        SyndicationIndex,
        cluster_batch,
    )
    from wiredesk.transforms.enrich import geo
    from wiredesk.transforms.enrich.article import enrich_article
    from wiredesk.transforms.extract.page import ExtractedPage, extract_page
    from wiredesk.transforms.extract.page_pass import decode_page, to_article
    from wiredesk.transforms.fetch.concurrency import ThreadPoolMapper
    from wiredesk.transforms.fetch.stage import fetch_one_page
    from wiredesk.transforms.fetch.stage_fetcher import FetchSettings
    from wiredesk.transforms.io.write_table import partition_dir, write_rows_atomically
    from wiredesk.transforms.sources.feed_parse import parse_feed

    settings = FetchSettings(allow_private=True)
    fetcher = settings.make_fetcher()
    mapper = ThreadPoolMapper(max_workers=settings.concurrency)
    now = dt.datetime.now(dt.UTC)
    entries = []
    for url in site.feed_urls:
        feed = FeedSource(url=url)
        result = clock.time("1 fetch_feed (serial)", fetcher.fetch_feed, url)
        parsed = clock.time(
            "2 parse_feed",
            parse_feed,
            body=result.body,
            feed=feed,
            headers=result.headers,
            fetched_at=now,
        )
        entries += parsed.entries
    entries = entries[: len(pages)]

    def fetch(entry: Any) -> Any:
        return fetch_one_page(fetcher=fetcher, entry=entry)

    fetched = clock.time("3 fetch_page (16 threads, wall)", mapper.map, fetch, entries)
    clock.calls["3 fetch_page (16 threads, wall)"] = len(entries) - 1
    mapper.close()
    fetcher.close()
    fetched = [f for f in fetched if isinstance(f, FetchedPage)]

    # Pages come as bytes; the extraction pass decodes them (schemas/records.py).
    decoded_pages = [clock.time("3b decode_html (in the pass)", decode_page, p) for p in fetched]
    fetched = [page for page in decoded_pages if isinstance(page, FetchedPage)]

    import trafilatura

    for page in fetched:
        clock.time("4a trafilatura.extract (plain)", trafilatura.extract, page.html)
    extracted = []
    for page in fetched:
        result = clock.time(
            "4b extract_page (pipeline's)", extract_page, html=page.html, url=page.final_url
        )
        if isinstance(result, ExtractedPage):
            extracted.append((page, result))

    geo.warm()
    articles: list[Article] = []
    for page, result in extracted:
        article = clock.time("5a to_article", to_article, page, result)
        articles.append(clock.time("5b enrich_article", enrich_article, article))

    docs = []
    for i, a in enumerate(articles):
        sketch = clock.time(
            "6a sketch_text (signatures)",
            sketch_text,
            text=a.text,
            title=a.title,
            language=a.language,
        )
        clock.time("6b sketch to_bytes", sketch.to_bytes)
        docs.append(
            DocInfo(
                doc_id=a.url_key,
                sketch=sketch,
                is_agency_copy=False,
                published_at=a.published_at,
                seen_order=i,
            )
        )
    index = SyndicationIndex(SyndicationConfig())
    assignments = clock.time(
        "6c cluster_batch (LSH + verify)", cluster_batch, docs, index=index, today=now.date()
    )
    clock.calls["6c cluster_batch (LSH + verify)"] = len(docs)
    clock.time("6d index.to_rows (state)", index.to_rows)
    clock.calls["6d index.to_rows (state)"] = len(docs)

    with tempfile.TemporaryDirectory(prefix="wiredesk-prof-") as out:
        groups: dict[Any, list[dict[str, Any]]] = collections.defaultdict(list)
        for a, asg in zip(articles, assignments, strict=True):
            placed = dataclasses_replace(a, story_id=asg.story_id, similarity=asg.similarity)
            row = clock.time("7a article_row", article_row, placed)
            groups[row_partition(row)].append(row)

        def write_all() -> None:
            for i, ((day, region), rows) in enumerate(groups.items()):
                path = partition_dir(out, "articles", day, region) + f"/part-bench-{i}.parquet"
                Path(path).parent.mkdir(parents=True, exist_ok=True)
                write_rows_atomically(rows=rows, schema=ARTICLES_SCHEMA, path=path)

        clock.time("7b write_rows_atomically", write_all)
        clock.calls["7b write_rows_atomically"] = len(articles)

    page_coder = registry.get_coder(FetchedPage)
    article_coder = registry.get_coder(Article)
    for page in fetched:
        clock.time("8a coder round trip FetchedPage", _round_trip, page_coder, page)
    for a in articles:
        clock.time("8b coder round trip Article", _round_trip, article_coder, a)
    sizes = {
        "html_bytes": sum(len(page_coder.encode(p)) for p in fetched),
        "article_bytes": sum(len(article_coder.encode(a)) for a in articles),
    }
    return {
        "entries": len(entries),
        "fetched": len(fetched),
        "extracted": len(extracted),
        "duplicates": sum(not a.is_canonical for a in assignments),
        **sizes,
    }


def _round_trip(coder: Any, value: Any) -> Any:
    return coder.decode(coder.encode(value))


def dataclasses_replace(obj: Any, **changes: Any) -> Any:
    import dataclasses

    return dataclasses.replace(obj, **changes)


# ---- part 2: the Beam run with DoFns timed -------------------------------------------


def _timed_process(original: Callable[..., Any], name: str, clock: StageClock) -> Any:
    @functools.wraps(original)
    def process(*args: Any, **kwargs: Any) -> Iterator[Any]:
        start, cpu_start = time.perf_counter(), time.thread_time()
        result = original(*args, **kwargs)
        spent, cpu = time.perf_counter() - start, time.thread_time() - cpu_start
        if result is not None:
            iterator = iter(result)
            while True:
                start, cpu_start = time.perf_counter(), time.thread_time()
                try:
                    item = next(iterator)
                except StopIteration:
                    spent += time.perf_counter() - start
                    cpu += time.thread_time() - cpu_start
                    break
                spent += time.perf_counter() - start
                cpu += time.thread_time() - cpu_start
                yield item  # downstream work happens while we are suspended here
        clock.add(name, spent, cpu=cpu)

    return process


def instrument_dofns(clock: StageClock) -> Callable[[], None]:
    """Wrap ``process`` of every wiredesk DoFn class; returns a function that undoes it."""
    import apache_beam as beam

    undo: list[tuple[Any, Any]] = []
    for module_name in WIREDESK_DOFN_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if (
                issubclass(cls, beam.DoFn)
                and cls.__module__ == module_name
                and "process" in cls.__dict__
            ):
                original = cls.__dict__["process"]
                # "extract.stage._ExtractFn": the stage package and module (every stage
                # package has a ``stage`` module, so the module alone is ambiguous).
                name = f"{'.'.join(module_name.split('.')[-2:])}.{cls.__name__}"
                setattr(cls, "process", _timed_process(original, name, clock))  # noqa: B010
                undo.append((cls, original))

    def restore() -> None:
        for cls, original in undo:
            setattr(cls, "process", original)  # noqa: B010

    return restore


def profile_beam(site: PageSite, clock: StageClock, extra: Sequence[str]) -> tuple[float, str]:
    from wiredesk.cli import main

    restore = instrument_dofns(clock)
    try:
        with tempfile.TemporaryDirectory(prefix="wiredesk-prof-") as tmp:
            feeds = site.write_feeds_file(Path(tmp) / "feeds.txt")
            argv = ["run", "--feeds", str(feeds), "--output", f"{tmp}/out", "--once"]
            argv += ["--allow-private-addresses", *extra]
            import contextlib
            import io

            buffer = io.StringIO()
            start = time.perf_counter()
            with contextlib.redirect_stdout(buffer):
                code = main(argv)
            wall = time.perf_counter() - start
            if code != 0:
                raise RuntimeError(f"wiredesk run failed: {code}")
            return wall, buffer.getvalue()
    finally:
        restore()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=1068)
    parser.add_argument("--corpus", type=Path)
    parser.add_argument("--outlets", type=int, default=20)
    parser.add_argument("--no-beam", action="store_true", help="skip part 2")
    parser.add_argument("--no-pure", action="store_true", help="skip part 1")
    parser.add_argument("--beam-arg", action="append", default=[], help="extra run argument")
    parser.add_argument("--quick", action="store_true", help="12 pages (smoke)")
    args = parser.parse_args(argv)
    if args.quick:
        args.pages, args.outlets = 12, 2

    pages = story_variants(load_pages(corpus=args.corpus), total=args.pages)
    print(f"# wiredesk stage profile: {len(pages)} pages")
    for k, v in machine_info().items():
        print(f"- {k}: {v}")
    with PageSite(pages, outlets=args.outlets, items_per_feed=25) as site:
        if not args.no_pure:
            clock = StageClock()
            counts = profile_pure(pages, site, clock)
            total = sum(s for k, s in clock.seconds.items() if not k.startswith(("4a", "8")))
            rows = [
                [
                    name,
                    f"{clock.seconds[name]:.2f}",
                    f"{1000 * clock.seconds[name] / max(1, clock.calls[name]):.2f}",
                    "-"
                    if name.startswith(("4a", "8"))
                    else f"{100 * clock.seconds[name] / total:.1f}",
                ]
                for name in sorted(clock.seconds)
            ]
            print("\n## Part 1: pure stage functions, one process")
            print(fmt_table(["stage", "seconds", "ms per call", "% of pipeline work"], rows))
            dedup = sum(clock.seconds[k] for k in clock.seconds if k.startswith("6"))
            print(
                f"\ncounts: {counts}\ndedup (6a-6d) = {dedup:.2f} s = {100 * dedup / total:.1f} % of"
                f" the serial work; 4a/8a/8b are for comparison and not in the total"
            )

        if not args.no_beam:
            beam_clock = StageClock()
            wall, output = profile_beam(site, beam_clock, args.beam_arg)
            rows = [
                [
                    name,
                    f"{beam_clock.seconds[name]:.2f}",
                    f"{beam_clock.cpu[name]:.2f}",
                    str(beam_clock.calls[name]),
                    f"{100 * beam_clock.seconds[name] / wall:.1f}",
                ]
                for name, _ in beam_clock.most_common()
            ]
            residue = wall - sum(beam_clock.seconds.values())
            rows.append(
                [
                    "(Beam itself and Maps: the rest)",
                    f"{residue:.2f}",
                    "-",
                    "-",
                    f"{100 * residue / wall:.1f}",
                ]
            )
            print(f"\n## Part 2: wiredesk run --once in-process, {wall:.1f} s wall")
            print(output.strip())
            print(
                fmt_table(
                    ["DoFn (runner thread)", "seconds", "CPU s", "process calls", "% of wall"],
                    rows,
                )
            )
            dedup = (
                "dedup.stage_syndication._SignFn",
                "dedup.stage_syndication._AssignFn",
                "dedup.stage_syndication._RouteFn",
            )
            held = sum(beam_clock.seconds[name] for name in dedup)
            cpu = sum(beam_clock.cpu[name] for name in dedup)
            print(
                f"\ndedup in the run (Sign + Assign + Route) = {held:.2f} s on the runner"
                f" thread = {100 * held / wall:.1f} % of wall; its CPU {cpu:.2f} s ="
                f" {100 * cpu / wall:.1f} % of wall (the rest is waiting for the GIL)"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
