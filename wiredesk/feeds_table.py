"""The ``feeds`` table of ``wiredesk query``: the health of every feed of the feeds file.

One row per feed of the newest feed list a run recorded (``OUT/_state/feed_list/``,
in the feeds file's order), joined to the newest poll state of that feed
(``OUT/_state/feeds/``) and to what the feed brought into the tables:

==========================  =================================================================
``feed_url``                the feed, as written in the feeds file
``title``                   its title in the feeds file
``last_polled_at``          when it was last polled (null: never polled)
``last_status``             ``ok``, ``not_modified``, or the reject reason of the failed
                            last poll (``http_404``, ``connection_error``, ``timeout``, ...)
``consecutive_failures``    failed polls in a row
``items_last_poll``         items the last poll passed on (0 after a 304 or a failure)
``next_poll_at``            when the poll schedule will poll it next
``stories``                 ``articles`` rows from this feed
``duplicates``              ``duplicates`` rows from this feed
``rejects``                 ``rejects`` rows of this feed (any stage)
``last_error``              the failed last poll's detail (``HTTP 404``, ...), else null
==========================  =================================================================

An output written before feed lists were recorded lists the feeds in its poll
state instead. It is a view: DuckDB reads the state files at query time.

Example::

    con = wiredesk.query.connect("./wiredesk-demo")     # has the view already
    con.sql("SELECT feed_url, last_status FROM feeds WHERE last_status <> 'ok'")
"""

from __future__ import annotations

import os

import duckdb
import pyarrow as pa

from wiredesk.schemas.feed_list import FEED_LIST_KIND, FEED_LIST_SCHEMA

__all__ = ["FEEDS_COLUMNS", "STATE_COLUMNS", "create_feeds_view"]

FEEDS_COLUMNS = (
    "feed_url",
    "title",
    "last_polled_at",
    "last_status",
    "consecutive_failures",
    "items_last_poll",
    "next_poll_at",
    "stories",
    "duplicates",
    "rejects",
    "last_error",
)

# The columns of a ``_state/feeds`` row this view reads, typed as the poller writes
# them (transforms/io/state_store.py; tests/test_feeds_table.py checks they agree).
# Unioned BY NAME with the files, so files written before a column existed read it as null.
STATE_COLUMNS = pa.schema(
    [
        pa.field("feed_url", pa.string()),
        pa.field("polled_at", pa.timestamp("us", tz="UTC")),
        pa.field("next_poll_at", pa.timestamp("us", tz="UTC")),
        pa.field("consecutive_failures", pa.int32()),
        pa.field("last_status", pa.string()),
        pa.field("last_error", pa.string()),
        pa.field("last_error_detail", pa.string()),
        pa.field("items_last_poll", pa.int64()),
    ]
)


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _glob(output: str, kind: str) -> str:
    return f"{output.rstrip('/')}/_state/{kind}/*.parquet"


def _has_files(con: duckdb.DuckDBPyConnection, output: str, kind: str) -> bool:
    if "://" not in output:
        folder = os.path.join(output, "_state", kind)
        return os.path.isdir(folder) and any(
            name.endswith(".parquet") and not name.startswith(".") for name in os.listdir(folder)
        )
    try:
        row = con.execute("SELECT count(*) FROM glob(?)", [_glob(output, kind)]).fetchone()
    except duckdb.Error:
        return False
    return bool(row and row[0])


def _source(con: duckdb.DuckDBPyConnection, output: str, kind: str, schema: pa.Schema) -> str:
    """SQL for every row of one kind of state, with at least ``schema``'s columns."""
    name = f"_wd_{kind}_columns"
    con.register(name, schema.empty_table())
    if not _has_files(con, output, kind):
        return f"SELECT * FROM {name}"
    return (
        f"SELECT * FROM read_parquet({_quote(_glob(output, kind))}, union_by_name = true) "
        f"UNION ALL BY NAME SELECT * FROM {name}"
    )


def create_feeds_view(con: duckdb.DuckDBPyConnection, output: str) -> None:
    """Create the ``feeds`` view on ``con``, whose ``articles``, ``duplicates`` and
    ``rejects`` views exist already."""
    state = _source(con, output, "feeds", STATE_COLUMNS)
    listed = _source(con, output, FEED_LIST_KIND, FEED_LIST_SCHEMA)
    con.execute(
        f"""
        CREATE VIEW feeds AS
        WITH state AS (
            SELECT * FROM ({state})
            WHERE feed_url IS NOT NULL AND polled_at IS NOT NULL
            QUALIFY row_number() OVER (PARTITION BY feed_url ORDER BY polled_at DESC) = 1
        ),
        listed AS (
            SELECT feed_url, title, position FROM ({listed})
            WHERE feed_url IS NOT NULL
            QUALIFY listed_at = max(listed_at) OVER ()
        ),
        known AS (
            SELECT feed_url, title, position FROM listed
            UNION ALL
            SELECT feed_url, NULL, NULL FROM state WHERE NOT EXISTS (SELECT 1 FROM listed)
        ),
        stories AS (SELECT feed_url, count(*) AS n FROM articles GROUP BY feed_url),
        copies AS (SELECT feed_url, count(*) AS n FROM duplicates GROUP BY feed_url),
        refused AS (SELECT feed_url, count(*) AS n FROM rejects GROUP BY feed_url)
        SELECT
            k.feed_url,
            CAST(k.title AS VARCHAR) AS title,
            s.polled_at AS last_polled_at,
            CASE
                WHEN s.last_status IS NULL THEN NULL
                WHEN s.last_status IN ('changed', 'unchanged') THEN 'ok'
                WHEN s.last_status = 'failed' THEN coalesce(s.last_error, 'failed')
                ELSE s.last_status
            END AS last_status,
            s.consecutive_failures,
            s.items_last_poll,
            s.next_poll_at,
            coalesce(a.n, 0) AS stories,
            coalesce(d.n, 0) AS duplicates,
            coalesce(r.n, 0) AS rejects,
            s.last_error_detail AS last_error
        FROM known k
        LEFT JOIN state s USING (feed_url)
        LEFT JOIN stories a USING (feed_url)
        LEFT JOIN copies d USING (feed_url)
        LEFT JOIN refused r USING (feed_url)
        ORDER BY k.position NULLS LAST, k.feed_url
        """
    )
