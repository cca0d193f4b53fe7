"""Entry point: ``run(argv=None)`` builds the graph from the options and runs it.

Locally the engine is chosen explicitly: Beam's FnApiRunner (what the
DirectRunner uses for batch). The DirectRunner itself would first try to
download Prism from the internet on every run (docs/decisions.md, "Runners") and, on a machine
that can reach it, silently run on a different engine. ``--runner=PrismRunner``
(where its binary is installed), ``DataflowRunner``, ``FlinkRunner`` and the
others are passed to Beam unchanged.

Example::

    from wiredesk.pipelines.run import run
    run(["--feeds", "feeds.opml", "--output", "/tmp/out", "--once"])
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Sequence
from typing import Any

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems
from apache_beam.metrics.metric import MetricsFilter
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions

from wiredesk.pipelines.arg_specs import remember_function_arguments
from wiredesk.pipelines.dofn_specs import remember_dofn_specs
from wiredesk.pipelines.graph import build_graph
from wiredesk.pipelines.heap_freeze import objects_so_far_frozen
from wiredesk.pipelines.options import RunConfig, ViewCachingOptions, is_local_runner
from wiredesk.pipelines.placement import LOCAL_RUNNERS
from wiredesk.pipelines.quick_sampler import use_quick_stop_sampler
from wiredesk.pipelines.writer_lease import (
    check_no_other_writer,
    is_dry_run,
    stream_job_mark,
    writer_lease,
)
from wiredesk.schemas.records import FeedSource
from wiredesk.transforms.common import metrics
from wiredesk.transforms.common.metrics import NAMESPACE
from wiredesk.transforms.io.feed_list import record_feed_list
from wiredesk.transforms.io.warc_capture import remove_stale_captures
from wiredesk.transforms.sources.feeds_file import FeedsFileConfig, FeedsFileError, read_feeds_file

__all__ = [
    "RunError",
    "RunSummary",
    "check_output_writable",
    "is_local_runner",
    "launch",
    "load_feeds",
    "run",
    "run_cycle",
    "run_once",
    "run_unbounded",
    "without_construction_type_check",
]

_LOG = logging.getLogger(__name__)


class RunError(RuntimeError):
    """The run itself cannot proceed (unreadable feeds file, unwritable output)."""


@dataclasses.dataclass
class RunSummary:
    run_id: str
    seconds: float
    counters: dict[str, int]

    def count(self, name: str) -> int:
        return self.counters.get(name, 0)

    def lines(self) -> list[str]:
        c = self.count
        rejected = {
            f"{stage}_{reason}": self.count(name)
            for name, (stage, reason) in sorted(metrics.rejected_total_names().items())
            if self.count(name)
        }
        out = [
            f"run {self.run_id}: {self.seconds:.1f} s",
            f"  feeds polled {c(metrics.FEEDS_POLLED)} (not modified "
            f"{c(metrics.FEEDS_NOT_MODIFIED)}, rejected {c(metrics.FEEDS_REJECTED)}); "
            f"wire files read {c(metrics.WIRE_FILES_READ)}",
            *_warc_lines(self.counters),
            f"  entries listed {c(metrics.ENTRIES_LISTED) + c(metrics.WIRE_ITEMS_LISTED)}, "
            f"new {c(metrics.ENTRIES_NEW)}, seen in an earlier run "
            f"{c(metrics.ENTRIES_SEEN_IN_EARLIER_RUN)}, same URL/guid in this run "
            f"{c(metrics.ENTRIES_DUPLICATE_URL_IN_RUN) + c(metrics.ENTRIES_DUPLICATE_GUID_IN_RUN)}",
            f"  pages fetched {c(metrics.PAGES_FETCHED)}, wire items "
            f"{c(metrics.WIRE_ITEMS_PASSED)}, extracted {c(metrics.PAGES_EXTRACTED)}, "
            f"enriched {c(metrics.ARTICLES_ENRICHED)}{_where_extracted(self.counters)}",
            f"  written: articles {c(metrics.ARTICLES_ROWS_WRITTEN)}, duplicates "
            f"{c(metrics.DUPLICATES_ROWS_WRITTEN)}, rejects {c(metrics.REJECTS_ROWS_WRITTEN)} "
            f"({c(metrics.FILES_VERIFIED)} files verified)",
        ]
        if opened := c(metrics.HTTP_CONNECTIONS_OPENED):
            out.append(
                f"  HTTP connections opened {opened}, requests on kept connections "
                f"{c(metrics.HTTP_REQUESTS_ON_KEPT_CONNECTIONS)}"
            )
        skipped = {
            reason: c(metrics.entries_skipped(reason))
            for reason in sorted(metrics.SKIP_REASONS)
            if c(metrics.entries_skipped(reason))
        }
        if skipped:
            out.insert(
                3,
                "  feed items not listed: "
                + ", ".join(f"{_SKIP_LABELS.get(k, k)} {v}" for k, v in skipped.items()),
            )
        if same_url := c(metrics.ARTICLES_SAME_URL_LEFT_OUT):
            out.append(
                f"  one URL twice in this run: {same_url} copies left out (the last fetched kept)"
            )
        if rejected:
            out.append(
                "  rejects by stage/reason: " + ", ".join(f"{k} {v}" for k, v in rejected.items())
            )
        return out


def _where_extracted(counters: dict[str, int]) -> str:
    """Where ExtractText's per-page pass ran (ExtractText's docstring says why)."""
    pool = counters.get(metrics.PAGES_PROCESSED_IN_POOL, 0)
    own = counters.get(metrics.PAGES_PROCESSED_IN_PROCESS, 0)
    if not (pool or own):
        return ""
    parts = [f"{pool} in the extraction pool"] if pool else []
    parts += [f"{own} in the runner's worker processes"] if own else []
    return f" ({', '.join(parts)})"


# How the summary names the reasons feed_parse and wire_parse give for items they skip.
_SKIP_LABELS = {
    "bad_link": "unusable link (a reject row each)",
    "no_link": "no link (a reject row each)",
    "over_limit": "past the entry limit (one reject row per feed)",
    "duplicate": "listed twice in one feed",
    "not_text": "wire items that are not text",
    "no_body": "wire items without a body",
    "withdrawn": "withdrawn wire items",
}


def _warc_lines(counters: dict[str, int]) -> list[str]:
    """The --warc source's line of the summary (none when no WARC file was listed)."""
    c = counters.get
    if not any(name.startswith("warc_") for name in counters):
        return []
    skipped = {
        name[len("warc_records_skipped_") :]: value
        for name, value in sorted(counters.items())
        if name.startswith("warc_records_skipped_") and value
    }
    filtered = {
        name[len("warc_responses_filtered_") :]: value
        for name, value in sorted(counters.items())
        if name.startswith("warc_responses_filtered_") and value
    }
    line = (
        f"  warc files read {c('warc_files_read', 0)} (seen before {c('warc_files_seen_before', 0)}); "
        f"responses {c('warc_responses', 0)}: pages {c('warc_pages', 0)}, "
        f"rejected {c('warc_responses_rejected', 0)}"
    )
    if filtered:
        line += ", left out " + ", ".join(f"{k} {v}" for k, v in filtered.items())
    if skipped:
        line += "; records skipped " + ", ".join(f"{k} {v}" for k, v in skipped.items())
    return [line]


def load_feeds(path: str) -> list[FeedSource]:
    """Read the feeds file (any Beam filesystem). Raises RunError with a one-line reason."""
    try:
        with FileSystems.open(path) as handle:
            # One byte past the limit is enough to refuse it: a path such as /dev/zero
            # would otherwise be read until memory ran out.
            data = handle.read(FeedsFileConfig().max_bytes + 1)
    except Exception as exc:
        raise RunError(f"cannot read feeds file {path}: {exc}") from exc
    try:
        return read_feeds_file(data=data, name=path)
    except FeedsFileError as exc:
        raise RunError(f"unusable feeds file {path}: {exc}") from exc


def check_output_writable(output: str) -> None:
    """Fail fast, with one line, when OUT cannot be written."""
    probe = FileSystems.join(output, "_state", f".probe-{time.time_ns()}")
    try:
        with FileSystems.create(probe) as handle:
            handle.write(b"ok")
        FileSystems.delete([probe])
    except Exception as exc:
        raise RunError(f"cannot write to output {output}: {exc}") from exc


def run_unbounded(
    *, config: RunConfig, feeds: Sequence[FeedSource], beam_args: Sequence[str] = ()
) -> Any:
    """Submit the unbounded graph (pipelines/unbounded.py) to a managed runner and
    return its PipelineResult without waiting: a streaming job runs until drained."""
    from wiredesk.pipelines.unbounded import build_unbounded_graph

    options = PipelineOptions(list(beam_args))
    # Beam's own --streaming (wiredesk's CLI spells it --streaming-mode).
    options.view_as(StandardOptions).streaming = True
    pipeline = beam.Pipeline(options=options)
    build_unbounded_graph(pipeline, config, feeds)
    # The job outlives this process: OUT is marked as its own (pipelines/writer_lease.py).
    with stream_job_mark(config, beam_args=beam_args):
        return pipeline.run()


def launch(argv: Sequence[str]) -> Any:
    """Build the graph the options ask for and submit it, without waiting (the Flex
    Template entry point, deploy/main.py): the unbounded graph for ``--streaming``
    / ``--streaming_mode``, else the batch graph. Returns the PipelineResult."""
    args = ["--streaming_mode" if a == "--streaming" else a for a in argv]
    options = PipelineOptions(args)
    config = RunConfig.from_options(options)
    feeds = load_feeds(config.feeds) if config.feeds else []
    if not is_dry_run(args):  # a dry run submits nothing and writes nothing
        record_feed_list(output=config.output, feeds=feeds, run_id=config.run_id)
    if config.streaming:
        return run_unbounded(config=config, feeds=feeds, beam_args=args)
    pipeline = beam.Pipeline(runner=_runner_for(options), options=options)
    build_graph(pipeline, config, feeds)
    check_no_other_writer(config, beam_args=args)  # the launcher cannot hold it for the job
    return pipeline.run()


def _runner_for(options: PipelineOptions) -> Any:
    runner = options.view_as(StandardOptions).runner
    if runner in LOCAL_RUNNERS:
        from apache_beam.runners.portability.fn_api_runner import FnApiRunner

        use_quick_stop_sampler()  # its bundles run in this process
        return FnApiRunner()
    return None  # Beam resolves --runner itself


def _counters(result: Any) -> dict[str, int]:
    counters: dict[str, int] = {}
    try:
        query = result.metrics().query(MetricsFilter().with_namespace(NAMESPACE))
    except Exception:  # some runners cannot report metrics
        return counters
    for counter in query.get("counters", []):
        value = counter.committed if counter.committed is not None else counter.attempted
        counters[counter.key.metric.name] = counters.get(counter.key.metric.name, 0) + int(
            value or 0
        )
    return counters


def run_cycle(
    *, config: RunConfig, feeds: Sequence[FeedSource], beam_args: Sequence[str] = ()
) -> RunSummary:
    """One complete batch run of the graph (``--once``, or one local streaming cycle)."""
    options = ViewCachingOptions(without_construction_type_check(beam_args))
    remember_dofn_specs()
    remember_function_arguments()
    started = time.monotonic()
    pipeline = beam.Pipeline(runner=_runner_for(options), options=options)
    build_graph(pipeline, config, feeds)
    with objects_so_far_frozen():  # Beam, pyarrow, the graph: not scanned again
        result = pipeline.run()
        result.wait_until_finish()
    summary = RunSummary(
        run_id=config.run_id, seconds=time.monotonic() - started, counters=_counters(result)
    )
    _remove_stale_temporaries(config.output)
    if config.capture_warc:
        remove_stale_captures(folder=config.capture_warc, run_id=config.run_id)
    return summary


def without_construction_type_check(beam_args: Sequence[str]) -> list[str]:
    """``beam_args`` plus ``--no_pipeline_type_check``, unless they say either way.

    Beam checks every transform's type hints while the graph is built: 0.7 s of the
    runner's ~1.8 s of graph building for wiredesk's 141 transforms, paid by every local
    run and every streaming cycle, before the first feed is polled. The graph is the
    same each time, and the test suite builds it with the check on (the Dataflow dry
    runs), so a wiring error still fails there. ``--pipeline_type_check`` turns it back on.
    """
    args = list(beam_args)
    if not any(a in ("--pipeline_type_check", "--no_pipeline_type_check") for a in args):
        args.append("--no_pipeline_type_check")
    return args


def run_once(
    *, config: RunConfig, feeds: Sequence[FeedSource], beam_args: Sequence[str] = ()
) -> RunSummary:
    """``--once``: :func:`run_cycle` holding the writer lease on OUT, taken before any state
    is read and given back after the state is written. Raises LeaseBusy (exit 75) when
    another writer still holds OUT after ``--wait-for-lock`` seconds."""
    with writer_lease(config, mode="once", beam_args=beam_args) as lease:
        summary = run_cycle(config=config, feeds=feeds, beam_args=beam_args)
    if lease is not None and lease.lost:
        raise RunError(
            f"lost the writer lease on OUT to {lease.lost_to} while writing (this run stalled "
            "past the lease expiry); check OUT for rows written twice"
        )
    return summary


def _remove_stale_temporaries(output: str) -> None:
    """Delete hidden ``.tmp-`` files left by a worker that died mid-write (never ours in flight:
    this runs after the run finished)."""
    try:
        matches = FileSystems.match([FileSystems.join(output, "**", ".tmp-*")])[0].metadata_list
    except Exception:
        return
    stale = [m.path for m in matches]
    if stale:
        FileSystems.delete(stale)


def run(argv: Sequence[str] | None = None) -> RunSummary:
    """Build and run one batch pass from command-line style arguments."""
    import sys

    args = list(argv if argv is not None else sys.argv[1:])
    options = PipelineOptions(args)
    config = RunConfig.from_options(options)
    feeds = load_feeds(config.feeds) if config.feeds else []
    check_output_writable(config.output)
    if not is_dry_run(args):  # a dry run submits nothing and writes nothing
        record_feed_list(output=config.output, feeds=feeds, run_id=config.run_id)
    streaming = config.streaming or bool(options.view_as(StandardOptions).streaming)
    if streaming and not is_local_runner(options):
        # A managed runner runs the graph unbounded (docs/architecture.md); this returns once
        # the job is submitted. Locally, --streaming is pipelines/streaming.py.
        started = time.monotonic()
        run_unbounded(
            config=dataclasses.replace(config, streaming=True),
            feeds=feeds,
            beam_args=list(argv or []),
        )
        return RunSummary(run_id=config.run_id, seconds=time.monotonic() - started, counters={})
    return run_once(config=config, feeds=feeds, beam_args=list(argv or []))
