"""NewsML-G2 and NewsML 1.2 items (already parsed by :mod:`safexml`) to :class:`WireItem` records.

NewsML-G2: a ``newsItem``, or a ``newsMessage`` whose ``itemSet`` carries
several items. Text comes only from news items whose ``contentSet`` holds
``inlineXML`` (NITF or XHTML) or ``inlineData``; ``packageItem``s are skipped
with the item ids they reference (which are also recorded on the referenced
entries as ``wire["packages"]``); concept, knowledge, planning and catalog
items and non-text ``itemClass``es are skipped as ``not_text``.

NewsML 1.2: each ``NewsItem``; the body is the ``NewsComponent`` whose
``Role`` is ``Body`` (XHTML or NITF ``DataContent``).

Example::

    >>> from wiredesk.transforms.common.safexml import parse_xml_bytes
    >>> from wiredesk.transforms.sources.wire_newsml import parse_g2_root
    >>> from wiredesk.transforms.sources.wire_parse import DEFAULT_CONFIG
    >>> xml = (b'<newsItem xmlns="http://iptc.org/std/nar/2006-10-01/" guid="urn:a:1" version="2">'
    ...        b'<itemMeta><itemClass qcode="ninat:text"/><provider qcode="nprov:REUTERS"/></itemMeta>'
    ...        b'<contentMeta><headline>H</headline><dateline>PARIS, Monday (Reuters)</dateline></contentMeta>'
    ...        b'<contentSet><inlineXML contenttype="application/xhtml+xml">'
    ...        b'<html xmlns="http://www.w3.org/1999/xhtml"><body><p>Text</p></body></html>'
    ...        b'</inlineXML></contentSet></newsItem>')
    >>> [item] = parse_g2_root(parse_xml_bytes(xml, max_bytes=10_000), config=DEFAULT_CONFIG)
    >>> (item.item_id, item.version, item.agency, item.dateline, item.body_html)
    ('urn:a:1', '2', 'Reuters', 'PARIS', '<p>Text</p>')
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from wiredesk.schemas.records import RejectReason
from wiredesk.transforms.common.safexml import local_name
from wiredesk.transforms.sources.wire_parse import (
    EMBARGO_BOUNDS,
    ItemError,
    Outcome,
    Skip,
    SkipReason,
    WireItem,
    WireParseConfig,
    as_urgency,
    authors_from_byline,
    canonical_agency,
    canonical_item_id,
    clean_html_fragment,
    clean_text,
    dateline_place,
    language_code,
    nitf_head,
    nitf_to_html,
    parse_datetime,
    text_to_html,
    xml_to_html,
)

__all__ = ["parse_g2_item", "parse_g2_root", "parse_newsml12_root"]

_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
_NON_ARTICLE_ITEMS = frozenset({"conceptItem", "knowledgeItem", "planningItem", "catalogItem"})
_TEXT_CLASSES = frozenset({"text", "composite"})
_WITHDRAWN = frozenset({"canceled", "cancelled", "withdrawn", "withheld"})
_HTMLISH_ROOTS = frozenset(
    {"html", "body", "p", "div", "section", "article", "h2", "ul", "ol", "table"}
)


# --------------------------------------------------------------------------- helpers


def _children(el: Any, name: str) -> list[Any]:
    return [c for c in el if local_name(c) == name] if el is not None else []


def _child(el: Any, name: str) -> Any:
    found = _children(el, name)
    return found[0] if found else None


def _descendants(el: Any, name: str) -> Iterator[Any]:
    if el is None:
        return
    for d in el.iter():
        if local_name(d) == name:
            yield d


def _text(el: Any) -> str | None:
    return clean_text("".join(el.itertext())) if el is not None else None


def _qcode_local(value: str | None) -> str:
    return (value or "").split(":", 1)[-1].lower()


def _concept_candidates(el: Any) -> list[str]:
    """What names an agency in a G2 concept (infoSource, provider, copyrightHolder)."""
    if el is None:
        return []
    out = [n for n in (_text(x) for x in _children(el, "name")) if n]
    out += [v for v in (el.get("qcode"), el.get("literal"), el.get("uri")) if v]
    return out


def _concept_name(el: Any) -> str | None:
    name = _text(_child(el, "name"))
    if name:
        return name
    for sub in ("mainConcept",):
        inner = _child(el, sub)
        if inner is not None and _text(_child(inner, "name")):
            return _text(_child(inner, "name"))
    return el.get("qcode") or el.get("literal") or el.get("uri")


def _inline_body(content_set: Any) -> tuple[str | None, str | None, str | None]:
    """(body_html, label, unsupported content type) from a G2 contentSet."""
    unsupported = None
    for node in content_set if content_set is not None else ():
        name = local_name(node)
        ctype = (node.get("contenttype") or "").lower()
        if name == "inlineXML":
            elements = [c for c in node if isinstance(c.tag, str)]
            if not elements:
                continue
            if any(local_name(c) == "nitf" for c in elements) or "nitf" in ctype:
                html = "".join(nitf_to_html(c) for c in elements)
                label = "inlineXML/nitf"
            elif "html" in ctype or all(local_name(c) in _HTMLISH_ROOTS for c in elements):
                html = xml_to_html(elements)
                label = "inlineXML/xhtml"
            else:
                unsupported = ctype or local_name(elements[0])
                continue
        elif name == "inlineData":
            raw = node.text or ""
            html = clean_html_fragment(raw) if "html" in ctype else text_to_html(raw)
            label = "inlineData"
        elif name == "remoteContent":
            unsupported = unsupported or "remoteContent (not fetched)"
            continue
        else:
            continue
        if html:
            return html, label, None
    return None, None, unsupported


def _nitf_root(content_set: Any) -> Any:
    for node in _descendants(content_set, "nitf"):
        return node
    return None


# --------------------------------------------------------------------------- NewsML-G2


def parse_g2_item(el: Any, *, packages: dict[str, list[str]] | None = None) -> Outcome:
    """One G2 item element to a WireItem, a Skip, or an ItemError."""
    kind = local_name(el)
    guid = (el.get("guid") or "").strip() or None
    version = (el.get("version") or "").strip() or None
    if kind == "packageItem":
        refs = tuple(r.get("residref") for r in _descendants(el, "itemRef") if r.get("residref"))
        return Skip(guid, SkipReason.NOT_TEXT, f"packageItem referencing {len(refs)} items", refs)
    if kind in _NON_ARTICLE_ITEMS:
        return Skip(guid, SkipReason.NOT_TEXT, kind)
    if kind != "newsItem":
        return ItemError(
            RejectReason.SCHEMA_ERROR.value, f"unexpected <{kind}> where an item belongs"
        )
    if guid is None:
        return ItemError(RejectReason.SCHEMA_ERROR.value, "newsItem without @guid")
    item_meta = _child(el, "itemMeta")
    item_class = _child(item_meta, "itemClass")
    if item_class is None or not item_class.get("qcode"):
        return ItemError(
            RejectReason.SCHEMA_ERROR.value, f"newsItem {guid}: no itemMeta/itemClass", guid
        )
    qcode = item_class.get("qcode")
    if _qcode_local(qcode) not in _TEXT_CLASSES:
        return Skip(guid, SkipReason.NOT_TEXT, f"itemClass {qcode}")
    pub_status = _child(item_meta, "pubStatus")
    pubstatus = _qcode_local(pub_status.get("qcode")) if pub_status is not None else None
    if pubstatus in _WITHDRAWN:
        return Skip(guid, SkipReason.WITHDRAWN, f"pubStatus {pub_status.get('qcode')}")

    content_set = _child(el, "contentSet")
    body_html, body_source, unsupported = _inline_body(content_set)
    if body_html is None:
        if _qcode_local(qcode) == "composite" and unsupported:
            return Skip(guid, SkipReason.NOT_TEXT, f"composite item with {unsupported} content")
        detail = f"unsupported content {unsupported}" if unsupported else "no inline text content"
        return Skip(guid, SkipReason.NO_BODY, f"newsItem {guid}: {detail}")

    cm = _child(el, "contentMeta")
    nitf = nitf_head(_nitf_root(content_set)) if _nitf_root(content_set) is not None else {}
    headlines = _children(cm, "headline")
    headline = _text(headlines[0]) if headlines else nitf.get("headline")
    byline = _text(_child(cm, "by")) or nitf.get("byline")
    creators = [
        _text(_child(c, "name"))
        for c in _children(cm, "creator")
        if not (c.get("qcode") or "").startswith("web:") and "organi" not in (c.get("type") or "")
    ]
    # A one-token creator name is a desk login (dpa: "nickel.valeria"), not a byline.
    authors = (
        authors_from_byline(byline)
        if byline
        else tuple(a for c in creators if c and " " in c for a in authors_from_byline(c))
    )
    dateline_el = _child(cm, "dateline")
    located = _child(cm, "located")
    dateline = (
        dateline_place(_text(dateline_el))
        or dateline_place(nitf.get("dateline"))
        or (_text(_child(located, "name")) if located is not None else None)
    )
    lang_el = _child(cm, "language")
    language = language_code(lang_el.get("tag") if lang_el is not None else el.get(_XML_LANG))
    provider_el = _child(item_meta, "provider")
    rights = _child(el, "rightsInfo")
    agency = canonical_agency(
        *[c for s in _children(cm, "infoSource") for c in _concept_candidates(s)],
        _text(_child(cm, "creditline")),
        *_concept_candidates(provider_el),
        *_concept_candidates(_child(rights, "copyrightHolder")),
        guid,
    )
    provider = None
    if provider_el is not None:
        provider = (
            _text(_child(provider_el, "name")) or provider_el.get("qcode") or provider_el.get("uri")
        )
    urgency = as_urgency(_text(_child(cm, "urgency")))
    if urgency is None:
        for u in _descendants(content_set, "urgency"):  # NITF docdata
            urgency = as_urgency(u.get("ed-urg"))
            break
    evolved_from = None
    for link in _children(item_meta, "link"):
        if link.get("rel") in ("irel:previousVersion", "irel:evolvedFrom"):
            ref = link.get("residref") or link.get("href")
            if ref:
                evolved_from = f"{ref}#v{link.get('version')}" if link.get("version") else ref
                break
    description = _child(cm, "description")
    return WireItem(
        fmt="newsml-g2",
        uri=guid,
        item_id=canonical_item_id(guid),
        version=version,
        version_created=parse_datetime(_text(_child(item_meta, "versionCreated"))),
        first_created=parse_datetime(_text(_child(item_meta, "firstCreated"))),
        content_created=parse_datetime(_text(_child(cm, "contentCreated"))),
        headline=headline,
        body_html=body_html,
        body_source=body_source,
        summary=_text(description),
        language=language,
        byline=byline,
        authors=authors,
        agency=agency,
        provider=provider,
        dateline=dateline,
        urgency=urgency,
        subjects=[n for n in (_concept_name(s) for s in _children(cm, "subject")) if n],
        evolved_from=evolved_from,
        pubstatus=pubstatus,
        item_type=qcode,
        signals=[s.get("qcode") for s in _children(item_meta, "signal") if s.get("qcode")],
        embargoed=parse_datetime(_text(_child(item_meta, "embargoed")), bounds=EMBARGO_BOUNDS),
        packages=list((packages or {}).get(guid, [])),
    )


def _guarded(fn: Any, *args: Any, **kwargs: Any) -> Outcome:
    try:
        result: Outcome = fn(*args, **kwargs)
        return result
    except Exception as err:  # noqa: BLE001 - one odd item must not sink its siblings
        return ItemError(
            RejectReason.PARSE_ERROR.value, f"internal: {type(err).__name__}: {err}"[:300]
        )


def parse_g2_root(root: Any, *, config: WireParseConfig) -> list[Outcome]:
    """A G2 document root (an item or a newsMessage) to one outcome per item."""
    if local_name(root) != "newsMessage":
        return [_guarded(parse_g2_item, root)]
    items = [c for s in _children(root, "itemSet") for c in s if isinstance(c.tag, str)]
    if len(items) > config.max_items:
        return [
            ItemError(
                RejectReason.TOO_LARGE.value, f"{len(items)} items > limit {config.max_items}"
            )
        ]
    packages: dict[str, list[str]] = {}
    for item in items:
        if local_name(item) == "packageItem":
            pkg = item.get("guid") or "(package without guid)"
            for ref in _descendants(item, "itemRef"):
                if ref.get("residref"):
                    packages.setdefault(ref.get("residref"), []).append(pkg)
    return [_guarded(parse_g2_item, item, packages=packages) for item in items]


# --------------------------------------------------------------------------- NewsML 1.2

_NON_BODY_ROLES = frozenset(
    {"headline", "subheadline", "contact", "stylesheet", "logo", "caption", "byline"}
)


def _formal(el: Any, name: str) -> str | None:
    found = next(_descendants(el, name), None)
    return found.get("FormalName") if found is not None else None


def _data_content_html(ci: Any) -> str | None:
    data = _child(ci, "DataContent")
    if data is None:
        return None
    elements = [c for c in data if isinstance(c.tag, str)]
    if elements:
        if any(local_name(c) == "nitf" for c in elements):
            return "".join(nitf_to_html(c) for c in elements) or None
        return xml_to_html(elements) or None
    mime = (_formal(ci, "MimeType") or "").lower()
    if mime.startswith("text/plain") and data.text:
        return text_to_html(data.text) or None
    return None


def _newsml12_body(item: Any) -> tuple[str | None, str | None]:
    fallback = None
    for comp in _descendants(item, "NewsComponent"):
        role_el = _child(comp, "Role")
        role = (role_el.get("FormalName") or "").lower() if role_el is not None else ""
        for ci in _children(comp, "ContentItem"):
            if role in ("body", "main"):
                html = _data_content_html(ci)
                if html:
                    return html, f"NewsComponent[Role={role_el.get('FormalName')}]"
            elif role not in _NON_BODY_ROLES and fallback is None:
                fallback = _data_content_html(ci)
    return fallback, ("ContentItem" if fallback else None)


def _parse_newsml12_item(item: Any) -> Outcome:
    ident = next(_descendants(item, "NewsIdentifier"), None)
    provider_id = _text(_child(ident, "ProviderId"))
    date_id = _text(_child(ident, "DateId"))
    news_item_id = _text(_child(ident, "NewsItemId"))
    revision_el = _child(ident, "RevisionId")
    version = _text(revision_el)
    public_id = _text(_child(ident, "PublicIdentifier"))
    if provider_id and news_item_id:
        uri = f"urn:newsml:{provider_id}:{date_id or ''}:{news_item_id}"
    elif public_id and public_id.count(":") >= 5:
        uri = public_id.rsplit(":", 1)[0]  # drop the revision part
    else:
        return ItemError(
            RejectReason.SCHEMA_ERROR.value, "NewsML 1.2 NewsItem without NewsIdentifier", public_id
        )
    item_id = canonical_item_id(uri)
    mgmt = _child(item, "NewsManagement")
    status = (_formal(mgmt, "Status") or "").lower()
    if status in _WITHDRAWN:
        return Skip(item_id, SkipReason.WITHDRAWN, f"Status {status}")
    body_html, body_source = _newsml12_body(item)
    if body_html is None:
        media = sorted(
            {m for m in (mt.get("FormalName") for mt in _descendants(item, "MediaType")) if m}
        )
        if media and not {"text", "Text"} & set(media):
            return Skip(item_id, SkipReason.NOT_TEXT, f"NewsML 1.2 media {', '.join(media)}")
        return Skip(item_id, SkipReason.NO_BODY, f"NewsItem {uri}: no text ContentItem")
    previous = revision_el.get("PreviousRevision") if revision_el is not None else None
    party = (
        next(_descendants(item.getparent(), "SentFrom"), None)
        if item.getparent() is not None
        else None
    )
    sent_from = (
        [p.get("FormalName") for p in _descendants(party, "Party")] if party is not None else []
    )
    byline = _text(next(_descendants(item, "ByLine"), None))
    keywords: list[str] = []
    for md in _descendants(item, "Metadata"):
        if "keyword" in (_formal(md, "MetadataType") or "").lower():
            keywords += [p.get("Value") for p in _children(md, "Property") if p.get("Value")]
    subjects = [
        s.get("FormalName") for s in _descendants(item, "SubjectMatter") if s.get("FormalName")
    ]
    lang = next(_descendants(item, "Language"), None)
    return WireItem(
        fmt="newsml-1.2",
        uri=uri,
        item_id=item_id,
        version=version,
        version_created=parse_datetime(_text(_child(mgmt, "ThisRevisionCreated"))),
        first_created=parse_datetime(_text(_child(mgmt, "FirstCreated"))),
        headline=_text(next(_descendants(item, "HeadLine"), None)),
        body_html=body_html,
        body_source=body_source,
        language=language_code(lang.get("FormalName") if lang is not None else None),
        byline=byline,
        agency=canonical_agency(
            _text(next(_descendants(item, "CreditLine"), None)),
            *[p.get("FormalName") for p in _descendants(_child(item, "NewsComponent"), "Provider")],
            *sent_from,
            provider_id,
        ),
        provider=(sent_from[0] if sent_from else None) or provider_id,
        dateline=dateline_place(_text(next(_descendants(item, "DateLine"), None))),
        urgency=as_urgency(_formal(mgmt, "Urgency")),
        subjects=subjects + keywords,
        evolved_from=f"{uri}#v{previous}" if previous and previous != "0" else None,
        pubstatus=status or None,
        item_type=_formal(mgmt, "NewsItemType"),
    )


def parse_newsml12_root(root: Any, *, config: WireParseConfig) -> list[Outcome]:
    """A NewsML 1.2 ``<NewsML>`` document to one outcome per ``NewsItem``."""
    items = list(_descendants(root, "NewsItem"))
    if len(items) > config.max_items:
        return [
            ItemError(
                RejectReason.TOO_LARGE.value, f"{len(items)} items > limit {config.max_items}"
            )
        ]
    return [_guarded(_parse_newsml12_item, item) for item in items]
