"""deploy/: the Dockerfile, the Flex Template metadata and the hash lock agree with the code."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import pytest

from wiredesk.pipelines.options import OPTION_SPECS, RunConfig

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
FLAG_REGEX = r"^(true|false)$"


def _instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of a Dockerfile: comments dropped, continuations joined."""
    out: list[tuple[str, str]] = []
    current = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not current and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        current += line
        word, _, rest = current.partition(" ")
        out.append((word.upper(), rest.strip()))
        current = ""
    assert not current, "dangling line continuation"
    return out


@pytest.fixture(scope="module")
def dockerfile() -> list[tuple[str, str]]:
    return _instructions((DEPLOY / "Dockerfile").read_text())


def _args(instructions: list[tuple[str, str]]) -> dict[str, str]:
    found = {}
    for word, rest in instructions:
        if word == "ARG" and "=" in rest:
            name, value = rest.split("=", 1)
            found[name] = value
    return found


def test_dockerfile_bases_are_pinned(dockerfile):
    args = _args(dockerfile)
    bases = [
        re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], rest.split()[0])
        for word, rest in dockerfile
        if word == "FROM"
    ]
    assert len(bases) == 3
    for image in bases:
        name, _, tag = image.partition("@")[0].rpartition(":")
        assert "@sha256:" in image or (tag and tag != "latest"), image
    beam_sdk = next(b for b in bases if "beam_python" in b)
    assert beam_sdk.startswith("apache/beam_python3.11_sdk:")
    # The SDK image is the version the lock installs (launcher, workers, job agree).
    lock = (DEPLOY / "requirements.lock").read_text()
    found = re.search(r"^apache-beam==(\S+)", lock, re.M)
    assert found is not None
    beam_version = found.group(1)
    assert beam_sdk.endswith(":" + beam_version)
    python = next(b for b in bases if b.startswith("python:"))
    assert python.startswith("python:3.11")
    assert any("python311-template-launcher-base" in b for b in bases)


def test_dockerfile_installs_only_hash_checked_packages(dockerfile):
    runs = " ".join(rest for word, rest in dockerfile if word == "RUN")
    installs = re.findall(r"pip install ([^&]*)", runs)
    assert installs, "no pip install"
    for args in installs:
        assert "--require-hashes" in args or "--no-deps" in args, args
        if "-r " in args:
            assert "--require-hashes" in args, args
    assert "requirements.lock" in runs and "build-requirements.lock" in runs
    assert "pip check" in runs


def test_dockerfile_has_what_flex_templates_need(dockerfile):
    copies = " ".join(rest for word, rest in dockerfile if word == "COPY")
    assert "/opt/apache/beam" in copies
    assert "/opt/google/dataflow/python_template_launcher" in copies
    env = " ".join(rest for word, rest in dockerfile if word == "ENV")
    found = re.search(r"FLEX_TEMPLATE_PYTHON_PY_FILE=(\S+)", env)
    assert found is not None
    py_file = found.group(1)
    assert any(
        rest.endswith(py_file) and "deploy/main.py" in rest for w, rest in dockerfile if w == "COPY"
    )
    # Nothing is installed when the launcher starts: no requirements or setup file.
    assert "FLEX_TEMPLATE_PYTHON_REQUIREMENTS_FILE" not in env
    assert "FLEX_TEMPLATE_PYTHON_SETUP_FILE" not in env
    entry = [rest for word, rest in dockerfile if word == "ENTRYPOINT"]
    assert entry and json.loads(entry[-1]) == ["/opt/apache/beam/boot"]
    # Every source folder the package is built from is copied in.
    for folder in ("wiredesk", "pipelines", "transforms", "schemas"):
        assert f"COPY {folder} " in "\n".join(f"{w} {r}" for w, r in dockerfile)


def _metadata() -> dict:
    return json.loads((DEPLOY / "metadata.json").read_text())


def test_metadata_lists_every_option_with_its_regex_and_nothing_else():
    meta = _metadata()
    assert meta["name"] and meta["description"]
    params = {p["name"]: p for p in meta["parameters"]}
    assert len(params) == len(meta["parameters"]), "duplicate parameter"
    assert set(params) == {spec.dest for spec in OPTION_SPECS}
    for spec in OPTION_SPECS:
        param = params[spec.dest]
        assert "-" not in param["name"]  # Flex Template names may not hold dashes
        assert param["label"] and param["helpText"].startswith(spec.help)
        assert isinstance(param["isOptional"], bool)
        expected = FLAG_REGEX if spec.action == "store_true" else spec.regex
        assert param.get("regexes", [None]) == [expected], spec.name
        for regex in param.get("regexes", []):
            re.compile(regex)
    assert params["output"]["isOptional"] is False


def test_metadata_is_what_make_metadata_writes():
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_metadata", DEPLOY / "make_metadata.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.metadata() == _metadata()


def _locked(path: Path) -> dict[str, list[str]]:
    """name -> hashes of each pinned requirement of a pip-compile lock file."""
    pins: dict[str, list[str]] = {}
    current = ""
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        assert not line.startswith(("--index-url", "--extra-index-url", "--find-links")), line
        pin = re.match(r"^([A-Za-z0-9_.-]+)==([^\s\\;]+)", line)
        if pin:
            current = pin.group(1).lower().replace("_", "-")
            pins[current] = []
        for digest in re.findall(r"--hash=sha256:([0-9a-f]+)", line):
            assert len(digest) == 64
            pins[current].append(digest)
    return pins


@pytest.mark.parametrize("lock", ["requirements.lock", "build-requirements.lock"])
def test_lock_files_hash_every_pin(lock):
    pins = _locked(DEPLOY / lock)
    assert pins
    for name, hashes in pins.items():
        assert hashes, f"{name} has no hash"


def test_lock_pins_the_project_dependencies_and_the_gcp_extra():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    lock_text = (DEPLOY / "requirements.lock").read_text()
    pins = _locked(DEPLOY / "requirements.lock")
    wanted = list(pyproject["project"]["dependencies"]) + list(
        pyproject["project"]["optional-dependencies"]["gcp"]
    )
    for requirement in wanted:
        parsed = re.match(r"^([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?==(\S+)$", requirement)
        assert parsed is not None, requirement
        name, version = parsed.groups()
        key = name.lower().replace("_", "-")
        assert key in pins, name
        assert re.search(rf"^{re.escape(key)}=={re.escape(version)} ", lock_text, re.M | re.I), (
            requirement
        )
    # The gcp extra's packages are there (the dry run and gs:// need them).
    for extra in ("google-cloud-storage", "google-apitools", "google-auth"):
        assert extra in pins


@pytest.mark.parametrize("value", ["0", "00", "0.0", "0.", ".5", "0.5", "1", "01", "2.5", "30"])
def test_each_numeric_regex_accepts_what_the_run_accepts(value: str) -> None:
    # A Flex Template launch is refused by the regex, a CLI run by RunConfig: the same
    # values must pass both, so a Dataflow job never starts only to fail on its options.
    for spec in OPTION_SPECS:
        if spec.type not in (int, float):
            continue
        try:
            parsed = spec.type(value)
            RunConfig(feeds="f", output="o", **{spec.dest: parsed})
            runs = True
        except ValueError:
            runs = False
        assert bool(re.fullmatch(spec.regex or "", value)) == runs, (spec.name, value)
