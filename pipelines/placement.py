"""Where a run does its per-page work, told from its arguments alone.

:func:`wiredesk.pipelines.options.uses_extract_pool` decides it from Beam's parsed
options; :func:`pool_expected` tells the same from the raw command line, without
importing Beam, so that the command line can start the extraction workers' forkserver
before it pays Beam's import (:mod:`wiredesk.transforms.extract.forkserver`).

Example:
    >>> pool_expected(["--once", "--feeds", "f.txt"])
    True
    >>> pool_expected(["--runner=DataflowRunner"])
    False
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["LOCAL_RUNNERS", "POOL_RUNNING_MODES", "flag_value", "pool_expected"]

# The runners wiredesk runs on this machine (it picks the FnApiRunner for them).
LOCAL_RUNNERS = frozenset(
    {None, "", "DirectRunner", "direct", "FnApiRunner", "BundleBasedDirectRunner"}
)
# The local running modes that keep every DoFn in this one process, and so use the pool.
POOL_RUNNING_MODES = frozenset({None, "in_memory", "multi_threading"})


def flag_value(args: Sequence[str], name: str) -> str | None:
    """The value of ``--name=V`` or ``--name V`` in ``args`` (the last one wins), else None."""
    value = None
    for i, arg in enumerate(args):
        if arg == name and i + 1 < len(args):
            value = args[i + 1]
        elif arg.startswith(name + "="):
            value = arg[len(name) + 1 :]
    return value


def pool_expected(args: Sequence[str]) -> bool:
    """Whether a run with these arguments extracts in the local pool of worker processes."""
    return (
        flag_value(args, "--runner") in LOCAL_RUNNERS
        and flag_value(args, "--direct_running_mode") in POOL_RUNNING_MODES
    )
