"""FetchSettings: the picklable recipe for a worker's SafeFetcher.

Beam ships DoFns to workers by pickling them; a live fetcher (sockets, locks,
caches) must not travel. The DoFn carries these settings and builds its own
fetcher in ``setup()``. The fetchers of one process share their per-host
politeness gate (one per configuration), so the host limits hold for the whole
worker, not per stage.
"""

from __future__ import annotations

import dataclasses
import threading
from typing import Any

import apache_beam as beam
from apache_beam.metrics import Metrics

from wiredesk.transforms.common.metrics import (
    HTTP_CONNECTIONS_OPENED,
    HTTP_REQUESTS_ON_KEPT_CONNECTIONS,
    NAMESPACE,
)
from wiredesk.transforms.fetch.concurrency import ThreadPoolMapper

__all__ = ["FetchSettings", "FetchingDoFn"]


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
        from wiredesk.transforms.fetch.http_client import FetchConfig

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
        """A new fetcher whose per-host gate is the process's shared one for these limits.

        Each stage (and each DoFn instance) gets its own fetcher, but the per-host
        limits are a promise to the host, so they are enforced process-wide; see
        :func:`~wiredesk.transforms.fetch.politeness.shared_politeness`.
        """
        from wiredesk.transforms.fetch.http_client import SafeFetcher
        from wiredesk.transforms.fetch.politeness import shared_politeness

        config = self.fetch_config()
        gate = shared_politeness(
            concurrency=config.per_host_concurrency,
            delay=config.per_host_delay,
            max_wait=config.max_wait,
        )
        return SafeFetcher(config, politeness=gate)


class FetchingDoFn(beam.DoFn):
    """A DoFn that fetches: its worker's fetcher and thread pool live from setup to teardown.

    Subclasses call ``super().__init__(settings)`` and use ``self._fetcher`` and
    ``self._mapper`` (an order-preserving map over ``settings.concurrency`` threads).
    The fetcher is made at its first use: its TLS context costs ~30 ms, paid by
    every run's tail for stages that get nothing to fetch (a ``--warc`` run's).
    At each bundle's end it counts the connections its fetcher opened and the requests
    that went over kept ones (subclasses that finish bundles call ``super()``).
    """

    def __init__(self, settings: FetchSettings) -> None:
        super().__init__()
        self._settings = settings
        self._opened = Metrics.counter(NAMESPACE, HTTP_CONNECTIONS_OPENED)
        self._on_kept = Metrics.counter(NAMESPACE, HTTP_REQUESTS_ON_KEPT_CONNECTIONS)

    def setup(self) -> None:
        self._made: Any = None
        self._making = threading.Lock()
        self._mapper = ThreadPoolMapper(max_workers=self._settings.concurrency)
        self._counted = (0, 0)  # (opened, reused) already reported

    @property
    def _fetcher(self) -> Any:
        if self._made is None:
            with self._making:  # the mapper's threads may all ask first at once
                if self._made is None:
                    self._made = self._settings.make_fetcher()
        return self._made

    def finish_bundle(self) -> None:
        if getattr(self, "_made", None) is None:
            return
        counts = self._made.connection_counts()
        opened, reused = self._counted
        self._opened.inc(counts.opened - opened)
        self._on_kept.inc(counts.reused - reused)
        self._counted = (counts.opened, counts.reused)

    def teardown(self) -> None:
        self._mapper.close()
        if self._made is not None:
            self._made.close()
