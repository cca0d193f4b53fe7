"""DetectSyndication: one canonical row per story, every republication linked.

Each article is signed once (:func:`sketch_text`), in ExtractText's one pass over its
page (an article that comes without a sketch is signed here). The sketches,
small and without text, then meet in one place with the stories restored from
earlier runs (``stories`` state) and are clustered by
:func:`cluster_batch`: a copy of a story already written joins it as a
republication (files are append-only, so the first written copy stays
canonical); among new copies the wire agency's own copy is canonical, else the
earliest published. Every version of one wire item (same ``wire["item_id"]``)
is one story whatever its text, in one run and across runs (the link is kept
in the ``stories`` state, see ``syndication_core.encode_link``). Assignments are joined back
to the articles by id.

Outputs (tagged): ``articles`` = canonical Article with ``story_id``,
``duplicates`` = republication Article with the canonical's ``story_id`` and a
``similarity``, ``stories`` = state rows (copies and links) this run added.

Example::

    stories = p | ReadState(output=out, kind="stories", horizon_days=7, today=today)
    synd = enriched | DetectSyndication(restored_stories=stories, today=today, horizon_days=7)
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
from wiredesk.transforms.common.metrics import (
    ARTICLES_SAME_URL_LEFT_OUT,
    NAMESPACE,
    OutletNames,
)
from wiredesk.transforms.common.stage_gather import GatherAll
from wiredesk.transforms.dedup.signatures import Sketch, sketch_text
from wiredesk.transforms.dedup.syndication import (
    Assignment,
    DocInfo,
    SyndicationConfig,
    SyndicationIndex,
    cluster_batch,
)
from wiredesk.transforms.enrich.agency import canonical_agency

__all__ = [
    "DetectSyndication",
    "SignedDoc",
    "assign_stories",
    "copy_rank",
    "link_key",
    "match_fields",
    "one_doc_per_id",
    "place",
    "seen_order",
    "sketch_bytes",
]


def _is_agency_copy(article: Article) -> bool:
    """The wire agency's own copy: a wire item, or an article the agency itself published
    (its outlet or site name is the agency's, in any of its spellings: "The Associated
    Press", "AP News" and "AP" are one agency)."""
    if article.is_wire:
        return True
    if not article.agency:
        return False
    agency = canonical_agency(article.agency) or article.agency
    for name in (article.source, article.site_name):
        if name and (name.casefold() == agency.casefold() or canonical_agency(name) == agency):
            return True
    return False


def sketch_bytes(article: Article) -> bytes:
    """The article's sketch: made where it was extracted (ExtractText), else here."""
    if article.sketch is not None:
        return article.sketch
    return sketch_text(text=article.text, title=article.title, language=article.language).to_bytes()


def link_key(article: Article) -> str | None:
    """What ties copies together whatever their text: a wire item's version-less id
    (``wire["item_id"]``), shared by all its versions."""
    if not article.is_wire or not isinstance(article.wire, dict):
        return None
    item_id = article.wire.get("item_id")
    return f"wire:{item_id}" if isinstance(item_id, str) and item_id.strip() else None


# (doc_id, sketch bytes, is_agency_copy, published_at, seen_order, link_key)
SignedDoc = tuple[str, bytes, bool, Any, int, str | None]


def seen_order(article: Article) -> int:
    """When the copy was fetched, in microseconds (the clustering gives a tie between
    equally trusted copies of a story to the first fetched)."""
    return int(article.fetched_at.timestamp() * 1_000_000)


def copy_rank(article: Article) -> tuple[int, bytes]:
    """Which of several copies of one URL in a run is kept: the last fetched (a later
    capture of a page that changed); the sketch bytes only break ties, the same way on the
    articles (:class:`_RouteFn`) as on their signed docs (:func:`one_doc_per_id`)."""
    return seen_order(article), sketch_bytes(article)


def one_doc_per_id(docs: list[SignedDoc]) -> list[SignedDoc]:
    """``docs`` with one per doc_id (URL), chosen as :func:`copy_rank` chooses articles.

    Entries from feeds are one per URL already (DedupeEntries), but pages from several
    WARC files, or from a feed and a WARC, can repeat a URL. Two docs with one id would
    get two assignments, and the join by URL would pair an article with either.
    """
    kept: dict[str, SignedDoc] = {}
    for doc in docs:
        other = kept.get(doc[0])
        if other is None or (doc[4], doc[1]) > (other[4], other[1]):
            kept[doc[0]] = doc
    return list(kept.values()) if len(kept) < len(docs) else docs


def assign_stories(
    docs: list[SignedDoc],
    restored: Iterable[dict[str, Any]],
    *,
    today: dt.date,
    horizon_days: int,
) -> tuple[list[tuple[str, dict[str, Any]]], list[dict[str, Any]]]:
    """Cluster this run's sketches against the stories restored from earlier runs.

    ``docs`` holds (doc_id, sketch bytes, is_agency_copy, published_at, seen_order,
    link_key); older 5-tuples without a link key are accepted too.
    Returns (doc_id, assignment) pairs and the index rows this run added (the
    state to persist; restored rows are already on disk).
    """
    docs = one_doc_per_id(docs)
    index = SyndicationIndex.from_rows(restored, SyndicationConfig(horizon_days=horizon_days))
    index.expire_horizon(today)
    mark = index.mark()
    infos = [
        DocInfo(
            doc_id=doc[0],
            sketch=Sketch.from_bytes(doc[1]),
            is_agency_copy=doc[2],
            published_at=doc[3],
            seen_order=doc[4],
            link_key=doc[5] if len(doc) > 5 else None,
        )
        for doc in docs
    ]
    assignments = [
        (
            a.doc_id,
            {
                "story_id": a.story_id,
                "canonical": a.is_canonical,
                "similarity": a.similarity,
                "kind": a.kind,
                **match_fields(a),
            },
        )
        for a in cluster_batch(infos, index=index, today=today)
    ]
    return assignments, index.rows_since(mark)


class _SignFn(beam.DoFn):
    def __init__(self) -> None:
        self._signed = Metrics.counter(NAMESPACE, "articles_signed")

    def process(self, article: Article) -> Iterator[SignedDoc]:
        self._signed.inc()
        yield (
            article.url_key,
            sketch_bytes(article),
            _is_agency_copy(article),
            article.published_at,
            seen_order(article),
            link_key(article),
        )


class _AssignFn(beam.DoFn):
    def __init__(self, *, today: dt.date, horizon_days: int) -> None:
        self._today = today
        self._horizon_days = horizon_days
        self._restored = Metrics.distribution(NAMESPACE, "syndication_index_restored_rows")

    def process(self, docs: list[SignedDoc], restored: list[dict[str, Any]]) -> Iterator[Any]:
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
        self._versions = Metrics.counter(NAMESPACE, "duplicates_same_wire_item")
        self._same_url = Metrics.counter(NAMESPACE, ARTICLES_SAME_URL_LEFT_OUT)
        # stories_from_<outlet> / duplicates_from_<outlet>: bounded, see OutletNames.
        self._outlet = OutletNames()

    def setup(self) -> None:
        self._outlet = OutletNames()  # per DoFn instance on its worker

    def process(self, element: tuple[str, dict[str, Iterable[Any]]]) -> Iterator[Any]:
        _doc_id, joined = element
        articles = list(joined["article"])
        assignments = list(joined["assignment"])
        if not articles or not assignments:
            return
        if len(articles) > 1:  # one URL twice (two WARC files, or a feed and a WARC)
            self._same_url.inc(len(articles) - 1)
        article = max(articles, key=copy_rank)
        assignment = assignments[0]
        placed = place(article, assignment)
        if assignment["canonical"]:
            self._stories.inc()
            Metrics.counter(NAMESPACE, f"stories_from_{self._outlet(article.source)}").inc()
            yield placed
        else:
            self._dups.inc()
            if assignment.get("kind") == "same_item":
                self._versions.inc()
            Metrics.counter(NAMESPACE, f"duplicates_from_{self._outlet(article.source)}").inc()
            yield beam.pvalue.TaggedOutput(DetectSyndication.DUPLICATES, placed)


def match_fields(a: Assignment) -> dict[str, Any]:
    """What an assignment adds to its article's row beyond the story: the relation and
    evidence of a duplicate, the related stories of a new one."""
    return {
        "relation": a.relation,
        "copy_in_story": a.copy_in_story,
        "story_in_copy": a.story_in_copy,
        "lede_shared": a.lede_shared,
        "related_story_ids": list(a.related),
    }


def place(article: Article, assignment: dict[str, Any]) -> Article:
    """The article with its story, and what its match says (batch and stream alike)."""
    return dataclasses.replace(
        article,
        story_id=assignment["story_id"],
        similarity=assignment["similarity"],
        relation=assignment.get("relation"),
        copy_in_story=assignment.get("copy_in_story"),
        story_in_copy=assignment.get("story_in_copy"),
        lede_shared=assignment.get("lede_shared"),
        related_story_ids=tuple(assignment.get("related_story_ids") or ()),
    )


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
            | "Gather" >> GatherAll()
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
