"""What trafilatura's pruning XPaths cost a page: as written, rewritten, without regexes.

    python bench/xpath_cost.py            # the 251 fixture pages without p0222, 3 rounds
    python bench/xpath_cost.py --quick    # 10 pages, 1 round (smoke)

trafilatura prunes boilerplate with XPath expressions that test ``@id`` and ``@class``
with EXSLT regular expressions (``re:test``); libxml2 calls back into Python for each
element such a predicate meets. This evaluates each expression list on the raw tree of
every fixture page: as written; as the extraction processes run them
(``transforms/extract/cheaper_xpaths.py``: the same elements); and with every
``re:test(...)`` replaced by ``false()`` (which selects other elements, so only the cost
is comparable, not the result), which bounds what removing the callbacks could save. In a run
the lists run on trafilatura's cleaned tree, some more than once, so the shares differ.
Reported: the median ms a page of each, over ``--rounds`` rounds.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import fmt_table, load_pages, machine_info  # noqa: E402

_RE_TEST = re.compile(r"re:test\([^()]*(?:\([^()]*\)[^()]*)*\)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    from lxml.etree import XPath
    from trafilatura.utils import load_html

    import wiredesk.transforms.extract.warmup  # noqa: F401  (the workers' lxml set-up)
    from wiredesk.transforms.extract.cheaper_xpaths import (
        REGEXP_NS,
        cheaper_xpath,
        trafilatura_expressions,
    )

    pages = [p for p in load_pages() if p.name != "p0222"]
    if args.quick:
        pages, args.rounds = pages[:10], 1
    trees = [load_html(p.html) for p in pages]
    written = trafilatura_expressions()  # as trafilatura wrote them, whatever the warm-up did
    names = [
        "RAW_TREE_PRUNE_XPATH",
        "REMOVE_COMMENTS_AND_LISTS_XPATH",
        "OVERALL_DISCARD_XPATH",
        "AUTHOR_DISCARD_XPATHS",
        "AUTHOR_XPATHS",
        "BODY_XPATH",
    ]
    rows = []
    for name in names:
        expressions = written[name]
        variants = {
            "as written": expressions,
            "rewritten": [
                XPath(cheaper_xpath(x.path), namespaces={"re": REGEXP_NS}, smart_strings=False)
                for x in expressions
            ],
            "without re:test": [
                XPath(_RE_TEST.sub("false()", x.path), namespaces={"re": REGEXP_NS})
                for x in expressions
            ],
        }
        timings: dict[str, list[float]] = {label: [] for label in variants}
        for _ in range(args.rounds):
            for label, exprs in variants.items():
                start = time.process_time()
                for tree in trees:
                    for expression in exprs:
                        expression(tree)
                timings[label].append((time.process_time() - start) / len(trees) * 1e3)
        rows.append([name] + [f"{statistics.median(v):.3f}" for v in timings.values()])
    print(machine_info())
    print(f"{len(trees)} pages, {args.rounds} rounds, median ms a page")
    print(fmt_table(["expressions", *timings], rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
