"""I/O: the Parquet tables, the state kept beside them, and reading both back.

The package exports its Beam transforms lazily (PEP 562): importing one of its pure
modules, as extraction workers do, never imports Apache Beam.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from wiredesk.transforms.common.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from wiredesk.transforms.io.state_store import ReadState, WriteState
    from wiredesk.transforms.io.warc_capture import CaptureWarc
    from wiredesk.transforms.io.windowed_write import WriteWindowedState
    from wiredesk.transforms.io.write_table import VerifyWritten, WriteTable
    from wiredesk.transforms.io.written_keys import ListUnfinishedRunFiles, ReadWrittenKeys
    from wiredesk.transforms.io.written_stories import ReadWrittenStories

__all__ = [
    "CaptureWarc",
    "ListUnfinishedRunFiles",
    "ReadState",
    "ReadWrittenKeys",
    "ReadWrittenStories",
    "VerifyWritten",
    "WriteState",
    "WriteTable",
    "WriteWindowedState",
]

__getattr__ = lazy_exports(
    __name__,
    {
        "CaptureWarc": "warc_capture",
        "VerifyWritten": "write_table",
        "WriteTable": "write_table",
        "ReadState": "state_store",
        "WriteState": "state_store",
        "WriteWindowedState": "windowed_write",
        "ListUnfinishedRunFiles": "written_keys",
        "ReadWrittenKeys": "written_keys",
        "ReadWrittenStories": "written_stories",
    },
)
