r"""trafilatura's XPaths rewritten to cost less, selecting the same elements.

trafilatura prunes boilerplate, finds the body and finds authors with XPath expressions
such as ``.//*[self::div or self::p][re:test(@class, '^shar|social|bread-?crumb|...')]``.
Two things in them cost more than they need to (``bench/xpath_cost.py``):

- ``re:test`` is EXSLT, which libxml2 evaluates by calling back into Python (lxml's
  EXSLT module) for every element the predicate meets, at a few microseconds a call:
  60-75 % of what the expressions cost;
- a name test written as a predicate (``*[self::div or self::p]``) is a sub-expression
  per name for every element of the tree, where ``.//div`` is a name test made while
  walking it.

py-spy put the pruning at 22 % of an extraction worker's time. :func:`cheaper_xpath`
rewrites an expression in four ways, each exact:

- **A test whose subject is absent makes no call.** An absent attribute reads as the
  empty string, so ``re:test(@id, P)`` is false without an ``id`` whenever ``P`` cannot
  match an empty string: it becomes ``((@id) and re:test(@id, P))``. Most elements have
  no ``id``, and many no ``class``.
- **Short literal patterns become string tests.** A pattern that
  :func:`~wiredesk.transforms.extract.regex_literals.literal_branches` expands into at
  most :data:`MAX_LITERAL_TESTS` strings becomes ``contains()``/``starts-with()`` tests,
  which libxml2 runs alone. Longer unions stay regular expressions: there, one call costs
  less than dozens of string tests.
- **Name tests are made while walking** (:mod:`~wiredesk.transforms.extract.xpath_unions`):
  ``(.//div|.//p)[P]``, where no predicate depends on position.
- **Arguments without proxies.** The rebuilt expressions pass attribute values to
  ``re:test`` as plain strings (``smart_strings=False``) instead of "smart" strings that
  carry their parent element; that changes no result of an expression that selects
  elements, and only those are rebuilt.

Why the selection stays the same:

- the subject is converted to a string the same way: ``re:test(@id|@class, ...)`` reads
  the first attribute in document order, as ``contains()`` and ``starts-with()`` do;
- ``re:test``'s ``i`` flag (Python's ``re.IGNORECASE``) becomes ``translate()`` of the
  subject to lower case, including the four characters that fold onto ASCII letters
  (``İ ı`` onto ``i``, ``ſ`` onto ``s``, the Kelvin sign onto ``k``); a pattern with any
  other character under that flag keeps its callback;
- ``tests/test_cheaper_xpaths.py`` compares every rebuilt trafilatura expression with
  its original on the golden pages and on generated trees, and the extraction of every
  golden page with and without them.

:func:`use_cheaper_xpaths` rebuilds trafilatura's expression lists in place (its modules
hold the list objects, so they see the new expressions), once per process. Only the
processes that exist to extract call it (the workers through the forkserver's warm-up,
and ExtractText's set-up on distributed runners), like the element class lookup next to
it. :func:`use_trafilatura_xpaths` puts the originals back.

Example:
    >>> from wiredesk.transforms.extract.cheaper_xpaths import cheaper_xpath, rewrite_regex_tests
    >>> rewrite_regex_tests(".//*[re:test(@class, '^shar|bread-?crumb')]").path
    ".//*[((@class) and (starts-with(@class, 'shar') or contains(@class, 'breadcrumb') or contains(@class, 'bread-crumb')))]"
    >>> rewrite_regex_tests(".//*[re:test(@id, '(^|\\s)link')]").path
    ".//*[((@id) and re:test(@id, '(^|\\s)link'))]"
    >>> cheaper_xpath(".//*[self::div or self::p][re:test(@id, 'nav|menu')]")
    "(.//div|.//p)[((@id) and (contains(@id, 'nav') or contains(@id, 'menu')))]"
"""

from __future__ import annotations

import dataclasses
import re
import threading
from typing import Any

from wiredesk.transforms.extract.regex_literals import LiteralBranch, literal_branches
from wiredesk.transforms.extract.xpath_unions import (
    blank_strings,
    outside_brackets,
    rewrite_name_tests,
)

__all__ = [
    "MAX_LITERAL_TESTS",
    "Rewritten",
    "cheaper_xpath",
    "literal_test",
    "rewrite_regex_tests",
    "trafilatura_expressions",
    "use_cheaper_xpaths",
    "use_trafilatura_xpaths",
]

REGEXP_NS = "http://exslt.org/regular-expressions"
# Up to this many contains()/starts-with() tests cost less than one callback
# (bench/xpath_cost.py: 4 and 8 measure alike, 16 costs more on the long unions).
MAX_LITERAL_TESTS = 8

# re:test(SUBJECT, 'PATTERN'[, 'FLAGS']) with SUBJECT one attribute or a union of them.
_RE_TEST = re.compile(
    r"re:test\(\s*(?P<subject>@[\w-]+(?:\s*\|\s*@[\w-]+)*)\s*,"
    r"\s*'(?P<pattern>[^']*)'\s*(?:,\s*'(?P<flags>[^']*)'\s*)?\)"
)
# Under re.IGNORECASE these characters match an ASCII letter besides its two cases
# (checked over every code point by tests/test_cheaper_xpaths.py).
_FOLDED_FROM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ\u0130\u0131\u017f\u212a"
_FOLDED_TO = "abcdefghijklmnopqrstuvwxyziisk"
# Characters that under re.IGNORECASE match only themselves and their ASCII case partner.
_FOLDABLE = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-_ ")
# What a location path outside its predicates must not name for its result to be
# elements only: attributes, text and other non-element nodes.
_NON_ELEMENT_STEP = re.compile(
    r"@|attribute::|text\(\)|node\(\)|comment\(\)|processing-instruction"
)


@dataclasses.dataclass(frozen=True)
class Rewritten:
    """An XPath's new text and what became of its ``re:test`` calls: replaced by string
    tests, kept behind a check that the subject exists, or kept as written."""

    path: str
    literal: int
    guarded: int
    kept: int


def literal_test(
    subject: str, pattern: str, *, ignore_case: bool = False, max_tests: int = MAX_LITERAL_TESTS
) -> str | None:
    """An XPath 1.0 boolean that is ``re:test(subject, pattern[, 'i'])`` without a
    callback, or None: outside the subset, or more than ``max_tests`` string tests."""
    branches = literal_branches(pattern)
    if branches is None:
        return None
    if ignore_case:
        strings = [s for b in branches for s in (b.text, *b.not_prefixed_by)]
        if any(not s.isascii() or not set(s.lower()) <= _FOLDABLE for s in strings):
            return None
        subject = f"translate({subject}, '{_FOLDED_FROM}', '{_FOLDED_TO}')"
        lowered = (
            LiteralBranch(b.text.lower(), b.anchored, tuple(f.lower() for f in b.not_prefixed_by))
            for b in branches
        )
        branches = tuple(dict.fromkeys(lowered))
    if not branches:
        return "false()"
    needed = _without_redundant(branches)
    if sum(1 + len(b.not_prefixed_by) for b in needed) > max_tests:
        return None
    tests = []
    for branch in needed:
        text = _string_literal(branch.text)
        forbidden = [_string_literal(f) for f in branch.not_prefixed_by]
        if text is None or None in forbidden:
            return None
        if not branch.anchored:
            tests.append(f"contains({subject}, {text})")
            continue
        test = f"starts-with({subject}, {text})"
        for literal in forbidden:
            test += f" and not(starts-with({subject}, {literal}))"
        tests.append(f"({test})" if forbidden else test)
    return "(" + " or ".join(tests) + ")"


def rewrite_regex_tests(path: str, *, max_literal_tests: int = MAX_LITERAL_TESTS) -> Rewritten:
    """``path`` with each ``re:test`` made cheaper where that selects the same elements
    (the module's docstring says how); any other ``re:test`` is kept as written."""
    counts = {"literal": 0, "guarded": 0}

    def replace(match: re.Match[str]) -> str:
        subject, pattern, flags = match["subject"], match["pattern"], match["flags"] or ""
        if not set(flags) <= {"i"}:
            return match.group(0)
        guard = _never_matches_empty(pattern, flags)
        test = literal_test(subject, pattern, ignore_case="i" in flags, max_tests=max_literal_tests)
        if test is not None:
            counts["literal"] += 1
        elif guard:
            counts["guarded"] += 1
            test = match.group(0)
        else:
            return match.group(0)
        if guard:
            exists = " or ".join(part.strip() for part in subject.split("|"))
            test = f"(({exists}) and {test})"
        return test

    new_path = _RE_TEST.sub(replace, path)
    kept = path.count("re:test(") - counts["literal"] - counts["guarded"]
    return Rewritten(new_path, counts["literal"], counts["guarded"], kept)


def cheaper_xpath(path: str) -> str:
    """``path`` with both rewrites: its ``re:test`` calls, then its name tests."""
    return rewrite_name_tests(rewrite_regex_tests(path).path)


_ORIGINALS: dict[str, list[Any]] = {}
_LOCK = threading.Lock()


def use_cheaper_xpaths() -> int:
    """Rebuild trafilatura's XPath lists in place with :func:`cheaper_xpath`; returns
    how many expressions were rebuilt (0 when called again in this process)."""
    from lxml.etree import XPath
    from trafilatura import xpaths

    rebuilt = 0
    with _LOCK:
        for name, value in vars(xpaths).items():
            if name in _ORIGINALS or not _is_xpath_list(value):
                continue
            new_items = []
            for expression in value:
                path = expression.path
                cheaper = cheaper_xpath(path)
                if cheaper != path and _rebuildable(path):
                    namespaces = {"re": REGEXP_NS}
                    new_items.append(XPath(cheaper, namespaces=namespaces, smart_strings=False))
                else:
                    new_items.append(expression)
            changed = sum(new is not old for new, old in zip(new_items, value, strict=True))
            if changed:
                _ORIGINALS[name] = list(value)
                value[:] = new_items
                rebuilt += changed
    return rebuilt


def trafilatura_expressions() -> dict[str, list[Any]]:
    """trafilatura's XPath lists as trafilatura wrote them, rebuilt in this process or not
    (copies: changing them changes nothing)."""
    from trafilatura import xpaths

    with _LOCK:
        lists = {name: list(v) for name, v in vars(xpaths).items() if _is_xpath_list(v)}
        lists.update((name, list(v)) for name, v in _ORIGINALS.items())
    return lists


def use_trafilatura_xpaths() -> None:
    """Put back the expressions :func:`use_cheaper_xpaths` replaced."""
    from trafilatura import xpaths

    with _LOCK:
        for name, originals in _ORIGINALS.items():
            getattr(xpaths, name)[:] = originals
        _ORIGINALS.clear()


def _never_matches_empty(pattern: str, flags: str) -> bool:
    try:
        return re.search(pattern, "", re.IGNORECASE if "i" in flags else 0) is None
    except re.error:
        return False


def _is_xpath_list(value: object) -> bool:
    from lxml.etree import XPath

    return isinstance(value, list) and bool(value) and all(isinstance(x, XPath) for x in value)


def _rebuildable(path: str) -> bool:
    """Whether the rebuilt XPath means the same: ``re`` is the only namespace prefix
    (the only one it binds), and the path selects elements only (so that plain strings
    instead of smart ones change no result)."""
    code = blank_strings(path)
    prefixes = set(re.findall(r"(?<![:\w.-])([A-Za-z_][\w.-]*):(?!:)", code))
    return prefixes <= {"re"} and not _NON_ELEMENT_STEP.search(outside_brackets(code, "["))


def _without_redundant(branches: tuple[LiteralBranch, ...]) -> list[LiteralBranch]:
    """Drop branches another implies: a text containing a shorter unanchored one, or an
    anchored text extending a bare anchored one."""
    loose = [b.text for b in branches if not b.anchored]
    bare_prefixes = [b.text for b in branches if b.anchored and not b.not_prefixed_by]
    needed = []
    for branch in branches:
        if any(other in branch.text for other in loose if other != branch.text or branch.anchored):
            continue
        if branch.anchored and any(
            branch.text.startswith(p) and (p != branch.text or branch.not_prefixed_by)
            for p in bare_prefixes
        ):
            continue
        needed.append(branch)
    return needed


def _string_literal(text: str) -> str | None:
    if "'" not in text:
        return f"'{text}'"
    if '"' not in text:
        return f'"{text}"'
    return None
