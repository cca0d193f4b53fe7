"""The import contract that keeps the house: read from the source with ``ast``, run in CI.

* **Pure modules never import Beam.** Every module under ``transforms/`` except the
  ``stage*.py`` modules and the ``io`` package (Beam I/O throughout) is pure: it imports
  neither ``apache_beam`` nor, transitively, any module of ours that does, not even
  inside a function (an extraction worker imports them, and must not pay for Beam).
  Imports under ``if TYPE_CHECKING:`` run only for type checkers and do not count.
* **transforms never imports pipelines**: stages are built into graphs, not the reverse.
* **schemas imports nothing of ours** outside itself: it is the contract every other
  layer reads.
* **transforms/ holds stage sub-packages** and at most three modules of its own.
* **Every ``wiredesk.x.y`` import resolves by plain path** in the source tree
  (``wiredesk/transforms`` is a link to ``transforms/``): what editors, pyright and mypy
  follow without an install. ``from wiredesk.a import b`` resolves when ``b`` is a
  module there, or a name the module defines or exports.
"""

from __future__ import annotations

import ast
import functools
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "wiredesk"
TRANSFORMS = ROOT / "transforms"
# Every folder of the repository that holds Python code of ours.
CODE_FOLDERS = (
    "wiredesk",
    "pipelines",
    "transforms",
    "schemas",
    "tests",
    "bench",
    "scripts",
    "deploy",
)
MAX_TRANSFORMS_MODULES = 3


@dataclass(frozen=True)
class Import:
    """One imported module (``import m`` or ``from m import name``) and where it is."""

    module: str
    names: tuple[str, ...]  # for ``from m import a, b``; () for ``import m``
    line: int
    type_checking: bool  # under ``if TYPE_CHECKING:``


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _walk(node: ast.AST, type_checking: bool = False) -> Iterator[tuple[ast.AST, bool]]:
    """Every node below ``node``, with whether it sits under ``if TYPE_CHECKING:``."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and _is_type_checking(child.test):
            for stmt in child.body:
                yield stmt, True
                yield from _walk(stmt, True)
            for stmt in child.orelse:
                yield stmt, type_checking
                yield from _walk(stmt, type_checking)
            continue
        yield child, type_checking
        yield from _walk(child, type_checking)


@functools.cache
def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _show(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def _module_name(path: Path) -> str:
    """``transforms/fetch/stage.py`` -> ``wiredesk.transforms.fetch.stage``."""
    if not path.is_relative_to(ROOT):
        return path.stem
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts if parts[0] == "wiredesk" else ["wiredesk", *parts])


def imports_of(path: Path) -> list[Import]:
    """Every import in the file, at any depth (inside functions too)."""
    found = []
    package = (
        _module_name(path) if path.name == "__init__.py" else _module_name(path).rpartition(".")[0]
    )
    for node, type_checking in _walk(_tree(path)):
        if isinstance(node, ast.Import):
            found += [Import(a.name, (), node.lineno, type_checking) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:  # relative: resolve against this module's package
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                module = ".".join([*base, module] if module else base)
            names = tuple(a.name for a in node.names)
            found.append(Import(module, names, node.lineno, type_checking))
    return found


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.py") if "__pycache__" not in p.parts)


def _repo_files() -> list[Path]:
    files: list[Path] = []
    for name in CODE_FOLDERS:
        folder = ROOT / name
        if name == "wiredesk":  # its links lead to the top-level folders, listed on their own
            files += [p for p in _files(folder) if not _through_link(p)]
        elif folder.is_dir():
            files += _files(folder)
    return files


def _through_link(path: Path) -> bool:
    rel = path.relative_to(PACKAGE)
    return (PACKAGE / rel.parts[0]).is_symlink()


def is_pure(path: Path) -> bool:
    """A module under transforms/ that must not import Beam."""
    rel = path.relative_to(TRANSFORMS)
    return rel.parts[0] != "io" and not path.name.startswith("stage")


def _pure_modules() -> list[Path]:
    return [p for p in _files(TRANSFORMS) if is_pure(p)]


def resolve_module(module: str) -> Path | None:
    """The file of ``wiredesk.a.b`` by plain path in the source tree, or None."""
    parts = module.split(".")
    if parts[0] != "wiredesk":
        return None
    base = ROOT.joinpath(*parts)
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


@functools.cache
def _names_defined(path: Path) -> frozenset[str]:
    """Top-level names of a module: defined, assigned, imported, or listed in ``__all__``."""
    names: set[str] = set()
    for node in _tree(path).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                names |= {n.id for n in ast.walk(target) if isinstance(n, ast.Name)}
            if any(isinstance(t, ast.Name) and t.id == "__all__" for t in targets) and isinstance(
                node.value, ast.List | ast.Tuple
            ):
                names |= {e.value for e in node.value.elts if isinstance(e, ast.Constant)}
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
        elif isinstance(node, ast.If):  # e.g. TYPE_CHECKING imports, try/except fallbacks
            for sub in ast.walk(node):
                if isinstance(sub, ast.Import | ast.ImportFrom):
                    names |= {(a.asname or a.name).split(".")[0] for a in sub.names}
    return frozenset(names)


def _our_modules(imp: Import) -> list[str]:
    """The modules of ours an import loads: ``from a import b`` loads ``a.b`` when b is one."""
    if not imp.module.startswith("wiredesk"):
        return []
    loaded = [imp.module]
    loaded += [f"{imp.module}.{n}" for n in imp.names if resolve_module(f"{imp.module}.{n}")]
    return loaded


def _beam_paths(path: Path, seen: frozenset[Path] = frozenset()) -> list[str]:
    """How a module reaches apache_beam at run time (imports of ours followed), or []."""
    for imp in imports_of(path):
        if imp.type_checking:
            continue
        if imp.module == "apache_beam" or imp.module.startswith("apache_beam."):
            return [f"{_show(path)}:{imp.line} imports {imp.module}"]
        for module in _our_modules(imp):
            target = resolve_module(module)
            if target is None or target in seen or target == path:
                continue
            below = _beam_paths(target, seen | {path})
            if below:
                return [f"{_show(path)}:{imp.line} imports {module}", *below]
    return []


# ---- the contract -------------------------------------------------------------------------


def test_the_layout_has_what_the_contract_reads() -> None:
    # Guards the guards: an empty glob would make every test below pass vacuously.
    pure = _pure_modules()
    assert len(pure) > 30
    assert any(p.name.startswith("stage") for p in _files(TRANSFORMS))
    assert (PACKAGE / "transforms").is_symlink() and (
        PACKAGE / "transforms"
    ).resolve() == TRANSFORMS


@pytest.mark.parametrize("path", _pure_modules(), ids=lambda p: str(p.relative_to(TRANSFORMS)))
def test_pure_modules_never_import_beam(path: Path) -> None:
    chain = _beam_paths(path)
    assert not chain, "a pure module reaches Apache Beam:\n  " + "\n  ".join(chain)


def test_pure_modules_import_without_beam_at_run_time() -> None:
    # The same rule, checked by the interpreter: import every pure module in a fresh process.
    modules = [_module_name(p) for p in _pure_modules()]
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "print('apache_beam' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split()[-1] == "False"


def test_transforms_never_import_pipelines() -> None:
    bad = [
        f"{path.relative_to(ROOT)}:{imp.line} imports {imp.module}"
        for path in _files(TRANSFORMS)
        for imp in imports_of(path)
        if imp.module == "wiredesk.pipelines"
        or imp.module.startswith("wiredesk.pipelines.")
        or (imp.module == "wiredesk" and "pipelines" in imp.names)
    ]
    assert not bad, bad


def test_schemas_import_nothing_of_ours() -> None:
    bad = [
        f"{path.relative_to(ROOT)}:{imp.line} imports {imp.module}"
        for path in _files(ROOT / "schemas")
        for imp in imports_of(path)
        if imp.module == "wiredesk"
        or (imp.module.startswith("wiredesk.") and not imp.module.startswith("wiredesk.schemas"))
    ]
    assert _files(ROOT / "schemas") and not bad, bad


def test_transforms_holds_stage_packages_and_few_modules() -> None:
    modules = [p.name for p in TRANSFORMS.glob("*.py") if p.name != "__init__.py"]
    assert len(modules) <= MAX_TRANSFORMS_MODULES, modules
    folders = [p for p in TRANSFORMS.iterdir() if p.is_dir() and p.name != "__pycache__"]
    assert folders and all((p / "__init__.py").is_file() for p in folders), folders


def test_every_import_of_ours_resolves_by_plain_path() -> None:
    unresolved = []
    for path in _repo_files():
        for imp in imports_of(path):
            if not (imp.module == "wiredesk" or imp.module.startswith("wiredesk.")):
                continue
            target = resolve_module(imp.module)
            if target is None:
                unresolved.append(f"{path.relative_to(ROOT)}:{imp.line}: no file for {imp.module}")
                continue
            for name in imp.names:
                if name == "*" or resolve_module(f"{imp.module}.{name}"):
                    continue
                if name not in _names_defined(target):
                    unresolved.append(
                        f"{path.relative_to(ROOT)}:{imp.line}: {imp.module} has no {name}"
                    )
    assert not unresolved, "\n".join(unresolved)


def test_the_contract_catches_what_it_forbids(tmp_path: Path) -> None:
    # The checks themselves, on a module written to break the rules.
    bad = tmp_path / "probe.py"
    bad.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    import apache_beam\n"
        "def later():\n"
        "    from wiredesk.transforms.no_such import thing\n"
        "    from wiredesk.transforms.fetch import stage_fetcher\n"
    )
    imps = imports_of(bad)
    assert [i.type_checking for i in imps] == [False, True, False, False]
    assert resolve_module(imps[2].module) is None
    chain = _beam_paths(bad)  # not the TYPE_CHECKING import: the lazy one of a stage module
    assert chain[0].endswith("imports wiredesk.transforms.fetch.stage_fetcher"), chain
    assert chain[-1].endswith("imports apache_beam"), chain
    assert not is_pure(TRANSFORMS / "fetch" / "stage_fetcher.py")
    assert not is_pure(TRANSFORMS / "io" / "parquet_read.py")
