"""wiredesk's pipeline options: one definition for the CLI, Beam and the Flex Template.

Every option has a dashed spelling (the CLI's, ``--poll-interval``) and an
underscored alias (``--poll_interval``) because Dataflow Flex Template
parameter names may not contain dashes. ``deploy/metadata.json`` is checked
against :data:`OPTION_SPECS` by a test.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import math
import uuid
from typing import Any, TypeVar, cast

from apache_beam.options.pipeline_options import DirectOptions, PipelineOptions, StandardOptions

from wiredesk.pipelines.placement import LOCAL_RUNNERS, POOL_RUNNING_MODES

_View = TypeVar("_View", bound=PipelineOptions)

__all__ = [
    "OPTION_SPECS",
    "OptionSpec",
    "RunConfig",
    "ViewCachingOptions",
    "WiredeskOptions",
    "is_local_runner",
    "new_run_id",
    "parse_since_until",
    "uses_extract_pool",
]


def is_local_runner(options: PipelineOptions) -> bool:
    """True when the run stays on this machine (wiredesk then picks the FnApiRunner)."""
    return options.view_as(StandardOptions).runner in LOCAL_RUNNERS


def uses_extract_pool(options: PipelineOptions) -> bool:
    """Whether ExtractText's per-page work goes to the local pool of worker processes.

    Only when every DoFn runs in this one process (the local runner in memory, or with
    threads). Beam's multi-process harness and managed runners (Dataflow, Flink, Spark)
    start one SDK process per core already: there the work runs in the DoFn itself
    (docs/architecture.md, "Where the per-page work runs").
    """
    mode = options.view_as(DirectOptions).direct_running_mode
    return is_local_runner(options) and mode in POOL_RUNNING_MODES


@dataclasses.dataclass(frozen=True)
class OptionSpec:
    name: str  # dashed CLI name without the leading "--"
    help: str
    type: Any = str
    default: Any = None
    action: str | None = None  # "store_true" / "append"
    regex: str | None = None  # validation for the Flex Template metadata

    @property
    def dest(self) -> str:
        return self.name.replace("-", "_")


# Flex Template validation of numbers, kept to RunConfig's own limits (_LIMITS) by a test.
_COUNT = r"^[0-9]+$"  # 0 or more
_POSITIVE_COUNT = r"^0*[1-9][0-9]*$"  # 1 or more
_SECONDS = r"^([0-9]+\.?[0-9]*|\.[0-9]+)$"  # 0 or more, as float() reads it
_POSITIVE_SECONDS = r"^(?!0*\.?0*$)([0-9]+\.?[0-9]*|\.[0-9]+)$"  # more than 0
# What parse_since_until reads: a day, or an ISO 8601 time (naive means UTC).
_DATE_OR_TIME = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?(Z|[+-][0-9]{2}:?[0-9]{2})?)?$"

OPTION_SPECS: tuple[OptionSpec, ...] = (
    OptionSpec("feeds", "Feeds file: OPML or one URL a line (local path or gs://).", regex=r"^.+$"),
    OptionSpec(
        "output",
        "Output root for articles/, duplicates/, rejects/ (local or gs://).",
        regex=r"^.+$",
    ),
    OptionSpec(
        "once", "Poll every feed once, process everything, flush, exit.", action="store_true"
    ),
    OptionSpec(
        "streaming-mode", "Poll until stopped (the CLI's --streaming).", action="store_true"
    ),
    OptionSpec(
        "poll-interval",
        "Seconds between polls when streaming.",
        type=float,
        default=300.0,
        regex=_POSITIVE_SECONDS,
    ),
    OptionSpec(
        "max-poll-interval",
        "Upper bound of a feed's adaptive poll interval (seconds).",
        type=float,
        default=3600.0,
        regex=_POSITIVE_SECONDS,
    ),
    OptionSpec(
        "allow-private-addresses",
        "Allow fetching from loopback and private ranges.",
        action="store_true",
    ),
    OptionSpec(
        "allow-host",
        "Allow this one host even if it resolves to a private address (repeatable).",
        action="append",
        regex=r"^[A-Za-z0-9.:\[\]-]+$",
    ),
    OptionSpec(
        "wire-dir",
        "A drop folder of wire files (ninjs JSON, NewsML-G2 XML); each file is read once.",
        regex=r"^.+$",
    ),
    OptionSpec(
        "warc",
        "WARC input: a .warc/.warc.gz file, glob or folder, local or gs:// (repeatable).",
        action="append",
        regex=r"^.+$",
    ),
    OptionSpec(
        "warc-host",
        "Keep only WARC records of this host or its subdomains (repeatable).",
        action="append",
        regex=r"^[A-Za-z0-9.-]+$",
    ),
    OptionSpec(
        "since",
        "Keep only WARC records with a WARC-Date at or after this (YYYY-MM-DD or ISO time, UTC).",
        regex=_DATE_OR_TIME,
    ),
    OptionSpec(
        "until",
        "Keep only WARC records with a WARC-Date before this (YYYY-MM-DD or ISO time, UTC).",
        regex=_DATE_OR_TIME,
    ),
    OptionSpec(
        "language",
        "Keep only articles in this detected language, an ISO 639-1 code (repeatable).",
        action="append",
        regex=r"^[A-Za-z]{2,3}$",
    ),
    OptionSpec(
        "capture-warc",
        "Write every page fetched as WARC response and request records into this folder.",
        regex=r"^.+$",
    ),
    OptionSpec(
        "dedup-horizon-days",
        "How long a story stays matchable for syndication (days).",
        type=int,
        default=7,
        regex=_POSITIVE_COUNT,
    ),
    OptionSpec(
        "seen-horizon-days",
        "How long fetched URLs are remembered (days).",
        type=int,
        default=30,
        regex=_POSITIVE_COUNT,
    ),
    OptionSpec(
        "max-page-bytes",
        "Cap on a page's decoded bytes.",
        type=int,
        default=5 * 1024 * 1024,
        regex=_POSITIVE_COUNT,
    ),
    OptionSpec(
        "fetch-timeout",
        "Total deadline for one fetch (seconds).",
        type=float,
        default=20.0,
        regex=_POSITIVE_SECONDS,
    ),
    OptionSpec(
        "connect-timeout",
        "Connect deadline for one fetch (seconds).",
        type=float,
        default=5.0,
        regex=_POSITIVE_SECONDS,
    ),
    OptionSpec(
        "fetch-concurrency",
        "Requests in flight per worker.",
        type=int,
        default=16,
        regex=_POSITIVE_COUNT,
    ),
    OptionSpec(
        "per-host-concurrency",
        "Requests in flight to one host at most.",
        type=int,
        default=2,
        regex=_POSITIVE_COUNT,
    ),
    OptionSpec(
        "per-host-delay",
        "Minimum seconds between two requests to one host.",
        type=float,
        default=0.0,
        regex=_SECONDS,
    ),
    OptionSpec(
        "extract-workers",
        "Extraction processes per worker (0: one per core).",
        type=int,
        default=0,
        regex=_COUNT,
    ),
    OptionSpec(
        "extract-timeout",
        "Per-page extraction deadline (seconds).",
        type=float,
        default=30.0,
        regex=_POSITIVE_SECONDS,
    ),
    OptionSpec(
        "ignore-robots",
        "Do not consult robots.txt (only for replaying your own pages).",
        action="store_true",
    ),
    OptionSpec(
        "wait-for-lock",
        "Seconds to wait for another writer of OUT to finish before stopping with exit code 75 "
        "(default 300 with --once, 0 with --streaming).",
        type=float,
        regex=_SECONDS,
    ),
    OptionSpec(
        "lease-heartbeat",
        "Seconds between renewals of the writer lease on OUT; a lease not renewed for four "
        "of them is taken over.",
        type=float,
        default=15.0,
        regex=_POSITIVE_SECONDS,
    ),
    OptionSpec(
        "run-id",
        "Name part that makes this run's files unique (default: time + random).",
        regex=r"^[A-Za-z0-9_-]{1,64}$",
    ),
)


class WiredeskOptions(PipelineOptions):
    """The options above, as Beam PipelineOptions (so runners and templates see them)."""

    @classmethod
    def _add_argparse_args(cls, parser: argparse.ArgumentParser) -> None:
        for spec in OPTION_SPECS:
            flags = [f"--{spec.name}"]
            if "-" in spec.name:
                flags.append(f"--{spec.dest}")
            kwargs: dict[str, Any] = {"dest": spec.dest, "help": spec.help}
            if spec.action == "store_true":
                kwargs["action"] = "store_true"
                kwargs["default"] = False
            elif spec.action == "append":
                kwargs["action"] = "append"
                kwargs["default"] = None
            else:
                kwargs["type"] = spec.type
                kwargs["default"] = spec.default
            parser.add_argument(*flags, **kwargs)


class ViewCachingOptions(PipelineOptions):
    """PipelineOptions whose views are made once per options class, then reused.

    Beam asks the pipeline's options for a view (``view_as``) several times for each
    transform it applies, and every view parses all the flags again with a fresh argument
    parser: about 500 parsers, 0.15 s of the runner's CPU, for wiredesk's graph of about
    150 transforms. A view holds no state of its own (it reads and writes the options'
    shared ``_all_options``), so handing out the same view again is what making a new
    one would give. Runners rebuild plain options from the graph's protobuf, so only
    graph building sees this class.

    Example:
        >>> from apache_beam.options.pipeline_options import StandardOptions
        >>> options = ViewCachingOptions(["--runner", "DirectRunner"])
        >>> options.view_as(StandardOptions) is options.view_as(StandardOptions)
        True
        >>> options.view_as(StandardOptions).streaming = True
        >>> PipelineOptions.view_as(options, StandardOptions).streaming
        True
    """

    def view_as(self, cls: type[_View]) -> _View:
        # PipelineOptions.__setattr__ only takes option names: keep the cache in __dict__.
        views: dict[type[PipelineOptions], PipelineOptions] = self.__dict__.setdefault(
            "_views_made", {}
        )
        view = views.get(cls)
        # A copy (Pipeline deep-copies its options) must hand out views of its own dict.
        if view is None or view._all_options is not self._all_options:
            view = views[cls] = super().view_as(cls)
        return cast(_View, view)


# (RunConfig field, lowest allowed value, whether that value itself is allowed)
_LIMITS: tuple[tuple[str, float, bool], ...] = (
    ("poll_interval", 0, False),
    ("max_poll_interval", 0, False),
    ("dedup_horizon_days", 1, True),
    ("seen_horizon_days", 1, True),
    ("max_page_bytes", 1, True),
    ("fetch_timeout", 0, False),
    ("connect_timeout", 0, False),
    ("fetch_concurrency", 1, True),
    ("per_host_concurrency", 1, True),
    ("per_host_delay", 0, True),
    ("extract_workers", 0, True),  # 0: one per core
    ("extract_timeout", 0, False),
    ("wait_for_lock", 0, True),  # None: the mode's default
    ("lease_heartbeat", 0, False),
)


def parse_since_until(name: str, value: str | None) -> dt.datetime | None:
    """``--since``/``--until``: a day (its midnight, UTC) or an ISO time; naive means UTC."""
    if not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"--{name} must be YYYY-MM-DD or an ISO 8601 time (got {value!r})"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC)


def new_run_id(now: dt.datetime | None = None) -> str:
    now = now or dt.datetime.now(dt.UTC)
    return f"{now:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"


@dataclasses.dataclass(frozen=True)
class RunConfig:
    """Everything one run needs, resolved from the options (defaults live in OPTION_SPECS)."""

    feeds: str | None
    output: str
    streaming: bool = False
    poll_interval: float = 300.0
    max_poll_interval: float = 3600.0
    allow_private_addresses: bool = False
    allow_hosts: tuple[str, ...] = ()
    wire_dir: str | None = None
    dedup_horizon_days: int = 7
    seen_horizon_days: int = 30
    max_page_bytes: int = 5 * 1024 * 1024
    fetch_timeout: float = 20.0
    connect_timeout: float = 5.0
    fetch_concurrency: int = 16
    per_host_concurrency: int = 2
    per_host_delay: float = 0.0
    extract_workers: int = 0
    extract_timeout: float = 30.0
    ignore_robots: bool = False
    wait_for_lock: float | None = None
    lease_heartbeat: float = 15.0
    warc: tuple[str, ...] = ()
    warc_hosts: tuple[str, ...] = ()
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    languages: tuple[str, ...] = ()
    capture_warc: str | None = None
    run_id: str = dataclasses.field(default_factory=new_run_id)
    today: dt.date = dataclasses.field(default_factory=lambda: dt.datetime.now(dt.UTC).date())

    def __post_init__(self) -> None:
        # Checked here, not deep in a transform: a bad value fails the run at its start
        # with the option's name (a zero poll interval used to surface as a traceback).
        for name, floor, inclusive in _LIMITS:
            value = getattr(self, name)
            if value is None:
                continue
            too_low = value < floor if inclusive else value <= floor
            if not math.isfinite(value) or too_low:
                bound = f"at least {floor}" if inclusive else f"more than {floor}"
                raise ValueError(f"--{name.replace('_', '-')} must be {bound} (got {value})")
        if self.since is not None and self.until is not None and self.since >= self.until:
            raise ValueError(f"--since must be before --until (got {self.since} >= {self.until})")

    @classmethod
    def from_options(cls, options: PipelineOptions) -> RunConfig:
        wd = options.view_as(WiredeskOptions)
        if not wd.output:
            raise ValueError("--output is required")
        if not wd.feeds and not wd.wire_dir and not wd.warc:
            raise ValueError("--feeds (or --wire-dir, or --warc) is required")
        if wd.streaming_mode and (wd.warc or wd.capture_warc):
            raise ValueError("--warc and --capture-warc are for batch runs (--once)")
        return cls(
            feeds=wd.feeds,
            output=wd.output.rstrip("/") or "/",
            streaming=bool(wd.streaming_mode),
            poll_interval=wd.poll_interval,
            max_poll_interval=wd.max_poll_interval,
            allow_private_addresses=bool(wd.allow_private_addresses),
            allow_hosts=tuple(wd.allow_host or ()),
            wire_dir=wd.wire_dir,
            dedup_horizon_days=wd.dedup_horizon_days,
            seen_horizon_days=wd.seen_horizon_days,
            max_page_bytes=wd.max_page_bytes,
            fetch_timeout=wd.fetch_timeout,
            connect_timeout=wd.connect_timeout,
            fetch_concurrency=wd.fetch_concurrency,
            per_host_concurrency=wd.per_host_concurrency,
            per_host_delay=wd.per_host_delay,
            extract_workers=wd.extract_workers,
            extract_timeout=wd.extract_timeout,
            ignore_robots=bool(wd.ignore_robots),
            wait_for_lock=wd.wait_for_lock,
            lease_heartbeat=wd.lease_heartbeat,
            warc=tuple(wd.warc or ()),
            warc_hosts=tuple(wd.warc_host or ()),
            since=parse_since_until("since", wd.since),
            until=parse_since_until("until", wd.until),
            languages=tuple(code.lower() for code in wd.language or ()),
            capture_warc=wd.capture_warc,
            run_id=wd.run_id or new_run_id(),
        )
