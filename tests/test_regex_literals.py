"""literal_branches says exactly when re.search matches, or declines.

Every pattern of trafilatura's XPaths and a set written to reach each construct of the
subset are checked against ``re.search`` on strings generated from the pattern itself:
each branch's text, cut short, with one character changed, with neighbours on either
side, in other letter cases, followed by what a lookahead forbids, and random strings
over the pattern's own characters.
"""

from __future__ import annotations

import random
import re

import pytest

from wiredesk.transforms.extract.regex_literals import LiteralBranch, literal_branches

RE_TEST = re.compile(r"re:test\([^,]+,\s*'([^']*)'")

CONSTRUCTS = [
    "",
    "cookie",
    "^shar|social|bread-?crumb",
    "post[-_]?content|(?:entry|page|text)-content",
    "article(?:-|__)?body",
    "^(?:nav|post-nav|ZendeskForm)",
    "(?:^| )ad-| ad ",
    "^[Cc]omment(?!ary)|(?:article|post)-comments",
    "^(?:[Cc]omment(?!ary)|comol|disqus_thread)",
    "notice[-_]{0,2}cookie",
    "a{2}b|c{1,3}",
    "^x(?!y|zz)",
    "^x(?!y)w",
    "^a(?!)",
    "^comment[s-]",
    "a\\-b\\.c",
    "(a|b)(c|)",
    "b^a|^c",
    "a|^",
]
DECLINED = [
    "foo.bar",
    "a+b",
    "a*",
    "[a-z]x",
    "[^x]",
    "(?i)abc",
    "(?=a)b",
    "a??",
    "a{2,}",
    "a{x",
    "a)",
    "x(?!y|zz)z?",  # "somewhere, not followed by"
    "(^|\\s)bottom|bottom(\\s|$)",
    "bottom$",
    "\\d",
    "[a\\]]",
]


def trafilatura_patterns() -> list[str]:
    from trafilatura import settings

    from wiredesk.transforms.extract.cheaper_xpaths import trafilatura_expressions

    paths = [x.path for expressions in trafilatura_expressions().values() for x in expressions]
    paths.append(settings.BASIC_CLEAN_XPATH.path)
    return sorted({p for path in paths for p in RE_TEST.findall(path)})


def search_by_branches(branches: tuple[LiteralBranch, ...], subject: str) -> bool:
    for b in branches:
        if not b.anchored and b.text in subject:
            return True
        if (
            b.anchored
            and subject.startswith(b.text)
            and not any(subject.startswith(f) for f in b.not_prefixed_by)
        ):
            return True
    return False


def subjects_for(pattern: str, branches: tuple[LiteralBranch, ...] | None) -> list[str]:
    rng = random.Random(pattern)
    alphabet = sorted(set(re.sub(r"[\\^$()?:!|{}\[\]]", "", pattern)) | {"x", " ", "-"})
    seeds = [b.text for b in branches or ()]
    seeds += [f for b in branches or () for f in b.not_prefixed_by]
    seeds += re.findall(r"[\w -]+", pattern)
    subjects = {""}
    for seed in seeds:
        for variant in (seed, seed.upper(), seed.lower(), seed.swapcase(), seed[:-1], seed[1:]):
            subjects.update(
                {variant, f"x{variant}", f"{variant}x", f" {variant} ", f"ab {variant}"}
            )
        for i in range(len(seed)):
            subjects.add(seed[:i] + rng.choice(alphabet) + seed[i + 1 :])
        subjects.update(seed + rng.choice(["ary", "y", "zz", "s", "-", ""]) for _ in range(4))
    for _ in range(300):
        subjects.add("".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12))))
    return sorted(subjects)


@pytest.mark.parametrize("pattern", CONSTRUCTS + DECLINED + trafilatura_patterns())
def test_branches_match_exactly_when_re_search_does(pattern):
    branches = literal_branches(pattern)
    if branches is None:
        return  # declined: the caller keeps the regular expression
    for subject in subjects_for(pattern, branches):
        expected = re.search(pattern, subject) is not None
        assert search_by_branches(branches, subject) == expected, (pattern, subject)


def test_trafilatura_patterns_are_found_and_mostly_within_the_subset():
    patterns = trafilatura_patterns()
    assert len(patterns) >= 30
    declined = [p for p in patterns if literal_branches(p) is None]
    # Only the whitespace-delimited ones (\s, $) are outside the subset.
    assert declined and all("\\s" in p for p in declined), declined


@pytest.mark.parametrize("pattern", DECLINED)
def test_patterns_outside_the_subset_are_declined(pattern):
    assert literal_branches(pattern) is None


def test_expansions_and_anchors():
    assert [(b.text, b.anchored) for b in literal_branches("(?:^| )ad-")] == [
        ("ad-", True),
        (" ad-", False),
    ]
    assert literal_branches("b^a|^c") == (LiteralBranch("c", True),)
    assert literal_branches("^a(?!)") == ()
    assert literal_branches("^x(?!y)w") == (LiteralBranch("xw", True, ("xy",)),)
    assert len(literal_branches("notice[-_]{0,2}cookie")) == 7


def test_too_many_strings_are_declined():
    assert literal_branches("[ab][cd][ef][gh]", limit=16) is not None
    assert literal_branches("[ab][cd][ef][gh][ij]", limit=16) is None
