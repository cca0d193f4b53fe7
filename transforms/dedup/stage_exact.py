"""DedupeEntries: one entry per story URL or guid, and nothing seen in an earlier run.

The same story is often listed by several feeds (a section feed and the front
page feed, or two outlets' feeds pointing at one wire page). Entries are keyed
by their normalized URL, then by guid; one is kept per key and the others are
counted, never fetched. Keys of earlier runs into the same OUT arrive as a side
input from the ``seen`` state, so a re-run fetches nothing it already wrote.

Example::

    unique = entries | DedupeEntries(seen_keys=beam.pvalue.AsList(seen))
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import apache_beam as beam
from apache_beam.metrics import Metrics

from wiredesk.schemas.records import FeedEntry
from wiredesk.transforms.common.metrics import NAMESPACE

__all__ = ["DedupeEntries", "SeenKeys", "entry_keys", "guid_identity", "pick_entry"]


def guid_identity(entry: FeedEntry) -> str | None:
    """The entry's guid as a dedup key, or None when it adds nothing to the URL.

    RSS guids are meant to be globally unique, but many feeds use short local
    numbers ("12345") that collide across feeds: those are scoped by feed.
    """
    guid = (entry.guid or "").strip()
    if not guid or guid == entry.url:
        return None
    globally_unique = entry.is_wire or guid.startswith(("http://", "https://", "tag:", "urn:"))
    if not globally_unique and len(guid) >= 24 and not guid.isdigit():
        globally_unique = True  # long opaque ids (hashes, uuids) do not collide by accident
    return f"guid:{guid}" if globally_unique else f"guid:{entry.feed_url}|{guid}"


def entry_keys(entry: FeedEntry) -> list[str]:
    """The identities of an entry in the ``seen`` state."""
    keys = [f"url:{entry.url_key}"]
    guid = guid_identity(entry)
    if guid is not None:
        keys.append(guid)
    return keys


def pick_entry(entries: Iterable[FeedEntry]) -> FeedEntry:
    """Deterministic choice among entries of one key: wire copies first, then the
    one with the most metadata, then by feed and URL (so reruns pick the same)."""
    return min(
        entries,
        key=lambda e: (
            not e.is_wire,
            e.published_at is None,
            e.title is None,
            e.feed_url,
            e.url,
        ),
    )


class SeenKeys:
    """The keys earlier runs saw (a side input list) as a set, built once per list.

    The side input is the same list object for a whole bundle; building the set once per
    list rather than per element keeps the check cheap.
    """

    def __init__(self) -> None:
        self._cache: tuple[int, frozenset[str]] | None = None

    def of(self, seen_keys: list[str]) -> frozenset[str]:
        if self._cache is None or self._cache[0] != id(seen_keys):
            self._cache = (id(seen_keys), frozenset(seen_keys))
        return self._cache[1]

    def took(self, entry: FeedEntry, seen_keys: list[str]) -> bool:
        """Whether an earlier run took ``entry`` (by any of its keys)."""
        seen = self.of(seen_keys)
        return any(key in seen for key in entry_keys(entry))


class _DropSeen(beam.DoFn):
    def __init__(self) -> None:
        self._seen = Metrics.counter(NAMESPACE, "entries_seen_in_earlier_run")
        self._new = Metrics.counter(NAMESPACE, "entries_new")
        self._seen_keys = SeenKeys()

    def process(self, entry: FeedEntry, seen_keys: list[str]) -> Iterator[FeedEntry]:
        if self._seen_keys.took(entry, seen_keys):
            self._seen.inc()
            return
        self._new.inc()
        yield entry


class _KeepOne(beam.DoFn):
    def __init__(self, what: str) -> None:
        self._dropped = Metrics.counter(NAMESPACE, f"entries_duplicate_{what}_in_run")

    def process(self, element: tuple[str, Iterable[FeedEntry]]) -> Iterator[FeedEntry]:
        _key, group = element
        entries = list(group)
        if len(entries) > 1:
            self._dropped.inc(len(entries) - 1)
        yield pick_entry(entries)


def _guid_key(entry: FeedEntry) -> str:
    # Entries without a guid keep a key of their own (their URL key).
    return guid_identity(entry) or f"url:{entry.url_key}"


class DedupeEntries(beam.PTransform):
    """FeedEntry -> FeedEntry, unique by normalized URL and by guid, unseen before."""

    def __init__(self, *, seen_keys: Any) -> None:
        super().__init__()
        self._seen_keys = seen_keys

    def expand(self, entries: beam.PCollection) -> beam.PCollection:
        return (
            entries
            | "DropSeen" >> beam.ParDo(_DropSeen(), self._seen_keys)
            | "KeyByUrl" >> beam.Map(lambda e: (e.url_key, e))
            | "GroupByUrl" >> beam.GroupByKey()
            | "OnePerUrl" >> beam.ParDo(_KeepOne("url"))
            | "KeyByGuid" >> beam.Map(lambda e: (_guid_key(e), e))
            | "GroupByGuid" >> beam.GroupByKey()
            | "OnePerGuid" >> beam.ParDo(_KeepOne("guid"))
        )
