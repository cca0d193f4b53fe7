"""Keep an installed package that wiredesk never uses out of the command's process.

pandas is installed only because ``country_converter`` requires it. wiredesk reads
country_converter's data file without importing the package
(:mod:`wiredesk.transforms.enrich.geo`) and uses no DataFrame anywhere. Yet Beam (its
type hints) and pyarrow (its pandas shim, at the first table the run builds) import
pandas whenever it is installed: 0.16 s of CPU at the start of every run, in the run
process, before the first feed is polled.

:func:`hide_unused_modules` makes ``import pandas`` fail in this process as it would
if pandas were not installed, which both libraries expect and handle. (One difference
from a machine without pandas: a probe with ``importlib.util.find_spec("pandas")``
raises ``ModuleNotFoundError`` instead of returning None; nothing a run imports probes
pandas that way, and ``tests/test_unused_modules.py`` runs the sample and the Dataflow
translations with it hidden.) Only the
``wiredesk run`` and ``wiredesk demo`` commands call it (``wiredesk.cli.console``), at
their start: not :func:`wiredesk.cli.main`, which tests and notebooks call in a
process that may well want pandas, and not the forkserver or the extraction workers,
which never import it. A process that has imported pandas already keeps it.

Example::

    from wiredesk.pipelines.unused_modules import hide_unused_modules
    hide_unused_modules()      # True: hidden from now on
    import pyarrow as pa
    pa.Table.from_pylist([{"a": 1}])   # without importing pandas
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
from collections.abc import Sequence

__all__ = ["UNUSED_MODULES", "HiddenModules", "hide_unused_modules"]

# Installed as a dependency of a dependency, imported by others when present, used by
# none of wiredesk's commands that run a pipeline.
UNUSED_MODULES = ("pandas",)


class HiddenModules(importlib.abc.MetaPathFinder):
    """A finder that answers "not installed" for the named top-level packages."""

    def __init__(self, names: Sequence[str]) -> None:
        self.names = frozenset(names)

    def find_spec(
        self, fullname: str, path: Sequence[str] | None = None, target: object = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname.partition(".")[0] in self.names:
            raise ModuleNotFoundError(
                f"No module named {fullname!r} (wiredesk's run process does not use it)",
                name=fullname,
            )
        return None  # every other module: the next finder's business


def hide_unused_modules(names: Sequence[str] = UNUSED_MODULES) -> bool:
    """From now on, importing ``names`` fails in this process as if not installed.

    Returns False, and changes nothing, when one of them is imported already or they are
    hidden already.
    """
    if any(name in sys.modules for name in names):
        return False
    if any(isinstance(finder, HiddenModules) for finder in sys.meta_path):
        return False
    sys.meta_path.insert(0, HiddenModules(names))
    return True
