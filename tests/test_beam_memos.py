"""The run installs its memos in front of Beam's functions once, and runs through them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from apache_beam.transforms import core, userstate

from wiredesk.pipelines.arg_specs import ArgumentsPerFunction, remember_function_arguments
from wiredesk.pipelines.dofn_specs import SpecsPerDoFn, remember_dofn_specs
from wiredesk.pipelines.options import RunConfig
from wiredesk.pipelines.run import run_cycle

MEMOS = [
    (userstate, "get_dofn_specs", remember_dofn_specs, SpecsPerDoFn),
    (core, "get_function_args_defaults", remember_function_arguments, ArgumentsPerFunction),
]


def _beams(module: Any, name: str) -> Any:
    """Beam's own function, whether or not this process has already wrapped it."""
    current = getattr(module, name)
    return getattr(current, "__wrapped__", current)


@pytest.mark.parametrize(("module", "name", "install", "memo"), MEMOS)
def test_installing_twice_wraps_once(
    monkeypatch: pytest.MonkeyPatch, module: Any, name: str, install: Callable[[], None], memo: type
) -> None:
    beams = _beams(module, name)
    monkeypatch.setattr(module, name, beams)
    install()
    installed = getattr(module, name)
    install()
    assert isinstance(installed, memo)
    assert getattr(module, name) is installed
    assert installed.__wrapped__ is beams


def test_a_run_asks_through_both(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for module, name, _install, _memo in MEMOS:
        monkeypatch.setattr(module, name, _beams(module, name))
    warc = tmp_path / "empty.warc.gz"
    warc.write_bytes(b"")
    config = RunConfig(feeds=None, warc=[str(warc)], output=str(tmp_path / "out"))
    run_cycle(config=config, feeds=[])
    for module, name, _install, memo in MEMOS:
        installed = getattr(module, name)
        assert isinstance(installed, memo)
        assert installed.answers_kept > 20
