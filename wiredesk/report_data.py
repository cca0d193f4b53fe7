"""What ``wiredesk report`` shows, gathered from OUT with DuckDB (no rendering here).

:func:`gather` reads the tables and the ``feeds`` view of ``wiredesk query``
(wiredesk/query.py) and returns a :class:`ReportData`: plain values, so the
renderer (wiredesk/report.py) and the tests work on the same figures.

``since`` limits the stories, republications and rejects to those of that day
or later (a story's ``date`` partition, a reject's ``at``); the state of the
feeds is always the current one.

Example::

    data = gather(output="./wiredesk-demo")
    data.regions          # ['eastern-asia', 'northern-america', ...]
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import duckdb

from wiredesk.query import QueryError, connect

__all__ = [
    "AgencyReach",
    "DayRegionCount",
    "ExtractionHealth",
    "FeedHealth",
    "ReportData",
    "SyndicationEdge",
    "gather",
]

# Reject reasons of the extract stage that are a failure of extraction itself.
EXTRACT_ERRORS = ("extract_error", "extract_timeout", "parse_error")


@dataclasses.dataclass(frozen=True)
class DayRegionCount:
    day: dt.date
    region: str
    stories: int


@dataclasses.dataclass(frozen=True)
class AgencyReach:
    """One agency's stories, how many outlets ran each, and how late the copies came."""

    agency: str
    stories: int
    republications: int
    outlets_per_story: tuple[int, ...]  # one value per story: its outlets, the canonical's included
    delays_hours: tuple[float, ...]  # one per republication: its time minus the story's


@dataclasses.dataclass(frozen=True)
class SyndicationEdge:
    """``outlet`` ran ``stories`` of ``agency``'s stories (as the canonical copy or a copy)."""

    agency: str
    outlet: str
    stories: int


@dataclasses.dataclass(frozen=True)
class FeedHealth:
    """One row of the ``feeds`` table, and its rejects by reason."""

    feed_url: str
    title: str | None
    last_polled_at: dt.datetime | None
    last_status: str | None
    consecutive_failures: int | None
    items_last_poll: int | None
    next_poll_at: dt.datetime | None
    stories: int
    duplicates: int
    rejects: int
    last_error: str | None
    rejects_by_reason: tuple[tuple[str, int], ...]

    @property
    def name(self) -> str:
        return self.title or self.feed_url

    @property
    def healthy(self) -> bool:
        return self.last_status in ("ok", "not_modified")


@dataclasses.dataclass(frozen=True)
class ExtractionHealth:
    """Pages of one source that became rows, had no text, or broke extraction."""

    source: str
    extracted: int
    empty_text: int
    extract_errors: int


@dataclasses.dataclass(frozen=True)
class ReportData:
    output: str
    since: dt.date | None
    generated_at: dt.datetime
    stories: int
    republications: int
    rejects: int
    first_day: dt.date | None
    last_day: dt.date | None
    stories_by_day_region: tuple[DayRegionCount, ...]
    regions: tuple[str, ...]  # every region of a story or a republication, most stories first
    region_totals: tuple[tuple[str, int, int], ...]  # (region, stories, republications)
    agencies: tuple[AgencyReach, ...]
    syndication: tuple[SyndicationEdge, ...]
    unattributed_republications: int  # copies of stories without an agency
    feeds: tuple[FeedHealth, ...]
    extraction: tuple[ExtractionHealth, ...]
    rejects_by_stage_reason: tuple[tuple[str, str, int], ...]

    @property
    def agency_names(self) -> tuple[str, ...]:
        return tuple(reach.agency for reach in self.agencies)


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
    return con.execute(sql, params).fetchall()


class _Gatherer:
    """The report's queries over one connection, filtered by ``since``."""

    def __init__(self, con: duckdb.DuckDBPyConnection, since: dt.date | None) -> None:
        self.con = con
        self.since = since
        con.execute("SET TimeZone = 'UTC'")  # times come back in UTC, whatever the machine's zone
        # Filtered copies of the tables, so every query below reads the same rows. A view
        # cannot take parameters; ``since`` is a date, so its ISO form is a safe literal.
        day = f"date >= DATE '{since.isoformat()}'" if since else "true"
        at = (
            f"\"at\" >= CAST('{since.isoformat()} 00:00:00+00' AS TIMESTAMPTZ)" if since else "true"
        )
        con.execute(f"CREATE TEMP VIEW r_articles AS SELECT * FROM articles WHERE {day}")
        con.execute(f"CREATE TEMP VIEW r_duplicates AS SELECT * FROM duplicates WHERE {day}")
        con.execute(f"CREATE TEMP VIEW r_rejects AS SELECT * FROM rejects WHERE {at}")
        # A copy's story and agency (the canonical may be older than ``since``).
        con.execute(
            """
            CREATE TEMP VIEW r_copies AS
            SELECT d.story_id, d.source, coalesce(a.agency, d.agency) AS agency,
                   epoch(coalesce(d.published_at, d.fetched_at))
                     - epoch(coalesce(a.published_at, a.fetched_at)) AS delay_s
            FROM r_duplicates d LEFT JOIN articles a USING (story_id)
            """
        )

    def scalar(self, sql: str) -> Any:
        row = self.con.execute(sql).fetchone()
        return row[0] if row else None

    def by_day_region(self) -> tuple[DayRegionCount, ...]:
        rows = _rows(
            self.con,
            "SELECT date, region, count(*) FROM r_articles GROUP BY ALL ORDER BY date, region",
            [],
        )
        return tuple(DayRegionCount(day=d, region=r or "unknown", stories=n) for d, r, n in rows)

    def region_totals(self) -> tuple[tuple[str, int, int], ...]:
        rows = _rows(
            self.con,
            """
            SELECT coalesce(region, 'unknown') AS region,
                   count(*) FILTER (WHERE t = 'a') AS stories,
                   count(*) FILTER (WHERE t = 'd') AS copies
            FROM (SELECT region, 'a' AS t FROM r_articles
                  UNION ALL SELECT region, 'd' FROM r_duplicates)
            GROUP BY 1 ORDER BY stories DESC, copies DESC, region
            """,
            [],
        )
        return tuple((r, int(s), int(c)) for r, s, c in rows)

    def agencies(self) -> tuple[AgencyReach, ...]:
        rows = _rows(
            self.con,
            """
            WITH story AS (
                SELECT a.story_id, a.source,
                       coalesce(a.agency, (SELECT any_value(c.agency) FROM r_copies c
                                           WHERE c.story_id = a.story_id)) AS agency
                FROM r_articles a
            ),
            copies AS (SELECT agency, story_id, source, delay_s FROM r_copies),
            agencies AS (
                SELECT agency FROM story WHERE agency IS NOT NULL
                UNION SELECT agency FROM copies WHERE agency IS NOT NULL
            ),
            outlets AS (
                SELECT agency, story_id, count(DISTINCT source) AS n
                FROM (SELECT agency, story_id, source FROM story
                      UNION ALL SELECT agency, story_id, source FROM copies)
                WHERE agency IS NOT NULL GROUP BY ALL
            )
            SELECT g.agency,
                   (SELECT count(*) FROM story s WHERE s.agency = g.agency) AS stories,
                   (SELECT count(*) FROM copies c WHERE c.agency = g.agency) AS copies,
                   (SELECT list(o.n ORDER BY o.n DESC) FROM outlets o WHERE o.agency = g.agency),
                   (SELECT list(c.delay_s / 3600.0 ORDER BY c.delay_s) FROM copies c
                    WHERE c.agency = g.agency AND c.delay_s IS NOT NULL)
            FROM agencies g ORDER BY stories DESC, copies DESC, g.agency
            """,
            [],
        )
        return tuple(
            AgencyReach(
                agency=agency,
                stories=int(stories),
                republications=int(copies),
                outlets_per_story=tuple(int(n) for n in outlets or ()),
                delays_hours=tuple(float(h) for h in delays or ()),
            )
            for agency, stories, copies, outlets, delays in rows
        )

    def syndication(self) -> tuple[SyndicationEdge, ...]:
        rows = _rows(
            self.con,
            """
            WITH runs AS (
                SELECT a.agency, a.source, a.story_id FROM r_articles a WHERE a.agency IS NOT NULL
                UNION
                SELECT c.agency, c.source, c.story_id FROM r_copies c WHERE c.agency IS NOT NULL
            )
            SELECT agency, coalesce(source, '(unnamed outlet)'), count(DISTINCT story_id)
            FROM runs GROUP BY ALL ORDER BY agency, 3 DESC, 2
            """,
            [],
        )
        return tuple(SyndicationEdge(agency=a, outlet=o, stories=int(n)) for a, o, n in rows)

    def feeds(self) -> tuple[FeedHealth, ...]:
        reasons: dict[str, list[tuple[str, int]]] = {}
        for feed_url, reason, count in _rows(
            self.con,
            "SELECT feed_url, stage || '/' || reason, count(*) FROM r_rejects "
            "WHERE feed_url IS NOT NULL GROUP BY ALL ORDER BY 3 DESC, 2",
            [],
        ):
            reasons.setdefault(feed_url, []).append((reason, int(count)))
        relation = self.con.sql("SELECT * FROM feeds")
        columns = list(relation.columns)
        feeds = []
        for values in relation.fetchall():
            row = dict(zip(columns, values, strict=True))
            feeds.append(
                FeedHealth(
                    feed_url=row["feed_url"],
                    title=row["title"],
                    last_polled_at=row["last_polled_at"],
                    last_status=row["last_status"],
                    consecutive_failures=row["consecutive_failures"],
                    items_last_poll=row["items_last_poll"],
                    next_poll_at=row["next_poll_at"],
                    stories=int(row["stories"]),
                    duplicates=int(row["duplicates"]),
                    rejects=int(row["rejects"]),
                    last_error=row["last_error"],
                    rejects_by_reason=tuple(reasons.get(row["feed_url"], ())),
                )
            )
        return tuple(feeds)

    def extraction(self) -> tuple[ExtractionHealth, ...]:
        errors = ", ".join(f"'{reason}'" for reason in EXTRACT_ERRORS)
        rows = _rows(
            self.con,
            f"""
            WITH names AS (
                SELECT feed_url, any_value(title) AS name FROM feeds
                WHERE title IS NOT NULL GROUP BY 1
                UNION ALL
                SELECT feed_url, any_value(source) FROM (
                    SELECT feed_url, source FROM articles UNION ALL
                    SELECT feed_url, source FROM duplicates)
                WHERE source IS NOT NULL AND feed_url NOT IN (
                    SELECT feed_url FROM feeds WHERE title IS NOT NULL AND feed_url IS NOT NULL)
                GROUP BY 1
            ),
            pages AS (
                SELECT feed_url, source, 'ok' AS outcome FROM r_articles
                UNION ALL SELECT feed_url, source, 'ok' FROM r_duplicates
                UNION ALL SELECT feed_url, NULL, reason FROM r_rejects WHERE stage = 'extract'
            )
            SELECT coalesce(p.source, n.name, p.feed_url, '(unknown source)') AS source,
                   count(*) FILTER (WHERE outcome = 'ok'),
                   count(*) FILTER (WHERE outcome = 'empty_text'),
                   count(*) FILTER (WHERE outcome IN ({errors}))
            FROM pages p LEFT JOIN names n USING (feed_url)
            GROUP BY 1 ORDER BY 3 + 4 DESC, 2 DESC, 1
            """,
            [],
        )
        return tuple(
            ExtractionHealth(source=s, extracted=int(ok), empty_text=int(e), extract_errors=int(x))
            for s, ok, e, x in rows
        )

    def rejects_by_stage_reason(self) -> tuple[tuple[str, str, int], ...]:
        rows = _rows(
            self.con,
            "SELECT stage, reason, count(*) FROM r_rejects GROUP BY ALL ORDER BY 3 DESC, 1, 2",
            [],
        )
        return tuple((stage, reason, int(n)) for stage, reason, n in rows)


def gather(*, output: str, since: dt.date | None = None) -> ReportData:
    """Everything the report shows, read from OUT. Raises QueryError when OUT is unusable."""
    try:
        g = _Gatherer(connect(output), since)
        by_day = g.by_day_region()
        region_totals = g.region_totals()
        agencies = g.agencies()
        return ReportData(
            output=output,
            since=since,
            generated_at=dt.datetime.now(dt.UTC),
            stories=int(g.scalar("SELECT count(*) FROM r_articles")),
            republications=int(g.scalar("SELECT count(*) FROM r_duplicates")),
            rejects=int(g.scalar("SELECT count(*) FROM r_rejects")),
            first_day=g.scalar("SELECT min(date) FROM r_articles"),
            last_day=g.scalar("SELECT max(date) FROM r_articles"),
            stories_by_day_region=by_day,
            regions=tuple(region for region, _, _ in region_totals),
            region_totals=region_totals,
            agencies=agencies,
            syndication=g.syndication(),
            unattributed_republications=int(
                g.scalar("SELECT count(*) FROM r_copies WHERE agency IS NULL")
            ),
            feeds=g.feeds(),
            extraction=g.extraction(),
            rejects_by_stage_reason=g.rejects_by_stage_reason(),
        )
    except duckdb.Error as exc:
        raise QueryError(str(exc).splitlines()[0]) from exc
