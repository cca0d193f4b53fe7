"""``wiredesk extract FILE.html [--url U]``: one page through the pipeline's extraction.

The same functions the pipeline runs (extraction, then enrichment), so what
you see is what the ``articles`` row would hold. JSON on stdout: the record, or
``{"error": reason, "detail": ...}`` when the page yields no article (the
command then exits 1, so a script can tell).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from typing import Any

from wiredesk.transforms.enrich.article import enrich
from wiredesk.transforms.extract.page import ExtractError, extract_page
from wiredesk.transforms.extract.stage import content_hash
from wiredesk.transforms.fetch.decode import Decoded, decode_html

__all__ = ["extract_file", "is_error"]


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, tuple):
        return list(value)
    return value


def is_error(output: str) -> bool:
    """Whether :func:`extract_file`'s JSON is an error record rather than an article."""
    record = json.loads(output)
    return isinstance(record, dict) and set(record) == {"error", "detail"}


def extract_file(*, path: str, url: str | None = None) -> str:
    with open(path, "rb") as handle:
        raw = handle.read()
    decoded = decode_html(body=raw, content_type=None)
    html = decoded.text if isinstance(decoded, Decoded) else raw.decode("utf-8", "replace")
    page = extract_page(html=html, url=url)
    if isinstance(page, ExtractError):
        return json.dumps({"error": page.reason, "detail": page.detail}, ensure_ascii=False)
    found = enrich(
        text=page.text,
        title=page.title,
        authors=page.authors,
        declared_language=page.language,
        feed_country=None,
        feed_region=None,
        source=page.site_name,
        url=url or "",
    )
    record = {key: _jsonable(value) for key, value in dataclasses.asdict(page).items()}
    record.update({key: _jsonable(value) for key, value in dataclasses.asdict(found).items()})
    record["content_hash"] = content_hash(page.text)
    return json.dumps(record, ensure_ascii=False, indent=1)
