"""``wiredesk query OUT "SQL"``: DuckDB over the output, with the tables as views.

Each table is a view over ``OUT/<table>/**/*.parquet`` with hive partitioning,
so ``date`` and ``region`` come back as columns. A table with no files yet is
an empty view with the right columns, so queries never fail for lack of data.
``feeds`` is the health of every feed of the feeds file (wiredesk/feeds_table.py).

Example::

    print(run_query(output="./wiredesk-demo",
                    sql="SELECT region, count(*) FROM articles GROUP BY 1"))
"""

from __future__ import annotations

import csv
import io
import json
import os
from typing import Any

import duckdb
import pyarrow as pa

from wiredesk.feeds_table import create_feeds_view
from wiredesk.schemas.tables import TABLE_SCHEMAS

__all__ = ["QueryError", "connect", "run_query"]


class QueryError(RuntimeError):
    pass


def _has_files(output: str, table: str) -> bool:
    if "://" in output:
        return True  # let DuckDB's own filesystem answer for remote paths
    root = os.path.join(output, table)
    for _dir, _subdirs, files in os.walk(root):
        if any(name.endswith(".parquet") and not name.startswith(".") for name in files):
            return True
    return False


def connect(output: str) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with views ``articles``, ``duplicates``, ``rejects`` and ``feeds``."""
    if "://" not in output and not os.path.isdir(output):
        raise QueryError(f"no such output folder: {output}")
    con = duckdb.connect()
    for table, schema in TABLE_SCHEMAS.items():
        if _has_files(output, table):
            glob = f"{output.rstrip('/')}/{table}/**/*.parquet".replace("'", "''")
            con.execute(
                f"CREATE VIEW {table} AS SELECT * FROM read_parquet('{glob}', "
                "hive_partitioning = true, union_by_name = true)"
            )
        else:
            empty = _empty_with_partitions(schema, with_region=table != "rejects")
            con.register(f"_{table}_empty", empty)
            con.execute(f"CREATE VIEW {table} AS SELECT * FROM _{table}_empty")
    create_feeds_view(con, output)
    return con


def _empty_with_partitions(schema: pa.Schema, *, with_region: bool) -> pa.Table:
    fields = list(schema) + [pa.field("date", pa.date32())]
    if with_region:
        fields.append(pa.field("region", pa.string()))
    return pa.schema(fields).empty_table()


def _format(columns: list[str], rows: list[tuple[Any, ...]], fmt: str) -> str:
    if fmt == "json":
        return json.dumps(
            [dict(zip(columns, row, strict=True)) for row in rows], default=str, indent=1
        )
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(columns)
        writer.writerows(rows)
        return buffer.getvalue().rstrip("\n")
    return ""


def run_query(*, output: str, sql: str, fmt: str = "table") -> str:
    """Run ``sql`` against OUT and return it formatted as a table, CSV or JSON."""
    try:
        con = connect(output)
        relation = con.sql(sql)
        if relation is None:
            return ""
        if fmt == "table":
            return str(relation).rstrip("\n")
        return _format(list(relation.columns), relation.fetchall(), fmt)
    except duckdb.Error as exc:
        raise QueryError(str(exc).splitlines()[0]) from exc
