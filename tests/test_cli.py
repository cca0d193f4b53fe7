"""The command line's contract: exit codes, one-line reasons, extract and query."""

from __future__ import annotations

import gzip
import json
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from wiredesk.cli import main

AEB = Path(__file__).parent / "fixtures" / "extraction" / "aeb"
ROOT = Path(__file__).resolve().parents[1]


def _one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) >= 1
    assert err[0].startswith("wiredesk: ")
    return err[0]


def test_the_command_skips_the_exit_sweep_and_keeps_the_exit_code() -> None:
    # The installed `wiredesk` is console(): main(), then gc.freeze() so the interpreter's
    # last garbage sweep (0.2-0.3 s after a run) is skipped. main() itself never freezes.
    code = (
        "import gc, sys; from wiredesk.cli import console, main; "
        "main(['--version']); frozen = gc.get_freeze_count(); "
        "code = console(sys.argv[1:]); print(code, frozen, gc.get_freeze_count() > 0)"
    )
    for argv, expected in ((["--version"], "0 0 True"), (["no-such-command"], "2 0 True")):
        proc = subprocess.run(
            [sys.executable, "-c", code, *argv], capture_output=True, text=True, cwd=ROOT
        )
        assert proc.stdout.splitlines()[-1] == expected, proc.stdout + proc.stderr


def test_unreadable_feeds_file_is_a_one_line_failure(tmp_path, capsys):
    code = main(
        [
            "run",
            "--feeds",
            str(tmp_path / "missing.opml"),
            "--output",
            str(tmp_path / "o"),
            "--once",
        ]
    )
    assert code != 0
    assert "cannot read feeds file" in _one_line_error(capsys)


def test_unusable_feeds_file_is_a_one_line_failure(tmp_path, capsys):
    feeds = tmp_path / "feeds.opml"
    feeds.write_text("<opml><body><outline text='no url'/></body></opml>")
    code = main(["run", "--feeds", str(feeds), "--output", str(tmp_path / "o"), "--once"])
    assert code != 0
    assert "feeds file" in _one_line_error(capsys)


def test_an_endless_feeds_file_is_refused_not_read_to_the_end(tmp_path):
    # /dev/zero never ends: reading it whole ran until memory did. In a subprocess with
    # a memory cap and a deadline, so a regression fails this test and nothing else.
    def cap_memory() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))

    argv = [sys.executable, "-m", "wiredesk.cli", "run", "--feeds", "/dev/zero"]
    argv += ["--output", str(tmp_path / "o"), "--once"]
    proc = subprocess.run(
        argv, capture_output=True, text=True, timeout=120, preexec_fn=cap_memory, cwd=ROOT
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith("wiredesk: ") and "is larger than" in proc.stderr


def test_output_that_is_a_file_is_a_one_line_failure(tmp_path, capsys):
    blocker = tmp_path / "out"
    blocker.write_text("not a folder")
    feeds = tmp_path / "feeds.txt"
    feeds.write_text("http://127.0.0.1:9/feed.xml\n")
    code = main(["run", "--feeds", str(feeds), "--output", str(blocker), "--once"])
    assert code != 0
    assert "cannot write to output" in _one_line_error(capsys)


def test_once_and_streaming_exclude_each_other(tmp_path, capsys):
    code = main(["run", "--feeds", "f", "--output", str(tmp_path), "--once", "--streaming"])
    assert code != 0
    _one_line_error(capsys)


@pytest.mark.parametrize(
    ("option", "value", "says"),
    [
        ("--poll-interval", "0", "--poll-interval must be more than 0"),
        ("--poll-interval", "-5", "--poll-interval must be more than 0"),
        ("--extract-timeout", "0", "--extract-timeout must be more than 0"),
        ("--fetch-timeout", "inf", "--fetch-timeout must be more than 0 (got inf)"),
        ("--connect-timeout", "nan", "--connect-timeout must be more than 0 (got nan)"),
        ("--per-host-concurrency", "0", "--per-host-concurrency must be at least 1"),
        ("--fetch-concurrency", "0", "--fetch-concurrency must be at least 1"),
        ("--extract-workers", "-1", "--extract-workers must be at least 0"),
        ("--per-host-delay", "-0.5", "--per-host-delay must be at least 0"),
        ("--seen-horizon-days", "0", "--seen-horizon-days must be at least 1"),
    ],
)
@pytest.mark.parametrize("mode", ["--once", "--streaming"])
def test_an_out_of_range_option_fails_at_once_in_one_line(
    tmp_path, capsys, option, value, says, mode
):
    # These used to run (a per-host limit of 0, -1 workers) or to fail mid-run with a
    # traceback (a zero poll interval when streaming).
    feeds = tmp_path / "feeds.txt"
    feeds.write_text("http://127.0.0.1:9/feed.xml\n")
    argv = ["run", "--feeds", str(feeds), "--output", str(tmp_path / "o"), mode, option, value]
    assert main(argv) == 2
    assert says in _one_line_error(capsys)
    assert not (tmp_path / "o").exists()  # nothing was started


def test_missing_required_options(capsys):
    assert main(["run", "--once"]) != 0
    assert "--output is required" in _one_line_error(capsys)


def test_run_help_lists_every_option(capsys):
    from wiredesk.pipelines.options import OPTION_SPECS

    assert main(["run", "--help"]) == 0
    out = capsys.readouterr().out
    for spec in OPTION_SPECS:
        if spec.name != "streaming-mode":
            assert f"--{spec.name}" in out


def test_unknown_command(capsys):
    assert main(["frobnicate"]) != 0
    _one_line_error(capsys)


def test_extract_prints_the_pipeline_fields_as_json(tmp_path, capsys):
    key = sorted((AEB / "html").glob("*.html.gz"))[0]
    page = tmp_path / "page.html"
    page.write_bytes(gzip.decompress(key.read_bytes()))
    assert main(["extract", str(page), "--url", "https://example.com/story"]) == 0
    record = json.loads(capsys.readouterr().out)
    for field in (
        "text",
        "title",
        "language",
        "dateline",
        "agency",
        "country",
        "region",
        "word_count",
        "content_hash",
    ):
        assert field in record
    assert record["word_count"] > 20


def test_extract_of_a_page_without_an_article_prints_why_and_exits_1(tmp_path, capsys):
    # A script running `wiredesk extract page.html && ...` must be able to tell.
    page = tmp_path / "menu.html"
    page.write_text("<html><body><nav><a href='/'>Home</a></nav></body></html>")
    assert main(["extract", str(page)]) == 1
    record = json.loads(capsys.readouterr().out)
    assert record["error"] == "empty_text" and record["detail"]
    binary = tmp_path / "noise.html"
    binary.write_bytes(bytes(range(256)) * 8)
    assert main(["extract", str(binary)]) == 1
    assert json.loads(capsys.readouterr().out)["error"] in {"parse_error", "empty_text"}


def test_extract_of_a_missing_file_fails_in_one_line(tmp_path, capsys):
    assert main(["extract", str(tmp_path / "nope.html")]) != 0
    assert "cannot read" in _one_line_error(capsys)


def test_query_of_a_missing_output_fails_in_one_line(tmp_path, capsys):
    assert main(["query", str(tmp_path / "nothing"), "SELECT 1"]) != 0
    assert "no such output folder" in _one_line_error(capsys)


def test_query_on_an_empty_output_sees_empty_tables(tmp_path, capsys):
    assert (
        main(["query", str(tmp_path), "SELECT count(*) AS n FROM articles", "--format", "csv"]) == 0
    )
    assert capsys.readouterr().out.strip().splitlines() == ["n", "0"]


def test_bad_sql_fails_in_one_line(tmp_path, capsys):
    assert main(["query", str(tmp_path), "SELEC nonsense"]) != 0
    _one_line_error(capsys)


def test_local_runs_skip_the_construction_type_check_unless_asked() -> None:
    from wiredesk.pipelines.run import without_construction_type_check

    assert without_construction_type_check(["--once"]) == ["--once", "--no_pipeline_type_check"]
    for asked in (["--pipeline_type_check"], ["--no_pipeline_type_check"]):
        assert without_construction_type_check(asked) == asked


def test_the_local_graph_passes_beams_construction_type_check(tmp_path) -> None:
    # Local runs build it without the check (above); this keeps a wiring error failing.
    import apache_beam as beam
    from apache_beam.options.pipeline_options import PipelineOptions, TypeOptions

    from wiredesk.pipelines.graph import build_graph
    from wiredesk.pipelines.options import RunConfig
    from wiredesk.pipelines.run import load_feeds

    feeds = tmp_path / "feeds.txt"
    feeds.write_text("http://127.0.0.1:9/feed.xml\n", encoding="utf-8")
    args = ["--feeds", str(feeds), "--output", str(tmp_path / "out"), "--once"]
    options = PipelineOptions([*args, "--pipeline_type_check"])
    assert options.view_as(TypeOptions).pipeline_type_check
    config = RunConfig.from_options(options)
    p = beam.Pipeline(options=options)
    outputs = build_graph(p, config, load_feeds(config.feeds))
    assert outputs is not None
