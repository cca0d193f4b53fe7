"""The feed list a run was given, kept in ``OUT/_state/feed_list/`` (schema only).

Every run with a feeds file records the feeds it lists, in the file's order, so
the ``feeds`` table of ``wiredesk query`` has one row per feed of the feeds file,
the feeds that never answered included. The newest list (``listed_at``) is the
current one.
"""

from __future__ import annotations

import pyarrow as pa

__all__ = ["FEED_LIST_KIND", "FEED_LIST_SCHEMA"]

FEED_LIST_KIND = "feed_list"

FEED_LIST_SCHEMA = pa.schema(
    [
        pa.field("feed_url", pa.string()),
        pa.field("title", pa.string()),
        pa.field("region", pa.string()),
        pa.field("country", pa.string()),
        pa.field("kind", pa.string()),
        pa.field("position", pa.int32()),  # the line's place in the feeds file, from 0
        pa.field("listed_at", pa.timestamp("us", tz="UTC")),
        pa.field("run_id", pa.string()),
    ]
)
