"""The extraction workers' forkserver: one per process, preloaded once, started early.

Every extraction worker of the local pool (:mod:`wiredesk.transforms.extract.pool`) is
forked from the multiprocessing forkserver, which imports trafilatura and pays the lazy
set-up (dateparser's locales, the gazetteer, the language model: about 2 s of one core,
:mod:`wiredesk.transforms.extract.warmup`) once, so every worker starts warm.

Whoever starts the forkserver first decides its preload and its signal dispositions:
the pool, on its first worker; or the command line, before it imports Beam
(:func:`start_extraction_forkserver`), so that those 2 s run on the other core while
the runner imports Beam and builds the graph instead of after the first new page. This
module imports nothing heavy, so that the command line can call it that early.

Example::

    from wiredesk.transforms.extract.forkserver import start_extraction_forkserver
    start_extraction_forkserver()  # returns at once; the preload runs in the forkserver
"""

from __future__ import annotations

import multiprocessing
import signal
import threading

__all__ = ["FORKSERVER_PRELOAD", "forkserver_running", "start_extraction_forkserver"]

# Imported once by the forkserver, so every worker forked from it starts warm.
FORKSERVER_PRELOAD = [
    "trafilatura.core",
    "wiredesk.transforms.extract.page",
    "wiredesk.transforms.extract.page_pass",
    "wiredesk.transforms.extract.warmup",
]


def forkserver_running() -> bool:
    """Whether this process has started its forkserver already."""
    from multiprocessing import forkserver

    return getattr(forkserver._forkserver, "_forkserver_pid", None) is not None


def start_extraction_forkserver(*, ignore_sigterm: bool = False) -> bool:
    """Start this process's forkserver now, preloading :data:`FORKSERVER_PRELOAD`.

    Returns at once: the forkserver is a new interpreter that runs the preload on its
    own (on another core, if there is one) and serves forks once done. It starts no
    extraction worker: the pool still starts those on the first new page, and a run
    with nothing new starts none. ``ignore_sigterm`` starts it with SIGTERM ignored,
    which it and every worker forked from it inherit (local streaming drains on SIGTERM
    and keeps its workers meanwhile). Returns False, and changes nothing, when a
    forkserver runs already, when not called from the main thread (signal dispositions
    can only change there), or where the platform has no forkserver.
    """
    if threading.current_thread() is not threading.main_thread() or forkserver_running():
        return False
    try:
        ctx = multiprocessing.get_context("forkserver")
    except ValueError:  # no forkserver on this platform (Windows)
        return False
    from multiprocessing import forkserver

    ctx.set_forkserver_preload(FORKSERVER_PRELOAD)
    previous = signal.signal(signal.SIGTERM, signal.SIG_IGN) if ignore_sigterm else None
    try:
        forkserver.ensure_running()
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    return True
