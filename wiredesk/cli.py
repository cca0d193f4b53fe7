"""The ``wiredesk`` command line (docs/output-contract.md, "Command line").

    wiredesk run --feeds FEEDS --output OUT [--once | --streaming] [options] [beam options]
    wiredesk demo [--output OUT]
    wiredesk query OUT "SQL"
    wiredesk report OUT [--output FILE.html] [--since DATE]
    wiredesk extract FILE.html [--url U]
    wiredesk compact OUT [--older-than 1h]

Exit code 0 on success, even when some inputs were rejected (they are in
``rejects/``); non-zero with a one-line reason when the run itself cannot proceed.
"""

from __future__ import annotations

import argparse
import gc
import logging
import sys
from collections.abc import Sequence

from wiredesk.pipelines.placement import pool_expected
from wiredesk.transforms.io.lease import LeaseBusy

__all__ = ["console", "main", "prepare_pipeline_process"]

_EXIT_LEASE_BUSY = (
    75  # EX_TEMPFAIL, as pipelines/writer_lease.EXIT_LEASE_BUSY (no Beam import here)
)

_RUN_USAGE = (
    "wiredesk run --feeds FEEDS --output OUT [--once | --streaming] [options] [beam options]\n"
    "  options: " + "see 'wiredesk run --help'"
)


def _fail(message: str, code: int = 2) -> int:
    print(f"wiredesk: {message}", file=sys.stderr)
    return code


def _configure_logging(verbose: bool) -> None:
    # Importing apache_beam configures the root logger already (docs/decisions.md): force.
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        force=True,
    )


def _start_extraction_forkserver(*, ignore_sigterm: bool) -> None:
    # Before Beam's import: the forkserver's own imports and warm-up (about 2 s of one
    # core) then run on the other core while this process imports Beam and builds the
    # graph, instead of after the first new page. It starts no worker: a run with
    # nothing new still starts no pool. (Looked up at call time, so tests can watch it.)
    from wiredesk.transforms.extract import forkserver

    forkserver.start_extraction_forkserver(ignore_sigterm=ignore_sigterm)


def _run_help() -> str:
    from wiredesk.pipelines.options import OPTION_SPECS

    lines = [
        "usage: wiredesk run --feeds FEEDS --output OUT [--once | --streaming] [options] [beam options]",
        "",
        "options:",
        "  --streaming            poll until stopped (Ctrl-C or SIGTERM drains, then exits 0)",
    ]
    for spec in OPTION_SPECS:
        if spec.name == "streaming-mode":
            continue
        flag = f"--{spec.name}" + ("" if spec.action == "store_true" else " VALUE")
        default = "" if spec.default is None else f" (default {spec.default})"
        lines.append(f"  {flag:<28} {spec.help}{default}")
    lines += [
        "  -v, --verbose          log progress",
        "",
        "Any other --flag goes to Beam (--runner, --direct_num_workers, ...).",
        "Locally the engine is Beam's FnApiRunner; --runner=PrismRunner uses Prism where installed.",
    ]
    return "\n".join(lines)


def _cmd_run(argv: Sequence[str]) -> int:
    args = list(argv)
    if "-h" in args or "--help" in args:
        print(_run_help())
        return 0
    verbose = False
    for flag in ("-v", "--verbose"):
        while flag in args:
            args.remove(flag)
            verbose = True
    _configure_logging(verbose)
    # Beam's own --streaming would turn the local batch engine into a streaming
    # one; wiredesk's --streaming means "poll cycles until stopped" (docs/architecture.md).
    streaming = "--streaming" in args
    args = ["--streaming-mode" if a == "--streaming" else a for a in args]
    once = "--once" in args
    if streaming and once:
        return _fail("choose one of --once and --streaming")
    if pool_expected(args):
        _start_extraction_forkserver(ignore_sigterm=streaming)
    from apache_beam.options.pipeline_options import PipelineOptions

    from wiredesk.pipelines.options import RunConfig
    from wiredesk.pipelines.run import RunError, check_output_writable, load_feeds
    from wiredesk.transforms.io.feed_list import record_feed_list

    try:
        config = RunConfig.from_options(PipelineOptions(args))
    except (ValueError, SystemExit) as exc:
        return _fail(f"{exc}\n{_RUN_USAGE}")
    try:
        feeds = load_feeds(config.feeds) if config.feeds else []
        check_output_writable(config.output)
        # The feeds table lists every feed of the file, the ones never polled too.
        record_feed_list(output=config.output, feeds=feeds, run_id=config.run_id)
    except (RunError, OSError) as exc:
        return _fail(str(exc))
    from wiredesk.pipelines.run import is_local_runner, run_unbounded

    if streaming and not is_local_runner(PipelineOptions(args)):
        # A managed runner (Dataflow, Flink, ...) runs the unbounded graph; submit and return.
        result = run_unbounded(config=config, feeds=feeds, beam_args=args)
        job = getattr(result, "job_id", lambda: None)()
        print(f"wiredesk: streaming job submitted{f' ({job})' if job else ''}; drain it to stop")
        return 0
    if streaming:
        from wiredesk.pipelines.streaming import run_streaming

        return run_streaming(config=config, feeds=feeds, beam_args=args)
    from wiredesk.pipelines.run import run_once

    try:
        summary = run_once(config=config, feeds=feeds, beam_args=args)
    except LeaseBusy:
        raise  # main(): one line, exit 75
    except RunError as exc:
        return _fail(str(exc))
    except Exception as exc:  # the run itself broke (disk full, a failed rename): one line
        logging.getLogger("wiredesk").debug("run failed", exc_info=True)
        return _fail(f"run failed: {_root_cause(exc)}", 1)
    print("\n".join(summary.lines()))
    return 0


def _root_cause(exc: BaseException) -> str:
    """The innermost error, on one line: Beam wraps worker errors several times."""
    while exc.__cause__ is not None or exc.__context__ is not None:
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
    return f"{type(exc).__name__}: {' '.join(str(exc).split())}"[:300]


def _cmd_demo(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="wiredesk demo", description="Run the bundled sample offline."
    )
    parser.add_argument(
        "--output", default="./wiredesk-demo", help="output folder (default ./wiredesk-demo)"
    )
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(list(argv))
    _configure_logging(args.verbose)
    _start_extraction_forkserver(ignore_sigterm=False)  # the demo runs locally, in the pool
    from wiredesk.demo import run_demo

    return run_demo(output=args.output)


def _cmd_query(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="wiredesk query",
        description="DuckDB over OUT; tables: articles, duplicates, rejects, feeds.",
    )
    parser.add_argument("output")
    parser.add_argument("sql")
    parser.add_argument("--format", choices=("table", "csv", "json"), default="table")
    args = parser.parse_args(list(argv))
    from wiredesk.query import QueryError, run_query

    try:
        print(run_query(output=args.output, sql=args.sql, fmt=args.format))
    except QueryError as exc:
        return _fail(str(exc))
    return 0


def _cmd_report(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="wiredesk report",
        description="One self-contained HTML page: stories, agencies, syndication, feed health.",
    )
    parser.add_argument("output")
    parser.add_argument(
        "--output", dest="path", default=None, help="the HTML file (default OUT/report.html)"
    )
    parser.add_argument(
        "--since", default=None, help="only stories and rejects of DATE (YYYY-MM-DD) or later"
    )
    args = parser.parse_args(list(argv))
    from wiredesk.report import report_command

    return report_command(output=args.output, path=args.path, since=args.since)


def _cmd_extract(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="wiredesk extract",
        description="One page through the pipeline's extraction, JSON to stdout.",
    )
    parser.add_argument("file")
    parser.add_argument("--url", default=None)
    args = parser.parse_args(list(argv))
    from wiredesk.extract_cli import extract_file, is_error

    try:
        output = extract_file(path=args.file, url=args.url)
    except OSError as exc:
        return _fail(f"cannot read {args.file}: {exc.strerror or exc}")
    print(output)
    return 1 if is_error(output) else 0


def _cmd_compact(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="wiredesk compact", description="Merge each partition's small files atomically."
    )
    parser.add_argument("output")
    parser.add_argument(
        "--older-than", default="1h", help="only files older than this (e.g. 30m, 1h, 2d)"
    )
    args = parser.parse_args(list(argv))
    from wiredesk.compact import CompactError, compact_output

    try:
        report = compact_output(output=args.output, older_than=args.older_than)
    except CompactError as exc:
        return _fail(str(exc))
    print(report)
    return 0


_COMMANDS = {
    "run": _cmd_run,
    "demo": _cmd_demo,
    "query": _cmd_query,
    "report": _cmd_report,
    "extract": _cmd_extract,
    "compact": _cmd_compact,
}


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print(__doc__)
        return 0 if args else 2
    if args[0] in ("-V", "--version"):
        from wiredesk import __version__

        print(f"wiredesk {__version__}")
        return 0
    command = _COMMANDS.get(args[0])
    if command is None:
        return _fail(f"unknown command {args[0]!r}; one of: {', '.join(_COMMANDS)}")
    try:
        return command(args[1:])
    except LeaseBusy as exc:  # another run writes into OUT (transforms/io/lease.py)
        return _fail(str(exc), _EXIT_LEASE_BUSY)


# The commands that run a pipeline (and never use pandas): pipelines/unused_modules.py.
_PIPELINE_COMMANDS = frozenset({"run", "demo"})


def prepare_pipeline_process() -> None:
    """What a process that will run a pipeline does first, before anything imports numpy
    or Beam or starts the forkserver: one OpenBLAS thread
    (:mod:`wiredesk.pipelines.blas_threads`) and pandas hidden
    (:mod:`wiredesk.pipelines.unused_modules`). The ``run`` and ``demo`` commands call it;
    so do benches that run the pipeline in their own process."""
    from wiredesk.pipelines.blas_threads import one_blas_thread
    from wiredesk.pipelines.unused_modules import hide_unused_modules

    one_blas_thread()  # before numpy's import here and in the forkserver
    hide_unused_modules()  # pandas: 0.16 s of every run's start, used by nothing


def console(argv: Sequence[str] | None = None) -> int:
    """The ``wiredesk`` command: :func:`main`, then an exit that skips the last sweep.

    At exit the interpreter sweeps for garbage over every object left (~200,000 after a
    run: Beam, pyarrow, the gazetteer): 0.2-0.3 s after the output is complete, on the
    critical path of every run. Freezing them first skips the sweep; atexit handlers
    still run and modules are still torn down. Not part of :func:`main`, which
    long-lived callers (tests, notebooks) use and whose garbage must stay collectable.

    ``run`` and ``demo`` also hide pandas from their process first (see
    :mod:`wiredesk.pipelines.unused_modules`): installed for a dependency, never used,
    and imported by Beam and pyarrow only because it is there; and they ask OpenBLAS for
    one thread in their processes (:mod:`wiredesk.pipelines.blas_threads`).
    """
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] in _PIPELINE_COMMANDS:
        prepare_pipeline_process()
    code = main(args)
    gc.freeze()
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(console())
