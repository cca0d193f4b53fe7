"""Shared by every stage: URLs, dates, language codes, hardened XML, lookup-table caching, metric names."""
