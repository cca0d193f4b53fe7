"""ReadWrittenStories: the ``stories`` state of runs that wrote articles but never recorded it.

``OUT/_state/stories`` (the syndication index: a sketch per story, and the link
of each wire item to its story) is written once a run's table files are
verified, like ``seen``. A run that dies in between leaves articles that no
later run can find again: a republication arriving afterwards becomes a new
story instead of joining the one already written. Such a run is recognised as
:class:`~wiredesk.transforms.io.written_keys.ReadWrittenKeys` recognises it (its
``articles`` files exist, ``_state/stories/part-<run_id>.parquet`` does not:
:func:`~wiredesk.transforms.io.written_keys.unfinished_run_files`), and its state
rows are rebuilt from those files.

The ``articles`` row keeps the text that was signed, so the rebuilt rows are the
ones the run would have saved: every article row is the canonical copy of a story
new in that run, whose first index entry is the sketch of exactly that text
(:func:`~wiredesk.transforms.dedup.signatures.sketch_text`, as ``DetectSyndication``
signs), dated by publication day (else the fetch day, the run's day), plus the
link of a wire item (``wire:<item id>``) to its story. What cannot be rebuilt:
the extra sketches of republications that widened a story's coverage
(``duplicates`` rows carry no text) and a link refreshed by a later version.
After a clean run there is nothing to read.

Example::

    stories = (
        p | ReadState(output=out, kind="stories", horizon_days=7, today=today),
        p | ReadWrittenStories(output=out, horizon_days=7, now=time.time(), today=today),
    ) | beam.Flatten()
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from typing import Any

import apache_beam as beam
from apache_beam.metrics import Metrics

from wiredesk.schemas.rows import story_day
from wiredesk.transforms.common.metrics import NAMESPACE
from wiredesk.transforms.dedup.signatures import sketch_text
from wiredesk.transforms.dedup.syndication import encode_link
from wiredesk.transforms.io.parquet_read import UNREADABLE_FILES, UnreadableFile, skip_unreadable
from wiredesk.transforms.io.written_keys import (
    ListUnfinishedRunFiles,
    read_columns,
    unfinished_run_files,
)
from wiredesk.transforms.sources.wire_parse import canonical_item_id

__all__ = ["ReadWrittenStories", "story_rows_of_article", "unfinished_story_files"]

# What signing and dating need; ``title`` and ``language`` go to sketch_text as
# DetectSyndication passes them, so a change there cannot go unnoticed here.
# Only articles carry the text a story's sketch is made from.
_TABLES = ("articles",)
_COLUMNS = ("story_id", "url", "text", "title", "language", "published_at", "fetched_at", "is_wire")


def story_rows_of_article(row: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The ``stories`` state rows the run that wrote ``articles`` row ``row`` recorded for it.

    The sketch row is left out for a body with no tokens (the index keeps none);
    a wire item adds its link row (``wire["item_id"]`` is ``canonical_item_id`` of
    the item's URI, which is the row's ``url``).
    """
    story_id = row.get("story_id")
    fetched_at = row.get("fetched_at")
    if not isinstance(story_id, str) or not story_id or not isinstance(fetched_at, dt.datetime):
        return []
    day = story_day(row.get("published_at"), fetched_at)
    rows = []
    sketch = sketch_text(
        text=row.get("text") or "", title=row.get("title"), language=row.get("language")
    )
    if not sketch.is_empty:
        # The form the index persists (the lede signatures it files a copy under).
        rows.append({"story_id": story_id, "day": day, "sketch": sketch.filed().to_bytes()})
    url = row.get("url")
    if row.get("is_wire") and isinstance(url, str) and url.strip():
        key = f"wire:{canonical_item_id(url)}"
        rows.append({"story_id": story_id, "day": day, "sketch": encode_link(key)})
    return rows


def unfinished_story_files(*, output: str, horizon_days: int, now: float) -> list[str]:
    """Paths of the ``articles`` files, written within the horizon, whose run left no
    ``stories`` state (compacted files count as finished, as for ``seen``)."""
    found = unfinished_run_files(
        output=output, horizon_days=horizon_days, now=now, kind="stories", tables=_TABLES
    )
    return [path for _table, path in found]


class _StoriesOfFile(beam.DoFn):
    """Story state rows of one ``articles`` file, older than the horizon dropped as in ReadState."""

    def __init__(self, *, oldest_day: dt.date) -> None:
        self._oldest = oldest_day
        self._files = Metrics.counter(NAMESPACE, "state_stories_files_of_unfinished_runs_read")
        self._rows = Metrics.counter(NAMESPACE, "state_stories_rows_rebuilt_from_unfinished_runs")
        self._expired = Metrics.counter(NAMESPACE, "state_stories_rows_rebuilt_expired")
        self._unreadable = Metrics.counter(NAMESPACE, UNREADABLE_FILES)

    def process(self, item: tuple[str, str]) -> Iterator[dict[str, Any]]:
        _table, path = item
        try:
            articles = read_columns(path, _COLUMNS)
        except UnreadableFile as err:
            skip_unreadable(err, self._unreadable)
            return
        if articles is None:
            # Compacted away since it was listed: compaction counts as finished.
            # (A comment after this return would make Beam warn of "yield and return".)
            return
        self._files.inc()
        for article in articles:
            for row in story_rows_of_article(article):
                if row["day"] < self._oldest:
                    self._expired.inc()
                    continue
                self._rows.inc()
                yield row


class ReadWrittenStories(beam.PTransform):
    """``stories`` state rows rebuilt from the ``articles`` files of runs that left none.

    Rows look like :class:`~wiredesk.transforms.io.state_store.ReadState` rows of kind
    ``stories``: flatten the two and hand them to ``DetectSyndication`` as the
    restored stories. As in ReadWrittenKeys, the listing runs inside the pipeline.
    """

    def __init__(self, *, output: str, horizon_days: int, now: float, today: dt.date) -> None:
        super().__init__()
        self._files = ListUnfinishedRunFiles(
            output=output,
            horizon_days=horizon_days,
            now=now,
            kind="stories",
            tables=_TABLES,
        )
        self._oldest = today - dt.timedelta(days=horizon_days)

    def expand(self, pbegin: beam.pvalue.PBegin) -> beam.PCollection:
        return (
            pbegin
            | "Files" >> self._files
            | "Rows" >> beam.ParDo(_StoriesOfFile(oldest_day=self._oldest))
        )
