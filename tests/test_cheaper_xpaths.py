"""trafilatura's rebuilt XPaths select what the originals select, and extract the same.

Three levels: each ``re:test`` against its string tests on generated attribute values
(absent, empty, both attribute orders, other letter cases and the characters that fold
onto ASCII letters); each rebuilt trafilatura expression against its original on the
golden pages' trees and on a generated tree; and ``extract_page`` on every golden page
with the rebuilt expressions and with trafilatura's own.
"""

from __future__ import annotations

import gzip
import random
import re
import subprocess
import sys
from html import escape
from pathlib import Path

import pytest
from lxml import etree
from trafilatura import xpaths as trafilatura_xpaths
from trafilatura.utils import load_html

from wiredesk.transforms.extract import cheaper_xpaths
from wiredesk.transforms.extract.cheaper_xpaths import (
    REGEXP_NS,
    literal_test,
    rewrite_regex_tests,
    trafilatura_expressions,
    use_cheaper_xpaths,
    use_trafilatura_xpaths,
)
from wiredesk.transforms.extract.page import extract_page
from wiredesk.transforms.extract.regex_literals import literal_branches

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "extraction"
NS = {"re": REGEXP_NS}
RE_TEST = re.compile(r"re:test\((@[\w-]+(?:\|@[\w-]+)*), '([^']*)'(?:, '([^']*)')?\)")


@pytest.fixture
def trafilatura_lists():
    """trafilatura's own expressions during the test; afterwards, whatever was there."""
    installed = bool(cheaper_xpaths._ORIGINALS)
    use_trafilatura_xpaths()
    yield
    use_trafilatura_xpaths()
    if installed:
        use_cheaper_xpaths()


def lists_in_use() -> dict[str, list[etree.XPath]]:
    """The lists trafilatura's modules use now (rebuilt or not)."""
    return {
        name: list(value)
        for name, value in vars(trafilatura_xpaths).items()
        if isinstance(value, list) and value and isinstance(value[0], etree.XPath)
    }


def golden_pages() -> list[tuple[str, str]]:
    return [
        (path.name, gzip.decompress(path.read_bytes()).decode("utf-8", "replace"))
        for path in sorted(FIXTURES.rglob("*.html.gz"))
    ]


def test_the_case_folding_table_is_what_python_regex_folds():
    """translate() maps exactly the characters re.IGNORECASE matches to each ASCII letter,
    and the other characters allowed under the flag match only themselves."""
    everything = "".join(chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF)
    table = str.maketrans(cheaper_xpaths._FOLDED_FROM, cheaper_xpaths._FOLDED_TO)
    for char in sorted(cheaper_xpaths._FOLDABLE):
        matched = set(re.compile(re.escape(char), re.IGNORECASE).findall(everything))
        translated = {
            c for c in matched | set(cheaper_xpaths._FOLDED_FROM) if c.translate(table) == char
        }
        assert matched == translated | {char}, char


def attribute_values(pattern: str) -> list[str]:
    rng = random.Random(pattern)
    words = re.findall(r"[A-Za-z][\w-]*", pattern) or ["x"]
    words += [b.text for b in literal_branches(pattern) or () if b.text]
    values = {"", " ", "x"}
    for word in words:
        for variant in (word, word.upper(), word.capitalize(), word.swapcase(), word[:-1]):
            values.update({variant, f"a {variant}", f"{variant}-b", f"x{variant}", f"{variant}ary"})
        folded = word.replace("i", "\u0130").replace("s", "\u017f").replace("k", "\u212a")
        values.update({folded, word.replace("i", "\u0131"), f"y {folded}"})
    for _ in range(40):
        values.add(" ".join(rng.choice(words) + rng.choice(["", "s", "-", "_x"]) for _ in range(2)))
    return sorted(values)


def tree_of(values: list[str]) -> etree._Element:
    """One element per value and attribute order: class first, id first, each alone."""
    items = []
    for value in values:
        v = escape(value, quote=True)
        items += [
            f'<p class="{v}" id="other">.</p>',
            f'<p id="{v}" class="other">.</p>',
            f'<p class="{v}" style="{v}">.</p>',
            f'<p id="{v}">.</p>',
            f'<p class="{v}">.</p>',
            "<p>.</p>",
        ]
    return etree.fromstring("<div>" + "".join(items) + "</div>")


def all_trafilatura_tests() -> list[tuple[str, str, str]]:
    found = set()
    for expressions in trafilatura_expressions().values():
        for expression in expressions:
            path = re.sub(r"\s*\|\s*", "|", expression.path)
            found.update(RE_TEST.findall(path))
    return sorted(found)


CONSTRUCT_TESTS = [
    ("@class", "^[Cc]omment(?!ary)|(?:article|post)-comments", ""),
    ("@id|@class", "cookie", ""),
    ("@id|@style", "hidden", ""),
    ("@class", "fulltext|Kiosk|sIde", "i"),
    ("@class", "(?:^| )ad-|dfp[Aa]d", ""),
    ("@class", 'say-"x"|^"q', ""),
]


@pytest.mark.parametrize(("subject", "pattern", "flags"), CONSTRUCT_TESTS + all_trafilatura_tests())
def test_each_rewritten_test_selects_what_re_test_selects(subject, pattern, flags):
    tree = tree_of(attribute_values(pattern))
    flag_arg = f", '{flags}'" if flags else ""
    original = etree.XPath(f".//p[re:test({subject}, '{pattern}'{flag_arg})]", namespaces=NS)
    rewritten = rewrite_regex_tests(original.path)
    assert rewritten.kept + rewritten.literal + rewritten.guarded == 1
    cheaper = etree.XPath(rewritten.path, namespaces=NS, smart_strings=False)
    assert cheaper(tree) == original(tree)
    selected = len(original(tree))
    assert 0 < selected < len(tree), "the generated values should reach both outcomes"


def test_long_unions_keep_their_callback_and_short_ones_lose_it():
    long_union = "|".join(f"token{i}" for i in range(20))
    assert literal_test("@class", long_union) is None
    assert literal_test("@class", long_union, max_tests=20) is not None
    assert (
        literal_test("@class", "^(?:nav|menu)")
        == "(starts-with(@class, 'nav') or starts-with(@class, 'menu'))"
    )
    # A branch another implies is left out.
    assert literal_test("@id", "author|author-?name|^authors") == "(contains(@id, 'author'))"
    assert literal_test("@class", "caf\u00e9", ignore_case=True) is None
    assert literal_test("@class", "a'b\"c") is None


def test_patterns_that_match_an_empty_value_get_no_existence_check():
    path = ".//p[re:test(@class, 'x?')]"
    assert rewrite_regex_tests(path).path == ".//p[(contains(@class, ''))]"
    tree = tree_of(["", "x", "y"])
    assert len(etree.XPath(path, namespaces=NS)(tree)) == len(tree)
    assert len(etree.XPath(rewrite_regex_tests(path).path)(tree)) == len(tree)
    untouched = ".//p[re:test(@class, 'a', 'g')]"
    assert rewrite_regex_tests(untouched) == cheaper_xpaths.Rewritten(untouched, 0, 0, 1)


@pytest.mark.parametrize(
    ("path", "rebuildable"),
    [
        (".//*[re:test(@class, 'a') or self::div][not(.//h1)]", True),
        ("(.//*[@id='x' or re:test(@class, 'a')])[1]", True),
        (".//a[re:test(@class, 'a')]/@href", False),
        (".//p[re:test(@class, 'a')]//text()", False),
        (".//x:p[re:test(@class, 'a')]", False),
        (".//p[contains(@style, 'display:none') and re:test(@class, 'a')]", True),
    ],
)
def test_only_element_selections_with_the_regexp_prefix_are_rebuilt(path, rebuildable):
    assert cheaper_xpaths._rebuildable(path) is rebuildable


def test_every_rebuilt_trafilatura_expression_selects_the_same_elements(trafilatura_lists):
    originals = lists_in_use()
    trees = [load_html(html) for _, html in golden_pages()]
    trees.append(
        tree_of(sorted({v for _, p, _ in all_trafilatura_tests() for v in attribute_values(p)}))
    )
    assert use_cheaper_xpaths() >= 25
    rebuilt = lists_in_use()
    compared = 0
    for name, expressions in originals.items():
        for original, new in zip(expressions, rebuilt[name], strict=True):
            if new is original:
                continue
            compared += 1
            for tree in trees:
                selected = new(tree)
                assert selected == original(tree), (name, original.path)
                assert all(isinstance(e, etree._Element) for e in selected)
    assert compared >= 25
    assert use_cheaper_xpaths() == 0  # once per process
    use_trafilatura_xpaths()
    assert {n: [x.path for x in v] for n, v in lists_in_use().items()} == {
        n: [x.path for x in v] for n, v in originals.items()
    }


def test_every_golden_page_extracts_the_same_with_fewer_callbacks(trafilatura_lists):
    pages = golden_pages()
    assert len(pages) > 200

    def extract_all():
        return [extract_page(html=html, url=f"https://example.com/{name}") for name, html in pages]

    as_written = extract_all()
    use_cheaper_xpaths()
    fewer = extract_all()
    differ = [name for (name, _), a, b in zip(pages, as_written, fewer, strict=True) if a != b]
    assert differ == []


def test_every_extraction_process_gets_the_rebuilt_expressions_from_the_warm_up():
    probe = (
        "import wiredesk.transforms.extract.warmup\n"
        "from trafilatura.xpaths import OVERALL_DISCARD_XPATH\n"
        "print(sum(x.path.count('re:test(') for x in OVERALL_DISCARD_XPATH),"
        " sum(x.path.count('(@id) and') for x in OVERALL_DISCARD_XPATH))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    )
    callbacks, guarded = map(int, out.stdout.split())
    assert guarded >= 1 and callbacks <= 3
