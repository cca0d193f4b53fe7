"""The literal strings a small regular expression searches for, when it is only that.

``re.search(pattern, s)`` with a pattern such as ``^shar|bread-?crumb|post[-_]?content``
asks whether ``s`` contains one of a finite set of strings (``breadcrumb``,
``bread-crumb``, ...), or starts with one (the ``^`` branches). :func:`literal_branches`
expands a pattern into that set, so that a caller can test it with plain substring and
prefix checks (:mod:`wiredesk.transforms.extract.literal_xpaths` turns it into XPath 1.0's
``contains()`` and ``starts-with()``). A branch may also say which longer prefixes must
*not* follow: ``^comment(?!ary)`` starts with ``comment`` but not with ``commentary``.

The subset is what such vocabularies use: literal characters, ``\\`` before punctuation,
classes of literal characters (``[-_]``, ``[Cc]``), groups with alternatives, ``?`` and
bounded ``{m,n}`` after an atom, ``^`` where nothing was consumed before it, and a
negative lookahead of literals in a branch anchored at the start. Anything else (``.``,
``*``, ``+``, ``\\s``, ``$``, ranges, negated classes, more than ``limit`` strings) gives
None: the caller keeps the regular expression. Within the subset the expansion is exact;
``tests/test_regex_literals.py`` checks it against :func:`re.search` on generated strings.

Example:
    >>> [(b.text, b.anchored) for b in literal_branches("^shar|bread-?crumb")]
    [('shar', True), ('breadcrumb', False), ('bread-crumb', False)]
    >>> literal_branches("^[Cc]omment(?!ary)")[0].not_prefixed_by
    ('Commentary',)
    >>> literal_branches(r"(^|\\s)bottom") is None
    True
"""

from __future__ import annotations

import dataclasses
import itertools

__all__ = ["LiteralBranch", "literal_branches"]

# Characters with a meaning in a pattern; every other character stands for itself.
_SPECIAL = frozenset("\\.^$*+?{}[]|()")
# After a backslash, these stand for themselves (``\\-``, ``\\.``); a backslash before a
# letter or digit is a class, an anchor or a reference, none of which is in the subset.
_ESCAPABLE = frozenset("\\.^$*+?{}[]|()-/ _#&~,:;'\"<>=!@%")


@dataclasses.dataclass(frozen=True)
class LiteralBranch:
    """One string the pattern searches for.

    ``anchored``: only at the start of the subject. ``not_prefixed_by`` (anchored
    branches only): the subject must start with none of these (each begins with
    ``text``'s prefix up to the lookahead)."""

    text: str
    anchored: bool
    not_prefixed_by: tuple[str, ...] = ()


class _Unsupported(Exception):
    """The pattern leaves the subset."""


@dataclasses.dataclass(frozen=True)
class _Piece:
    anchored: bool
    text: str
    forbidden: tuple[str, ...]  # subject prefixes (from the match start) that must not be there


_EMPTY = _Piece(anchored=False, text="", forbidden=())


def literal_branches(pattern: str, *, limit: int = 256) -> tuple[LiteralBranch, ...] | None:
    """Every string ``re.search(pattern, s)`` looks for, or None outside the subset.

    ``re.search(pattern, s)`` finds a match exactly when, for some branch, ``s`` contains
    ``text`` (or, if ``anchored``, starts with it and with none of ``not_prefixed_by``).
    At most ``limit`` branches: more gives None. An empty tuple means the pattern can
    never match.
    """
    parser = _Parser(pattern, limit)
    try:
        pieces = parser.alternation()
        if parser.pos != len(pattern):
            raise _Unsupported(f"unbalanced ) at {parser.pos}")
    except _Unsupported:
        return None
    branches: list[LiteralBranch] = []
    for piece in pieces:
        if piece.forbidden and not piece.anchored:
            return None  # "somewhere, not followed by": no plain substring test says it
        branches.append(LiteralBranch(piece.text, piece.anchored, piece.forbidden))
    return tuple(dict.fromkeys(branches))


class _Parser:
    """Recursive descent over the subset; each method returns the pieces it expands to."""

    def __init__(self, pattern: str, limit: int) -> None:
        self.pattern = pattern
        self.pos = 0
        self.limit = limit

    def _peek(self) -> str | None:
        return self.pattern[self.pos] if self.pos < len(self.pattern) else None

    def _take(self, expected: str) -> None:
        if not self.pattern.startswith(expected, self.pos):
            raise _Unsupported(f"expected {expected!r} at {self.pos}")
        self.pos += len(expected)

    def alternation(self) -> list[_Piece]:
        pieces = self.sequence()
        while self._peek() == "|":
            self.pos += 1
            pieces = pieces + self.sequence()
        if len(pieces) > self.limit:
            raise _Unsupported("too many strings")
        return pieces

    def sequence(self) -> list[_Piece]:
        pieces = [_EMPTY]
        while (char := self._peek()) is not None and char not in "|)":
            atom = self.quantified(self.atom())
            pieces = [joined for a, b in itertools.product(pieces, atom) if (joined := _join(a, b))]
            if len(pieces) > self.limit:
                raise _Unsupported("too many strings")
        return pieces

    def quantified(self, atom: list[_Piece]) -> list[_Piece]:
        char = self._peek()
        if char == "?":
            self.pos += 1
            low, high = 0, 1
        elif char == "{":
            low, high = self._bounds()
        elif char in ("*", "+"):
            raise _Unsupported("unbounded repetition")
        else:
            return atom
        if self._peek() in ("?", "+"):
            raise _Unsupported("lazy or possessive quantifier")
        if any(p.anchored or p.forbidden for p in atom):
            raise _Unsupported("quantified anchor or lookahead")
        result: list[_Piece] = []
        for count in range(low, high + 1):
            for combo in itertools.product(atom, repeat=count):
                result.append(_Piece(False, "".join(p.text for p in combo), ()))
                if len(result) > self.limit:
                    raise _Unsupported("too many strings")
        return list(dict.fromkeys(result))

    def _bounds(self) -> tuple[int, int]:
        end = self.pattern.find("}", self.pos)
        body = self.pattern[self.pos + 1 : end] if end > 0 else ""
        low_text, comma, high_text = body.partition(",")
        if not low_text.isdigit() or (comma and not high_text.isdigit()):
            raise _Unsupported("not a bounded repetition")
        low = int(low_text)
        high = int(high_text) if comma else low
        if high < low:
            raise _Unsupported("bad bounds")
        self.pos = end + 1
        return low, high

    def atom(self) -> list[_Piece]:
        char = self._peek()
        assert char is not None
        if char == "(":
            return self._group()
        if char == "[":
            return self._char_class()
        if char == "^":
            self.pos += 1
            return [_Piece(anchored=True, text="", forbidden=())]
        if char == "\\":
            escaped = self.pattern[self.pos + 1 : self.pos + 2]
            if escaped not in _ESCAPABLE or not escaped:
                raise _Unsupported("escape outside the subset")
            self.pos += 2
            return [_Piece(False, escaped, ())]
        if char in _SPECIAL:
            raise _Unsupported(f"{char!r} outside the subset")
        self.pos += 1
        return [_Piece(False, char, ())]

    def _group(self) -> list[_Piece]:
        if self.pattern.startswith("(?!", self.pos):
            self.pos += 3
            inner = self.alternation()
            self._take(")")
            if any(p.anchored or p.forbidden for p in inner):
                raise _Unsupported("anchor or lookahead inside a lookahead")
            if any(p.text == "" for p in inner):
                return []  # (?!) and (?!x?) never let a match through
            return [_Piece(False, "", tuple(p.text for p in inner))]
        if self.pattern.startswith("(?:", self.pos):
            self.pos += 3
        elif self.pattern.startswith("(?", self.pos):
            raise _Unsupported("group kind outside the subset")
        else:
            self.pos += 1  # a capturing group: captures change nothing for a search
        inner = self.alternation()
        self._take(")")
        return inner

    def _char_class(self) -> list[_Piece]:
        end = self.pattern.find("]", self.pos + 1)
        body = self.pattern[self.pos + 1 : end] if end > 0 else ""
        if not body or body[0] in "^]" or "\\" in body or "[" in body:
            raise _Unsupported("class outside the subset")
        if "-" in body[1:-1] or any(pair in body for pair in ("&&", "--", "~~", "||")):
            raise _Unsupported("range or set operation")
        self.pos = end + 1
        return [_Piece(False, char, ()) for char in dict.fromkeys(body)]


def _join(first: _Piece, second: _Piece) -> _Piece | None:
    """``first`` then ``second``; None where that can never match (``^`` after text)."""
    if second.anchored and first.text:
        return None
    return _Piece(
        anchored=first.anchored or second.anchored,
        text=first.text + second.text,
        forbidden=first.forbidden + tuple(first.text + f for f in second.forbidden),
    )
