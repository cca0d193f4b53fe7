"""pyarrow schemas of the three output tables (docs/output-contract.md, "Tables").

The ``date`` and ``region`` partition columns are *not* in the file schemas:
they live in the hive folder names and readers (DuckDB ``hive_partitioning``,
pyarrow ``partitioning="hive"``) add them back.
"""

from __future__ import annotations

import datetime as dt

import pyarrow as pa

__all__ = [
    "ARTICLES_SCHEMA",
    "DUPLICATES_SCHEMA",
    "REGION_SLUGS",
    "REJECTS_SCHEMA",
    "TABLE_SCHEMAS",
    "safe_date_partition",
    "safe_region_partition",
]

# The only strings that may ever become a region folder name.
REGION_SLUGS: frozenset[str] = frozenset(
    {
        "northern-africa",
        "sub-saharan-africa",
        "latin-america-and-the-caribbean",
        "northern-america",
        "central-asia",
        "eastern-asia",
        "south-eastern-asia",
        "southern-asia",
        "western-asia",
        "eastern-europe",
        "northern-europe",
        "southern-europe",
        "western-europe",
        "australia-and-new-zealand",
        "melanesia",
        "micronesia",
        "polynesia",
        "unknown",
    }
)

_TS = pa.timestamp("us", tz="UTC")

ARTICLES_SCHEMA = pa.schema(
    [
        pa.field("story_id", pa.string(), nullable=False),
        pa.field("url", pa.string(), nullable=False),
        pa.field("canonical_url", pa.string()),
        pa.field("source", pa.string()),
        pa.field("feed_url", pa.string()),
        pa.field("title", pa.string()),
        pa.field("text", pa.string()),
        pa.field("published_at", _TS),
        pa.field("fetched_at", _TS),
        pa.field("language", pa.string()),
        pa.field("authors", pa.list_(pa.string())),
        pa.field("agency", pa.string()),
        pa.field("dateline", pa.string()),
        pa.field("country", pa.string()),
        pa.field("word_count", pa.int32()),
        pa.field("content_hash", pa.string()),
        # Beyond the contract's minimum.
        pa.field("site_name", pa.string()),
        pa.field("paywalled", pa.bool_()),
        pa.field("guid", pa.string()),
        pa.field("is_wire", pa.bool_()),
        # Syndication (docs/syndication.md): the stories whose text this new story reuses.
        pa.field("related_story_ids", pa.list_(pa.string())),
        # Where the dates came from, and whether the text is whole (issue 19).
        pa.field("published_at_source", pa.string()),
        pa.field("modified_at", _TS),
        pa.field("modified_at_source", pa.string()),
        pa.field("text_complete", pa.bool_()),
    ]
)

DUPLICATES_SCHEMA = pa.schema(
    [
        pa.field("url", pa.string(), nullable=False),
        pa.field("story_id", pa.string(), nullable=False),
        pa.field("source", pa.string()),
        pa.field("feed_url", pa.string()),
        pa.field("title", pa.string()),
        pa.field("published_at", _TS),
        pa.field("fetched_at", _TS),
        pa.field("similarity", pa.float64()),
        # Beyond the contract's minimum.
        pa.field("canonical_url", pa.string()),
        pa.field("content_hash", pa.string()),
        pa.field("agency", pa.string()),
        pa.field("language", pa.string()),
        pa.field("word_count", pa.int32()),
        pa.field("is_wire", pa.bool_()),
        pa.field("version", pa.string()),
        pa.field("guid", pa.string()),
        # Syndication (docs/syndication.md): what the match is, and its evidence.
        pa.field("relation", pa.string()),
        pa.field("copy_in_story", pa.float64()),
        pa.field("story_in_copy", pa.float64()),
        pa.field("lede_shared", pa.bool_()),
        # Where the dates came from (issue 19).
        pa.field("published_at_source", pa.string()),
        pa.field("modified_at", _TS),
        pa.field("modified_at_source", pa.string()),
    ]
)

REJECTS_SCHEMA = pa.schema(
    [
        pa.field("url", pa.string()),
        pa.field("feed_url", pa.string()),
        pa.field("stage", pa.string(), nullable=False),
        pa.field("reason", pa.string(), nullable=False),
        pa.field("detail", pa.string()),
        pa.field("at", _TS, nullable=False),
    ]
)

TABLE_SCHEMAS: dict[str, pa.Schema] = {
    "articles": ARTICLES_SCHEMA,
    "duplicates": DUPLICATES_SCHEMA,
    "rejects": REJECTS_SCHEMA,
}


def safe_region_partition(region: str | None) -> str:
    """The region folder name: a known slug or ``unknown``, never input text."""
    return region if region in REGION_SLUGS else "unknown"


def safe_date_partition(day: dt.date) -> str:
    """The date folder name, built from a date object only (never from text).

    Zero-padded by hand: ``strftime('%Y')`` does not pad years below 1000 on glibc.
    """
    return f"{day.year:04d}-{day.month:02d}-{day.day:02d}"
