"""A backfill from a WARC against trafilatura with metadata, side by side in one run. No HTTP.

    python bench/warc_throughput.py                  # 356 pages (178 fixture pages x 2), 3 rounds
    python bench/warc_throughput.py --quick          # 12 pages, 1 round (smoke)
    python bench/warc_throughput.py --pages 1000 --rounds 5
    python bench/warc_throughput.py --config "before=@checkout=/tmp/before" --config "now="
    python bench/warc_throughput.py --exclude p0222  # without one fixture page

The pages (bench/common.py: fixture pages, then shuffled copies that are distinct stories)
are written once into a ``.warc.gz`` of request/response pairs, as a crawler writes them.
Each round then measures, interleaved so that load from other users of the machine
spreads over both, each as a process from its start to its exit:

* the ceiling (bench/ceiling.py, as in bench/throughput.py): ``multiprocessing.Pool(P)``
  over the same pages as files, through ``trafilatura.extract(html, output_format="json",
  with_metadata=True)``, interpreter start, imports and pool included;
* ``wiredesk run --warc FILE --once --extract-workers P`` into a fresh OUT: reading and
  decoding the WARC, extraction, enrichment, syndication, Parquet, state.

Medians are reported, with the spread, the CPU of each process tree and the runner's own.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ceiling import write_page_files  # noqa: E402
from common import Measured, fmt_table, load_pages, machine_info, median, story_variants  # noqa: E402
from throughput import (  # noqa: E402
    HEADERS,
    PipelineRun,
    ceiling_row,
    measure_ceiling,
    run_config,
    run_row,
)
from warcio.statusandheaders import StatusAndHeaders  # noqa: E402
from warcio.warcwriter import WARCWriter  # noqa: E402


def write_warc(path: Path, htmls: Sequence[str], *, hosts: int = 20) -> None:
    """Request/response pairs for every page, spread over ``hosts`` outlets."""
    with path.open("wb") as handle:
        writer = WARCWriter(handle, gzip=True, warc_version="WARC/1.1")
        writer.write_record(writer.create_warcinfo_record(path.name, {"software": "bench"}))
        for i, html in enumerate(htmls):
            url = f"https://outlet{i % hosts}.example/news/{i}.html"
            body = html.encode("utf-8")
            request = writer.create_warc_record(
                url,
                "request",
                payload=io.BytesIO(b""),
                http_headers=StatusAndHeaders(
                    f"GET /news/{i}.html HTTP/1.1", [("User-Agent", "bench")], is_http_request=True
                ),
            )
            response = writer.create_warc_record(
                url,
                "response",
                payload=io.BytesIO(body),
                http_headers=StatusAndHeaders(
                    "200 OK",
                    [
                        ("Content-Type", "text/html; charset=utf-8"),
                        ("Content-Length", str(len(body))),
                    ],
                    protocol="HTTP/1.1",
                ),
            )
            writer.write_record(request)
            writer.write_record(response)


def run_warc(warc: Path, out: Path, processes: int, extra: Sequence[str] = ()) -> PipelineRun:
    run_args = ["--warc", str(warc), "--output", str(out), "--once"]
    return run_config([*run_args, "--extract-workers", str(processes)], extra)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=356)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--processes", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--quick", action="store_true", help="12 pages, 1 round (smoke)")
    parser.add_argument(
        "--config",
        action="append",
        metavar="NAME=ARGS",
        help="a configuration to time side by side (repeatable), as in bench/throughput.py,"
        " e.g. 'before=@checkout=/tmp/before'",
    )
    parser.add_argument(
        "--exclude",
        action="append",
        default=[],
        metavar="NAME",
        help="leave out a fixture page and its copies (repeatable): what one page adds to"
        " either side, e.g. p0222, a live blog whose broken JSON-LD costs plain"
        " trafilatura 0.7 s a copy",
    )
    args = parser.parse_args(argv)
    configs = {c.split("=", 1)[0]: c.split("=", 1)[1].split() for c in args.config or ["now="]}
    if args.quick:
        args.pages, args.rounds = 12, 1
    fixtures = load_pages()
    fixtures = [p for p in fixtures if p.name not in set(args.exclude)]
    pages = story_variants(fixtures, total=args.pages)
    htmls = [p.html for p in pages]
    n = len(htmls)
    print(
        f"# wiredesk --warc throughput: {n} pages, {args.rounds} round(s), {args.processes} processes"
    )
    for k, v in machine_info().items():
        print(f"- {k}: {v}")
    tmp = Path(tempfile.mkdtemp(prefix="wiredesk-warc-bench-"))
    ceilings: list[Measured] = []
    runs: dict[str, list[PipelineRun]] = {name: [] for name in configs}
    try:
        warc = tmp / "pages.warc.gz"
        write_warc(warc, htmls)
        page_dir = write_page_files(htmls, tmp / "pages")
        print(f"- WARC: {warc.stat().st_size / 1e6:.1f} MB gzip, {n} responses")
        for r in range(args.rounds):
            ceiling = measure_ceiling(page_dir, args.processes)
            ceilings.append(ceiling)
            print(f"round {r + 1}: ceiling: {ceiling.wall:.1f} s", flush=True)
            for name, extra in configs.items():
                out = tmp / f"out-{r}"
                run = run_warc(warc, out, args.processes, extra)
                shutil.rmtree(out, ignore_errors=True)
                runs[name].append(run)
                rows_written = run.articles + run.duplicates + run.rejects
                print(
                    f"round {r + 1}: {name}: wiredesk run --warc: {run.wall:.1f} s,"
                    f" CPU {run.cpu:.1f} s (runner {run.runner_cpu:.1f} s), rows {rows_written}",
                    flush=True,
                )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    c = median([m.wall for m in ceilings])
    label = f"wiredesk run --warc --extract-workers {args.processes}"
    rows = [ceiling_row(ceilings, pages=n, processes=args.processes)]
    rows += [run_row(f"{label}: {name}", rs, pages=n, ceiling=c) for name, rs in runs.items()]
    print()
    print(fmt_table(HEADERS, rows))
    last = next(iter(runs.values()))[-1]
    print(
        f"\nrows: articles {last.articles}, duplicates {last.duplicates},"
        f" rejects {last.rejects} (of {n} pages)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
