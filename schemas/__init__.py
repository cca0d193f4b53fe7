"""Record types and table schemas: the one place the output contract lives in code."""

from wiredesk.schemas.records import (
    Article,
    FeedEntry,
    FeedSource,
    FetchedPage,
    Reject,
    RejectReason,
    Stage,
)
from wiredesk.schemas.tables import (
    ARTICLES_SCHEMA,
    DUPLICATES_SCHEMA,
    REGION_SLUGS,
    REJECTS_SCHEMA,
    TABLE_SCHEMAS,
)

__all__ = [
    "ARTICLES_SCHEMA",
    "DUPLICATES_SCHEMA",
    "REGION_SLUGS",
    "REJECTS_SCHEMA",
    "TABLE_SCHEMAS",
    "Article",
    "FeedEntry",
    "FeedSource",
    "FetchedPage",
    "Reject",
    "RejectReason",
    "Stage",
]
