"""The output tables and the state after them: one wiring for the batch and unbounded graphs.

Both graphs turn canonical articles, republications and rejects into rows, write each
table partitioned by day and region, verify every file, and then save their state
(seen keys, the story index, feed validators). They differ only in the writers
(``WriteTable``/``WriteState``, or the windowed ones with the streaming window), so
the writers are parameters. These are functions, not composite transforms, on purpose:
the steps keep their top-level labels (``WriteArticles``, ``VerifyWritten``,
``WriteSeenState``, ...), which a running Dataflow job's ``--update`` matches by name.

Example::

    written = write_tables(
        articles=synd[DetectSyndication.ARTICLES],
        duplicates=synd[DetectSyndication.DUPLICATES],
        rejects=rejects,
        writer=lambda **table: WriteTable(output=out, run_id=run_id, **table),
    )
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import apache_beam as beam

from wiredesk.schemas.rows import article_row, duplicate_row, row_partition
from wiredesk.transforms.io.write_table import VerifyWritten

__all__ = ["reject_partition", "write_states", "write_tables"]

# writer(table=..., partition_fn=...) -> the PTransform that writes that table's rows.
TableWriter = Callable[..., beam.PTransform]
# writer(kind=...) -> the PTransform that saves that kind of state.
StateWriter = Callable[..., beam.PTransform]


def reject_partition(row: dict[str, Any]) -> tuple[dt.date, None]:
    """Rejects are partitioned by the day they happened; they have no region."""
    return row["at"].astimezone(dt.UTC).date(), None


def write_tables(
    *,
    articles: beam.PCollection,
    duplicates: beam.PCollection,
    rejects: beam.PCollection,
    writer: TableWriter,
) -> beam.PCollection:
    """Write the three tables with ``writer``; the result is every file, verified."""
    written_articles = (
        articles
        | "ArticleRows" >> beam.Map(article_row)
        | "WriteArticles" >> writer(table="articles", partition_fn=row_partition)
    )
    written_duplicates = (
        duplicates
        | "DuplicateRows" >> beam.Map(duplicate_row)
        | "WriteDuplicates" >> writer(table="duplicates", partition_fn=row_partition)
    )
    written_rejects = (
        rejects
        | "RejectRows" >> beam.Map(lambda r: r.to_row())
        | "WriteRejects" >> writer(table="rejects", partition_fn=reject_partition)
    )
    return (
        (written_articles, written_duplicates, written_rejects)
        | "AllWritten" >> beam.Flatten()
        | "VerifyWritten" >> VerifyWritten()
    )


def write_states(
    *,
    seen: beam.PCollection,
    stories: beam.PCollection,
    feeds: beam.PCollection | None,
    writer: StateWriter,
) -> None:
    """Save the seen keys, the story index and (when feeds were polled) feed validators."""
    seen | "WriteSeenState" >> writer(kind="seen")
    stories | "WriteStoryState" >> writer(kind="stories")
    if feeds is not None:
        feeds | "WriteFeedState" >> writer(kind="feeds")
