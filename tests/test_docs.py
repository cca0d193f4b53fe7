"""The design lives in the repository: nothing cites a file outside it, and every cited doc exists.

Three checks, over what ``git ls-files`` tracks:

* no text file cites the design notes that used to live outside the repository (the
  patterns are built from pieces, so this file is scanned like any other);
* every ``docs/<file>.md`` a file mentions exists, every section it cites as
  ``docs/<file>.md, "Section"`` is a heading of that file, and every relative link in the
  Markdown pages (with its ``#anchor``) points at something that exists;
* ``wiredesk --help`` and the sub-commands' help cite no missing file.
"""

from __future__ import annotations

import re
import subprocess
import sys
import unicodedata
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Citations of places outside the repository: the old design card and notes, the folder
# they lived in, and the machine's work tree. (Built from pieces so that this file's own
# source does not match them.)
OUTSIDE = re.compile(
    "|".join(
        [
            r"\.\./" + "shared",
            r"(?<![\w.:-])/" + "work/",
            r"\b" + "DESIGN" + r"\.md\b",
            r"\b" + "NOTES" + r"\.md\b",
        ]
    )
)

# Docs that another change writes. While such a file does not exist yet, references to it
# are not checked; test_allowlist_only_names_missing_docs fails as soon as it exists, so
# the entry is removed then. (The lead writes docs/syndication.md; remove it from this set
# in that change.)
WRITTEN_BY_ANOTHER_CHANGE: frozenset[str] = frozenset()

# ``docs/<page>.md`` not preceded by a path or URL character (a URL ending in docs/<page>.md is not ours).
DOC_REF = re.compile(r"(?<![\w./:-])(docs/[\w.-]+\.md)")
# ``docs/<page>.md, "Section"`` (also with curly quotes): a section of that page.
SECTION_REF = re.compile(r"(?<![\w./:-])(docs/[\w.-]+\.md|BENCHMARKS\.md),? [\"“]([^\"”\n]+)[\"”]")
# A Markdown link or image: [text](target) or [text](target "title").
MD_LINK = re.compile(r"!?\[[^\]\n]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
MD_PAGES = ("README.md", "BENCHMARKS.md", "deploy/README.md")


@cache
def tracked_files() -> tuple[str, ...]:
    out = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout.decode("utf-8")
    return tuple(name for name in out.split("\0") if name)


@cache
def tracked_texts() -> tuple[tuple[str, str], ...]:
    """(path, text) of every tracked text file (symlinks and binary files left out)."""
    texts = []
    for name in tracked_files():
        path = ROOT / name
        if path.is_symlink() or not path.is_file():
            continue
        data = path.read_bytes()
        if b"\0" in data:
            continue  # binary (gzip, images)
        texts.append((name, data.decode("utf-8", errors="replace")))
    return tuple(texts)


def markdown_pages() -> list[str]:
    docs = sorted(name for name in tracked_files() if re.fullmatch(r"docs/[^/]+\.md", name))
    return docs + [name for name in MD_PAGES if name in tracked_files()]


def github_slug(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces to '-'."""
    text = heading.strip().lower()
    kept = "".join(ch for ch in text if ch in " -_" or unicodedata.category(ch)[0] in ("L", "N"))
    return kept.replace(" ", "-")


def headings(path: Path) -> list[str]:
    """The headings of a Markdown file, as written (code blocks skipped)."""
    found = []
    fenced = False
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
            continue
        match = re.match(r"#{1,6}\s+(.*?)\s*#*\s*$", line)
        if match and not fenced:
            found.append(match.group(1))
    return found


def anchors(path: Path) -> set[str]:
    seen: dict[str, int] = {}
    result = set()
    for heading in headings(path):
        slug = github_slug(heading.replace("`", ""))
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        result.add(slug if count == 0 else f"{slug}-{count}")
    return result


def pending(doc: str) -> bool:
    """Whether ``doc`` is written by another change and does not exist yet."""
    return doc in WRITTEN_BY_ANOTHER_CHANGE and not (ROOT / doc).exists()


def broken_links(page: str) -> Iterator[str]:
    """The relative links of a Markdown page that point at nothing (or at no heading)."""
    base = (ROOT / page).parent
    fenced = False
    for number, line in enumerate((ROOT / page).read_text(encoding="utf-8").splitlines(), 1):
        if line.lstrip().startswith("```"):
            fenced = not fenced
        if fenced:
            continue
        for target in MD_LINK.findall(line):
            if re.match(r"[a-z][a-z0-9+.-]*:", target, re.I):
                continue  # https:, mailto:, ...
            file_part, _, anchor = target.partition("#")
            resolved = (base / file_part).resolve() if file_part else (ROOT / page).resolve()
            where = f"{page}:{number}: {target}"
            try:
                relative = resolved.relative_to(ROOT).as_posix()
            except ValueError:
                yield f"{where} (outside the repository)"
                continue
            if pending(relative):
                continue
            if not resolved.exists():
                yield f"{where} (no such file)"
            elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
                yield f"{where} (no such heading)"


def test_no_file_cites_a_path_outside_the_repository():
    hits = [
        f"{name}:{text.count(chr(10), 0, match.start()) + 1}: {match.group(0)}"
        for name, text in tracked_texts()
        for match in OUTSIDE.finditer(text)
    ]
    assert not hits, "cites a path outside the repository:\n" + "\n".join(hits)


def test_every_cited_doc_exists():
    missing = sorted(
        f"{name}: {doc}"
        for name, text in tracked_texts()
        for doc in set(DOC_REF.findall(text))
        if not pending(doc) and not (ROOT / doc).is_file()
    )
    assert not missing, "cites a doc that does not exist:\n" + "\n".join(missing)


def test_every_cited_section_is_a_heading_of_its_doc():
    missing = []
    for name, text in tracked_texts():
        for doc, section in set(SECTION_REF.findall(text)):
            if pending(doc) or not (ROOT / doc).is_file():
                continue  # a missing doc is test_every_cited_doc_exists' failure
            titles = [title.replace("`", "") for title in headings(ROOT / doc)]
            if not any(title.startswith(section) for title in titles):
                missing.append(f'{name}: {doc}, "{section}"')
    assert not missing, "cites a section that is no heading:\n" + "\n".join(sorted(missing))


def test_relative_links_in_the_docs_point_at_files_that_exist():
    pages = markdown_pages()
    assert "docs/architecture.md" in pages and "README.md" in pages
    broken = [link for page in pages for link in broken_links(page)]
    assert not broken, "broken links:\n" + "\n".join(broken)


def test_allowlist_only_names_missing_docs():
    written = sorted(doc for doc in WRITTEN_BY_ANOTHER_CHANGE if (ROOT / doc).exists())
    assert not written, f"now in the repository, remove from WRITTEN_BY_ANOTHER_CHANGE: {written}"


@pytest.mark.parametrize(
    "argv",
    [
        ["--help"],
        *([command, "--help"] for command in ("run", "demo", "query", "extract", "compact")),
    ],
    ids=lambda argv: " ".join(argv),
)
def test_help_cites_no_missing_file(argv):
    proc = subprocess.run(
        [sys.executable, "-m", "wiredesk.cli", *argv],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    text = proc.stdout
    assert not OUTSIDE.search(text), text
    cited = re.findall(r"(?<![\w./:-])((?:[\w-]+/)*[\w-]+\.(?:md|py|toml))\b", text)
    missing = [path for path in cited if not pending(path) and not (ROOT / path).is_file()]
    assert not missing, f"wiredesk {' '.join(argv)} cites missing files: {missing}"
    if argv == ["--help"]:
        assert "docs/output-contract.md" in cited  # the check above saw the citation
