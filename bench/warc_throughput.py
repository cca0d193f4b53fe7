"""A backfill from a WARC against trafilatura with metadata, side by side in one run. No HTTP.

    python bench/warc_throughput.py                  # 356 pages (178 fixture pages x 2), 3 rounds
    python bench/warc_throughput.py --quick          # 12 pages, 1 round (smoke)
    python bench/warc_throughput.py --pages 1000 --rounds 5

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
import re
import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ceiling import ceiling_command, write_page_files  # noqa: E402
from common import (  # noqa: E402
    Measured,
    fmt_table,
    load_pages,
    machine_info,
    measure_process,
    median,
    story_variants,
)
from warcio.statusandheaders import StatusAndHeaders  # noqa: E402
from warcio.warcwriter import WARCWriter  # noqa: E402

_WRITTEN = re.compile(r"written: articles (\d+), duplicates (\d+), rejects (\d+)")


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


def run_wiredesk(warc: Path, out: Path, processes: int) -> dict[str, float]:
    cmd = [sys.executable, str(Path(__file__).resolve().parent / "common.py")]
    cmd += ["run", "--warc", str(warc), "--output", str(out), "--once"]
    cmd += ["--extract-workers", str(processes)]
    m = measure_process(cmd)
    written = _WRITTEN.search(m.stdout)
    if m.returncode != 0 or written is None or m.runner_cpu is None:
        raise RuntimeError(f"wiredesk run failed ({m.returncode}):\n{m.stdout}\n{m.stderr}")
    return {
        "wall": m.wall,
        "cpu": m.cpu,
        "runner_cpu": m.runner_cpu,
        "rows": sum(int(g) for g in written.groups()),
        "articles": int(written.group(1)),
        "duplicates": int(written.group(2)),
        "rejects": int(written.group(3)),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=356)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--processes", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--quick", action="store_true", help="12 pages, 1 round (smoke)")
    args = parser.parse_args(argv)
    if args.quick:
        args.pages, args.rounds = 12, 1
    pages = story_variants(load_pages(), total=args.pages)
    htmls = [p.html for p in pages]
    n = len(htmls)
    print(
        f"# wiredesk --warc throughput: {n} pages, {args.rounds} round(s), {args.processes} processes"
    )
    for k, v in machine_info().items():
        print(f"- {k}: {v}")
    tmp = Path(tempfile.mkdtemp(prefix="wiredesk-warc-bench-"))
    ceiling: list[Measured] = []
    runs: list[dict[str, float]] = []
    try:
        warc = tmp / "pages.warc.gz"
        write_warc(warc, htmls)
        page_dir = write_page_files(htmls, tmp / "pages")
        print(f"- WARC: {warc.stat().st_size / 1e6:.1f} MB gzip, {n} responses")
        for r in range(args.rounds):
            m = measure_process(ceiling_command(page_dir, args.processes))
            if m.returncode != 0:
                raise RuntimeError(f"the ceiling failed:\n{m.stderr}")
            ceiling.append(m)
            print(f"round {r + 1}: ceiling: {m.wall:.1f} s", flush=True)
            out = tmp / f"out-{r}"
            run = run_wiredesk(warc, out, args.processes)
            shutil.rmtree(out, ignore_errors=True)
            runs.append(run)
            print(
                f"round {r + 1}: wiredesk run --warc: {run['wall']:.1f} s, rows {int(run['rows'])}",
                flush=True,
            )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    c = median([m.wall for m in ceiling])
    t = median([x["wall"] for x in runs])
    share = median([x["runner_cpu"] / x["cpu"] for x in runs])
    rows = [
        [
            f"ceiling: Pool({args.processes}) trafilatura.extract(with_metadata=True)",
            f"{c:.2f}",
            f"{n / c:.1f}",
            "1.00",
            f"{median([m.cpu for m in ceiling]):.1f}",
            "-",
            _spread([m.wall for m in ceiling]),
        ],
        [
            f"wiredesk run --warc --extract-workers {args.processes}",
            f"{t:.2f}",
            f"{n / t:.1f}",
            f"{c / t:.2f}",
            f"{median([x['cpu'] for x in runs]):.1f}",
            f"{median([x['runner_cpu'] for x in runs]):.1f} ({share:.3f})",
            _spread([x["wall"] for x in runs]),
        ],
    ]
    print()
    headers = ["mode", "seconds (median)", "pages/s", "ratio to ceiling"]
    headers += ["CPU s, all processes", "runner CPU s (share)", "spread"]
    print(fmt_table(headers, rows))
    last = runs[-1]
    print(
        f"\nrows: articles {int(last['articles'])}, duplicates {int(last['duplicates'])},"
        f" rejects {int(last['rejects'])} (of {n} pages)"
    )
    return 0


def _spread(values: Sequence[float]) -> str:
    return f"{min(values):.2f}-{max(values):.2f}" if len(values) > 1 else "-"


if __name__ == "__main__":
    sys.exit(main())
