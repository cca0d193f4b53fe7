"""Flex Template entry point: build the graph the parameters ask for and submit it.

The launcher runs ``python main.py --param=value ...`` with the template's
parameters (underscored names, deploy/metadata.json) and Dataflow's own
options. ``--streaming_mode=true`` (or ``--streaming``) submits the unbounded
graph (pipelines/unbounded.py), anything else the batch graph. The job is
submitted and this process returns without waiting for it.

Example (what the launcher does)::

    python main.py --feeds=gs://b/feeds.opml --output=gs://b/out --runner=DataflowRunner ...
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence

from wiredesk.pipelines.run import launch

_FLAGS = ("once", "streaming_mode", "allow_private_addresses", "ignore_robots")


def normalize_flags(argv: Sequence[str]) -> list[str]:
    """Flex Template parameters always carry a value (``--once=true``); wiredesk's
    flags take none. ``--flag=true`` becomes ``--flag``, ``--flag=false`` is dropped."""
    out: list[str] = []
    for arg in argv:
        name, sep, value = arg.partition("=")
        if sep and name.lstrip("-").replace("-", "_") in _FLAGS:
            if value.strip().lower() in ("true", "1", "yes"):
                out.append(name)
            continue
        out.append(arg)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    logging.getLogger().setLevel(logging.INFO)
    launch(normalize_flags(sys.argv[1:] if argv is None else argv))
    return 0


if __name__ == "__main__":
    sys.exit(main())
