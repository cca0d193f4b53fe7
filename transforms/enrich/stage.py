"""Enrich: language, dateline, wire agency, country, region, authors, word count.

The pure work is :func:`wiredesk.transforms.enrich.article.enrich`; this stage
applies it to each Article and counts what it found, so users can watch e.g.
how many stories carry no known place.

Outputs (tagged): main = Article (enriched), ``rejects`` = Reject.

Example::

    enriched = articles | Enrich()
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import apache_beam as beam
from apache_beam.metrics import Metrics

from wiredesk.schemas.records import Article, Reject, RejectReason, Stage
from wiredesk.transforms.common.metrics import NAMESPACE
from wiredesk.transforms.enrich.article import enrich

__all__ = ["Enrich", "enrich_article"]


def enrich_article(article: Article) -> Article:
    found = enrich(
        text=article.text,
        title=article.title,
        authors=article.authors,
        declared_language=article.language,
        feed_country=article.feed_country,
        feed_region=article.feed_region,
        source=article.source,
        url=article.url,
        wire_agency=article.agency,
        wire_dateline=article.dateline,
        paywalled=article.paywalled,
    )
    return dataclasses.replace(
        article,
        language=found.language,
        dateline=found.dateline,
        agency=found.agency,
        country=found.country,
        region=found.region,
        authors=list(found.authors),
        word_count=found.word_count,
        paywalled=found.paywalled,
    )


class _EnrichFn(beam.DoFn):
    def __init__(self) -> None:
        self._ok = Metrics.counter(NAMESPACE, "articles_enriched")
        self._rejected = Metrics.counter(NAMESPACE, "articles_enrich_rejected")
        self._no_country = Metrics.counter(NAMESPACE, "articles_without_country")
        self._with_agency = Metrics.counter(NAMESPACE, "articles_with_agency")
        self._with_dateline = Metrics.counter(NAMESPACE, "articles_with_dateline")

    def setup(self) -> None:
        # Load the gazetteer and the language model (~4 s) once per worker, here,
        # rather than on the first article, on the pipeline's one thread.
        from wiredesk.transforms.enrich import geo, language

        geo.warm()
        language.warm()

    def process(self, article: Article) -> Iterator[Any]:
        try:
            enriched = enrich_article(article)
        except Exception as exc:  # one bad page must not stop the run
            self._rejected.inc()
            yield beam.pvalue.TaggedOutput(
                Enrich.REJECTS,
                Reject(
                    url=article.url,
                    feed_url=article.feed_url,
                    stage=Stage.ENRICH.value,
                    reason=RejectReason.ENRICH_ERROR.value,
                    detail=f"{type(exc).__name__}: {exc}",
                ),
            )
            return
        self._ok.inc()
        if enriched.country is None:
            self._no_country.inc()
        if enriched.agency:
            self._with_agency.inc()
        if enriched.dateline:
            self._with_dateline.inc()
        yield enriched


class Enrich(beam.PTransform):
    """Article -> Article (main) and Reject (``rejects``)."""

    ARTICLES = "articles"
    REJECTS = "rejects"

    def expand(self, articles: beam.PCollection) -> beam.pvalue.DoOutputsTuple:
        return articles | "Enrich" >> beam.ParDo(_EnrichFn()).with_outputs(
            self.REJECTS, main=self.ARTICLES
        )
