"""A disk cache for lookup tables that wiredesk builds from library data at start-up.

The gazetteer (GeoNames' 25,000 cities with their alternate names, folded into
lookup keys) takes about 0.9 s to build and is the same on every start: that is a
second of every run's start-up, of every streaming worker's and of the demo. It is
built once and stored with :mod:`marshal`, which reads plain data (dicts, tuples,
strings, numbers) back in under 0.1 s (checking the key included) and, unlike
pickle, can never run code from a file.

The key covers everything the table is made from: the contents of the source
files of the code that builds it and of the data files it reads, the Python
version and the marshal format. A changed library, a new wiredesk or an
edited file gets a new key, so a stale table is never read; files of other keys
are removed when a new one is written. The cache lives in ``$WIREDESK_CACHE_DIR``,
else ``$XDG_CACHE_HOME/wiredesk``, else ``~/.cache/wiredesk``; ``WIREDESK_CACHE_DIR=off``
turns it off. Any failure (read-only home, a corrupt or truncated file) only means
the table is built as if there were no cache.

Example::

    >>> import tempfile
    >>> from pathlib import Path
    >>> from wiredesk.transforms.common.table_cache import cached_table
    >>> folder = Path(tempfile.mkdtemp())
    >>> squares = lambda: {n: n * n for n in range(4)}
    >>> cached_table("squares", squares, inputs=[], directory=folder)
    {0: 0, 1: 1, 2: 4, 3: 9}
    >>> [p.suffix for p in folder.iterdir()]
    ['.marshal']
"""

from __future__ import annotations

import hashlib
import logging
import marshal
import os
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

__all__ = ["cache_dir", "cached_table"]

LOGGER = logging.getLogger(__name__)
T = TypeVar("T")


def cache_dir() -> Path | None:
    """Where tables are cached, or None when caching is off."""
    configured = os.environ.get("WIREDESK_CACHE_DIR")
    if configured is not None:
        return None if configured.strip().lower() in ("", "off", "0", "none") else Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "wiredesk"


def _key(name: str, inputs: Sequence[Path]) -> str:
    # By content, not path or mtime: two checkouts or venvs with the same code and data
    # share one file instead of evicting each other's. Hashing the inputs takes ~20 ms.
    digest = hashlib.sha256(name.encode())
    digest.update(f"{sys.version_info[:2]}|marshal {marshal.version}".encode())
    for path in inputs:
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()[:24]


def cached_table(
    name: str, build: Callable[[], T], *, inputs: Sequence[Path], directory: Path | None = None
) -> T:
    """``build()``'s value, from the cache when the inputs are unchanged.

    ``build`` must return plain data that marshal can store (dicts, lists, tuples,
    sets, strings, numbers, booleans, None). ``inputs`` are the files the value
    depends on: the builder's own source file and the data it reads. ``directory``
    overrides :func:`cache_dir`.
    """
    folder = directory or cache_dir()
    if folder is None:
        return build()
    try:
        path = folder / f"{name}-{_key(name, inputs)}.marshal"
    except OSError:  # an input went missing: build() will say what is wrong
        return build()
    try:
        # loads() on the bytes: marshal.load() on a file reads it in small pieces, 4x slower.
        value: T = marshal.loads(path.read_bytes())
        return value
    except FileNotFoundError:
        pass
    except (OSError, EOFError, ValueError, TypeError):
        LOGGER.debug("unreadable table cache %s, rebuilding", path, exc_info=True)
    value = build()
    _store(path, value)
    return value


def _store(path: Path, value: Any) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                marshal.dump(value, handle)
            os.replace(tmp, path)  # readers see the whole file or none
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        prefix = path.name.rsplit("-", 1)[0] + "-"
        for old in path.parent.glob(f"{prefix}*.marshal"):
            if old != path:
                old.unlink(missing_ok=True)
    except (OSError, ValueError):
        LOGGER.debug("could not store table cache %s", path, exc_info=True)
