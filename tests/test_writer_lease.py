"""The writer lease as the CLI applies it (pipelines/writer_lease.py): who is refused, how.

These runs are refused before any graph is built, so they call ``main()`` in
this process: a second local ``--streaming`` writer stops at once with exit
code 75 and one line; a batch run into an OUT that a streaming job on a managed
runner has marked as its own is refused at once too, whatever it would wait.
"""

from __future__ import annotations

import json
import os

import pytest

from wiredesk.cli import main
from wiredesk.pipelines.options import RunConfig
from wiredesk.pipelines.writer_lease import EXIT_LEASE_BUSY, stream_job_mark, writer_lease
from wiredesk.transforms.io.lease import LeaseBusy


def _run_args(tmp_path, *extra: str) -> list[str]:
    feeds = tmp_path / "feeds.txt"
    feeds.write_text("http://127.0.0.93:9/feed.xml\n")  # never fetched: refused before
    return ["run", "--feeds", str(feeds), "--output", str(tmp_path / "out"), *extra]


def _newest_record(out) -> dict:
    folder = out / "_lease"
    return json.loads(max(p for p in folder.iterdir() if p.name.endswith(".json")).read_bytes())


def test_a_second_local_streaming_writer_is_refused_at_once(tmp_path, capsys):
    config = RunConfig(feeds=None, output=str(tmp_path / "out"), wire_dir="w", run_id="first")
    with writer_lease(config, mode="streaming") as lease:
        assert lease is not None
        capsys.readouterr()
        assert main(_run_args(tmp_path, "--streaming")) == EXIT_LEASE_BUSY == 75
        err = capsys.readouterr().err.splitlines()
    assert len(err) == 1, err
    assert err[0].startswith("wiredesk: OUT is being written by run first (streaming, ")
    assert f"pid {os.getpid()}" in err[0] and "stopping at once" in err[0]
    assert _newest_record(tmp_path / "out")["mode"] == "released"


def test_a_batch_run_beside_a_streaming_job_is_refused_at_once(tmp_path, capsys):
    config = RunConfig(feeds=None, output=str(tmp_path / "out"), wire_dir="w", run_id="stream")
    with stream_job_mark(config):
        pass  # the job was submitted: the mark stays
    assert _newest_record(tmp_path / "out")["mode"] == "stream-job"
    capsys.readouterr()
    assert main(_run_args(tmp_path, "--once", "--wait-for-lock", "600")) == 75
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1, err
    assert "OUT is owned by streaming job run stream" in err[0]
    assert "drain the job" in err[0]
    # A second streaming job is refused as well.
    second = RunConfig(feeds=None, output=str(tmp_path / "out"), wire_dir="w")
    with pytest.raises(LeaseBusy, match="streaming job run stream"), stream_job_mark(second):
        pass


def test_a_streaming_job_that_was_not_submitted_leaves_no_mark(tmp_path):
    config = RunConfig(feeds=None, output=str(tmp_path / "out"), wire_dir="w", run_id="stream")
    with pytest.raises(RuntimeError, match="submission failed"), stream_job_mark(config):
        raise RuntimeError("submission failed")
    assert _newest_record(tmp_path / "out")["mode"] == "released"


def test_a_dry_run_takes_no_lease(tmp_path):
    config = RunConfig(feeds=None, output=str(tmp_path / "out"), wire_dir="w")
    with stream_job_mark(config, beam_args=["--dry_run=True"]):
        pass
    assert not (tmp_path / "out" / "_lease").exists()


@pytest.mark.parametrize(
    ("field", "value"),
    [("wait_for_lock", -1.0), ("lease_heartbeat", 0.0), ("wait_for_lock", float("nan"))],
)
def test_lease_options_are_checked_at_the_start(field, value):
    with pytest.raises(ValueError, match=field.replace("_", "-")):
        RunConfig(feeds="f", output="o", **{field: value})


def test_the_lease_options_reach_the_config(tmp_path, capsys):
    # --lease-heartbeat 0 is refused with its name, like every numeric option.
    assert main(_run_args(tmp_path, "--once", "--lease-heartbeat", "0")) == 2
    assert "--lease-heartbeat must be more than 0" in capsys.readouterr().err
