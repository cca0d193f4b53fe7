"""Beam's question "does this DoFn use state or timers?", answered once per DoFn.

While it builds and runs a graph, Beam asks that question of each DoFn
(``apache_beam.transforms.userstate.get_dofn_specs``) again and again: when the ParDo is
made, twice when the graph becomes a protobuf, when it looks for stateful steps that need
keyed input, and when a bundle processor is set up. Every answer inspects the signature
of each of the DoFn's ~30 methods. On the 1,068-page bench the run process asked 842
times for 207 DoFns, and the 635 repeated questions cost 0.21 s of its CPU (about 7 %),
all of it serial: graph building before the first feed is polled, and stage set-up
after the last page is extracted.

The answer is read off the DoFn's methods and their default arguments (``StateParam``,
``TimerParam``), which are fixed once the DoFn exists: Beam treats a DoFn as a value it
may pickle at any point. So :func:`remember_dofn_specs` makes Beam's function keep its
answer per DoFn object, weakly (the answer goes when the DoFn goes), and hand out
copies. A DoFn made again (unpickled for a bundle) is a new object and is asked again.

Example::

    >>> import apache_beam as beam
    >>> from apache_beam.transforms import userstate
    >>> class Remembering(beam.DoFn):
    ...     SEEN = userstate.BagStateSpec("seen", beam.coders.StrUtf8Coder())
    ...     def process(self, element, seen=beam.DoFn.StateParam(SEEN)):
    ...         yield element
    >>> specs = SpecsPerDoFn(userstate.get_dofn_specs)
    >>> dofn = Remembering()
    >>> specs(dofn) == specs(dofn) == userstate.get_dofn_specs(dofn)
    True
    >>> specs.answers_kept
    1
"""

from __future__ import annotations

import functools
import threading
import weakref
from collections.abc import Callable
from typing import Any

from apache_beam.transforms import userstate

__all__ = ["SpecsPerDoFn", "remember_dofn_specs"]

_Specs = tuple[set[Any], set[Any]]
_install_lock = threading.Lock()


class SpecsPerDoFn:
    """``read_specs`` (Beam's ``get_dofn_specs``), answering again from memory for a
    DoFn object it has already read."""

    def __init__(self, read_specs: Callable[[Any], _Specs]) -> None:
        self._read = read_specs
        # id(dofn) -> (a weak reference to that DoFn, its answer); an id is only reused
        # after its object is gone, and the reference's callback drops the entry then.
        self._answers: dict[int, tuple[weakref.ref[Any], tuple[frozenset[Any], ...]]] = {}
        # Name and docstring only: copying ``__dict__`` too would take over the memory
        # of a wrapper being wrapped (the doctest below, after a run in the same process).
        functools.update_wrapper(self, read_specs, updated=())

    @property
    def answers_kept(self) -> int:
        return len(self._answers)

    def __call__(self, dofn: Any) -> _Specs:
        key = id(dofn)
        kept = self._answers.get(key)
        if kept is not None and kept[0]() is dofn:
            state, timers = kept[1]
            return set(state), set(timers)  # copies: a caller may change what it gets
        state_specs, timer_specs = self._read(dofn)
        # Every DoFn takes weak references: beam.DoFn declares no __slots__.
        ref = weakref.ref(dofn, functools.partial(self._forget, key))
        self._answers[key] = (ref, (frozenset(state_specs), frozenset(timer_specs)))
        return state_specs, timer_specs

    def _forget(self, key: int, ref: weakref.ref[Any]) -> None:
        kept = self._answers.get(key)
        if kept is not None and kept[0] is ref:
            del self._answers[key]


def remember_dofn_specs() -> None:
    """Make Beam's ``userstate.get_dofn_specs`` a :class:`SpecsPerDoFn` in this process
    (once; later calls change nothing). Beam's own callers look it up on the module at
    each call, so they all see it."""
    with _install_lock:
        if not isinstance(userstate.get_dofn_specs, SpecsPerDoFn):
            userstate.get_dofn_specs = SpecsPerDoFn(userstate.get_dofn_specs)
