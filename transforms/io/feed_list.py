"""Record the feeds file a run was given: ``OUT/_state/feed_list/part-<run_id>.parquet``.

The poller's state (``_state/feeds``) knows the feeds that were polled; the
``feeds`` table must also list a feed that was never polled, and drop one that
left the feeds file. So each run that reads a feeds file writes its list before
the pipeline starts (any Beam filesystem), and keeps only the newest few lists.

Example::

    record_feed_list(output="/tmp/out", feeds=load_feeds("feeds.opml"), run_id=config.run_id)
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from typing import Any

from apache_beam.io.filesystems import FileSystems

from wiredesk.schemas.feed_list import FEED_LIST_KIND, FEED_LIST_SCHEMA
from wiredesk.schemas.records import FeedSource
from wiredesk.transforms.io.write_table import write_rows_atomically

__all__ = ["KEEP_LISTS", "feed_list_rows", "record_feed_list"]

_LOG = logging.getLogger(__name__)

# Lists kept: the newest is the one read; older ones only cover a reader racing a writer.
KEEP_LISTS = 3


def feed_list_rows(
    *, feeds: Sequence[FeedSource], listed_at: dt.datetime, run_id: str
) -> list[dict[str, Any]]:
    """One row per feed, in the feeds file's order."""
    return [
        {
            "feed_url": feed.url,
            "title": feed.title,
            "region": feed.region,
            "country": feed.country,
            "kind": feed.kind,
            "position": position,
            "listed_at": listed_at,
            "run_id": run_id,
        }
        for position, feed in enumerate(feeds)
    ]


def record_feed_list(
    *,
    output: str,
    feeds: Sequence[FeedSource],
    run_id: str,
    now: dt.datetime | None = None,
) -> str | None:
    """Write this run's feed list and prune older lists. Returns the file written
    (None without feeds: a wire-only run leaves the last list in place)."""
    if not feeds:
        return None
    folder = FileSystems.join(output, "_state", FEED_LIST_KIND)
    path = FileSystems.join(folder, f"part-{run_id}.parquet")
    rows = feed_list_rows(feeds=feeds, listed_at=now or dt.datetime.now(dt.UTC), run_id=run_id)
    write_rows_atomically(rows=rows, schema=FEED_LIST_SCHEMA, path=path)
    _prune(folder, keep=KEEP_LISTS)
    return path


def _prune(folder: str, *, keep: int) -> None:
    """Delete all but the ``keep`` newest lists (by modification time: ``--run-id`` is free text)."""
    try:
        matches = FileSystems.match([FileSystems.join(folder, "part-*.parquet")])[0]
        metas = sorted(matches.metadata_list, key=lambda m: (m.last_updated_in_seconds, m.path))
        if len(metas) > keep:
            FileSystems.delete([meta.path for meta in metas[:-keep]])
    except Exception as exc:  # a list left behind costs a few bytes, never the run
        _LOG.debug("could not prune feed lists in %s: %s", folder, exc)
