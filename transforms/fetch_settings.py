"""FetchSettings: the picklable recipe for a worker's SafeFetcher.

Beam ships DoFns to workers by pickling them; a live fetcher (sockets, locks,
caches) must not travel. The DoFn carries these settings and builds its own
fetcher in ``setup()``.
"""

from __future__ import annotations

import dataclasses
from typing import Any

__all__ = ["FetchSettings"]


@dataclasses.dataclass(frozen=True)
class FetchSettings:
    allow_private: bool = False
    allowed_hosts: frozenset[str] = frozenset()
    max_bytes: int = 5 * 1024 * 1024
    total_timeout: float = 20.0
    connect_timeout: float = 5.0
    concurrency: int = 16
    per_host_concurrency: int = 2
    per_host_delay: float = 0.0
    respect_robots: bool = True

    def fetch_config(self) -> Any:
        from wiredesk.transforms.http_fetch import FetchConfig

        return FetchConfig(
            allow_private=self.allow_private,
            allowed_hosts=self.allowed_hosts,
            max_bytes=self.max_bytes,
            total_timeout=self.total_timeout,
            connect_timeout=self.connect_timeout,
            per_host_concurrency=self.per_host_concurrency,
            per_host_delay=self.per_host_delay,
            respect_robots=self.respect_robots,
        )

    def make_fetcher(self) -> Any:
        from wiredesk.transforms.http_fetch import SafeFetcher

        return SafeFetcher(self.fetch_config())
