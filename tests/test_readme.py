"""The README's Quickstart is exactly two command lines, and CI runs the second verbatim."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _quickstart_lines() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```(?:bash|sh)?\n(.*?)```", section, re.S)
    assert len(blocks) == 1, "the Quickstart holds one fenced block"
    return [line for line in blocks[0].splitlines() if line.strip()]


def test_quickstart_is_two_command_lines():
    lines = _quickstart_lines()
    assert len(lines) == 2
    assert "wiredesk demo" in lines[0]
    assert "pytest" in lines[1]
    for line in lines:
        assert line.startswith("python3 -m venv"), "each line does all of its own set-up"


def test_ci_runs_the_readme_test_line():
    script = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "## Quickstart" in script and "lines[1]" in script
