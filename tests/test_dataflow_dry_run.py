"""Dataflow translation, offline: both graphs build into a Dataflow job with ``--dry_run``.

No credentials, no network: google-auth is pointed away from the metadata
server and every socket connect or DNS lookup beyond loopback fails the test.
The build runs in a thread with a deadline, so a regression that makes Beam
look for credentials fails instead of hanging.

Also here: the writers and the state store run on a non-local Beam filesystem
(``memfs://``, a tiny in-memory FileSystem registered by this module), which
proves they use only Beam's FileSystems API, as they must for ``gs://``.
"""

from __future__ import annotations

import datetime as dt
import io
import ipaddress
import os
import socket
import threading
from typing import Any

import apache_beam as beam
import pyarrow.parquet as pq
import pytest
from apache_beam.internal import pickler
from apache_beam.io.filesystem import BeamIOError, FileMetadata, FileSystem
from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions
from apache_beam.portability.api import beam_runner_api_pb2
from apache_beam.runners.portability.fn_api_runner import FnApiRunner
from apache_beam.testing.test_stream import TestStream
from apache_beam.testing.util import assert_that, equal_to
from apache_beam.transforms.window import TimestampedValue

from wiredesk.pipelines.graph import build_graph
from wiredesk.pipelines.options import RunConfig
from wiredesk.pipelines.run import check_output_writable, load_feeds
from wiredesk.pipelines.unbounded import build_unbounded_graph
from wiredesk.schemas.records import FeedSource
from wiredesk.transforms.io.state_store import ReadState, WriteState
from wiredesk.transforms.io.windowed_write import WindowSettings, WriteWindowedTable
from wiredesk.transforms.io.write_table import VerifyWritten, WriteTable

DATAFLOW_ARGS = [
    "--runner=DataflowRunner",
    "--dry_run=True",
    "--project=wiredesk-test",
    "--region=europe-west1",
    "--temp_location=gs://wiredesk-test/tmp",
]
FEEDS = [FeedSource(url="https://example.org/feed.xml"), FeedSource(url="https://example.com/rss")]
DEADLINE_S = 120


def _needs_gcp() -> None:
    pytest.importorskip(
        "apitools",
        reason="needs the gcp extra: pip install 'apache-beam[gcp]==2.77.0' (in the test extra)",
    )


def _is_loopback(host: Any) -> bool:
    if host in ("localhost", None, ""):
        return True
    try:
        return ipaddress.ip_address(str(host).strip("[]").split("%")[0]).is_loopback
    except ValueError:
        return False


@pytest.fixture
def offline(monkeypatch):
    """No metadata-server probing, and any packet beyond loopback fails the test."""
    monkeypatch.setenv("NO_GCE_CHECK", "True")
    monkeypatch.setenv("GCE_METADATA_HOST", "127.0.0.1:1")
    monkeypatch.setenv("GCE_METADATA_IP", "127.0.0.1:1")
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    attempts: list[str] = []
    real_connect = socket.socket.connect
    real_getaddrinfo = socket.getaddrinfo

    def connect(self: socket.socket, address: Any) -> Any:
        host = address[0] if isinstance(address, tuple) else address
        if not _is_loopback(host):
            attempts.append(f"connect {address}")
            raise OSError("test: network beyond loopback is off")
        return real_connect(self, address)

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if not _is_loopback(host):
            attempts.append(f"dns {host}")
            raise socket.gaierror("test: network beyond loopback is off")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return attempts


def _dry_run(build, extra_args: list[str]) -> beam.Pipeline:
    """Build and 'run' with --dry_run in a thread, with a deadline (never hang)."""
    box: dict[str, Any] = {}

    def work() -> None:
        try:
            p = beam.Pipeline(options=PipelineOptions(DATAFLOW_ARGS + extra_args))
            build(p)
            box["result"] = p.run()
            box["pipeline"] = p
        except BaseException as exc:  # reported below
            box["error"] = exc

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    thread.join(DEADLINE_S)
    assert not thread.is_alive(), "the Dataflow dry run hung (credentials or network?)"
    if "error" in box:
        raise box["error"]
    return box["pipeline"]


def _runner(p: beam.Pipeline) -> Any:
    return p.runner  # the DataflowRunner: proto_pipeline and job are set by run()


def _transforms(p: beam.Pipeline) -> dict[str, Any]:
    proto = _runner(p).proto_pipeline
    return {t.unique_name: t for t in proto.components.transforms.values()}


def _pardo_payload(transform: Any) -> Any:
    payload = beam_runner_api_pb2.ParDoPayload()
    payload.ParseFromString(transform.spec.payload)
    return payload


def _timer_key_coders(p: beam.Pipeline) -> dict[str, str]:
    """Stateful ParDo name -> URN of the key coder its timers are encoded with."""
    proto = _runner(p).proto_pipeline
    coders = proto.components.coders
    found = {}
    for t in proto.components.transforms.values():
        if t.spec.urn != "beam:transform:pardo:v1":
            continue
        payload = _pardo_payload(t)
        for spec in payload.timer_family_specs.values():
            timer_coder = coders[spec.timer_family_coder_id]
            key_coder = coders[timer_coder.component_coder_ids[0]]
            found[t.unique_name] = key_coder.spec.urn
    return found


def _stateful(transforms: dict[str, Any], prefix: str) -> tuple[set[str], set[str]]:
    """State and timer family names of the ParDo under ``prefix`` (Beam prefixes
    user timer families with ``ts-``)."""
    for name, t in transforms.items():
        if name.startswith(prefix) and t.spec.urn == "beam:transform:pardo:v1":
            payload = _pardo_payload(t)
            if payload.state_specs or payload.timer_family_specs:
                return set(payload.state_specs), set(payload.timer_family_specs)
    return set(), set()


def _extract_fn(transforms: dict[str, Any]) -> Any:
    """ExtractText's DoFn as the job carries it (unpickled from the translated ParDo)."""
    (transform,) = [
        t
        for name, t in transforms.items()
        if name.startswith("ExtractText/Extract") and t.spec.urn == "beam:transform:pardo:v1"
    ]
    fn, *_ = pickler.loads(_pardo_payload(transform).do_fn.payload)
    return fn


def _assert_extracts_in_process(transforms: dict[str, Any]) -> None:
    """Dataflow starts one SDK process per vCPU: the per-page work runs in the DoFn, with
    no pool of its own in each (that would be vCPUs x vCPUs processes)."""
    fn = _extract_fn(transforms)
    assert type(fn).__name__ == "_ExtractFn"
    assert fn._in_process is True
    assert not any("StartExtractWorkers" in name for name in transforms)


def test_batch_graph_translates_for_dataflow(offline):
    _needs_gcp()
    config = RunConfig(feeds=None, output="gs://wiredesk-test/out", run_id="dry")
    p = _dry_run(lambda p: build_graph(p, config, FEEDS), [])
    names = set(_transforms(p))
    for stage in (
        "PollFeeds",
        "DedupeEntries",
        "FetchArticle",
        "ExtractText",
        "DetectSyndication",
        "WriteArticles",
        "WriteDuplicates",
        "WriteRejects",
        "WriteSeenState",
        "WriteStoryState",
        "WriteFeedState",
    ):
        assert stage in names, stage
    assert _runner(p).job.proto.type.name == "JOB_TYPE_BATCH"
    _assert_extracts_in_process(_transforms(p))
    assert offline == []


def test_streaming_graph_translates_for_dataflow(offline):
    _needs_gcp()
    config = RunConfig(feeds=None, output="gs://wiredesk-test/out", streaming=True, run_id="dry")
    p = _dry_run(lambda p: build_unbounded_graph(p, config, FEEDS), ["--streaming"])
    transforms = _transforms(p)
    names = set(transforms)
    assert _runner(p).job.proto.type.name == "JOB_TYPE_STREAMING"
    _assert_extracts_in_process(transforms)
    # The poll clock: PeriodicImpulse's splittable generator, an unbounded source.
    assert "PollClock/GenSequence" in names
    proto = _runner(p).proto_pipeline
    clock_out = next(iter(transforms["PollClock"].outputs.values()))
    unbounded = beam_runner_api_pb2.IsBounded.UNBOUNDED
    assert proto.components.pcollections[clock_out].is_bounded == unbounded
    for stage in (
        "FeedsPerTick",
        "Reshuffle",
        "PollFeeds",
        "DedupeEntries",
        "FetchArticle",
        "ExtractText",
        "DetectSyndication",
        "DropSeenRejects",
        "WriteArticles",
        "WriteDuplicates",
        "WriteRejects",
        "WriteSeenState",
        "WriteStoryState",
        "WriteFeedState",
    ):
        assert stage in names, stage
    # Dedup, validators and syndication live in keyed state with timers.
    assert _stateful(transforms, "DedupeEntries/FirstPerUrl") == ({"last_row_day"}, {"ts-expire"})
    assert _stateful(transforms, "DedupeEntries/FirstPerGuid") == ({"last_row_day"}, {"ts-expire"})
    assert _stateful(transforms, "DropSeenRejects") == ({"last_row_day"}, {"ts-expire"})
    assert _stateful(transforms, "PollFeeds") == ({"validators"}, {"ts-expire"})
    assert _stateful(transforms, "DetectSyndication") == ({"rows", "token"}, {"ts-sweep"})
    # Timers are keyed like the state: by a UTF-8 string (not a pickled object),
    # whatever order Beam meets the main and side inputs in.
    timer_keys = _timer_key_coders(p)
    assert len(timer_keys) == 5
    assert set(timer_keys.values()) == {"beam:coder:string_utf8:v1"}, timer_keys
    # Each writer's input is cut into fixed windows before its GroupByKey.
    for writer in ("WriteArticles", "WriteDuplicates", "WriteRejects", "WriteStoryState"):
        gbk = next(
            t
            for n, t in transforms.items()
            if n.startswith(writer + "/") and t.spec.urn == "beam:transform:group_by_key:v1"
        )
        pcoll = proto.components.pcollections[next(iter(gbk.inputs.values()))]
        strategy = proto.components.windowing_strategies[pcoll.windowing_strategy_id]
        assert strategy.window_fn.urn == "beam:window_fn:fixed_windows:v1", writer
    assert offline == []


def test_the_offline_guard_really_blocks(offline):
    with pytest.raises(OSError):
        socket.getaddrinfo("metadata.google.internal", 80)
    with pytest.raises(OSError), socket.socket() as s:
        s.connect(("169.254.169.254", 80))
    assert len(offline) == 2


# -- a non-local filesystem ------------------------------------------------------------------

_STORE: dict[str, bytes] = {}
_LOCK = threading.Lock()


class _MemWriter(io.BytesIO):
    def __init__(self, path: str) -> None:
        super().__init__()
        self._path = path

    def close(self) -> None:
        with _LOCK:
            _STORE[self._path] = self.getvalue()
        super().close()


class MemFileSystem(FileSystem):
    """``memfs://`` for tests: flat keys in a dict, like an object store."""

    @classmethod
    def scheme(cls) -> str:
        return "memfs"

    def join(self, basepath: str, *paths: str) -> str:
        return "/".join([basepath.rstrip("/"), *(p.strip("/") for p in paths)])

    def split(self, path: str) -> tuple[str, str]:
        head, _, tail = path.rpartition("/")
        return head, tail

    def mkdirs(self, path: str) -> None:
        return None  # no folders in an object store

    def has_dirs(self) -> bool:
        return False

    def _list(self, dir_or_prefix: str) -> Any:
        with _LOCK:
            items = [(k, len(v)) for k, v in _STORE.items() if k.startswith(dir_or_prefix)]
        for key, size in items:
            yield FileMetadata(key, size, 0.0)

    def create(self, path: str, mime_type: str = "", compression_type: Any = None) -> Any:
        return _MemWriter(path)

    def open(self, path: str, mime_type: str = "", compression_type: Any = None) -> Any:
        with _LOCK:
            if path not in _STORE:
                raise BeamIOError("not found", {path: FileNotFoundError(path)})
            return io.BytesIO(_STORE[path])

    def copy(self, source_file_names: list[str], destination_file_names: list[str]) -> None:
        with _LOCK:
            for src, dst in zip(source_file_names, destination_file_names, strict=True):
                _STORE[dst] = _STORE[src]

    def rename(self, source_file_names: list[str], destination_file_names: list[str]) -> None:
        with _LOCK:
            for src, dst in zip(source_file_names, destination_file_names, strict=True):
                _STORE[dst] = _STORE.pop(src)

    def exists(self, path: str) -> bool:
        with _LOCK:
            return path in _STORE

    def size(self, path: str) -> int:
        with _LOCK:
            return len(_STORE[path])

    def last_updated(self, path: str) -> float:
        return 0.0

    def checksum(self, path: str) -> str:
        return str(self.size(path))

    def metadata(self, path: str) -> FileMetadata:
        return FileMetadata(path, self.size(path), 0.0)

    def delete(self, paths: list[str]) -> None:
        with _LOCK:
            for path in paths:
                _STORE.pop(path, None)


AT = dt.datetime(2024, 10, 23, 3, 30, tzinfo=dt.UTC)


def _reject(url: str) -> dict:
    return {
        "url": url,
        "feed_url": None,
        "stage": "fetch",
        "reason": "timeout",
        "detail": "",
        "at": AT,
    }


def _mem_files(prefix: str) -> list[str]:
    with _LOCK:
        return sorted(k for k in _STORE if k.startswith(prefix))


def test_writers_and_state_store_use_only_beam_filesystems(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a local "memfs:" folder would show up here
    out = "memfs://bucket/run"
    check_output_writable(out)
    with beam.Pipeline(runner=FnApiRunner(), options=PipelineOptions([])) as p:
        written = (
            p
            | "Rows" >> beam.Create([_reject("a"), _reject("b")])
            | WriteTable(
                output=out,
                table="rejects",
                run_id="r1",
                partition_fn=lambda row: (row["at"].date(), None),
            )
            | VerifyWritten()
        )
        (
            p
            | "State" >> beam.Create([{"key": "url:a", "day": AT.date()}])
            | WriteState(output=out, kind="seen", run_id="r1", after=written)
        )
    assert _mem_files(out) == [
        f"{out}/_state/seen/part-r1.parquet",
        f"{out}/rejects/date=2024-10-23/part-r1-0000-000.parquet",
    ]
    table = pq.read_table(
        io.BytesIO(_STORE[f"{out}/rejects/date=2024-10-23/part-r1-0000-000.parquet"])
    )
    assert sorted(table.column("url").to_pylist()) == ["a", "b"]
    # ... and the state is read back through the same filesystem.
    with beam.Pipeline(runner=FnApiRunner(), options=PipelineOptions([])) as p:
        keys = (
            p
            | ReadState(output=out, kind="seen", horizon_days=30, today=AT.date())
            | beam.Map(lambda row: row["key"])
        )
        assert_that(keys, equal_to(["url:a"]))
    assert os.listdir(tmp_path) == []


def test_windowed_writer_uses_only_beam_filesystems(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = "memfs://bucket/stream"
    options = PipelineOptions([])
    options.view_as(StandardOptions).streaming = True
    t0 = 1_729_641_600
    stream = (
        TestStream()
        .advance_watermark_to(t0)
        .add_elements([TimestampedValue(_reject("a"), t0 + 1)])
        .advance_watermark_to_infinity()
    )
    with beam.Pipeline(options=options) as p:
        _ = (
            p
            | stream
            | WriteWindowedTable(
                output=out,
                table="rejects",
                run_id="s1",
                partition_fn=lambda row: (row["at"].date(), None),
                window=WindowSettings(window_seconds=600),
            )
        )
    assert _mem_files(out) == [
        f"{out}/rejects/date=2024-10-23/part-s1-w{t0 + 600}-p0-0000-000.parquet"
    ]
    assert os.listdir(tmp_path) == []


def test_feeds_file_is_read_through_beam_filesystems():
    with FileSystems.create("memfs://bucket/feeds.txt") as handle:
        handle.write(b"https://example.org/feed.xml region=eastern-asia\n")
    feeds = load_feeds("memfs://bucket/feeds.txt")
    assert [f.url for f in feeds] == ["https://example.org/feed.xml"]


def _load_main() -> Any:
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "deploy" / "main.py"
    spec = importlib.util.spec_from_file_location("wiredesk_template_main", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_template_flags_take_true_or_false():
    main = _load_main()
    argv = ["--once=false", "--streaming_mode=true", "--ignore_robots=False", "--output=gs://b/o"]
    assert main.normalize_flags(argv) == ["--streaming_mode", "--output=gs://b/o"]


@pytest.mark.parametrize("mode", ["--streaming_mode=true", "--once=true"])
def test_template_entry_point_submits_both_graphs(offline, tmp_path, mode):
    _needs_gcp()
    feeds = tmp_path / "feeds.txt"
    feeds.write_text("https://example.org/feed.xml\n")
    argv = [*DATAFLOW_ARGS, f"--feeds={feeds}", "--output=gs://wiredesk-test/out", mode]
    box: dict[str, Any] = {}
    thread = threading.Thread(target=lambda: box.update(rc=_load_main().main(argv)), daemon=True)
    thread.start()
    thread.join(DEADLINE_S)
    assert not thread.is_alive(), "the template entry point hung"
    assert box.get("rc") == 0
    assert offline == []


def test_run_dispatches_streaming_on_a_managed_runner_to_the_unbounded_graph(
    offline, tmp_path, monkeypatch
):
    _needs_gcp()
    from wiredesk.pipelines import run as run_module

    built: list[str] = []
    real = run_module.run_unbounded

    def spy(**kwargs: Any) -> Any:
        built.append("unbounded")
        return real(**kwargs)

    monkeypatch.setattr(run_module, "run_unbounded", spy)
    feeds = tmp_path / "feeds.txt"
    feeds.write_text("https://example.org/feed.xml\n")
    out = tmp_path / "out"
    argv = [*DATAFLOW_ARGS, "--feeds", str(feeds), "--output", str(out), "--streaming-mode"]
    summary = run_module.run(argv)
    assert built == ["unbounded"]
    assert summary.counters == {}
    assert offline == []
