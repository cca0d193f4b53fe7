"""Produce wiredesk outputs with one checkout's code, and compare two such outputs row by row.

A refactor that claims "behaviour is unchanged" is checked with it: run ``produce`` with the
code before the change and with the code after, then ``compare`` the two folders.

    python scripts/compare_outputs.py produce --python /tmp/before-venv/bin/python --out /tmp/a
    python scripts/compare_outputs.py produce --out /tmp/b        # this interpreter's wiredesk
    python scripts/compare_outputs.py compare /tmp/a /tmp/b

``produce`` writes two outputs under ``--out``: ``demo/`` (``wiredesk demo``) and ``bench/``
(``wiredesk run --once`` over the pages of ``bench/throughput.py``, served by the same
loopback outlets). ``compare`` reads every table of both with DuckDB and compares the rows,
ignoring what differs between any two runs of the same code: run ids, fetch and reject
timestamps, publication times that came from a feed stamped at serving time, and the
loopback outlets' ports, which the system picks anew on every run. ``story_id`` hashes a
URL with its port, so it is compared as what it means: the (normalized) URL of the
story's canonical copy.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import duckdb

_BENCH = Path(__file__).resolve().parent.parent / "bench"
TABLES = ("articles", "duplicates", "rejects")
# Columns whose values change between two runs of the same code on the same input.
VOLATILE = {"fetched_at", "at", "run_id", "date"}
_FEED_STAMPED = "published_at"  # bench feeds stamp every item with the serving time
_PORT = re.compile(r"(127\.\d+\.\d+\.\d+):\d+")


def _normalize(value: object) -> object:
    if isinstance(value, str):
        return _PORT.sub(r"\1:PORT", value)
    if isinstance(value, list):
        return [_normalize(v) for v in value]
    return value


def _story_urls(root: Path) -> dict[str, str]:
    """story_id -> the normalized URL of its canonical copy (its articles row)."""
    glob = str(root / "articles" / "**" / "*.parquet")
    if not list((root / "articles").rglob("*.parquet")):
        return {}
    rows = (
        duckdb.connect()
        .execute(f"SELECT story_id, url FROM read_parquet('{glob}', hive_partitioning=true)")
        .fetchall()
    )
    return {sid: str(_normalize(url)) for sid, url in rows}


def produce(*, python: str, out: Path, pages: int) -> None:
    out.mkdir(parents=True, exist_ok=True)
    wiredesk = [python, "-m", "wiredesk.cli"]
    subprocess.run([*wiredesk, "demo", "--output", str(out / "demo")], check=True)
    sys.path.insert(0, str(_BENCH))
    from common import PageSite, load_pages, story_variants

    site_pages = story_variants(load_pages(), total=pages)
    with PageSite(site_pages) as site:
        feeds = site.write_feeds_file(out / "bench-feeds.txt")
        subprocess.run(
            [
                *wiredesk,
                "run",
                "--feeds",
                str(feeds),
                "--output",
                str(out / "bench"),
                "--once",
                "--allow-private-addresses",
            ],
            check=True,
        )


def table_rows(root: Path, table: str) -> list[tuple[object, ...]]:
    files = list((root / table).rglob("*.parquet"))
    if not files:
        return []
    con = duckdb.connect()
    glob = str(root / table / "**" / "*.parquet")
    names = [
        r[0]
        for r in con.execute(
            f"DESCRIBE SELECT * FROM read_parquet('{glob}', hive_partitioning=true)"
        ).fetchall()
    ]
    keep = [n for n in names if n not in VOLATILE]
    if root.name == "bench" or (root / "bench-feeds.txt").exists():
        keep = [n for n in keep if n != _FEED_STAMPED]
    cols = ", ".join(f'"{n}"' for n in keep)
    rows = con.execute(
        f"SELECT {cols} FROM read_parquet('{glob}', hive_partitioning=true)"
    ).fetchall()
    stories = _story_urls(root)
    out = []
    for row in rows:
        values = [_normalize(v) for v in row]
        for i, name in enumerate(keep):
            if name == "story_id":
                values[i] = "story of " + stories.get(str(row[i]), str(row[i]))
            elif name == "related_story_ids" and isinstance(row[i], list):
                values[i] = sorted(stories.get(str(x), str(x)) for x in row[i])
        out.append(tuple(values))
    return sorted(out, key=repr)


def compare(a: Path, b: Path) -> int:
    differences = 0
    for run in ("demo", "bench"):
        for table in TABLES:
            left, right = table_rows(a / run, table), table_rows(b / run, table)
            only_left = [r for r in left if r not in right]
            only_right = [r for r in right if r not in left]
            status = "same" if not only_left and not only_right else "DIFFERENT"
            print(f"{run}/{table}: {len(left)} vs {len(right)} rows, {status}")
            for row in only_left[:3]:
                print(f"  only in {a}: {repr(row)[:300]}")
            for row in only_right[:3]:
                print(f"  only in {b}: {repr(row)[:300]}")
            differences += len(only_left) + len(only_right)
    return 1 if differences else 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    make = sub.add_parser("produce", help="write demo/ and bench/ outputs under --out")
    make.add_argument("--python", default=sys.executable, help="interpreter whose wiredesk runs")
    make.add_argument("--out", type=Path, required=True)
    make.add_argument(
        "--pages", type=int, default=1068, help="bench pages (as bench/throughput.py)"
    )
    check = sub.add_parser("compare", help="compare two folders written by produce")
    check.add_argument("a", type=Path)
    check.add_argument("b", type=Path)
    args = parser.parse_args(argv)
    if args.command == "produce":
        produce(python=args.python, out=args.out, pages=args.pages)
        return 0
    return compare(args.a, args.b)


if __name__ == "__main__":
    raise SystemExit(main())
