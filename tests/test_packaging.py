"""`pip install .` (not only editable) gives a working package: subpackages, sample, command."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(ROOT)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    (found,) = out.glob("wiredesk-*.whl")
    return found


def test_wheel_holds_every_subpackage_and_the_sample(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for package in ("pipelines", "transforms", "schemas"):
        sources = {p.name for p in (ROOT / package).glob("*.py")}
        packed = {n.rsplit("/", 1)[1] for n in names if n.startswith(f"wiredesk/{package}/")}
        assert sources <= packed, sources - packed
    assert "wiredesk/sample/sample.json" in names
    pages = [n for n in names if n.startswith("wiredesk/sample/pages/")]
    assert len(pages) >= 15
    assert "wiredesk/py.typed" in names
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert re.search(
        r"wiredesk\s*=\s*wiredesk\.cli:console", zipfile.ZipFile(wheel).read(entry_points).decode()
    )
    # Nothing from the repository's tests or the shared corpus rides along.
    assert not [n for n in names if n.startswith(("tests/", "shared/"))]


def test_installed_wheel_runs_the_demo_without_the_source_tree(wheel, tmp_path):
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--target",
            str(target),
            str(wheel),
        ],
        check=True,
    )
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); import wiredesk, wiredesk.transforms; "
        "assert wiredesk.transforms.__file__.startswith(sys.argv[1]), wiredesk.transforms.__file__; "
        "from wiredesk.cli import console; sys.exit(console(['demo', '--output', sys.argv[2]]))"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    result = subprocess.run(
        [sys.executable, "-c", code, str(target), str(tmp_path / "demo")],
        cwd=tmp_path,  # not the checkout: the wheel alone must do
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    assert "Rows per region and date" in result.stdout
    assert list((tmp_path / "demo" / "articles").rglob("*.parquet"))
