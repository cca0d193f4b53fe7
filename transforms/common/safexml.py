"""Hardened XML parsing for untrusted bytes (wire items, feeds, sitemaps).

One job: turn bytes into an lxml element without ever expanding an entity,
loading a DTD, reading a file or opening a socket. Documents whose DOCTYPE
declares an ``ENTITY`` (billion laughs, quadratic blowup, XXE) or points at an
external DTD (``SYSTEM``/``PUBLIC``) are refused outright rather than parsed
"safely", because no legitimate news item needs them.

Example::

    >>> from wiredesk.transforms.common.safexml import parse_xml_bytes, SafeXMLError
    >>> parse_xml_bytes(b"<a><b>x</b></a>", max_bytes=1024).findtext("b")
    'x'
    >>> try:
    ...     parse_xml_bytes(b'<!DOCTYPE a [<!ENTITY e "x">]><a>&e;</a>', max_bytes=1024)
    ... except SafeXMLError as err:
    ...     print(err.reason)
    forbidden_dtd
"""

from __future__ import annotations

import re
from typing import Any

from lxml import etree

__all__ = ["SafeXMLError", "parse_xml_bytes", "local_name"]

# Cheap early refusal for ASCII-compatible encodings; the authoritative check
# runs on lxml's docinfo after the parse (it also sees UTF-16 documents).
_ENTITY_DECL = re.compile(rb"<!ENTITY", re.IGNORECASE)
_DOCTYPE_EXTERNAL = re.compile(rb"<!DOCTYPE\s+[^\s\[>]+\s+(?:SYSTEM|PUBLIC)\b", re.IGNORECASE)


class SafeXMLError(ValueError):
    """Refused or unparseable XML. ``reason``: ``too_large``, ``empty``,
    ``forbidden_dtd`` or ``parse_error``; ``detail``: a short human text."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


def _parser() -> etree.XMLParser:
    # A fresh parser per call: lxml parsers are not thread-safe to share.
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_pis=True,
        collect_ids=False,
    )


def _check_docinfo(root: Any) -> None:
    docinfo = root.getroottree().docinfo
    if docinfo.system_url or docinfo.public_id:
        raise SafeXMLError("forbidden_dtd", "DOCTYPE references an external DTD")
    dtd = docinfo.internalDTD
    if dtd is not None and any(True for _ in dtd.entities()):
        raise SafeXMLError("forbidden_dtd", "DOCTYPE declares an ENTITY")


def parse_xml_bytes(data: bytes, *, max_bytes: int) -> Any:
    """Parse ``data`` into an lxml root element, or raise :class:`SafeXMLError`.

    Never resolves entities, never loads a DTD, never touches the network or
    the file system. ``max_bytes`` caps the input size before any parsing.
    """
    if not isinstance(data, bytes | bytearray):
        raise SafeXMLError("parse_error", f"expected bytes, got {type(data).__name__}")
    if len(data) > max_bytes:
        raise SafeXMLError("too_large", f"{len(data)} bytes > limit {max_bytes}")
    if not data.strip():
        raise SafeXMLError("empty", "no XML content")
    head = bytes(data[:65536])
    if _ENTITY_DECL.search(head):
        raise SafeXMLError("forbidden_dtd", "DOCTYPE declares an ENTITY")
    if _DOCTYPE_EXTERNAL.search(head):
        raise SafeXMLError("forbidden_dtd", "DOCTYPE references an external DTD")
    try:
        root = etree.fromstring(bytes(data), _parser())
    except etree.XMLSyntaxError as err:
        message = str(err)
        if "network entity" in message or "failed to load external entity" in message:
            # lxml refused to fetch a DTD or entity (a UTF-16 DOCTYPE the pre-scan missed).
            raise SafeXMLError("forbidden_dtd", "DOCTYPE references an external DTD") from None
        raise SafeXMLError("parse_error", message[:300]) from None
    except (ValueError, TypeError) as err:  # e.g. unknown encoding declaration
        raise SafeXMLError("parse_error", str(err)[:300]) from None
    if root is None:
        raise SafeXMLError("empty", "no root element")
    _check_docinfo(root)
    return root


def local_name(el: Any) -> str:
    """The tag without its namespace (``''`` for comments and PIs)."""
    tag = el.tag
    if not isinstance(tag, str):
        return ""
    return tag.rsplit("}", 1)[-1]
