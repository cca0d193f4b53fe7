"""Dedup: exact duplicates of feed entries, syndication (near-duplicate stories), signatures.

The package exports its Beam transforms lazily (PEP 562): importing one of its pure
modules, as extraction workers do, never imports Apache Beam.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from wiredesk.transforms.common.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from wiredesk.transforms.dedup.stage_exact import DedupeEntries
    from wiredesk.transforms.dedup.stage_stateful import DedupeEntriesStateful, KeepFirstSeen
    from wiredesk.transforms.dedup.stage_streaming_syndication import StreamingSyndication
    from wiredesk.transforms.dedup.stage_syndication import DetectSyndication

__all__ = [
    "DedupeEntries",
    "DedupeEntriesStateful",
    "DetectSyndication",
    "KeepFirstSeen",
    "StreamingSyndication",
]

__getattr__ = lazy_exports(
    __name__,
    {
        "DedupeEntries": "stage_exact",
        "DedupeEntriesStateful": "stage_stateful",
        "KeepFirstSeen": "stage_stateful",
        "DetectSyndication": "stage_syndication",
        "StreamingSyndication": "stage_streaming_syndication",
    },
)
