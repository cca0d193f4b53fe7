"""Count dateparser's regex compiles in extraction worker processes, as a run starts them.

Run as a script in a fresh interpreter (the forkserver is one per process)::

    python -m tests.support.warmup_probe streaming 2   # or: batch 2

``batch`` builds an :class:`ExtractorPool` (which sets the forkserver's preload list, as
``wiredesk run --once`` does); ``streaming`` first starts the forkserver the way local
``wiredesk run --streaming`` does (:func:`shield_extraction_from_sigterm`), then builds
the pool. Either way it then forks N processes from that forkserver. Each does first
what an extraction worker does first (import the warm-up module), then asks htmldate's
date parser about undecided strings, and reports how many regexes it compiled: a worker
forked from a forkserver that did not preload the warm-up compiles every locale's
(~1,400) itself. Prints one count per worker.
"""

from __future__ import annotations

import multiprocessing
import sys
from multiprocessing.connection import Connection

__all__ = ["count_compiles_in_worker", "main"]

_UNDECIDED = ["Updated 5 April 2023", "Stand: 3. März 2024", "mis à jour le 3 mars 2024"]


def count_compiles_in_worker(conn: Connection) -> None:
    """In a forked worker: the number of regexes compiled by the warm-up import and the
    first undecided dates, sent on ``conn``."""
    import regex

    count = 0
    real = regex._main._compile

    def spy(*args: object, **kwargs: object) -> object:
        nonlocal count
        count += 1
        return real(*args, **kwargs)

    regex._main._compile = spy
    from htmldate.extractors import get_external_parser

    import wiredesk.transforms.extract.warmup  # noqa: F401  (what _worker_main imports first)

    for text in _UNDECIDED:
        get_external_parser().get_date_data(text)
    conn.send(count)
    conn.close()


def main(argv: list[str]) -> int:
    mode, workers = argv[0], int(argv[1])
    if mode == "streaming":
        from wiredesk.pipelines.streaming import shield_extraction_from_sigterm

        if not shield_extraction_from_sigterm():
            raise SystemExit("the forkserver was already running")
    elif mode != "batch":
        raise SystemExit(f"unknown mode {mode!r}")
    from wiredesk.transforms.extract.pool import ExtractorPool, PoolConfig

    pool = ExtractorPool(PoolConfig(workers=workers))  # sets the preload list, starts nothing
    ctx = multiprocessing.get_context("forkserver")
    for _ in range(workers):
        parent, child = ctx.Pipe(duplex=False)
        process = ctx.Process(target=count_compiles_in_worker, args=(child,))
        process.start()
        child.close()
        print(parent.recv(), flush=True)
        process.join(timeout=30)
    pool.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
