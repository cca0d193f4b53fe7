"""wiredesk: streaming news ingest on Apache Beam.

Installed, ``wiredesk.pipelines``, ``wiredesk.transforms`` and ``wiredesk.schemas``
are ordinary subpackages. In a source checkout they live at the top of the
repository (docs/architecture.md, "Layout"), so the package path is extended
to find them there too: the tree works uninstalled, as an editable install and
as a wheel alike.
"""

from __future__ import annotations

import os

from wiredesk import quiet as _quiet

# Before anything imports apache_beam (see wiredesk/quiet.py).
_quiet.install()

__version__ = "0.1.0"
__all__ = ["__version__"]

_here = os.path.dirname(os.path.abspath(__file__))
_checkout = os.path.dirname(_here)
if not os.path.isdir(os.path.join(_here, "transforms")) and os.path.isfile(
    os.path.join(_checkout, "transforms", "__init__.py")
):
    __path__.append(_checkout)  # noqa: F821
