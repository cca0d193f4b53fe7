"""Keep runs free of warnings a user cannot act on.

Importing ``apache_beam`` imports its BigQuery client stubs, which log through the
root logger, on every run of an install without the ``gcp`` extra::

    WARNING:root:apitools not found, and bigquery client libraries are not available ...

wiredesk never uses BigQuery, so the line tells a user nothing they could act on.
:func:`install` adds a filter to the root logger that drops exactly that record
(logger ``root``, that message) and nothing else. It must run before the first
``import apache_beam``: ``wiredesk/__init__.py`` calls it, so any import of a
wiredesk module installs it first. A filter on a logger survives
``logging.basicConfig(force=True)``, which replaces handlers only.

Example::

    import wiredesk.quiet
    wiredesk.quiet.install()   # idempotent
"""

from __future__ import annotations

import logging

__all__ = ["BeamImportNoise", "install"]

# The message apache_beam/io/gcp/internal/clients/bigquery/__init__.py logs (Beam 2.77).
_APITOOLS_NOTICE = "apitools not found, and bigquery client libraries are not available"


class BeamImportNoise(logging.Filter):
    """Drops Beam's "apitools not found" notice; passes every other record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name != "root" or record.levelno != logging.WARNING:
            return True
        return not str(record.msg).startswith(_APITOOLS_NOTICE)


def install() -> None:
    """Add :class:`BeamImportNoise` to the root logger once."""
    root = logging.getLogger()
    if not any(isinstance(existing, BeamImportNoise) for existing in root.filters):
        root.addFilter(BeamImportNoise())
