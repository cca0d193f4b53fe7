"""One BLAS thread in each of a run's processes: wiredesk does no linear algebra.

numpy's OpenBLAS starts a pool of threads, one per core but one, in every process that
imports numpy: the run process (Beam imports it), the forkserver, and so every
extraction worker. wiredesk's numpy work is hashing and small array arithmetic that
never reaches those threads (a worker's CPU over the 251 fixture pages is the same
with one BLAS thread), yet each pool costs CPU to start (importing numpy: 0.085 s of
CPU with the pool on 2 cores, 0.049 s without) and, on a machine with 64 cores, would
put 63 idle threads into each of 64 worker processes.

:func:`one_blas_thread` sets ``OPENBLAS_NUM_THREADS=1`` for this process and the
processes it starts, unless the environment says otherwise already. It takes effect
for numpy imported after it: the ``run`` and ``demo`` commands call it first
(``wiredesk.cli.console``), before anything imports numpy or starts the forkserver.

Example::

    from wiredesk.pipelines.blas_threads import one_blas_thread
    one_blas_thread()
    import numpy   # no BLAS thread pool
"""

from __future__ import annotations

import os

__all__ = ["BLAS_THREADS_VARIABLE", "one_blas_thread"]

BLAS_THREADS_VARIABLE = "OPENBLAS_NUM_THREADS"


def one_blas_thread() -> bool:
    """Ask OpenBLAS for one thread from now on; False when the environment already
    says how many (a user's choice is kept)."""
    if BLAS_THREADS_VARIABLE in os.environ:
        return False
    os.environ[BLAS_THREADS_VARIABLE] = "1"
    return True
