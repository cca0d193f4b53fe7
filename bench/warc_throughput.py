"""A backfill from a WARC against trafilatura with metadata, side by side in one run. No HTTP.

    python bench/warc_throughput.py                  # 356 pages (178 fixture pages x 2), 3 rounds
    python bench/warc_throughput.py --quick          # 12 pages, 1 round (smoke)
    python bench/warc_throughput.py --pages 1000 --rounds 5

The pages (bench/common.py: fixture pages, then shuffled copies that are distinct stories)
are written once into a ``.warc.gz`` of request/response pairs, as a crawler writes them.
Each round then measures, interleaved so that load from other users of the machine
spreads over both:

* the ceiling: ``multiprocessing.Pool(P)`` mapping ``trafilatura.bare_extraction(html,
  with_metadata=True)`` over the same HTML strings, already in memory (pool started, imports
  and trafilatura's lazy set-up done before the clock starts);
* ``wiredesk run --warc FILE --once --extract-workers P`` as a subprocess into a fresh OUT:
  reading and decoding the WARC, extraction, enrichment, syndication, Parquet, state. Its
  time is the run's own figure (graph construction to last file verified); the process
  wall (adds interpreter start and imports) is shown too.

Medians are reported, with the spread, and the peak RSS of the run's processes.
"""

from __future__ import annotations

import argparse
import io
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import fmt_table, load_pages, machine_info, median, story_variants  # noqa: E402
from throughput import ceiling_seconds  # noqa: E402
from warcio.statusandheaders import StatusAndHeaders  # noqa: E402
from warcio.warcwriter import WARCWriter  # noqa: E402

_RUN_LINE = re.compile(r"^run \S+: ([0-9.]+) s", re.MULTILINE)
_WRITTEN = re.compile(r"written: articles (\d+), duplicates (\d+), rejects (\d+)")


def _trafilatura_with_metadata(html: str) -> int:
    import trafilatura

    doc = trafilatura.bare_extraction(html, with_metadata=True)
    return len(getattr(doc, "text", None) or "") if doc is not None else 0


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
    cmd = [sys.executable, "-m", "wiredesk.cli", "run", "--warc", str(warc)]
    cmd += ["--output", str(out), "--once", "--extract-workers", str(processes)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    run_m, written = _RUN_LINE.search(proc.stdout), _WRITTEN.search(proc.stdout)
    if proc.returncode != 0 or run_m is None or written is None:
        raise RuntimeError(
            f"wiredesk run failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
        )
    return {
        "run": float(run_m.group(1)),
        "wall": wall,
        "cpu": (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime),
        "rows": sum(int(g) for g in written.groups()),
        "articles": int(written.group(1)),
        "duplicates": int(written.group(2)),
        "rejects": int(written.group(3)),
        # ru_maxrss of children is the largest single child so far (KiB on Linux).
        "max_rss_mib": after.ru_maxrss / 1024,
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
    ceiling: list[float] = []
    runs: list[dict[str, float]] = []
    try:
        warc = tmp / "pages.warc.gz"
        write_warc(warc, htmls)
        print(f"- WARC: {warc.stat().st_size / 1e6:.1f} MB gzip, {n} responses")
        for r in range(args.rounds):
            _, map_s = ceiling_seconds(
                htmls, fn=_trafilatura_with_metadata, processes=args.processes
            )
            ceiling.append(map_s)
            print(
                f"round {r + 1}: trafilatura.bare_extraction(with_metadata): {map_s:.1f} s",
                flush=True,
            )
            out = tmp / f"out-{r}"
            run = run_wiredesk(warc, out, args.processes)
            shutil.rmtree(out, ignore_errors=True)
            runs.append(run)
            print(
                f"round {r + 1}: wiredesk run --warc: run {run['run']:.1f} s, wall {run['wall']:.1f} s,"
                f" rows {int(run['rows'])}",
                flush=True,
            )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    c = median(ceiling)
    t = median([x["run"] for x in runs])
    wall = median([x["wall"] for x in runs])
    rows = [
        [
            f"ceiling: Pool({args.processes}) trafilatura.bare_extraction(with_metadata=True)",
            f"{c:.2f}",
            f"{n / c:.1f}",
            "1.00",
            _spread(ceiling),
        ],
        [
            f"wiredesk run --warc --extract-workers {args.processes}",
            f"{t:.2f} (wall {wall:.2f})",
            f"{n / t:.1f}",
            f"{c / t:.2f} (wall {c / wall:.2f})",
            _spread([x["run"] for x in runs]),
        ],
    ]
    print()
    print(fmt_table(["mode", "seconds (median)", "pages/s", "speed vs ceiling", "spread"], rows))
    last = runs[-1]
    print(
        f"\nrows: articles {int(last['articles'])}, duplicates {int(last['duplicates'])},"
        f" rejects {int(last['rejects'])} (of {n} pages); largest process so far (any child)"
        f" {last['max_rss_mib']:.0f} MiB; run CPU {median([x['cpu'] for x in runs]):.1f} s"
    )
    return 0


def _spread(values: Sequence[float]) -> str:
    return f"{min(values):.2f}-{max(values):.2f}" if len(values) > 1 else "-"


if __name__ == "__main__":
    sys.exit(main())
