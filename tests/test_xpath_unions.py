"""Name tests written as unions select what the predicate form selects, or are kept.

Each shape is evaluated on generated nested trees, original against rewritten; the
positional shapes are kept as written, and the test shows why: their union form selects
something else on the same trees.
"""

from __future__ import annotations

import random

import pytest
from lxml import etree

from wiredesk.transforms.extract.xpath_unions import rewrite_name_tests

TAGS = ["div", "p", "span", "section", "a", "h1"]


def random_tree(seed: int) -> etree._Element:
    rng = random.Random(seed)
    root = etree.Element("body")
    open_elements = [root]
    for _ in range(120):
        parent = rng.choice(open_elements)
        child = etree.SubElement(parent, rng.choice(TAGS))
        if rng.random() < 0.5:
            child.set("class", rng.choice(["a", "b", "a b", "nav", ""]))
        if rng.random() < 0.3:
            child.set("id", rng.choice(["x", "y"]))
        if child.tag == "a" and rng.random() < 0.7:
            child.set("href", "/")
        if rng.random() < 0.6:
            open_elements.append(child)
    return root


TREES = [random_tree(seed) for seed in range(12)]

REWRITTEN = [
    ".//*[self::div or self::p][@class='a' or @id]",
    ".//*[self::div or self::p or self::div][contains(@class, 'a')]",
    "//*[self::div or self::span][contains(@class,'b')]//a[@href]",
    "(.//*[self::div or self::p][not(@id)])[1]",
    ".//*[self::div or self::p][.//p and @class]",
    ".//*[self::section][@class]|//p",
    ".//*[self::div or self::p][.//p][@id]",
    ".//*[self::div or self::p][./a/@*]",
    ".//*[self::div or self::span][ ((@id) and (starts-with(@id, 'x'))) ][@class != 'b']",
    "\n   .//*[self::div or self::p][\n  @class = 'nav'\n ]\n",
]
KEPT = [
    ".//*[self::div or self::p][@class][1]",
    ".//*[self::div or self::p][position() < 3]",
    ".//*[self::div or self::p][last()]",
    ".//*[self::div or self::p][count(a) > 0 and position() = 1]",
    ".//*[self::div or self::p][@id*2]",  # a number
    ".//*[self::div or self::p][@id - 1]",
    ".//*[self::div or self::p]",  # no predicate: nothing to gain
    "./a//*[self::div or self::p][@class]",  # not at the start of an expression
    ".//p[contains(@class, '//*[self::div]')]",  # inside a string
]


@pytest.mark.parametrize("path", REWRITTEN)
def test_rewritten_shapes_select_the_same_elements(path):
    rewritten = rewrite_name_tests(path)
    assert rewritten != path and "self::" not in rewritten
    original, union = etree.XPath(path), etree.XPath(rewritten)
    assert any(original(tree) for tree in TREES)
    for tree in TREES:
        assert union(tree) == original(tree)


@pytest.mark.parametrize("path", KEPT)
def test_positional_and_other_shapes_are_kept(path):
    assert rewrite_name_tests(path) == path


def test_a_positional_union_would_select_something_else():
    step = ".//*[self::div or self::p][@class][1]"
    union = "(.//div|.//p)[@class][1]"
    assert any(etree.XPath(step)(t) != etree.XPath(union)(t) for t in TREES)


def test_several_steps_in_one_expression():
    path = "(.//*[self::div][@id])[1]|(.//*[self::p or self::span][@class])[1]"
    rewritten = rewrite_name_tests(path)
    assert rewritten == "((.//div)[@id])[1]|((.//p|.//span)[@class])[1]"
    for tree in TREES:
        assert etree.XPath(rewritten)(tree) == etree.XPath(path)(tree)
