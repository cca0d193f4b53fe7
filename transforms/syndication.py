"""DetectSyndication: one canonical row per story, every republication linked.

Each article is signed once (:func:`sketch_text`, in parallel). The sketches,
small and without text, then meet in one place with the stories restored from
earlier runs (``stories`` state) and are clustered by
:func:`cluster_batch`: a copy of a story already written joins it as a
republication (files are append-only, so the first written copy stays
canonical); among new copies the wire agency's own copy is canonical, else the
earliest published. Assignments are joined back to the articles by id.

Outputs (tagged): ``articles`` = canonical Article with ``story_id``,
``duplicates`` = republication Article with the canonical's ``story_id`` and a
``similarity``, ``stories`` = state rows for the stories first seen here.

Example::

    synd = enriched | DetectSyndication(restored_stories=beam.pvalue.AsList(stories))
    canon, dups = synd[DetectSyndication.ARTICLES], synd[DetectSyndication.DUPLICATES]
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Iterator
from typing import Any

import apache_beam as beam
from apache_beam.metrics import Metrics

from wiredesk.schemas.records import Article
from wiredesk.transforms.signatures import Sketch, sketch_text
from wiredesk.transforms.syndication_core import (
    DocInfo,
    SyndicationConfig,
    SyndicationIndex,
    cluster_batch,
)
from wiredesk.transforms.write_parquet import NAMESPACE

__all__ = ["DetectSyndication", "assign_stories"]


def _is_agency_copy(article: Article) -> bool:
    """The wire agency's own copy: a wire item, or an article the agency itself published."""
    if article.is_wire:
        return True
    if not article.agency:
        return False
    names = {(article.source or "").casefold(), (article.site_name or "").casefold()}
    return article.agency.casefold() in names


def assign_stories(
    docs: list[tuple[str, bytes, bool, Any, int]],
    restored: Iterable[dict[str, Any]],
    *,
    today: dt.date,
    horizon_days: int,
) -> tuple[list[tuple[str, dict[str, Any]]], list[dict[str, Any]]]:
    """Cluster this run's sketches against the stories restored from earlier runs.

    ``docs`` holds (doc_id, sketch bytes, is_agency_copy, published_at, seen_order).
    Returns (doc_id, assignment) pairs and the index rows this run added (the
    state to persist; restored rows are already on disk).
    """
    index = SyndicationIndex.from_rows(restored, SyndicationConfig(horizon_days=horizon_days))
    index.expire_horizon(today)
    restored_count = len(index.to_rows())
    infos = [
        DocInfo(
            doc_id=doc_id,
            sketch=Sketch.from_bytes(sketch),
            is_agency_copy=agency,
            published_at=published,
            seen_order=order,
        )
        for doc_id, sketch, agency, published, order in docs
    ]
    assignments = [
        (
            a.doc_id,
            {
                "story_id": a.story_id,
                "canonical": a.is_canonical,
                "similarity": a.similarity,
                "kind": a.kind,
            },
        )
        for a in cluster_batch(infos, index=index, today=today)
    ]
    return assignments, index.to_rows()[restored_count:]


class _SignFn(beam.DoFn):
    def __init__(self) -> None:
        self._signed = Metrics.counter(NAMESPACE, "articles_signed")

    def process(self, article: Article) -> Iterator[tuple[str, bytes, bool, Any, int]]:
        sketch = sketch_text(text=article.text, title=article.title, language=article.language)
        self._signed.inc()
        # Ties between equally trusted copies go to the first fetched.
        order = int(article.fetched_at.timestamp() * 1_000_000)
        yield (
            article.url_key,
            sketch.to_bytes(),
            _is_agency_copy(article),
            article.published_at,
            order,
        )


class _AssignFn(beam.DoFn):
    def __init__(self, *, today: dt.date, horizon_days: int) -> None:
        self._today = today
        self._horizon_days = horizon_days
        self._restored = Metrics.distribution(NAMESPACE, "syndication_index_restored_rows")

    def process(
        self, docs: list[tuple[str, bytes, bool, Any, int]], restored: list[dict[str, Any]]
    ) -> Iterator[Any]:
        self._restored.update(len(restored))
        assignments, new_rows = assign_stories(
            docs, restored, today=self._today, horizon_days=self._horizon_days
        )
        yield from assignments
        for row in new_rows:
            yield beam.pvalue.TaggedOutput(DetectSyndication.STORIES, row)


class _RouteFn(beam.DoFn):
    def __init__(self) -> None:
        self._stories = Metrics.counter(NAMESPACE, "stories_new")
        self._dups = Metrics.counter(NAMESPACE, "duplicates_found")

    def process(self, element: tuple[str, dict[str, Iterable[Any]]]) -> Iterator[Any]:
        _doc_id, joined = element
        articles = list(joined["article"])
        assignments = list(joined["assignment"])
        if not articles or not assignments:
            return
        article, assignment = articles[0], assignments[0]
        placed = dataclasses.replace(
            article, story_id=assignment["story_id"], similarity=assignment["similarity"]
        )
        if assignment["canonical"]:
            self._stories.inc()
            Metrics.counter(NAMESPACE, f"stories_from_{_metric_safe(article.source)}").inc()
            yield placed
        else:
            self._dups.inc()
            Metrics.counter(NAMESPACE, f"duplicates_from_{_metric_safe(article.source)}").inc()
            yield beam.pvalue.TaggedOutput(DetectSyndication.DUPLICATES, placed)


def _metric_safe(name: str | None) -> str:
    cleaned = "".join(ch if ch.isalnum() else "_" for ch in (name or "unknown").lower())
    return cleaned.strip("_")[:60] or "unknown"


class DetectSyndication(beam.PTransform):
    """Article -> canonical Article (``articles``), republication (``duplicates``), state (``stories``)."""

    ARTICLES = "articles"
    DUPLICATES = "duplicates"
    STORIES = "stories"

    def __init__(
        self, *, restored_stories: beam.PCollection, today: dt.date, horizon_days: int
    ) -> None:
        super().__init__()
        self._restored = restored_stories
        self._today = today
        self._horizon_days = horizon_days

    def expand(self, articles: beam.PCollection) -> dict[str, beam.PCollection]:
        keyed = articles | "KeyById" >> beam.Map(lambda a: (a.url_key, a))
        clustered = (
            articles
            | "Sign" >> beam.ParDo(_SignFn())
            | "Gather" >> beam.combiners.ToList()
            | "Cluster"
            >> beam.ParDo(
                _AssignFn(today=self._today, horizon_days=self._horizon_days),
                beam.pvalue.AsList(self._restored),
            ).with_outputs(self.STORIES, main="assignments")
        )
        routed = (
            {"article": keyed, "assignment": clustered["assignments"]}
            | "Join" >> beam.CoGroupByKey()
            | "Route" >> beam.ParDo(_RouteFn()).with_outputs(self.DUPLICATES, main=self.ARTICLES)
        )
        return {
            self.ARTICLES: routed[self.ARTICLES],
            self.DUPLICATES: routed[self.DUPLICATES],
            self.STORIES: clustered[self.STORIES],
        }
