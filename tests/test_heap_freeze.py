"""A run's long-lived objects sit out the cyclic collector while the run goes on."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from wiredesk.pipelines.heap_freeze import objects_so_far_frozen


class _Node:
    def __init__(self) -> None:
        self.me = self  # a reference cycle: only the cyclic collector frees it


@pytest.fixture(autouse=True)
def _nothing_frozen() -> Iterator[None]:
    gc.unfreeze()  # whatever an earlier test left
    yield
    gc.unfreeze()


def test_objects_are_frozen_in_the_block_and_back_after_it() -> None:
    before = _Node()
    alive = weakref.ref(before)
    with objects_so_far_frozen() as froze:
        assert froze and gc.get_freeze_count() > 0
        del before
        gc.collect()
        assert alive() is not None  # a frozen cycle waits for the block's end ...
        during = _Node()
        during_ref = weakref.ref(during)
        del during
        gc.collect()
        assert during_ref() is None  # ... one made in the block does not
    assert gc.get_freeze_count() == 0
    gc.collect()
    assert alive() is None  # collected once the block is over


def test_an_error_in_the_block_unfreezes_too() -> None:
    with pytest.raises(RuntimeError), objects_so_far_frozen():
        raise RuntimeError("a failed run")
    assert gc.get_freeze_count() == 0


def test_a_process_that_froze_objects_itself_is_left_alone() -> None:
    gc.freeze()
    frozen = gc.get_freeze_count()
    with objects_so_far_frozen() as froze:
        assert not froze
    assert gc.get_freeze_count() == frozen  # not unfrozen by us


def test_a_disabled_collector_is_left_alone() -> None:
    gc.disable()
    try:
        with objects_so_far_frozen() as froze:
            assert not froze and gc.get_freeze_count() == 0
    finally:
        gc.enable()
