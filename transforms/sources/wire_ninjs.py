"""ninjs 1.x, 2.x and 3.0 items (IPTC News in JSON) to :class:`WireItem` records.

ninjs 3.0 renamed properties to camelCase (``versionCreated``, ``contentType``);
2.x and 3.0 are otherwise alike, so keys are compared lower-cased. 1.x carries
``headline`` and ``body_*`` pattern properties; 2.x/3.0 carry ``headlines[]``
and ``bodies[]`` with ``role``/``contenttype``, and the main body is chosen by
:func:`choose_body`.

Example::

    >>> from wiredesk.transforms.sources.wire_ninjs import parse_ninjs_item
    >>> from wiredesk.transforms.sources.wire_parse import DEFAULT_CONFIG
    >>> item = {"uri": "urn:x:1", "headline": "Hi", "body_text": "One.\\n\\nTwo."}
    >>> parse_ninjs_item(item, index=0, config=DEFAULT_CONFIG).body_html
    '<p>One.</p><p>Two.</p>'
"""

from __future__ import annotations

import re
from typing import Any

import lxml.html
from lxml import etree

from wiredesk.schemas.records import RejectReason
from wiredesk.transforms.common.safexml import SafeXMLError
from wiredesk.transforms.sources.wire_parse import (
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
    language_code,
    nitf_to_html,
    parse_datetime,
    parse_xml_text,
    text_to_html,
)

__all__ = ["choose_body", "detect_version", "parse_ninjs_item"]

_NOT_TEXT_TYPES = frozenset(
    {"picture", "video", "audio", "graphic", "event", "planning", "concept", "component"}
)
_WITHDRAWN = frozenset({"canceled", "cancelled", "withdrawn"})
_CAMEL_KEYS = frozenset(
    {
        "versionCreated",
        "firstCreated",
        "contentCreated",
        "pubStatus",
        "copyrightHolder",
        "copyrightNotice",
        "usageTerms",
        "infoSources",
        "representationType",
        "altIds",
        "edNote",
        "eventDetails",
    }
)
_V2_KEYS = frozenset(
    {"headlines", "bodies", "descriptions", "subjects", "infosources", "people", "places"}
)
# Preferred body roles among HTML bodies; unknown roles rank after these.
_HTML_ROLE_ORDER = ("main", "", "body", "html", "xhtml", "html5", "richhtml5")


def detect_version(item: Any) -> str:
    """``ninjs-1.4`` / ``ninjs-2.1`` / ``ninjs-3.0`` (or the exact version a
    ``standard``/``$standard``/``$schema`` property declares)."""
    if not isinstance(item, dict):
        return "ninjs"
    for key in ("$standard", "standard"):
        std = item.get(key)
        if isinstance(std, dict) and isinstance(std.get("version"), str):
            m = re.match(r"(\d+\.\d+)", std["version"])
            if m:
                return f"ninjs-{m.group(1)}"
    schema = item.get("$schema")
    if isinstance(schema, str):
        m = re.search(r"ninjs-schema_(\d+\.\d+)", schema)
        if m:
            return f"ninjs-{m.group(1)}"
    if _CAMEL_KEYS & item.keys():
        return "ninjs-3.0"
    bodies = item.get("bodies")
    if isinstance(bodies, list) and any(isinstance(b, dict) and "contentType" in b for b in bodies):
        return "ninjs-3.0"
    if _V2_KEYS & item.keys():
        return "ninjs-2.1"
    return "ninjs-1.4"


def _lower_keys(obj: dict[str, Any]) -> dict[str, Any]:
    return {str(k).lower(): v for k, v in obj.items()}


def _str_or_none(it: dict[str, Any], key: str, *, ctx: str) -> str | None:
    value = it.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise WireSchemaError(f"{ctx}: {key} must be a string, got {type(value).__name__}")
    return value


def _list_of_objects(it: dict[str, Any], key: str, *, ctx: str) -> list[dict[str, Any]]:
    value = it.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise WireSchemaError(f"{ctx}: {key} must be a list, got {type(value).__name__}")
    out = []
    for n, el in enumerate(value):
        if not isinstance(el, dict):
            raise WireSchemaError(f"{ctx}: {key}[{n}] must be an object")
        low = _lower_keys(el)
        if "value" in low and not isinstance(low["value"], str):
            raise WireSchemaError(f"{ctx}: {key}[{n}].value must be a string")
        out.append(low)
    return out


def _html_text(markup: str) -> str | None:
    try:
        return clean_text(lxml.html.fromstring(markup).text_content())
    except (etree.ParserError, ValueError):
        return clean_text(markup)


def _body_kind(role: str, contenttype: str) -> str | None:
    if "nitf" in contenttype or role == "nitf":
        return "nitf"
    if "html" in contenttype or role in ("html", "xhtml", "html5", "richhtml5"):
        return "html"
    if contenttype.startswith("text/plain") or (not contenttype and role in ("text", "plain")):
        return "text"
    return None


def _candidates(it: dict[str, Any], bodies: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    """(kind, label, value) of every body, best first."""
    cands: list[tuple[int, int, str, str, str]] = []
    kind_rank = {"html": 0, "nitf": 1, "text": 2}
    for n, b in enumerate(bodies):
        role = str(b.get("role") or "").lower()
        ctype = str(b.get("contenttype") or "").lower()
        kind = _body_kind(role, ctype)
        value = b.get("value")
        if kind is None or not isinstance(value, str) or not value.strip():
            continue
        role_rank = (
            _HTML_ROLE_ORDER.index(role) if role in _HTML_ROLE_ORDER else len(_HTML_ROLE_ORDER)
        )
        cands.append((kind_rank[kind], role_rank * 100 + n, kind, f"bodies[{role or n}]", value))
    for key, value in it.items():  # ninjs 1.x: body_xhtml, body_html, body_text, ...
        if not key.startswith("body_") or not isinstance(value, str) or not value.strip():
            continue
        suffix = key[5:]
        kind = (
            "nitf"
            if "nitf" in suffix
            else "html"
            if "html" in suffix
            else "text"
            if suffix == "text"
            else None
        )
        if kind is None:
            continue
        order = {"xhtml": 0, "html": 1}.get(suffix, 5)
        cands.append((kind_rank[kind], order, kind, key, value))
    cands.sort(key=lambda c: (c[0], c[1]))
    return [(c[2], c[3], c[4]) for c in cands]


def choose_body(
    it: dict[str, Any], bodies: list[dict[str, Any]], *, config: WireParseConfig
) -> tuple[str | None, str | None, str | None]:
    """(body_html, label of the body used, error) for a lower-cased ninjs item."""
    error = None
    for kind, label, value in _candidates(it, bodies):
        if kind == "html":
            html = clean_html_fragment(value)
        elif kind == "text":
            html = text_to_html(value)
        else:
            try:
                html = nitf_to_html(parse_xml_text(value, config=config))
            except SafeXMLError as err:
                error = f"{label}: {err.reason}: {err.detail}"
                continue
        if html and _html_text(html):
            return html, label, None
    return None, None, error


def _headline(it: dict[str, Any], headlines: list[dict[str, Any]]) -> str | None:
    if isinstance(it.get("headline"), str):
        return clean_text(it["headline"])
    mains = [h for h in headlines if str(h.get("role") or "main").lower() == "main"]
    for h in mains + headlines:
        text = clean_text(h.get("value"))
        if text:
            return text
    return None


def _summary(it: dict[str, Any], descriptions: list[dict[str, Any]]) -> str | None:
    for key in ("description_text", "description_html", "description_xhtml"):
        value = it.get(key)
        if isinstance(value, str) and value.strip():
            return _html_text(value) if "html" in key else clean_text(value)
    for d in descriptions:
        value = d.get("value")
        if not isinstance(value, str) or not value.strip():
            continue
        ctype = str(d.get("contenttype") or "")
        return _html_text(value) if "html" in ctype else clean_text(value)
    return None


def _names(values: Any) -> list[str]:
    out = []
    if isinstance(values, list):
        for v in values:
            if isinstance(v, dict):
                low = _lower_keys(v)
                name = low.get("name") or low.get("literal") or low.get("code") or low.get("uri")
                if isinstance(name, str) and name.strip():
                    out.append(name.strip())
            elif isinstance(v, str) and v.strip():
                out.append(v.strip())
    return out


def _version(it: dict[str, Any], *, ctx: str) -> str | None:
    value = it.get("version")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise WireSchemaError(f"{ctx}: version must be a string, got {type(value).__name__}")
    return str(value).strip() or None


def _parse(obj: Any, index: int, config: WireParseConfig) -> Outcome:
    ctx = f"ninjs item {index}"
    if not isinstance(obj, dict):
        raise WireSchemaError(f"{ctx}: not an object ({type(obj).__name__})")
    fmt = detect_version(obj)
    it = _lower_keys(obj)
    uri = it.get("uri")
    if not isinstance(uri, str) or not uri.strip():
        raise WireSchemaError(f"{ctx}: missing uri")
    uri = uri.strip()
    ctx = f"ninjs item {uri}"
    headline_raw = it.get("headline")
    if headline_raw is not None and not isinstance(headline_raw, str):
        raise WireSchemaError(
            f"{ctx}: headline must be a string, got {type(headline_raw).__name__}"
        )
    headlines = _list_of_objects(it, "headlines", ctx=ctx)
    bodies = _list_of_objects(it, "bodies", ctx=ctx)
    descriptions = _list_of_objects(it, "descriptions", ctx=ctx)
    item_type = _str_or_none(it, "type", ctx=ctx)
    byline = _str_or_none(it, "by", ctx=ctx) or _str_or_none(it, "byline", ctx=ctx)
    language = _str_or_none(it, "language", ctx=ctx)
    located = _str_or_none(it, "located", ctx=ctx)
    pubstatus = _str_or_none(it, "pubstatus", ctx=ctx)
    version = _version(it, ctx=ctx)
    item_id = canonical_item_id(uri)

    if (item_type or "").lower() in _NOT_TEXT_TYPES or "eventdetails" in it:
        kind = item_type or "event"
        return Skip(item_id, SkipReason.NOT_TEXT, f"ninjs type {kind}")
    if (pubstatus or "").lower() in _WITHDRAWN:
        return Skip(item_id, SkipReason.WITHDRAWN, f"pubstatus {pubstatus}")

    body_html, body_source, body_error = choose_body(it, bodies, config=config)
    summary = _summary(it, descriptions)
    if body_html is None and body_error:
        return ItemError(RejectReason.PARSE_ERROR.value, f"{ctx}: {body_error}", uri)
    if body_html is None and summary:
        # A brief without a body (NTB "ingress only"): its lead is its text.
        body_html, body_source = text_to_html(summary), "description"
    if body_html is None:
        return Skip(item_id, SkipReason.NO_BODY, f"{ctx}: no body")

    infosources = _names(it.get("infosources"))
    holder = it.get("copyrightholder") if isinstance(it.get("copyrightholder"), str) else None
    return WireItem(
        fmt=fmt,
        uri=uri,
        item_id=item_id,
        version=version,
        version_created=parse_datetime(it.get("versioncreated")),
        first_created=parse_datetime(it.get("firstcreated")),
        content_created=parse_datetime(it.get("contentcreated")),
        headline=_headline(it, headlines),
        body_html=body_html,
        body_source=body_source,
        summary=summary,
        language=language_code(language),
        byline=clean_text(byline),
        agency=canonical_agency(*infosources, holder, uri),
        provider=(infosources[0] if infosources else None) or clean_text(holder),
        dateline=clean_text(located),
        urgency=as_urgency(it.get("urgency")),
        subjects=_names(it.get("subjects")) + _names(it.get("subject")),
        pubstatus=pubstatus,
        item_type=item_type,
    )


def parse_ninjs_item(obj: Any, *, index: int, config: WireParseConfig) -> Outcome:
    """One ninjs item object to a WireItem, a Skip, or an ItemError; never raises."""
    try:
        return _parse(obj, index, config)
    except WireSchemaError as err:
        ref = obj.get("uri") if isinstance(obj, dict) and isinstance(obj.get("uri"), str) else None
        return ItemError(RejectReason.SCHEMA_ERROR.value, str(err), ref)
