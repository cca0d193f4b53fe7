"""dpa digitalwires entries (format ``digitalwires@0.9.x``) to :class:`WireItem` records.

``article_html`` is the body; ``dateline`` (``"Berlin (dpa) - "``) is read as a
separate field; ``notepad``, ``infobox_html`` and ``linkbox_html`` are editorial
extras and never reach the body. An entry without ``article_html`` is a media
entry (picture, audio) or an empty shell and is skipped, not rejected.

Example::

    >>> from wiredesk.transforms.sources.wire_dpa import parse_dpa_entry
    >>> from wiredesk.transforms.sources.wire_parse import DEFAULT_CONFIG
    >>> e = {"format": "digitalwires@0.9.1", "urn": "urn:newsml:dpa.com:20090101:1",
    ...      "version": 3, "headline": "H", "dateline": "Berlin (dpa) - ",
    ...      "article_html": "<section class='main'><p>Text.</p></section>",
    ...      "infobox_html": "<section class='infobox'><p>Extra</p></section>"}
    >>> item = parse_dpa_entry(e, index=0, config=DEFAULT_CONFIG)
    >>> (item.dateline, item.agency, item.version, "Extra" in item.body_html)
    ('Berlin', 'dpa', '3', False)
"""

from __future__ import annotations

from typing import Any

import lxml.html
from lxml import etree

from wiredesk.schemas.records import RejectReason
from wiredesk.transforms.sources.wire_parse import (
    EMBARGO_BOUNDS,
    ItemError,
    Outcome,
    Skip,
    SkipReason,
    WireItem,
    WireParseConfig,
    WireSchemaError,
    as_urgency,
    canonical_agency,
    canonical_item_id,
    clean_html_fragment,
    clean_text,
    dateline_place,
    language_code,
    parse_datetime,
)

__all__ = ["parse_dpa_entry"]

_WITHDRAWN = frozenset({"canceled", "cancelled", "withdrawn"})
_SUBJECT_TYPES = frozenset({"dnltype:dpasubject", "dnltype:geosubject", "dnltype:keyword"})
_STRING_FIELDS = (
    "headline",
    "article_html",
    "dateline",
    "byline",
    "teaser",
    "language",
    "creditline",
)


def _with_dateline(body_html: str, dateline: str | None) -> str:
    """Put the dateline in front of the first paragraph, as dpa's own NewsML-G2
    rendering does, unless the body already carries it."""
    text = (dateline or "").strip()
    if not text or 'class="dateline"' in body_html:
        return body_html
    try:
        root = lxml.html.fragment_fromstring(body_html, create_parent="div")
    except (etree.ParserError, ValueError):
        return body_html
    for p in root.iter("p"):
        if p.text_content().strip():
            span = etree.Element("span", {"class": "dateline"})
            span.text = text + " "
            span.tail = p.text
            p.text = None
            p.insert(0, span)
            return "".join(lxml.html.tostring(c, encoding="unicode", with_tail=True) for c in root)
    return body_html


def _categories(entry: dict[str, Any], ctx: str) -> list[dict[str, Any]]:
    cats = entry.get("categories")
    if cats is None:
        return []
    if not isinstance(cats, list):
        raise WireSchemaError(f"{ctx}: categories must be a list")
    return [c for c in cats if isinstance(c, dict)]


def _parse(entry: Any, index: int) -> Outcome:
    ctx = f"dpa entry {index}"
    if not isinstance(entry, dict):
        raise WireSchemaError(f"{ctx}: not an object ({type(entry).__name__})")
    urn = entry.get("urn")
    if not isinstance(urn, str) or not urn.strip():
        raise WireSchemaError(f"{ctx}: missing urn")
    urn = urn.strip()
    ctx = f"dpa entry {urn}"
    for key in _STRING_FIELDS:
        if entry.get(key) is not None and not isinstance(entry[key], str):
            raise WireSchemaError(f"{ctx}: {key} must be a string, got {type(entry[key]).__name__}")
    version = entry.get("version")
    if version is not None and (isinstance(version, bool) or not isinstance(version, int | str)):
        raise WireSchemaError(f"{ctx}: version must be an integer")
    cats = _categories(entry, ctx)
    item_id = canonical_item_id(urn)
    pubstatus = entry.get("pubstatus") if isinstance(entry.get("pubstatus"), str) else None
    if (pubstatus or "").lower() in _WITHDRAWN:
        return Skip(item_id, SkipReason.WITHDRAWN, f"pubstatus {pubstatus}")

    body_html = clean_html_fragment(entry.get("article_html") or "")
    if not body_html:
        assoc = entry.get("associations")
        kinds = sorted(
            {str(a.get("type")) for a in assoc if isinstance(a, dict) and a.get("type")}
            if isinstance(assoc, list)
            else set()
        )
        if kinds:
            return Skip(item_id, SkipReason.NOT_TEXT, f"dpa media entry ({', '.join(kinds)})")
        return Skip(item_id, SkipReason.NO_BODY, f"{ctx}: no article_html")

    def names(*types: str) -> list[str]:
        return [str(c["name"]) for c in cats if c.get("type") in types and c.get("name")]

    signals = [
        str(c.get("qcode") or c.get("name")) for c in cats if c.get("type") == "dnltype:signal"
    ]
    if isinstance(entry.get("signal"), str) and entry["signal"] not in signals:
        signals.append(entry["signal"])
    providers = names("dnltype:provider")
    return WireItem(
        fmt="dpa-digitalwires",
        uri=urn,
        item_id=item_id,
        version=str(version) if version is not None else None,
        version_created=parse_datetime(entry.get("version_created")),
        content_created=parse_datetime(entry.get("content_created")),
        headline=clean_text(entry.get("headline")),
        body_html=_with_dateline(body_html, entry.get("dateline")),
        body_source="article_html",
        summary=clean_text(entry.get("teaser")),
        language=language_code(entry.get("language")),
        byline=clean_text(entry.get("byline")),
        agency=canonical_agency(entry.get("creditline"), *names("dnltype:infosource"), urn),
        provider=providers[0] if providers else None,
        dateline=dateline_place(entry.get("dateline")),
        urgency=as_urgency(entry.get("urgency")),
        subjects=[
            str(c["name"]) for c in cats if c.get("type") in _SUBJECT_TYPES and c.get("name")
        ],
        pubstatus=pubstatus,
        item_type=entry.get("type") if isinstance(entry.get("type"), str) else None,
        signals=signals,
        embargoed=parse_datetime(entry.get("embargoed"), bounds=EMBARGO_BOUNDS),
    )


def parse_dpa_entry(entry: Any, *, index: int, config: WireParseConfig) -> Outcome:
    """One digitalwires entry to a WireItem, a Skip, or an ItemError; never raises."""
    del config  # the entry is already parsed JSON; nothing here needs a limit
    try:
        return _parse(entry, index)
    except WireSchemaError as err:
        ref = (
            entry.get("urn")
            if isinstance(entry, dict) and isinstance(entry.get("urn"), str)
            else None
        )
        return ItemError(RejectReason.SCHEMA_ERROR.value, str(err), ref)
