"""KeepLanguages: only articles in the languages asked for (``--language``, repeatable).

The detected language (Enrich's ``language`` column, ISO 639-1) decides; an article whose
language could not be detected is left out too. What is left out is no reject (nothing
was wrong with it), only counted: ``articles_dropped_language``.

Example::

    kept = enriched | KeepLanguages(languages=("en", "de"))
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import apache_beam as beam
from apache_beam.metrics import Metrics

from wiredesk.schemas.records import Article
from wiredesk.transforms.common.metrics import NAMESPACE

__all__ = ["KeepLanguages", "primary_language"]


def primary_language(code: str | None) -> str:
    """``"en-GB"`` -> ``"en"``; ``""`` when unknown."""
    return (code or "").strip().lower().replace("_", "-").split("-", 1)[0]


class _KeepFn(beam.DoFn):
    def __init__(self, languages: frozenset[str]) -> None:
        self._languages = languages
        self._kept = Metrics.counter(NAMESPACE, "articles_kept_language")
        self._dropped = Metrics.counter(NAMESPACE, "articles_dropped_language")

    def process(self, article: Article) -> Iterator[Article]:
        if primary_language(article.language) in self._languages:
            self._kept.inc()
            yield article
        else:
            self._dropped.inc()


class KeepLanguages(beam.PTransform):
    """Article -> Article, only those whose detected language is one of ``languages``."""

    def __init__(self, *, languages: Iterable[str]) -> None:
        super().__init__()
        self._languages = frozenset(primary_language(code) for code in languages)

    def expand(self, articles: beam.PCollection) -> beam.PCollection:
        return articles | "Keep" >> beam.ParDo(_KeepFn(self._languages))
