"""Local in-memory runs start the extraction workers while the graph is built."""

from __future__ import annotations

import pytest
from apache_beam.options.pipeline_options import PipelineOptions

import wiredesk.pipelines.run as run_module


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        ([], True),
        (["--runner", "DirectRunner"], True),
        (["--direct_running_mode", "in_memory"], True),
        # The DoFns run in other processes: a pool here would only idle.
        (["--direct_running_mode", "multi_processing"], False),
        (["--runner", "DataflowRunner"], False),
    ],
)
def test_who_extracts_in_this_process(argv: list[str], expected: bool) -> None:
    assert run_module._extracts_in_this_process(PipelineOptions(argv)) is expected


def test_run_once_starts_the_pool_ahead(tmp_path, monkeypatch) -> None:
    from wiredesk.pipelines.options import RunConfig
    from wiredesk.schemas.records import FeedSource

    started: list[tuple[int, float]] = []
    monkeypatch.setattr(
        run_module,
        "prestart_pool",
        lambda *, workers, timeout: started.append((workers, timeout)),
    )
    feeds_file = tmp_path / "feeds.txt"
    feeds_file.write_text("")
    argv = ["--feeds", str(feeds_file), "--output", str(tmp_path / "out"), "--once"]
    argv += ["--extract-workers", "1", "--allow-private-addresses"]
    config = RunConfig.from_options(PipelineOptions(argv))
    feed = FeedSource(url="http://127.0.0.1:9/closed.xml")  # refused at once, on loopback
    run_module.run_cycle(config=config, feeds=[feed], beam_args=argv)
    assert started == [(1, config.extract_timeout)]
    started.clear()
    local_processes = [*argv, "--direct_running_mode", "multi_processing"]
    run_module.run_cycle(config=config, feeds=[feed], beam_args=local_processes)
    assert started == []
