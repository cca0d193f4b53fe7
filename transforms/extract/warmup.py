"""Imported by each extraction worker (and preloaded by the forkserver) to pay lazy set-up once.

The gazetteer and the language model of enrichment (~2 s, ~180 MB) load here too, so that
every worker forked from the forkserver shares them (transforms/extract/page_pass.py runs
enrichment in the worker), and the signing code's MinHash parameters are made.

htmldate hands some dates to dateparser (its extensive search, our fallback when the
markup gives no date). dateparser compiles one regex per locale the first time a string
is checked against it, and a string that no locale claims is checked against all of
them: about 1.3 s on this machine, paid by the first such page in every worker. Paid
inside a page's deadline, that turned ordinary pages into ``extract_timeout`` under a
short ``--extract-timeout``, and in a one-off run each worker paid it again.

So the warm-up asks htmldate's own parser (its settings key dateparser's caches; a
plain ``dateparser.parse`` warms other entries) about such a string. Preloaded by the
forkserver, it is paid once per run, and every worker forked from it starts warm.

It also gives trafilatura's HTML parser lxml's C-level element class lookup
(``element_lookup``), and rebuilds trafilatura's XPaths to select the same elements for
less (``cheaper_xpaths``): the same text and metadata for 4-5 % and 15 % less
extraction CPU, in the processes that exist to extract.
"""

from __future__ import annotations

__all__: list[str] = []

# A date that dateparser's strict settings reject in every locale ("Published" is no
# date word anywhere), so that every locale's regex gets compiled.
_SCAN_EVERY_LOCALE = "Published 12 March 2024"

try:
    from htmldate.extractors import get_external_parser

    get_external_parser().get_date_data(_SCAN_EVERY_LOCALE)
except Exception:  # pragma: no cover - a changed htmldate or dateparser only costs time later
    pass

from wiredesk.transforms.dedup.signatures import sketch_text  # noqa: E402
from wiredesk.transforms.enrich import geo, language  # noqa: E402
from wiredesk.transforms.extract.cheaper_xpaths import use_cheaper_xpaths  # noqa: E402
from wiredesk.transforms.extract.element_lookup import use_plain_element_classes  # noqa: E402

use_plain_element_classes()
use_cheaper_xpaths()
geo.warm()
language.warm()
sketch_text(text="Warm-up text for the signing code's parameters, long enough to shingle.")
