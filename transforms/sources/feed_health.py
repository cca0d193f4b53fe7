"""How a feed's last poll went, as fields of its ``feeds`` state row (pure).

The poll schedule already keeps when a feed was polled, when it is due, its
``last_status`` (changed / unchanged / not_modified / failed) and its failure
streak. What a person looking at the health of a feed also needs is *why* the
last poll failed and how much it gave; the rejects table cannot say that alone
(a feed that fails the same way again adds no second reject row). These fields
say it:

* ``last_error``: the reject reason of the last poll (``http_404``,
  ``connection_error``, ``parse_error``, ...), null when it did not fail;
* ``last_error_detail``: that reject's detail (``HTTP 404``, ...), at most 300 characters;
* ``items_last_poll``: the items the last poll passed on to be fetched (the
  ``entries_listed`` counter of that feed): 0 after a 304 or a failure.

Example::

    >>> health_fields(status="ok", entries=12, rejects=())
    {'last_error': None, 'last_error_detail': None, 'items_last_poll': 12}
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from wiredesk.schemas.records import Reject

__all__ = ["HEALTH_FIELDS", "MAX_DETAIL", "health_fields"]

HEALTH_FIELDS = ("last_error", "last_error_detail", "items_last_poll")
MAX_DETAIL = 300


def health_fields(*, status: str, entries: int, rejects: Sequence[Reject]) -> dict[str, Any]:
    """The health fields for a poll that ended in ``status`` (ok | not_modified | failed).

    A failed poll's first reject is the feed's own (the fetch or parse failure);
    the item rejects of a usable feed are not errors of the feed.
    """
    error = rejects[0] if status == "failed" and rejects else None
    return {
        "last_error": (error.reason if error else "failed") if status == "failed" else None,
        "last_error_detail": (error.detail or "")[:MAX_DETAIL] if error else None,
        "items_last_poll": int(entries),
    }
