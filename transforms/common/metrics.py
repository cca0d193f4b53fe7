"""The names of wiredesk's Beam counters: the namespace, the fixed names, the bounded families.

Every counter lives in the ``wiredesk`` namespace. The run summary (pipelines/run.py) and
the local streaming progress line read them by these names; a family of names is built
from a bounded domain (the :class:`Stage` and :class:`RejectReason` enums, the HTTP
status codes, the reasons a feed item is skipped), so a reader enumerates the family
instead of parsing names back. Pure: no Beam here, the stages create the counters.

Per-outlet counters (``stories_from_<outlet>``, ``duplicates_from_<outlet>``) are bounded
by :class:`OutletNames`: each counting DoFn names at most ``MAX_OUTLET_COUNTERS`` outlets
(the first it meets) and counts the rest under ``other``, so a run over thousands of
sites does not create thousands of metrics (Dataflow caps a job's distinct counters).

Example::

    >>> rejected_total("fetch", "timeout")
    'rejected_fetch_timeout_total'
    >>> sorted(rejected_total_names())[0]
    'rejected_enrich_bad_encoding_total'
"""

from __future__ import annotations

from collections.abc import Iterator

from wiredesk.schemas.records import RejectReason, Stage

__all__ = [
    "ENTRIES_SKIPPED_UNUSABLE",
    "MAX_OUTLET_COUNTERS",
    "NAMESPACE",
    "OTHER_OUTLETS",
    "SKIP_REASONS",
    "OutletNames",
    "entries_skipped",
    "metric_safe",
    "reject_reasons",
    "rejected",
    "rejected_total",
    "rejected_total_names",
]

NAMESPACE = "wiredesk"

# Polling (both pollers) and the tables (both graphs' writers): what the summary reads.
FEEDS_POLLED = "feeds_polled"
FEEDS_CHANGED = "feeds_changed"
FEEDS_NOT_MODIFIED = "feeds_not_modified"
FEEDS_REJECTED = "feeds_rejected"
ENTRIES_LISTED = "entries_listed"
ENTRIES_NEW = "entries_new"
ENTRIES_SEEN_IN_EARLIER_RUN = "entries_seen_in_earlier_run"
ENTRIES_DUPLICATE_URL_IN_RUN = "entries_duplicate_url_in_run"
ENTRIES_DUPLICATE_GUID_IN_RUN = "entries_duplicate_guid_in_run"
ENTRIES_SKIPPED_UNUSABLE = "entries_skipped_unusable"
WIRE_FILES_READ = "wire_files_read"
WIRE_ITEMS_LISTED = "wire_items_listed"
WIRE_ITEMS_PASSED = "wire_items_passed"
PAGES_FETCHED = "pages_fetched"
# Connections the fetchers opened, and requests (pages, feeds, robots.txt) that went over
# a connection kept from an earlier one (transforms/fetch/keepalive.py).
HTTP_CONNECTIONS_OPENED = "http_connections_opened"
HTTP_REQUESTS_ON_KEPT_CONNECTIONS = "http_requests_on_kept_connections"
PAGES_EXTRACTED = "pages_extracted"
# Where ExtractText's one pass over a page ran: the local pool, or the DoFn's own process.
PAGES_PROCESSED_IN_POOL = "pages_processed_in_pool"
PAGES_PROCESSED_IN_PROCESS = "pages_processed_in_process"
ARTICLES_ENRICHED = "articles_enriched"
ARTICLES_ROWS_WRITTEN = "articles_rows_written"
# Copies of a URL another copy in the same run stands for (several WARC files, or a
# feed and a WARC, can hold one URL): the last fetched is kept (stage_syndication).
ARTICLES_SAME_URL_LEFT_OUT = "articles_same_url_left_out"
DUPLICATES_ROWS_WRITTEN = "duplicates_rows_written"
REJECTS_ROWS_WRITTEN = "rejects_rows_written"
FILES_VERIFIED = "files_verified"
REJECTS_SEEN_IN_EARLIER_RUN = "rejects_seen_in_earlier_run"

# Why feed_parse and wire_parse skip an item (``entries_skipped_<reason>``).
SKIP_REASONS = (
    "bad_link",
    "no_link",
    "over_limit",
    "duplicate",
    "not_text",
    "no_body",
    "withdrawn",
)

MAX_OUTLET_COUNTERS = 50
OTHER_OUTLETS = "other"

_HTTP_STATUSES = range(100, 600)


def reject_reasons() -> Iterator[str]:
    """Every reject reason code: the enum's, and ``http_<status>`` for each HTTP status."""
    yield from (reason.value for reason in RejectReason)
    yield from (RejectReason.http(status) for status in _HTTP_STATUSES)


def rejected(stage: str, reason: str) -> str:
    """A stage's count of one reject reason, as the stage rejects (``rejected_fetch_timeout``)."""
    return f"rejected_{stage}_{reason}"


def rejected_total(stage: str, reason: str) -> str:
    """Rejects of a stage and reason that became ``rejects`` rows (after dropping repeats)."""
    return f"rejected_{stage}_{reason}_total"


def rejected_total_names() -> dict[str, tuple[str, str]]:
    """Every ``rejected_<stage>_<reason>_total`` name -> ``(stage, reason)``."""
    return {
        rejected_total(stage.value, reason): (stage.value, reason)
        for stage in Stage
        for reason in reject_reasons()
    }


def entries_skipped(reason: str) -> str:
    """Feed items not passed on, by reason (one of :data:`SKIP_REASONS`)."""
    return f"entries_skipped_{reason}"


def metric_safe(name: str | None) -> str:
    """A free-text name (an outlet's) as a counter-name part: lower-case alphanumerics and ``_``."""
    cleaned = "".join(ch if ch.isalnum() else "_" for ch in (name or "unknown").lower())
    return cleaned.strip("_")[:60] or "unknown"


class OutletNames:
    """The counter-name part of an outlet, for at most ``cap`` outlets, then ``other``.

    One per counting DoFn instance: the first ``cap`` distinct outlets it meets keep
    their name, every later one is counted under :data:`OTHER_OUTLETS`.
    """

    def __init__(self, cap: int = MAX_OUTLET_COUNTERS) -> None:
        self._cap = cap
        self._named: set[str] = set()

    def __call__(self, outlet: str | None) -> str:
        name = metric_safe(outlet)
        if name in self._named:
            return name
        if len(self._named) < self._cap and name != OTHER_OUTLETS:
            self._named.add(name)
            return name
        return OTHER_OUTLETS
