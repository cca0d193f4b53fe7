"""Records to table rows, and the partition each row belongs to.

Kept beside the schemas so that the columns a row carries and the columns a
file declares cannot drift apart (a test writes every row type through its
schema).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from wiredesk.schemas.records import Article
from wiredesk.schemas.tables import safe_region_partition

__all__ = [
    "article_row",
    "duplicate_row",
    "published",
    "row_partition",
    "story_day",
]


def story_day(published_at: dt.datetime | None, fetched_at: dt.datetime) -> dt.date:
    """The ``date`` partition: publication date in UTC, else the fetch date."""
    moment = published_at or fetched_at
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC).date()


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


def published(article: Article) -> tuple[dt.datetime | None, str | None]:
    """``published_at`` and its source as written: the fetch time when nothing says more."""
    if article.published_at is not None:
        return _utc(article.published_at), article.published_at_source
    return _utc(article.fetched_at), "fetch"


def _date_columns(article: Article) -> dict[str, Any]:
    at, source = published(article)
    return {
        "published_at": at,
        "published_at_source": source,
        "modified_at": _utc(article.modified_at),
        "modified_at_source": article.modified_at_source if article.modified_at else None,
    }


def article_row(article: Article) -> dict[str, Any]:
    return {
        "story_id": article.story_id,
        "url": article.url,
        "canonical_url": article.canonical_url,
        "source": article.source,
        "feed_url": article.feed_url,
        "title": article.title,
        "text": article.text,
        "fetched_at": _utc(article.fetched_at),
        "language": article.language,
        "authors": list(article.authors),
        "agency": article.agency,
        "dateline": article.dateline,
        "country": article.country,
        "word_count": article.word_count,
        "content_hash": article.content_hash,
        "site_name": article.site_name,
        "paywalled": article.paywalled,
        "guid": article.guid,
        "is_wire": article.is_wire,
        "related_story_ids": list(article.related_story_ids),
        **_date_columns(article),
        "text_complete": article.text_complete,
        # Partition values travel with the row and are dropped by the writer's schema.
        "_day": story_day(article.published_at, article.fetched_at),
        "_region": safe_region_partition(article.region),
    }


def duplicate_row(article: Article) -> dict[str, Any]:
    version = (article.wire or {}).get("version")
    return {
        "url": article.url,
        "story_id": article.story_id,
        "source": article.source,
        "feed_url": article.feed_url,
        "title": article.title,
        "fetched_at": _utc(article.fetched_at),
        "similarity": article.similarity,
        "canonical_url": article.canonical_url,
        "content_hash": article.content_hash,
        "agency": article.agency,
        "language": article.language,
        "word_count": article.word_count,
        "is_wire": article.is_wire,
        "version": None if version is None else str(version),
        "guid": article.guid,
        "relation": article.relation,
        "copy_in_story": article.copy_in_story,
        "story_in_copy": article.story_in_copy,
        "lede_shared": article.lede_shared,
        **_date_columns(article),
        "_day": story_day(article.published_at, article.fetched_at),
        "_region": safe_region_partition(article.region),
    }


def row_partition(row: dict[str, Any]) -> tuple[dt.date, str | None]:
    return row["_day"], row.get("_region")
