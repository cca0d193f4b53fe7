"""Every module's docstring examples run, so that an example a user copies still works."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import wiredesk

MODULES = sorted(m.name for m in pkgutil.walk_packages(wiredesk.__path__, "wiredesk."))


def test_the_package_has_modules() -> None:
    assert len(MODULES) > 50


@pytest.mark.parametrize("name", MODULES)
def test_examples_run(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(
        module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, report=True
    )
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed"
