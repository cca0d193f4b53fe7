"""Lint (ruff) and types (mypy) are part of the test suite, so CI runs them too."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SUBPACKAGES = ("pipelines", "transforms", "schemas")


def _tool(name: str) -> str:
    found = shutil.which(name, path=os.path.dirname(sys.executable)) or shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed: pip install -e '.[test]'")
    return found


def test_ruff_is_clean():
    result = subprocess.run(
        [_tool("ruff"), "check", "--no-cache", "."], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_is_clean(tmp_path):
    # mypy cannot follow setuptools' package-dir mapping; give it the installed
    # layout (wiredesk/{pipelines,transforms,schemas}) as a tree of links.
    package = tmp_path / "wiredesk"
    package.mkdir()
    for item in (ROOT / "wiredesk").iterdir():
        if item.name != "__pycache__":
            (package / item.name).symlink_to(item)
    for name in SUBPACKAGES:
        (package / name).symlink_to(ROOT / name)
    result = subprocess.run(
        [
            _tool("mypy"),
            "--config-file",
            str(ROOT / "pyproject.toml"),
            "--no-incremental",
            "-p",
            "wiredesk",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-2000:]
