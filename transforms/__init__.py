"""The pipeline's stages, one sub-package each, in the order data flows through them.

* ``sources``: feeds and news wires in (PollFeeds, ReadWireDir);
* ``fetch``: safe, polite HTTP (FetchArticle);
* ``extract``: text and metadata with trafilatura, then enrichment and the sketch, in one
  pass per page (ExtractText);
* ``enrich``: language, dateline, agency, country, region (called by ExtractText's pass;
  KeepLanguages);
* ``dedup``: exact duplicates and syndicated stories (DedupeEntries, DetectSyndication);
* ``io``: the Parquet tables and the state beside them (WriteTable, ReadState);
* ``common``: what every stage shares (URLs, dates, language codes, metric names).

In each package, a module named ``stage*.py`` holds the Beam wrapping; every other module
is pure (no Beam), except in ``io``, which is Beam I/O throughout. docs/architecture.md
has the picture; tests/test_layout.py keeps the rules.
"""
