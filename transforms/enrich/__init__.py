"""Enrich: language, dateline, wire agency, country, region, authors, word count.

Enrichment needs only the article itself, so it runs in ExtractText's one pass over each
page (:func:`wiredesk.transforms.enrich.article.enrich_article`, called from
``transforms/extract/page_pass.py``), where the runner's parallelism is. The package's
one Beam transform, KeepLanguages, is exported lazily (PEP 562): importing one of its
pure modules, as extraction workers do, never imports Apache Beam.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from wiredesk.transforms.common.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from wiredesk.transforms.enrich.stage_language import KeepLanguages

__all__ = ["KeepLanguages"]

__getattr__ = lazy_exports(
    __name__,
    {
        "KeepLanguages": "stage_language",
    },
)
