"""``wiredesk report OUT [--output FILE.html] [--since DATE]``: one self-contained HTML page.

The page shows the news stream in OUT: stories per day and region, each agency's
reach (outlets per story, time to republication), the syndication graph (which
outlets run which agency's stories), the health of every feed (last status, items
per poll, failures, rejects by reason) and extraction health per source. Figures
come from :func:`wiredesk.report_data.gather`; charts are inline SVG drawn by
matplotlib (wiredesk/report_charts.py); a table under each chart lists every row.

The file references nothing outside itself (no script, stylesheet, font, image or
link to fetch), so it opens with a double-click, offline, and can be mailed.

Example::

    path = write_report(output="./wiredesk-demo")     # ./wiredesk-demo/report.html
"""

from __future__ import annotations

import datetime as dt
import html
import os
import sys
from collections.abc import Iterable, Sequence
from typing import Any

from wiredesk import __version__
from wiredesk import report_charts as charts
from wiredesk.query import QueryError
from wiredesk.report_data import ReportData, gather

__all__ = ["DEFAULT_NAME", "default_report_path", "render_html", "report_command", "write_report"]

DEFAULT_NAME = "report.html"

_CSS = """
:root { color-scheme: light; --ink: #1d2330; --muted: #5b6475; --line: #e3e6ec;
        --ok: #2ca02c; --bad: #d62728; --warn: #ff7f0e; --info: #1f77b4; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto,
       "Helvetica Neue", Arial, sans-serif; color: var(--ink); background: #f6f7f9; }
header { background: #1d2330; color: #fff; padding: 20px 32px; }
header h1 { margin: 0 0 4px; font-size: 22px; }
header p { margin: 0; color: #c9cfdb; font-size: 13px; }
main { max-width: 1320px; margin: 0 auto; padding: 8px 24px 48px; }
section { background: #fff; border: 1px solid var(--line); border-radius: 8px;
          margin: 18px 0; padding: 16px 20px; }
h2 { font-size: 18px; margin: 0 0 6px; }
p.note { color: var(--muted); margin: 4px 0 10px; font-size: 13px; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(140px, 1fr)); gap: 12px;
         margin: 18px 0; }
.card { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 10px 14px; }
.card b { display: block; font-size: 24px; }
.card span { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .04em; }
.card.bad b { color: var(--bad); }
svg.chart { display: block; width: 100%; height: auto; margin: 6px 0 10px; }
details { margin-top: 6px; }
summary { cursor: pointer; color: var(--info); font-size: 14px; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-size: 12px; margin-top: 8px; }
th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid var(--line);
         vertical-align: top; }
th { background: #f0f2f5; font-weight: 600; white-space: nowrap; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.url { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace;
         font-size: 12px; min-width: 16em; overflow-wrap: anywhere; }
td.url b { font-family: system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif;
           font-size: 13px; }
td.error { min-width: 10em; max-width: 20em; overflow-wrap: anywhere; }
td.when { white-space: nowrap; }
.status { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px;
          color: #fff; white-space: nowrap; }
.status.ok { background: var(--ok); } .status.not_modified { background: var(--info); }
.status.failing { background: var(--bad); } .status.never { background: #9e9e9e; }
.empty { color: var(--muted); font-style: italic; }
footer { color: var(--muted); font-size: 12px; text-align: center; margin-top: 24px; }
"""


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _when(value: dt.datetime | None) -> str:
    if value is None:
        return ""
    return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M")


def _num(value: int | float | None) -> str:
    return "" if value is None else f"{value:,}" if isinstance(value, int) else f"{value:,.1f}"


def _table(
    headers: Sequence[str], rows: Iterable[Sequence[str]], *, numeric: Iterable[int] = ()
) -> str:
    """An HTML table of already escaped cells; ``numeric`` columns align right."""
    right = set(numeric)
    head = "".join(
        f'<th class="num">{_e(h)}</th>' if i in right else f"<th>{_e(h)}</th>"
        for i, h in enumerate(headers)
    )
    body = []
    for row in rows:
        cells = "".join(
            cell
            if cell.startswith("<td")
            else f'<td class="num">{cell}</td>'
            if i in right
            else f"<td>{cell}</td>"
            for i, cell in enumerate(row)
        )
        body.append(f"<tr>{cells}</tr>")
    if not body:
        span = len(headers)
        body.append(f'<tr><td colspan="{span}" class="empty">nothing yet</td></tr>')
    return (
        f'<div class="scroll"><table><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )


def _chart(svg: str | None, empty: str) -> str:
    return svg if svg else f'<p class="empty">{_e(empty)}</p>'


def _section(anchor: str, title: str, note: str, body: str) -> str:
    return f'<section id="{anchor}"><h2>{_e(title)}</h2><p class="note">{note}</p>{body}</section>'


def _cards(data: ReportData) -> str:
    failing = sum(1 for f in data.feeds if charts.status_group(f) == "failing")
    items = [
        ("stories", _num(data.stories), ""),
        ("republications", _num(data.republications), ""),
        ("regions", _num(len(data.regions)), ""),
        ("agencies", _num(len(data.agencies)), ""),
        ("feeds", _num(len(data.feeds)), ""),
        ("feeds failing", _num(failing), "bad" if failing else ""),
        ("rejects", _num(data.rejects), ""),
    ]
    return (
        '<div class="cards">'
        + "".join(
            f'<div class="card {cls}"><b>{value}</b><span>{_e(label)}</span></div>'
            for label, value, cls in items
        )
        + "</div>"
    )


def _stories_section(data: ReportData) -> str:
    svg = charts.stories_per_day_region(data.stories_by_day_region, data.regions)
    table = _table(
        ["region", "stories", "republications"],
        [(_e(r), _num(s), _num(d)) for r, s, d in data.region_totals],
        numeric=(1, 2),
    )
    span = f"{data.first_day} to {data.last_day}" if data.first_day else "no stories yet"
    note = (
        f"A story's day is its publication date (UTC); its region is where it happened "
        f"(UN M49 sub-region). Days without stories are left out. Span: {_e(span)}."
    )
    return _section(
        "stories",
        "Stories per day and region",
        note,
        _chart(svg, "No stories yet.")
        + f"<details open><summary>Every region</summary>{table}</details>",
    )


def _median(values: Sequence[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def _reach_section(data: ReportData) -> str:
    svg = charts.agency_reach(data.agencies)
    rows = []
    for a in data.agencies:
        per_story = a.outlets_per_story
        mean = sum(per_story) / len(per_story) if per_story else None
        rows.append(
            (
                _e(a.agency),
                _num(a.stories),
                _num(a.republications),
                _num(mean),
                _num(max(per_story) if per_story else None),
                _num(_median(a.delays_hours)),
            )
        )
    table = _table(
        [
            "agency",
            "stories",
            "republications",
            "outlets per story (mean)",
            "most outlets",
            "median hours to republication",
        ],
        rows,
        numeric=(1, 2, 3, 4, 5),
    )
    note = (
        "The agency is the wire credit of a story (the canonical copy's, else a copy's). "
        "Outlets per story counts the canonical copy's outlet and every republishing outlet; "
        "the time to republication is a copy's publication time (else its fetch time) minus "
        "the canonical copy's."
    )
    return _section(
        "reach",
        "Each agency's reach",
        note,
        _chart(svg, "No story credits an agency yet.")
        + f"<details open><summary>Every agency</summary>{table}</details>",
    )


def _graph_section(data: ReportData) -> str:
    stories = {a.agency: a.stories for a in data.agencies}
    svg = charts.syndication_graph(data.syndication, stories)
    table = _table(
        ["agency", "outlet", "stories run"],
        [(_e(e.agency), _e(e.outlet), _num(e.stories)) for e in data.syndication],
        numeric=(2,),
    )
    unattributed = (
        f" {data.unattributed_republications:,} republications of stories that credit no "
        "agency are not in the graph."
        if data.unattributed_republications
        else ""
    )
    note = (
        "A line joins an agency to each outlet that ran its stories, as the canonical copy or "
        "as a republication; its width and label are the number of stories. In brackets: an "
        "agency's stories, an outlet's stories of any agency." + unattributed
    )
    return _section(
        "syndication",
        "Syndication graph",
        _e(note),
        _chart(svg, "No agency stories yet.")
        + f"<details><summary>Every agency and outlet pair</summary>{table}</details>",
    )


def _status_badge(feed: Any) -> str:
    group = charts.status_group(feed)
    css = {"never polled": "never"}.get(group, group)
    return f'<span class="status {css}">{_e(feed.last_status or "never polled")}</span>'


def _feeds_section(data: ReportData) -> str:
    health = charts.feed_health(data.feeds)
    rejects = charts.feed_rejects(data.feeds)
    rows = []
    for f in data.feeds:
        reasons = ", ".join(f"{_e(r)} {n:,}" for r, n in f.rejects_by_reason)
        rows.append(
            (
                f'<td class="url"><b>{_e(f.title or "")}</b><br>{_e(f.feed_url)}</td>',
                _status_badge(f),
                f'<td class="error">{_e(f.last_error or "")}</td>',
                f'<td class="when">{_e(_when(f.last_polled_at))}<br>'
                f"{_e(_when(f.next_poll_at))}</td>",
                _num(f.consecutive_failures),
                _num(f.items_last_poll),
                _num(f.stories),
                _num(f.duplicates),
                _num(f.rejects),
                reasons,
            )
        )
    table = _table(
        [
            "feed",
            "last status",
            "error",
            "last poll / next poll",
            "failures in a row",
            "items last poll",
            "stories",
            "duplicates",
            "rejects",
            "rejects by reason",
        ],
        rows,
        numeric=(4, 5, 6, 7, 8),
    )
    note = (
        "Every feed of the feeds file of the latest run (the <code>feeds</code> table of "
        "<code>wiredesk query</code>). A failing feed's status is the reason its last poll "
        "was rejected; failing feeds come first."
    )
    body = (
        _chart(health, "No feeds polled yet.")
        + (rejects or "")
        + f"<details open><summary>Every feed</summary>{table}</details>"
    )
    return _section("feeds", "Health of each feed", note, body)


def _extraction_section(data: ReportData) -> str:
    svg = charts.extraction_health(data.extraction)
    table = _table(
        ["source", "extracted", "empty_text", "extraction errors"],
        [
            (_e(s.source), _num(s.extracted), _num(s.empty_text), _num(s.extract_errors))
            for s in data.extraction
        ],
        numeric=(1, 2, 3),
    )
    note = (
        "Pages that became a story or a republication, pages with no article text "
        "(<code>empty_text</code>), and pages whose extraction failed (<code>extract_error</code>, "
        "<code>extract_timeout</code>, <code>parse_error</code>), per source; worst first."
    )
    return _section(
        "extraction",
        "Extraction health per source",
        note,
        _chart(svg, "No page extracted yet.")
        + f"<details><summary>Every source</summary>{table}</details>",
    )


def _rejects_section(data: ReportData) -> str:
    table = _table(
        ["stage", "reason", "rejects"],
        [(_e(s), _e(r), _num(n)) for s, r, n in data.rejects_by_stage_reason],
        numeric=(2,),
    )
    return _section(
        "rejects",
        "Rejects by stage and reason",
        "Every input that did not become a row is one <code>rejects</code> row.",
        table,
    )


def render_html(data: ReportData) -> str:
    """The whole page, as one string."""
    scope = f"since {data.since.isoformat()}" if data.since else "everything in the output"
    title = f"wiredesk report: {os.path.basename(os.path.normpath(data.output)) or data.output}"
    sections = "".join(
        (
            _stories_section(data),
            _reach_section(data),
            _graph_section(data),
            _feeds_section(data),
            _extraction_section(data),
            _rejects_section(data),
        )
    )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>"
        f"<header><h1>{_e(title)}</h1>"
        f"<p>{_e(data.output)} · {_e(scope)} · generated {_e(_when(data.generated_at))} "
        "· times in UTC</p></header>"
        f"<main>{_cards(data)}{sections}"
        f"<footer>wiredesk {_e(__version__)}</footer></main></body></html>\n"
    )


def default_report_path(output: str) -> str:
    """``OUT/report.html`` for a local OUT; ``./wiredesk-report.html`` for a remote one."""
    if "://" in output:
        return os.path.abspath("wiredesk-report.html")
    return os.path.join(os.path.abspath(output), DEFAULT_NAME)


def write_report(*, output: str, path: str | None = None, since: dt.date | None = None) -> str:
    """Gather, render and write the report (atomically). Returns the file's path.

    Raises :class:`wiredesk.query.QueryError` when OUT cannot be read, OSError when
    the file cannot be written.
    """
    target = os.path.abspath(path or default_report_path(output))
    page = render_html(gather(output=output, since=since))
    folder = os.path.dirname(target)
    os.makedirs(folder, exist_ok=True)
    # Beside the target, so the rename never crosses filesystems; a reader never
    # sees half a page.
    temp = os.path.join(folder, f".{os.path.basename(target)}.{os.getpid()}.tmp")
    try:
        with open(temp, "w", encoding="utf-8") as handle:
            handle.write(page)
        os.replace(temp, target)
    except BaseException:
        if os.path.exists(temp):
            os.unlink(temp)
        raise
    return target


def report_command(*, output: str, path: str | None, since: str | None) -> int:
    """``wiredesk report``: write the page, print its path; one line and exit 2 on failure."""
    try:
        since_day = dt.date.fromisoformat(since) if since else None
    except ValueError:
        print(f"wiredesk: --since wants a date such as 2025-01-31, not {since!r}", file=sys.stderr)
        return 2
    try:
        written = write_report(output=output, path=path, since=since_day)
    except QueryError as exc:
        print(f"wiredesk: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"wiredesk: cannot write the report: {exc}", file=sys.stderr)
        return 2
    print(f"report: {written}")
    return 0
