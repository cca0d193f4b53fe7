"""Beam coders for the records that carry a page or an article's text.

Beam measures every PCollection's mean element size (the ``MeanByteCount`` metric) by
encoding samples of its elements. For a record it has no coder for, that is a pickle:
on a run of 1,068 bench pages the run process pickled 160 MB of page bytes that were
never sent anywhere, only to learn their size, and the article records again. These
coders encode as pickle does (the records hold nested dataclasses and datetimes), and
estimate a size from the lengths they already know instead.

Registered with Beam's coder registry on import; a stage whose output is one of these
records declares it (:func:`holding`) so that Beam picks the coder.

Example::

    >>> import datetime as dt
    >>> from wiredesk.schemas.records import FeedEntry, FetchedPage
    >>> entry = FeedEntry(url="https://example.com/a", feed_url="", url_key="example.com/a")
    >>> page = FetchedPage(entry=entry, final_url=entry.url, html="",
    ...                    fetched_at=dt.datetime(2026, 1, 1), body=b"<html>" * 1000)
    >>> coder = FetchedPageCoder()
    >>> coder.decode(coder.encode(page)) == page
    True
    >>> coder.estimate_size(page)
    6542
"""

from __future__ import annotations

import pickle
from typing import Any

import apache_beam as beam

from wiredesk.schemas.records import Article, FetchedPage

__all__ = ["ArticleCoder", "FetchedPageCoder", "holding"]

# What a record adds beyond its long fields (URLs, dates, flags) when pickled; an
# estimate, as Beam's own sampled sizes are.
_RECORD_OVERHEAD = 500


class _PickledRecordCoder(beam.coders.Coder):
    """Pickle, as Beam's fallback coder would, with a size read off the record."""

    def encode(self, value: Any) -> bytes:
        return pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)

    def decode(self, encoded: bytes) -> Any:
        return pickle.loads(encoded)

    def is_deterministic(self) -> bool:
        return False  # pickle's bytes are no key


class FetchedPageCoder(_PickledRecordCoder):
    """A :class:`FetchedPage`; its size is its body's, plus its URLs."""

    def estimate_size(self, value: Any) -> int:
        return value.size + len(value.final_url) + len(value.entry.url) + _RECORD_OVERHEAD

    def to_type_hint(self) -> type:
        return FetchedPage


class ArticleCoder(_PickledRecordCoder):
    """An :class:`Article`; its size is its text's, plus its sketch and URLs."""

    def estimate_size(self, value: Any) -> int:
        return (
            len(value.text)
            + len(value.sketch or b"")
            + len(value.url)
            + len(value.canonical_url)
            + _RECORD_OVERHEAD
        )

    def to_type_hint(self) -> type:
        return Article


beam.coders.registry.register_coder(FetchedPage, FetchedPageCoder)
beam.coders.registry.register_coder(Article, ArticleCoder)


def holding(pcoll: beam.PCollection, element_type: Any) -> beam.PCollection:
    """``pcoll``, declared to hold ``element_type``, so that Beam encodes (and sizes) it
    with that type's coder.

    Beam infers a PCollection's type from its producer's hints only while it checks
    types during construction, which local runs turn off (pipelines/run.py,
    ``without_construction_type_check``): a hint alone would leave the fallback coder.
    """
    pcoll.element_type = element_type
    return pcoll
