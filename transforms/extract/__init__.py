"""Extract: clean text and metadata from each page (trafilatura), in a pool of workers.

The package exports its Beam transforms lazily (PEP 562): importing one of its pure
modules, as extraction workers do, never imports Apache Beam.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from wiredesk.transforms.common.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from wiredesk.transforms.extract.stage import ExtractText

__all__ = ["ExtractText"]

__getattr__ = lazy_exports(
    __name__,
    {
        "ExtractText": "stage",
    },
)
