"""Lazy package exports (PEP 562), so that importing a pure module never imports Beam.

Each stage package exports its Beam transforms from ``__init__``. Importing them eagerly
would import Apache Beam (about 0.8 s) into every process that only needs a pure module,
such as an extraction worker importing ``wiredesk.transforms.extract.page``.

Example::

    >>> __getattr__ = lazy_exports("wiredesk.transforms.fetch", {"FetchArticle": "stage"})
    >>> __getattr__("FetchArticle").__name__
    'FetchArticle'
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(package: str, homes: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` that imports ``package.<homes[name]>`` on first use of name."""

    def __getattr__(name: str) -> Any:
        if name not in homes:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(f"{package}.{homes[name]}"), name)

    return __getattr__
