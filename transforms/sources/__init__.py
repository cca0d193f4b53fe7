"""Sources: the feeds file, RSS/Atom/JSON Feed parsing, news-wire formats, the polling schedule.

The package exports its Beam transforms lazily (PEP 562): importing one of its pure
modules, as extraction workers do, never imports Apache Beam.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from wiredesk.transforms.common.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from wiredesk.transforms.sources.stage_feeds import (
        CarryOverFeedState,
        PollFeeds,
        PollFeedsStateful,
    )
    from wiredesk.transforms.sources.stage_warc import ReadWarc
    from wiredesk.transforms.sources.stage_wire import ReadWireDir

__all__ = ["CarryOverFeedState", "PollFeeds", "PollFeedsStateful", "ReadWarc", "ReadWireDir"]

__getattr__ = lazy_exports(
    __name__,
    {
        "CarryOverFeedState": "stage_feeds",
        "PollFeeds": "stage_feeds",
        "PollFeedsStateful": "stage_feeds",
        "ReadWireDir": "stage_wire",
        "ReadWarc": "stage_warc",
    },
)
