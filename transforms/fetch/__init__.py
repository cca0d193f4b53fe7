"""Fetch: the address guard, safe HTTP, per-host politeness, robots.txt, decoding.

The package exports its Beam transforms lazily (PEP 562): importing one of its pure
modules, as extraction workers do, never imports Apache Beam.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from wiredesk.transforms.common.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from wiredesk.transforms.fetch.stage import FetchArticle

__all__ = ["FetchArticle"]

__getattr__ = lazy_exports(
    __name__,
    {
        "FetchArticle": "stage",
    },
)
