"""The ceiling: the script a user would write to get text, title, date and authors.

    python bench/ceiling.py PAGES_DIR --processes 2

``multiprocessing.Pool(P)`` over the ``*.html`` files of PAGES_DIR, each worker reading
one file and calling ``trafilatura.extract(html, output_format="json",
with_metadata=True)``. As a benchmark it runs as its own process, start-up included
(interpreter, imports, pool), exactly as ``wiredesk run`` is timed: :func:`run_ceiling`.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import sys
from collections.abc import Sequence
from pathlib import Path

import trafilatura

__all__ = ["ceiling_command", "write_page_files"]


def _extract(path: str) -> int:
    html = Path(path).read_text(encoding="utf-8", errors="replace")
    doc = trafilatura.extract(html, output_format="json", with_metadata=True)
    return len(json.loads(doc).get("text") or "") if doc else 0


def write_page_files(htmls: Sequence[str], folder: Path) -> Path:
    """Each page as ``NNNNN.html`` in ``folder`` (the ceiling's input)."""
    folder.mkdir(parents=True, exist_ok=True)
    for i, html in enumerate(htmls):
        (folder / f"{i:05d}.html").write_text(html, encoding="utf-8", errors="surrogatepass")
    return folder


def ceiling_command(folder: Path, processes: int) -> list[str]:
    return [
        sys.executable,
        str(Path(__file__).resolve()),
        str(folder),
        "--processes",
        str(processes),
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--processes", type=int, default=2)
    args = parser.parse_args(argv)
    paths = sorted(str(p) for p in args.folder.glob("*.html"))
    with multiprocessing.Pool(args.processes) as pool:
        chars = pool.map(_extract, paths, chunksize=2)
    print(f"pages {len(paths)}, with text {sum(1 for c in chars if c)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
