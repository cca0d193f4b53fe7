"""Run blocking I/O for a batch of elements on a thread pool inside one DoFn.

Fetching is waiting, not computing: a worker should have many requests in
flight at once (per-host limits are enforced by the fetcher, not here). Beam
hands a DoFn one element at a time, so elements are batched first
(``beam.BatchElements``) and each batch is mapped over a pool that lives as
long as the DoFn instance.
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Callable, Iterable
from typing import TypeVar

__all__ = ["ThreadPoolMapper"]

T = TypeVar("T")
R = TypeVar("R")


class ThreadPoolMapper:
    """Order-preserving ``map`` over a lazily created, reusable thread pool."""

    def __init__(self, *, max_workers: int) -> None:
        self._max_workers = max(1, max_workers)
        self._pool: concurrent.futures.ThreadPoolExecutor | None = None

    def map(self, fn: Callable[[T], R], items: Iterable[T]) -> list[R]:
        items = list(items)
        if len(items) <= 1 or self._max_workers == 1:
            return [fn(item) for item in items]
        if self._pool is None:
            self._pool = concurrent.futures.ThreadPoolExecutor(
                max_workers=self._max_workers, thread_name_prefix="wiredesk-io"
            )
        return list(self._pool.map(fn, items))

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
