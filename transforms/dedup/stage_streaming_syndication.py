"""StreamingSyndication: the stream's DetectSyndication, with the index in Beam state.

Each article comes signed from ExtractText (:func:`sketch_bytes`), then meets the index
of known stories (:class:`SyndicationIndex`) under a single key. In streaming
the first copy seen of a story stays canonical (files are append-only) and every
later copy joins it (:func:`assign_streaming`), by text or by its wire item's
link key (:func:`link_key`, every version of one item).

Why one key: a story is found by its text *or* by a link key, across scripts,
so no split of the index is exact (a split by script would miss an item whose
first version had no text). One key means one worker thread assigns stories;
at a few milliseconds a document that is ample for news volumes (hundreds of
thousands of documents a day), and the heavy work (fetching, extraction,
signing) stays parallel before it.

State: a bag of index rows ``(story_id, day, sketch)``, exactly what
:meth:`SyndicationIndex.to_rows` persists (copies and link records), plus a
token that changes with every write. The decoded index is cached per worker and rebuilt from the bag only
when the token differs (another worker wrote since, or the key moved). Rows
older than ``horizon_days`` are dropped before each match and by a daily
event-time sweep, so state and memory stay bounded.

Rows restored from ``OUT/_state/stories`` (earlier runs, or the job this one
replaces after a drain) arrive as a PCollection, reach the keyed stage as a
side input (see ``keyed_side_input``) and seed the key on first sight;
every row this job adds is emitted on ``stories`` for the same folder.

Outputs (tagged): ``articles`` (canonical, with ``story_id``), ``duplicates``
(with the canonical's ``story_id`` and ``similarity``), ``stories`` (state rows).

Example::

    synd = enriched | StreamingSyndication(horizon_days=7, restored_stories=story_rows)
    canon, dups = synd[StreamingSyndication.ARTICLES], synd[StreamingSyndication.DUPLICATES]
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from collections.abc import Iterable, Iterator
from typing import Any

import apache_beam as beam
from apache_beam.coders import BytesCoder, StrUtf8Coder, TupleCoder, VarIntCoder
from apache_beam.metrics import Metrics
from apache_beam.transforms.timeutil import TimeDomain
from apache_beam.transforms.userstate import (
    BagStateSpec,
    ReadModifyWriteStateSpec,
    TimerSpec,
    on_timer,
)
from apache_beam.utils.timestamp import Timestamp

from wiredesk.schemas.records import Article
from wiredesk.transforms.common.metrics import NAMESPACE
from wiredesk.transforms.common.stage_keyed_state import day_of, keyed_side_input
from wiredesk.transforms.dedup.signatures import Sketch
from wiredesk.transforms.dedup.stage_syndication import (
    link_key,
    match_fields,
    place,
    sketch_bytes,
)
from wiredesk.transforms.dedup.syndication import (
    DocInfo,
    SyndicationConfig,
    SyndicationIndex,
    assign_streaming,
)

__all__ = ["SHARD", "StreamingSyndication"]

SHARD = "stories"  # the one state key
_ROW_CODER = TupleCoder([StrUtf8Coder(), VarIntCoder(), BytesCoder()])
Row = tuple[str, int, bytes]  # story_id, day ordinal, sketch bytes


def _to_row_dict(row: Row) -> dict[str, Any]:
    return {"story_id": row[0], "day": dt.date.fromordinal(row[1]), "sketch": row[2]}


@dataclasses.dataclass
class _Cached:
    token: str
    index: SyndicationIndex
    oldest: int  # day ordinal of the oldest row held (for cheap expiry checks)


class _SignFn(beam.DoFn):
    def __init__(self) -> None:
        self._signed = Metrics.counter(NAMESPACE, "articles_signed")

    def process(self, article: Article) -> Iterator[tuple[str, tuple[Article, bytes]]]:
        blob = sketch_bytes(article)
        self._signed.inc()
        yield SHARD, (article, blob)


# State and timer specs, and the DoFn parameters that bind them (module-level, so
# they are not calls in argument defaults).
_ROWS = BagStateSpec("rows", _ROW_CODER)
_TOKEN = ReadModifyWriteStateSpec("token", StrUtf8Coder())
_SWEEP = TimerSpec("sweep", TimeDomain.WATERMARK)
_ROWS_PARAM = beam.DoFn.StateParam(_ROWS)
_TOKEN_PARAM = beam.DoFn.StateParam(_TOKEN)
_SWEEP_PARAM = beam.DoFn.TimerParam(_SWEEP)


class _AssignFn(beam.DoFn):
    ROWS = _ROWS
    TOKEN = _TOKEN
    SWEEP = _SWEEP

    def __init__(self, *, horizon_days: int) -> None:
        self._horizon_days = horizon_days
        self._config = SyndicationConfig(horizon_days=horizon_days)
        self._stories = Metrics.counter(NAMESPACE, "stories_new")
        self._dups = Metrics.counter(NAMESPACE, "duplicates_found")
        self._rebuilds = Metrics.counter(NAMESPACE, "syndication_index_rebuilds")
        self._expired = Metrics.counter(NAMESPACE, "syndication_rows_expired")
        self._held = Metrics.distribution(NAMESPACE, "syndication_index_rows")
        self._cache: dict[str, _Cached] = {}

    def setup(self) -> None:
        self._cache = {}

    # -- state <-> index ------------------------------------------------------
    def _cutoff(self, today: dt.date) -> int:
        return (today - dt.timedelta(days=self._horizon_days)).toordinal()

    def _build(self, rows: Iterable[Row], token: str, cutoff: int) -> _Cached:
        live = [r for r in rows if r[1] >= cutoff]
        index = SyndicationIndex.from_rows((_to_row_dict(r) for r in live), self._config)
        oldest = min((r[1] for r in live), default=cutoff)
        self._rebuilds.inc()
        return _Cached(token=token, index=index, oldest=oldest)

    def _rewrite(self, key: str, cached: _Cached, rows_state: Any, token_state: Any) -> None:
        rows_state.clear()
        for row in cached.index.to_rows():
            rows_state.add((row["story_id"], row["day"].toordinal(), row["sketch"]))
        cached.token = uuid.uuid4().hex
        token_state.write(cached.token)
        self._cache[key] = cached

    def _load(
        self,
        key: str,
        restored: Any,  # multimap: SHARD -> restored rows
        today: dt.date,
        rows_state: Any,
        token_state: Any,
    ) -> _Cached:
        cutoff = self._cutoff(today)
        token = token_state.read()
        cached = self._cache.get(key)
        if token is None:
            # First sight of the key in this job: seed it from OUT/_state/stories.
            seed = [
                (r["story_id"], r["day"].toordinal(), r["sketch"])
                for r in _restored_rows(restored[key])
            ]
            cached = self._build(seed, "", cutoff)
            self._rewrite(key, cached, rows_state, token_state)
        elif cached is None or cached.token != token:
            cached = self._build(rows_state.read(), token, cutoff)
            self._cache[key] = cached
        if cached.oldest < cutoff:
            # Beyond the horizon: no longer matchable, and no longer kept.
            self._expired.inc(cached.index.expire(dt.date.fromordinal(cutoff)))
            cached.oldest = min(
                (r["day"].toordinal() for r in cached.index.to_rows()), default=cutoff
            )
            self._rewrite(key, cached, rows_state, token_state)
        return cached

    # -- elements ---------------------------------------------------------------
    def process(
        self,
        element: tuple[str, tuple[Article, bytes]],
        restored: Any,  # multimap: SHARD -> restored rows
        timestamp: Any = beam.DoFn.TimestampParam,
        rows_state: Any = _ROWS_PARAM,
        token_state: Any = _TOKEN_PARAM,
        sweep: Any = _SWEEP_PARAM,
    ) -> Iterator[Any]:
        key, (article, blob) = element
        today = day_of(timestamp)
        cached = self._load(key, restored, today, rows_state, token_state)
        index = cached.index
        doc = DocInfo(
            doc_id=article.url_key,
            sketch=Sketch.from_bytes(blob),
            published_at=article.published_at,
            link_key=link_key(article),
        )
        mark = index.mark()
        assignment = assign_streaming(doc, index, today=today)
        new_rows = index.rows_since(mark)
        for new in new_rows:
            row: Row = (new["story_id"], new["day"].toordinal(), new["sketch"])
            rows_state.add(row)
            cached.oldest = min(cached.oldest, row[1])
            yield beam.pvalue.TaggedOutput(StreamingSyndication.STORIES, _to_row_dict(row))
        if new_rows:
            cached.token = uuid.uuid4().hex
            token_state.write(cached.token)
        self._held.update(len(index))
        # Sweep once a day, at the next UTC midnight (event time), even if the key goes idle.
        midnight = dt.datetime.combine(today + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
        sweep.set(Timestamp.from_utc_datetime(midnight))
        placed = place(
            article,
            {
                "story_id": assignment.story_id,
                "similarity": assignment.similarity,
                **match_fields(assignment),
            },
        )
        if assignment.is_canonical:
            self._stories.inc()
            yield placed
        else:
            self._dups.inc()
            yield beam.pvalue.TaggedOutput(StreamingSyndication.DUPLICATES, placed)

    @on_timer(_SWEEP)
    def on_sweep(
        self,
        key: Any = beam.DoFn.KeyParam,
        timestamp: Any = beam.DoFn.TimestampParam,
        rows_state: Any = _ROWS_PARAM,
        token_state: Any = _TOKEN_PARAM,
    ) -> None:
        cutoff = self._cutoff(day_of(timestamp))
        rows = list(rows_state.read())
        live = [r for r in rows if r[1] >= cutoff]
        if len(live) == len(rows):
            return
        self._expired.inc(len(rows) - len(live))
        rows_state.clear()
        for row in live:
            rows_state.add(row)
        token_state.write(uuid.uuid4().hex)
        self._cache.pop(key, None)


def _restored_rows(restored: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Restored rows that look like ``stories`` state rows (others are skipped)."""
    for row in restored:
        if not isinstance(row, dict):
            continue
        day = row.get("day")
        if isinstance(day, dt.datetime):
            day = day.date()
        if (
            isinstance(row.get("story_id"), str)
            and isinstance(day, dt.date)
            and isinstance(row.get("sketch"), bytes | bytearray)
        ):
            yield {"story_id": row["story_id"], "day": day, "sketch": bytes(row["sketch"])}


class StreamingSyndication(beam.PTransform):
    """Article -> canonical (``articles``), republication (``duplicates``), state (``stories``)."""

    ARTICLES = "articles"
    DUPLICATES = "duplicates"
    STORIES = "stories"

    def __init__(self, *, horizon_days: int, restored_stories: beam.PCollection) -> None:
        super().__init__()
        self._horizon_days = horizon_days
        self._restored = restored_stories

    def expand(self, articles: beam.PCollection) -> dict[str, beam.PCollection]:
        assigned = (
            articles
            | "Sign" >> beam.ParDo(_SignFn()).with_output_types(tuple[str, Any])
            | "AssignFirstSeen"
            >> beam.ParDo(
                _AssignFn(horizon_days=self._horizon_days),
                beam.pvalue.AsMultiMap(
                    keyed_side_input(self._restored, lambda _row: SHARD, label="RestoredRows")
                ),
            ).with_outputs(self.DUPLICATES, self.STORIES, main=self.ARTICLES)
        )
        return {
            self.ARTICLES: assigned[self.ARTICLES],
            self.DUPLICATES: assigned[self.DUPLICATES],
            self.STORIES: assigned[self.STORIES],
        }
