"""``.//*[self::div or self::p][P]`` as ``(.//div|.//p)[P]``: the same elements, cheaper.

trafilatura's XPaths pick their candidates with a name test in a predicate,
``.//*[self::div or self::list or self::section][...]``. libxml2 then evaluates a
``self::`` sub-expression per name for every element of the tree, while ``.//div`` is
a name test it makes while walking the tree. :func:`rewrite_name_tests` writes the
step as a union of name tests, in parentheses, followed by the same predicates.

Both select the same elements in the same (document) order as long as no predicate
depends on the position of an element: in a step, ``[1]`` counts among the children of
one parent; after a parenthesized union, among all. So the rewrite applies only when
every following predicate is a boolean (an ``or``/``and``, a comparison, a call of
``not``, ``contains``, ``starts-with``, ``boolean``, ``re:test``..., or a location path
alone, true when it finds something) and never mentions ``position()`` or ``last()``:
``.//*[self::div][P][1]`` is kept as written. It also needs the step to start an
expression (at its start, after ``(`` or ``|``), where a parenthesized union may stand.

Example:
    >>> from wiredesk.transforms.extract.xpath_unions import rewrite_name_tests
    >>> rewrite_name_tests(".//*[self::div or self::p][contains(@class, 'x')]")
    "(.//div|.//p)[contains(@class, 'x')]"
    >>> rewrite_name_tests(".//*[self::div or self::p][contains(@class, 'x')][1]")
    ".//*[self::div or self::p][contains(@class, 'x')][1]"
"""

from __future__ import annotations

import re

__all__ = ["blank_strings", "outside_brackets", "rewrite_name_tests"]

_NAME_STEP = re.compile(
    r"(?:^|(?<=[(|]))(?P<ws>\s*)(?P<axis>\.?//)\*\[\s*"
    r"(?P<names>self::[\w-]+(?:\s+or\s+self::[\w-]+)*)\s*\]"
)
_BOOLEAN_CALL = re.compile(r"(?:not|contains|starts-with|boolean|true|false|lang|re:test)\s*\(")
_POSITIONAL = re.compile(r"\b(?:position|last)\s*\(")
_TOP_LEVEL_BOOLEAN = re.compile(r"\s(?:or|and)\s|[=<>]")
# A location path alone (a node-set, true when not empty): no spaces, hence no operator,
# and ``*`` only as a wildcard.
_PATH_ONLY = re.compile(r"[.@/][\w.@/:|-]*(?:(?<=[/@:])\*[\w.@/:|-]*)*")


def rewrite_name_tests(path: str) -> str:
    """``path`` with each name-test step made a union where that selects the same."""
    code = blank_strings(path)
    pieces, done = [], 0
    for match in _NAME_STEP.finditer(code):
        predicates, end = [], match.end()
        while (start := _skip_spaces(code, end)) < len(code) and code[start] == "[":
            end = _closing(code, start)
            if end < 0:
                return path  # unbalanced: not ours to touch
            predicates.append(code[start + 1 : end - 1])
        if not predicates or not all(_non_positional(p) for p in predicates):
            continue
        names = dict.fromkeys(re.findall(r"self::([\w-]+)", match["names"]))
        union = "(" + "|".join(match["axis"] + name for name in names) + ")"
        pieces += [path[done : match.start("axis")], union]
        done = match.end()
    return "".join(pieces) + path[done:]


def _non_positional(predicate: str) -> bool:
    """Whether a predicate (string literals blanked) is a boolean that ignores position."""
    body = predicate.strip()
    if _POSITIONAL.search(body):
        return False
    while body.startswith("(") and _closing(body, 0) == len(body):
        body = body[1:-1].strip()  # (P) is P
    top = outside_brackets(body)
    if _TOP_LEVEL_BOOLEAN.search(top):
        return True
    if " " not in body and _PATH_ONLY.fullmatch(top.replace(" ", "")):
        return True
    call = _BOOLEAN_CALL.match(body)
    return call is not None and _closing(body, call.end() - 1) == len(body)


def blank_strings(path: str) -> str:
    """``path`` with the inside of every string literal blanked, lengths kept, so that
    brackets, operators and names inside strings count for nothing."""
    return re.sub(r"'[^']*'|\"[^\"]*\"", lambda m: m[0][0] + "_" * (len(m[0]) - 2) + m[0][0], path)


def _skip_spaces(code: str, index: int) -> int:
    while index < len(code) and code[index].isspace():
        index += 1
    return index


def _closing(code: str, start: int) -> int:
    """The index after the bracket that closes the one at ``start``; -1 if none."""
    depth = 0
    for index in range(start, len(code)):
        if code[index] in "[(":
            depth += 1
        elif code[index] in "])":
            depth -= 1
            if depth == 0:
                return index + 1
    return -1


def outside_brackets(code: str, brackets: str = "[(") -> str:
    """``code`` with everything inside the given kinds of bracket blanked, lengths kept
    (``"["`` alone: a path's steps without their predicates)."""
    closing = {"[": "]", "(": ")"}
    ends = "".join(closing[b] for b in brackets)
    depth, kept = 0, []
    for char in code:
        if char in brackets:
            depth += 1
        kept.append(char if depth == 0 else " ")
        if char in ends:
            depth -= 1
    return "".join(kept)
