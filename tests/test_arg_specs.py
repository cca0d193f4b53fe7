"""ArgumentsPerFunction: Beam's argument reading for a function, done once, always Beam's."""

from __future__ import annotations

import functools
import gc
from pathlib import Path
from typing import Any

import apache_beam as beam
import pytest
from apache_beam.transforms import core

from tests.support.graphs import CountingCalls, batch_graph, dofns_of, unbounded_graph
from wiredesk.pipelines.arg_specs import ArgumentsPerFunction

# Beam's own function, whether or not this process has already wrapped it.
BEAMS = getattr(core.get_function_args_defaults, "__wrapped__", core.get_function_args_defaults)
_METHODS = ("process", "start_bundle", "finish_bundle", "setup", "teardown", "process_batch")


class _Fn(beam.DoFn):
    def process(self, element: Any, window: Any = beam.DoFn.WindowParam) -> Any:
        yield element


@pytest.mark.parametrize("graph", [batch_graph, unbounded_graph])
def test_every_dofn_method_of_wiredesk_graphs_gets_beams_answer(tmp_path: Path, graph: Any) -> None:
    args_of = ArgumentsPerFunction(BEAMS)
    asked = 0
    for dofn in dofns_of(graph(tmp_path)):
        for name in _METHODS:
            method = getattr(dofn, name, None)
            if method is None:
                continue
            want = BEAMS(method)
            assert args_of(method) == want
            assert args_of(getattr(dofn, name)) == want  # a new bound method: from memory
            asked += 1
    assert asked > 150


def test_a_method_and_its_function_are_answered_apart() -> None:
    counting = CountingCalls(BEAMS)
    args_of = ArgumentsPerFunction(counting)
    dofn = _Fn()
    for _ in range(3):
        assert args_of(dofn.process) == (["element", "window"], [beam.DoFn.WindowParam])
        assert args_of(_Fn.process) == (["self", "element", "window"], [beam.DoFn.WindowParam])
        assert args_of(_Fn().process) == (["element", "window"], [beam.DoFn.WindowParam])
    assert counting.calls == 2


def test_changing_an_answer_does_not_change_the_next_one() -> None:
    args_of = ArgumentsPerFunction(BEAMS)
    args, defaults = args_of(_Fn.process)
    args.append("extra")
    defaults.clear()
    assert args_of(_Fn.process) == (["self", "element", "window"], [beam.DoFn.WindowParam])


def test_other_callables_are_asked_every_time() -> None:
    counting = CountingCalls(BEAMS)
    args_of = ArgumentsPerFunction(counting)

    class Callable_:
        def __call__(self, a: int, b: int = 2) -> int:
            return a + b

    partial = functools.partial(lambda a, b, c=3: a, 1)
    for _ in range(2):
        assert args_of(partial) == BEAMS(partial)
        assert args_of(Callable_()) == BEAMS(Callable_())
        assert args_of(len) == BEAMS(len)
    assert counting.calls == 6


def test_nothing_is_kept_for_functions_that_are_gone() -> None:
    counting = CountingCalls(BEAMS)
    args_of = ArgumentsPerFunction(counting)
    for n in range(50):
        namespace: dict[str, Any] = {}
        exec(f"def f(a, b={n}):\n    return a", namespace)  # a new function each time
        assert args_of(namespace["f"]) == (["a", "b"], [n])
        del namespace
    assert counting.calls == 50
    gc.collect()
    assert args_of.answers_kept == 0
