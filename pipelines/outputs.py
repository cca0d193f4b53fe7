"""The state before and the output tables and state after: one wiring for both graphs.

Both graphs restore the state earlier runs left in OUT (seen keys, the story index,
feed validators) the same way (:func:`read_states`), turn canonical articles,
republications and rejects into rows, write each table partitioned by day and region,
verify every file, and then save their state. They differ only in the writers
(``WriteTable``/``WriteState``, or the windowed ones with the streaming window), so
the writers are parameters. Each reject is counted by stage and reason
(``rejected_<stage>_<reason>_total``) as it becomes a row, so both graphs count the
rejects they write alike. These are functions, not composite transforms, on purpose:
the steps keep their top-level labels (``ReadSeenState``, ``WriteArticles``,
``VerifyWritten``, ``WriteSeenState``, ...), which a running Dataflow job's ``--update``
matches by name.

Example::

    written = write_tables(
        articles=synd[DetectSyndication.ARTICLES],
        duplicates=synd[DetectSyndication.DUPLICATES],
        rejects=rejects,
        writer=lambda **table: WriteTable(output=out, run_id=run_id, **table),
    )
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from typing import Any

import apache_beam as beam
from apache_beam.metrics import Metrics

from wiredesk.pipelines.options import RunConfig
from wiredesk.schemas.records import Reject
from wiredesk.schemas.rows import article_row, duplicate_row, row_partition
from wiredesk.transforms.common.metrics import NAMESPACE, rejected_total
from wiredesk.transforms.io.state_store import ReadState
from wiredesk.transforms.io.write_table import VerifyWritten

__all__ = [
    "RestoredState",
    "read_states",
    "reject_partition",
    "reject_row",
    "write_states",
    "write_tables",
]

# writer(table=..., partition_fn=...) -> the PTransform that writes that table's rows.
TableWriter = Callable[..., beam.PTransform]
# writer(kind=...) -> the PTransform that saves that kind of state.
StateWriter = Callable[..., beam.PTransform]


@dataclasses.dataclass(frozen=True)
class RestoredState:
    """The state earlier runs (or the job this one replaces) left in OUT, within its horizons."""

    seen_keys: beam.PCollection  # str keys
    stories: beam.PCollection  # ``stories`` rows
    feed_rows: beam.PCollection  # ``feeds`` rows, every row of every feed


def read_states(p: beam.Pipeline, config: RunConfig) -> RestoredState:
    """Read the three kinds of state, each within its horizon (seen keys and feed
    validators: ``seen_horizon_days``; stories: ``dedup_horizon_days``)."""
    today = config.today
    seen_keys = (
        p
        | "ReadSeenState"
        >> ReadState(
            output=config.output, kind="seen", horizon_days=config.seen_horizon_days, today=today
        )
        | "SeenKey" >> beam.Map(lambda row: row["key"])
    )
    stories = p | "ReadStoryState" >> ReadState(
        output=config.output, kind="stories", horizon_days=config.dedup_horizon_days, today=today
    )
    feed_rows = p | "ReadFeedState" >> ReadState(
        output=config.output, kind="feeds", horizon_days=config.seen_horizon_days, today=today
    )
    return RestoredState(seen_keys=seen_keys, stories=stories, feed_rows=feed_rows)


def reject_row(reject: Reject) -> dict[str, Any]:
    """The ``rejects`` row of a reject, counted by stage and reason as it is written."""
    Metrics.counter(NAMESPACE, rejected_total(reject.stage, reject.reason)).inc()
    return reject.to_row()


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
        | "RejectRows" >> beam.Map(reject_row)
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
