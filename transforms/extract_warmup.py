"""Imported by each extraction worker (and preloaded by the forkserver) to pay lazy set-up once.

htmldate hands some dates to dateparser, whose first call loads every locale
(about 4 s here). Paid inside a page's deadline, that turned ordinary pages
into ``extract_timeout`` under a short ``--extract-timeout``; paid here, before
a worker reports ready, it costs no page anything.
"""

from __future__ import annotations

__all__: list[str] = []

try:
    import dateparser

    dateparser.parse("Mon, 03 Feb 2020 11:00:00 +0000")
except Exception:  # pragma: no cover - a missing or broken dateparser only costs time later
    pass
