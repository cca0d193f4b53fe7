"""Enrich: language, dateline, wire agency, country, region, authors, word count.

The package exports its Beam transforms lazily (PEP 562): importing one of its pure
modules, as extraction workers do, never imports Apache Beam.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from wiredesk.transforms.common.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from wiredesk.transforms.enrich.stage import Enrich
    from wiredesk.transforms.enrich.stage_language import KeepLanguages

__all__ = ["Enrich", "KeepLanguages"]

__getattr__ = lazy_exports(
    __name__,
    {
        "Enrich": "stage",
        "KeepLanguages": "stage_language",
    },
)
