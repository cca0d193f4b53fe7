"""The report's charts, drawn with matplotlib as SVG that is inlined in the page.

Why matplotlib (README, "wiredesk report"): static SVG needs no JavaScript, so the
page works from a double-click with no network and nothing can fail in the
browser; text stays text (``svg.fonttype: none``), so every name in a chart can be
searched and read by a screen reader; it draws bipartite graphs, strip plots and
stacked bars with the same API; numpy, its one large dependency, is already
installed with Beam. Altair/Vega-Lite was the alternative: its interactive charts
need ~800 kB of JavaScript inlined per page, and rendering them offline needs
vl-convert (an embedded JS engine, ~85 MB).

Every function takes plain values (wiredesk/report_data.py) and returns one
``<svg>`` element as text, ready for an HTML5 page (no XML prolog, no DOCTYPE, no
namespace URLs: nothing in it points outside the page), or None when there is
nothing to draw.

Example::

    svg = stories_per_day_region(data.stories_by_day_region, chart_id="days")
"""

from __future__ import annotations

import io
import itertools
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import matplotlib
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from wiredesk.report_data import (
    AgencyReach,
    DayRegionCount,
    ExtractionHealth,
    FeedHealth,
    SyndicationEdge,
)

__all__ = [
    "STATUS_COLORS",
    "agency_reach",
    "extraction_health",
    "feed_health",
    "feed_rejects",
    "region_colors",
    "status_group",
    "stories_per_day_region",
    "syndication_graph",
]

# What a chart shows at most; the tables below each chart list everything.
MAX_BARS = 40
MAX_AGENCIES = 15
MAX_OUTLETS = 30
MAX_LABEL = 42

_STYLE: dict[Any, Any] = {  # matplotlib types its keys as literals
    "svg.fonttype": "none",  # text stays <text>: searchable, and no glyph paths to bloat the file
    "svg.hashsalt": "wiredesk",  # stable ids: the same data gives the same file
    "text.parse_math": False,  # a '$' in a feed title is a dollar sign, not TeX
    "font.family": "sans-serif",
    "font.size": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 11,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
    "legend.frameon": False,
}

# tab20's pairs reordered so neighbours differ, then tab20b: 23 regions get distinct colours.
_PALETTE = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
    "#bcbd22", "#17becf", "#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5", "#c49c94",
    "#f7b6d2", "#c7c7c7", "#dbdb8d", "#9edae5", "#393b79", "#637939", "#8c6d31", "#843c39",
]  # fmt: skip

STATUS_COLORS = {
    "ok": "#2ca02c",
    "not_modified": "#1f77b4",
    "never polled": "#9e9e9e",
    "failing": "#d62728",
}
_REASON_COLORS = ["#d62728", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#bcbd22", "#17becf"]


def region_colors(regions: Iterable[str]) -> dict[str, str]:
    """A stable colour per region (in the order given)."""
    return {region: color for region, color in zip(regions, itertools.cycle(_PALETTE))}


def _short(text: str, limit: int = MAX_LABEL) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


_ID = re.compile(r'\bid="([^"]+)"')


def _to_svg(fig: Figure, chart_id: str, label: str) -> str:
    """The figure as an inline ``<svg>``: ids prefixed (several charts share one page),
    no prolog, DOCTYPE or namespace URLs, sized by CSS, labelled for screen readers."""
    buffer = io.StringIO()
    fig.savefig(
        buffer,
        format="svg",
        metadata={"Creator": None, "Date": None, "Format": None, "Type": None},
    )
    svg = buffer.getvalue()
    svg = svg[svg.index("<svg") :]
    ids = set(_ID.findall(svg))
    svg = _ID.sub(lambda m: f'id="{chart_id}-{m.group(1)}"', svg)
    svg = re.sub(
        r'(url\(#|xlink:href="#|href="#)([^)"]+)',
        lambda m: m.group(1) + (f"{chart_id}-{m.group(2)}" if m.group(2) in ids else m.group(2)),
        svg,
    )
    svg = svg.replace("xlink:href=", "href=")  # SVG 2; the HTML parser needs no namespace
    head_end = svg.index(">")
    head = svg[:head_end]
    head = re.sub(r'\s(xmlns(:xlink)?|width|height|version)="[^"]*"', "", head)
    head += f' role="img" aria-label="{_attr(label)}" class="chart" data-chart="{chart_id}"'
    return head + svg[head_end:]


def _attr(text: str) -> str:
    return (
        text.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;").replace(">", "&gt;")
    )


def _figure(width: float, height: float) -> Figure:
    return Figure(figsize=(width, height), layout="constrained")


def _render(draw: Any, *, width: float, height: float, chart_id: str, label: str) -> str:
    with matplotlib.rc_context(_STYLE):
        fig = _figure(width, height)
        draw(fig)
        return _to_svg(fig, chart_id, label)


def _thin_ticks(ax: Any, labels: Sequence[str], keep: int = 24) -> None:
    step = max(1, -(-len(labels) // keep))
    ax.set_xticks(range(0, len(labels), step))
    ax.set_xticklabels(labels[::step], rotation=45, ha="right")


def stories_per_day_region(
    counts: Sequence[DayRegionCount], regions: Sequence[str], *, chart_id: str = "days"
) -> str | None:
    """Stacked bars: stories per day (days that have stories), one colour per region."""
    if not counts:
        return None
    days = sorted({c.day for c in counts})
    index = {day: i for i, day in enumerate(days)}
    colors = region_colors(regions)
    by_region: dict[str, list[int]] = {region: [0] * len(days) for region in regions}
    for c in counts:
        by_region.setdefault(c.region, [0] * len(days))[index[c.day]] += c.stories

    def draw(fig: Figure) -> None:
        ax = fig.subplots()
        bottom = [0] * len(days)
        for region, values in by_region.items():
            if not any(values):
                continue
            ax.bar(
                range(len(days)),
                values,
                bottom=bottom,
                label=region,
                color=colors.get(region, "#7f7f7f"),
                width=0.8,
            )
            bottom = [b + v for b, v in zip(bottom, values, strict=True)]
        _thin_ticks(ax, [day.isoformat() for day in days])
        ax.set_ylabel("stories")
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_title("Stories per day and region")
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=9)

    return _render(
        draw, width=10, height=4.2, chart_id=chart_id, label="Stories per day, by region"
    )


def agency_reach(agencies: Sequence[AgencyReach], *, chart_id: str = "reach") -> str | None:
    """Two panels: outlets per story (a bubble per number of outlets, as large as the
    stories that reached it, and the mean) and hours from the story's copy to each
    republication (a dot per republication)."""
    shown = [a for a in agencies if a.stories or a.republications][:MAX_AGENCIES]
    if not shown:
        return None
    names = [_short(a.agency, 28) for a in shown]
    rows = list(range(len(shown)))[::-1]  # the biggest agency on top
    delays = [h for a in shown for h in a.delays_hours]
    spread = max((abs(h) for h in delays), default=0.0)

    def draw(fig: Figure) -> None:
        left, right = fig.subplots(1, 2, sharey=True, width_ratios=(1, 1.3))
        for y, reach in zip(rows, shown, strict=True):
            per_story = reach.outlets_per_story
            if per_story:
                counts: dict[int, int] = {}
                for n in per_story:
                    counts[n] = counts.get(n, 0) + 1
                xs = sorted(counts)
                left.scatter(
                    xs,
                    [y] * len(xs),
                    s=[40 + 260 * counts[x] / len(per_story) for x in xs],
                    color="#1f77b4",
                    alpha=0.7,
                    zorder=3,
                )
                for x in xs:
                    left.annotate(
                        f"{counts[x]}",
                        (x, y),
                        xytext=(0, 9),
                        textcoords="offset points",
                        ha="center",
                        fontsize=8,
                        color="#333",
                    )
                mean = sum(per_story) / len(per_story)
                left.scatter([mean], [y - 0.3], marker="^", s=36, color="#d62728", zorder=4)
            if reach.delays_hours:
                offsets = [((i % 7) - 3) * 0.06 for i in range(len(reach.delays_hours))]
                right.scatter(
                    reach.delays_hours,
                    [y + o for o in offsets],
                    s=16,
                    color="#ff7f0e",
                    alpha=0.85,
                    zorder=3,
                )
        left.set_yticks(rows)
        left.set_yticklabels(names)
        left.set_ylim(-0.7, len(shown) - 0.3)
        most = max((max(a.outlets_per_story, default=1) for a in shown), default=1)
        left.set_xlim(0.5, most + 0.5)
        left.xaxis.set_major_locator(MaxNLocator(integer=True))
        left.set_xlabel("outlets that ran a story (bubble: stories, red triangle: mean)")
        left.set_title("Outlets per story")
        if spread > 48:
            right.set_xscale("symlog", linthresh=1.0)  # minutes and weeks on one axis
        right.set_xlabel("hours from the story's first copy to each republication")
        right.axvline(0, color="#999", linewidth=0.8)
        if not delays:
            right.text(
                0.5, 0.5, "no republications", transform=right.transAxes, ha="center", color="#777"
            )
        right.set_title("Time to republication")

    height = 1.2 + 0.5 * len(shown)
    return _render(
        draw,
        width=10,
        height=max(2.6, height),
        chart_id=chart_id,
        label="Outlets per story and time to republication, per agency",
    )


def syndication_graph(
    edges: Sequence[SyndicationEdge],
    agency_stories: Mapping[str, int] | None = None,
    *,
    chart_id: str = "graph",
) -> str | None:
    """A bipartite graph: agencies on the left (with their stories), outlets on the
    right (with the agency stories they ran), a line per (agency, outlet) as wide as
    the number of the agency's stories the outlet ran."""
    if not edges:
        return None
    agency_totals: dict[str, int] = {}
    outlet_totals: dict[str, int] = {}
    for e in edges:
        agency_totals[e.agency] = agency_totals.get(e.agency, 0) + e.stories
        outlet_totals[e.outlet] = outlet_totals.get(e.outlet, 0) + e.stories
    stories = dict(agency_stories or agency_totals)
    agencies = sorted(agency_totals, key=lambda a: (-agency_totals[a], a))[:MAX_AGENCIES]
    outlets = sorted(outlet_totals, key=lambda o: (-outlet_totals[o], o))[:MAX_OUTLETS]
    shown = [e for e in edges if e.agency in agencies and e.outlet in outlets]
    top = max(e.stories for e in shown)
    colors = dict(zip(agencies, itertools.cycle(_PALETTE), strict=False))

    def ys(count: int) -> list[float]:
        return [1.0 - (i + 0.5) / count for i in range(count)]

    agency_y = dict(zip(agencies, ys(len(agencies)), strict=True))
    outlet_y = dict(zip(outlets, ys(len(outlets)), strict=True))

    def draw(fig: Figure) -> None:
        ax = fig.subplots()
        for e in shown:
            ax.plot(
                [0.0, 1.0],
                [agency_y[e.agency], outlet_y[e.outlet]],
                color=colors[e.agency],
                linewidth=0.8 + 5.0 * e.stories / top,
                alpha=0.55,
                solid_capstyle="round",
            )
            ax.text(
                0.5,
                (agency_y[e.agency] + outlet_y[e.outlet]) / 2,
                str(e.stories),
                fontsize=7,
                color="#555",
                ha="center",
                va="center",
                bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.8},
            )
        for agency, y in agency_y.items():
            size = 60 + 240 * agency_totals[agency] / max(agency_totals.values())
            ax.scatter([0.0], [y], s=size, color=colors[agency], zorder=3)
            label = f"{_short(agency, 28)} ({stories.get(agency, agency_totals[agency])})"
            ax.text(-0.04, y, label, ha="right", va="center")
        for outlet, y in outlet_y.items():
            ax.scatter([1.0], [y], s=60, color="#555", zorder=3)
            ax.text(
                1.04, y, f"{_short(outlet, 34)} ({outlet_totals[outlet]})", ha="left", va="center"
            )
        ax.set_xlim(-0.75, 1.75)
        ax.set_ylim(0, 1)
        ax.axis("off")
        ax.text(0.0, 1.02, "agency", ha="center", fontweight="bold", transform=ax.transData)
        ax.text(1.0, 1.02, "outlet", ha="center", fontweight="bold", transform=ax.transData)
        ax.set_title("Syndication: which outlets run which agency's stories", pad=18)

    height = 1.3 + 0.34 * max(len(agencies), len(outlets))
    return _render(
        draw,
        width=10,
        height=max(2.8, height),
        chart_id=chart_id,
        label="Syndication graph: agencies and the outlets that ran their stories",
    )


def status_group(feed: FeedHealth) -> str:
    """ok, not_modified, never polled, or failing: the colour of a feed."""
    if feed.last_status in ("ok", "not_modified"):
        return feed.last_status
    if feed.last_status is None:
        return "never polled"
    return "failing"


def _worst_first(feeds: Sequence[FeedHealth]) -> list[FeedHealth]:
    order = {"failing": 0, "never polled": 1, "not_modified": 2, "ok": 3}
    return sorted(
        feeds,
        key=lambda f: (order[status_group(f)], -(f.consecutive_failures or 0), f.name, f.feed_url),
    )[:MAX_BARS]


def _feed_labels(feeds: Sequence[FeedHealth]) -> list[str]:
    """Titles, with the URL's path where one title names several feeds."""
    titles = [f.name for f in feeds]
    labels = []
    for feed in feeds:
        label = feed.name
        if titles.count(feed.name) > 1 and feed.title:
            path = feed.feed_url.split("://", 1)[-1].split("/", 1)[-1]
            label = f"{feed.title} /{path}"
        labels.append(_short(label))
    return labels


def feed_health(feeds: Sequence[FeedHealth], *, chart_id: str = "feeds") -> str | None:
    """A bar per feed: the items its last poll gave, coloured by its status, with the
    status and the failure streak written beside it (failing feeds first)."""
    if not feeds:
        return None
    shown = _worst_first(feeds)
    labels = _feed_labels(shown)
    rows = list(range(len(shown)))[::-1]

    def draw(fig: Figure) -> None:
        ax = fig.subplots()
        top = max([f.items_last_poll or 0 for f in shown] + [1])
        for y, feed in zip(rows, shown, strict=True):
            group = status_group(feed)
            items = feed.items_last_poll or 0
            ax.barh(y, items, color=STATUS_COLORS[group], height=0.65)
            if group == "failing":
                ax.scatter([0], [y], marker="X", s=40, color=STATUS_COLORS[group], zorder=3)
            note = feed.last_status or "never polled"
            if feed.consecutive_failures:
                note += f" · {feed.consecutive_failures} failed in a row"
            ax.text(items + top * 0.01, y, note, va="center", fontsize=8, color="#333")
        ax.set_yticks(rows)
        ax.set_yticklabels(labels)
        ax.set_xlim(0, top * 1.45)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("items in the last poll")
        handles = [Patch(color=color, label=name) for name, color in STATUS_COLORS.items()]
        ax.legend(handles=handles, loc="lower right", fontsize=8)
        ax.set_title("Feeds: last status and items per poll")

    return _render(
        draw,
        width=10,
        height=max(2.4, 1.0 + 0.32 * len(shown)),
        chart_id=chart_id,
        label="Feed health: status and items of each feed's last poll",
    )


def feed_rejects(feeds: Sequence[FeedHealth], *, chart_id: str = "rejects") -> str | None:
    """Stacked bars: each feed's rejects by stage/reason (feeds with rejects only)."""
    with_rejects = [f for f in feeds if f.rejects_by_reason]
    if not with_rejects:
        return None
    shown = sorted(with_rejects, key=lambda f: -sum(n for _, n in f.rejects_by_reason))[:MAX_BARS]
    labels = _feed_labels(shown)
    reasons = sorted({r for f in shown for r, _ in f.rejects_by_reason})
    colors = dict(zip(reasons, itertools.cycle(_REASON_COLORS + _PALETTE[8:]), strict=False))
    rows = list(range(len(shown)))[::-1]

    def draw(fig: Figure) -> None:
        ax = fig.subplots()
        left = [0] * len(shown)
        for reason in reasons:
            values = [dict(f.rejects_by_reason).get(reason, 0) for f in shown]
            ax.barh(rows, values, left=left, color=colors[reason], label=reason, height=0.65)
            left = [a + b for a, b in zip(left, values, strict=True)]
        ax.set_yticks(rows)
        ax.set_yticklabels(labels)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("rejects (stage/reason)")
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
        ax.set_title("Rejects per feed, by reason")

    return _render(
        draw,
        width=10,
        height=max(2.2, 1.0 + 0.32 * len(shown)),
        chart_id=chart_id,
        label="Rejects of each feed by stage and reason",
    )


def extraction_health(
    sources: Sequence[ExtractionHealth], *, chart_id: str = "extraction"
) -> str | None:
    """Stacked bars per source: pages extracted, pages with no text, extraction errors."""
    if not sources:
        return None
    shown = list(sources)[:MAX_BARS]
    rows = list(range(len(shown)))[::-1]
    parts = (
        ("extracted", "#2ca02c", lambda s: s.extracted),
        ("empty_text", "#ff7f0e", lambda s: s.empty_text),
        ("extraction errors", "#d62728", lambda s: s.extract_errors),
    )

    def draw(fig: Figure) -> None:
        ax = fig.subplots()
        left = [0] * len(shown)
        for name, color, value in parts:
            values = [value(s) for s in shown]
            ax.barh(rows, values, left=left, color=color, label=name, height=0.65)
            left = [a + b for a, b in zip(left, values, strict=True)]
        for y, source, total in zip(rows, shown, left, strict=True):
            bad = source.empty_text + source.extract_errors
            if bad:
                ax.text(
                    total, y, f"  {bad / total:.0%} failed", va="center", fontsize=8, color="#333"
                )
        ax.set_yticks(rows)
        ax.set_yticklabels([_short(s.source) for s in shown])
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("pages")
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
        ax.set_title("Extraction per source")

    return _render(
        draw,
        width=10,
        height=max(2.2, 1.0 + 0.32 * len(shown)),
        chart_id=chart_id,
        label="Extraction health per source: extracted, empty_text and errors",
    )
